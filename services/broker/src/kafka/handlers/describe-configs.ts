// DescribeConfigs (key 32), v0-4: per resource, with its own error.
// - a topic: every config with its value and source (DYNAMIC_TOPIC_CONFIG for an override,
//   DEFAULT_CONFIG for the broker default), read-only false, never sensitive, and synonyms when
//   asked (the override, then the broker default under Kafka's broker name); an unknown topic is
//   UNKNOWN_TOPIC_OR_PARTITION;
// - a broker (its node id, or "" for this broker): the relevant STRATA_* settings by Kafka's
//   names, read-only (STATIC_BROKER_CONFIG); another broker's id is INVALID_REQUEST (Kafka's
//   clients send a broker resource to that broker);
// - any other resource type (broker loggers, ...): INVALID_REQUEST.

import { ApiKey, ConfigResourceType, KafkaError } from '@strata/kafka-protocol';
import { checkCluster } from '../../core/cluster.js';
import { toStrataError } from '../../core/errors.js';
import { nodeIdOf } from '../cluster-view.js';
import { brokerConfigEntries, topicConfigEntries, type ConfigEntry } from './config-entries.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'DescribeConfigs';

export function describeConfigsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.DescribeConfigs, request);
    const synonyms = body.includeSynonyms;
    if (body.resources.some((r) => r.resourceType === ConfigResourceType.TOPIC && !ctx.registry.has(r.resourceName))) {
      await ctx.cluster.node.syncTopics().catch(() => undefined);
    }
    // is_default exists in v0 only (v1 replaced it with config_source), and the codec refuses a value it cannot carry.
    const v0 = request.header.apiVersion === 0;
    const results = body.resources.map((r) => {
      const answer = (errorCode: number, errorMessage: string | null, configs: ConfigEntry[]) => ({
        errorCode,
        errorMessage,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: v0 ? configs : configs.map((c) => ({ ...c, isDefault: false })),
      });
      if (r.resourceType === ConfigResourceType.TOPIC) {
        try {
          deps.topics.checkTopic(originOf(request), 'describe-configs', r.resourceName);
          return answer(KafkaError.NONE, null, topicConfigEntries(ctx.registry.get(r.resourceName), ctx.config.topicDefaults.configs, r.configurationKeys, synonyms));
        } catch (e) {
          const { error, unexpected } = toStrataError(e);
          if (unexpected) ctx.logger.error('kafka describe configs failed', { topic: r.resourceName, err: e });
          return answer(errorCode(deps, API, error), error.message, []);
        }
      }
      if (r.resourceType === ConfigResourceType.BROKER) {
        const self = String(nodeIdOf(ctx.config.brokerId));
        if (r.resourceName !== '' && r.resourceName !== self) {
          return answer(countError(deps, API, KafkaError.INVALID_REQUEST), `this is broker ${self}: ask broker ${r.resourceName} for its own configs`, []);
        }
        try {
          checkCluster(ctx, originOf(request), 'describe-configs');
        } catch (e) {
          const { error } = toStrataError(e);
          return answer(errorCode(deps, API, error), error.message, []);
        }
        return answer(KafkaError.NONE, null, brokerConfigEntries(ctx.config, r.configurationKeys, synonyms));
      }
      return answer(countError(deps, API, KafkaError.INVALID_REQUEST), `resource type ${r.resourceType} is not supported (topics ${ConfigResourceType.TOPIC} and brokers ${ConfigResourceType.BROKER} are)`, []);
    });
    return respond(ApiKey.DescribeConfigs, request, { throttleTimeMs: 0, results });
  };
}

// CreateTopics (key 19), v0-7: each topic created through the topics core, all or nothing per
// topic, with its own error (TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS,
// INVALID_REPLICATION_FACTOR, INVALID_CONFIG, ...). -1 partitions or replication factor means the
// broker default, as in Kafka. validate_only checks everything and creates nothing. Strata places
// replicas itself: a manual assignment is refused (INVALID_REPLICA_ASSIGNMENT).

import { ApiKey, KafkaError, ZERO_UUID } from '@strata/kafka-protocol';
import { toStrataError } from '../../core/errors.js';
import type { TopicSpec } from '../../core/topics.js';
import { kafkaTopicId } from '../cluster-view.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'CreateTopics';

export function createTopicsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, topics } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.CreateTopics, request);
    const seen = new Set<string>();
    const results = [];
    // One at a time: the registry serialises creates anyway, and answers stay in request order.
    for (const t of body.topics) {
      const failed = (code: number, message: string) => ({ name: t.name, topicId: ZERO_UUID, errorCode: countError(deps, API, code), errorMessage: message });
      if (seen.has(t.name)) {
        results.push(failed(KafkaError.INVALID_REQUEST, `topic "${t.name}" is named twice in the request`));
        continue;
      }
      seen.add(t.name);
      if (t.assignments.length > 0) {
        results.push(failed(KafkaError.INVALID_REPLICA_ASSIGNMENT, 'Strata places replicas itself: give num_partitions and replication_factor, not assignments'));
        continue;
      }
      const configs: Record<string, string> = {};
      for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
      const spec: TopicSpec = { name: t.name, configs };
      if (t.numPartitions !== -1) spec.partitions = t.numPartitions;
      if (t.replicationFactor !== -1) spec.replicationFactor = t.replicationFactor;
      try {
        if (body.validateOnly) {
          await topics.validate(spec, originOf(request));
          results.push({ name: t.name, topicId: ZERO_UUID, errorCode: KafkaError.NONE, errorMessage: null, numPartitions: spec.partitions ?? ctx.config.topicDefaults.partitions, replicationFactor: spec.replicationFactor ?? ctx.config.topicDefaults.replicationFactor });
          continue;
        }
        const view = await topics.create(spec, originOf(request));
        const topic = ctx.registry.get(view.name);
        results.push({
          name: t.name,
          topicId: kafkaTopicId(topic),
          errorCode: KafkaError.NONE,
          errorMessage: null,
          numPartitions: topic.partitionCount,
          replicationFactor: topic.meta.replicationFactor,
          configs: Object.entries(view.configs).map(([name, value]) => ({ name, value: String(value), readOnly: false, configSource: name in view.configOverrides ? 1 : 5, isSensitive: false })),
        });
      } catch (e) {
        const { error, unexpected } = toStrataError(e);
        if (unexpected) ctx.logger.error('kafka create topics failed', { topic: t.name, err: e });
        // A replication factor that cannot be placed is Kafka's INVALID_REPLICATION_FACTOR.
        const code = error.code === 'INVALID_CONFIG' && /replicationFactor/.test(error.message) ? countError(deps, API, KafkaError.INVALID_REPLICATION_FACTOR) : errorCode(deps, API, error);
        results.push({ name: t.name, topicId: ZERO_UUID, errorCode: code, errorMessage: error.message });
      }
    }
    return respond(ApiKey.CreateTopics, request, { throttleTimeMs: 0, topics: results });
  };
}

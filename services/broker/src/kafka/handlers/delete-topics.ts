// DeleteTopics (key 20), v0-6: each topic deleted through the topics core with its own error
// (UNKNOWN_TOPIC_OR_PARTITION, or UNKNOWN_TOPIC_ID for one named by id from v6).

import { ApiKey, KafkaError, ZERO_UUID } from '@strata/kafka-protocol';
import { toStrataError } from '../../core/errors.js';
import { kafkaTopicId, topicByKafkaId } from '../cluster-view.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'DeleteTopics';

export function deleteTopicsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, topics } = deps;
  return async (request) => {
    const version = request.header.apiVersion;
    const body = decodeBody(ApiKey.DeleteTopics, request);
    await ctx.cluster.node.syncTopics().catch(() => undefined);
    // v0-5 name topics; v6 names or ids.
    const wanted = version >= 6 ? body.topics.map((t) => ({ name: t.name, topicId: t.topicId })) : body.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }));
    const responses = [];
    for (const w of wanted) {
      const byId = w.name === null ? topicByKafkaId(ctx, w.topicId) : undefined;
      const name = w.name ?? byId?.name ?? null;
      if (name === null) {
        responses.push({ name: null, topicId: w.topicId, errorCode: countError(deps, API, KafkaError.UNKNOWN_TOPIC_ID), errorMessage: 'no topic has this id' });
        continue;
      }
      try {
        const topicId = ctx.registry.has(name) ? kafkaTopicId(ctx.registry.get(name)) : ZERO_UUID;
        await topics.delete(name, originOf(request));
        responses.push({ name, topicId, errorCode: KafkaError.NONE, errorMessage: null });
      } catch (e) {
        const { error, unexpected } = toStrataError(e);
        if (unexpected) ctx.logger.error('kafka delete topics failed', { topic: name, err: e });
        responses.push({ name, topicId: w.topicId, errorCode: errorCode(deps, API, error), errorMessage: error.message });
      }
    }
    return respond(ApiKey.DeleteTopics, request, { throttleTimeMs: 0, responses });
  };
}

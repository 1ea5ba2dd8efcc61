// CreatePartitions (key 37), v0-3: grows each topic to its new count through the topics core (the
// same call as HTTP's POST /v1/topics/{topic}/partitions and `strata topics add-partitions`), each
// topic with its own error: INVALID_PARTITIONS for a count not above the current one (a topic never
// shrinks), UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST for a topic named twice. Strata places
// replicas itself: a manual assignment is refused (INVALID_REPLICA_ASSIGNMENT), as in CreateTopics.
// validate_only checks everything and changes nothing. Any broker may answer (Kafka sends this to
// the controller; here the coordinator serialises the change).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { toStrataError } from '../../core/errors.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'CreatePartitions';

export function createPartitionsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, topics } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.CreatePartitions, request);
    await ctx.cluster.node.syncTopics().catch(() => undefined);
    const named = new Map<string, number>();
    for (const t of body.topics) named.set(t.name, (named.get(t.name) ?? 0) + 1);
    const results = [];
    for (const t of body.topics) {
      const failed = (code: number, message: string) => ({ name: t.name, errorCode: countError(deps, API, code), errorMessage: message });
      if (named.get(t.name)! > 1) {
        results.push(failed(KafkaError.INVALID_REQUEST, `topic "${t.name}" is named more than once in the request`));
        continue;
      }
      if (t.assignments !== null && t.assignments.length > 0) {
        results.push(failed(KafkaError.INVALID_REPLICA_ASSIGNMENT, 'Strata places replicas itself: give the count, not assignments'));
        continue;
      }
      try {
        await topics.addPartitions(t.name, t.count, body.validateOnly, originOf(request));
        results.push({ name: t.name, errorCode: KafkaError.NONE, errorMessage: null });
      } catch (e) {
        const { error, unexpected } = toStrataError(e);
        if (unexpected) ctx.logger.error('kafka create partitions failed', { topic: t.name, err: e });
        results.push({ name: t.name, errorCode: errorCode(deps, API, error), errorMessage: error.message });
      }
    }
    return respond(ApiKey.CreatePartitions, request, { throttleTimeMs: 0, results });
  };
}

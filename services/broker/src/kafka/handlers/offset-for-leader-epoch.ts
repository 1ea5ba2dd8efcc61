// OffsetForLeaderEpoch (key 23), v0-4: per partition, the largest leader epoch <= the one asked
// that the partition's log holds, and the offset where it ends (the next epoch's start), from the
// log's epoch cache; the current epoch ends at the high watermark (what a consumer may have read).
// current_leader_epoch (v2+, -1 = unchecked): older than the partition's is FENCED_LEADER_EPOCH,
// newer is UNKNOWN_LEADER_EPOCH (the client's metadata is ahead of this broker's), as in Kafka.
// In brokers mode only the leader answers (NOT_LEADER_OR_FOLLOWER elsewhere); in one-address mode
// every broker answers from its own replica, whose epochs are the leader's below the high
// watermark (followers keep the epochs of the batches they replicate).

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { toStrataError } from '../../core/errors.js';
import { countError, decodeBody, errorCode, respond, type HandlerDeps, type KafkaHandler, originOf } from './context.js';

const API = 'OffsetForLeaderEpoch';

export function offsetForLeaderEpochHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx } = deps;
  const oneAddress = ctx.config.kafka.metadataMode === 'one-address';
  return async (request) => {
    const body = decodeBody(ApiKey.OffsetForLeaderEpoch, request);
    if (body.topics.some((t) => !ctx.registry.has(t.topic))) await ctx.cluster.node.syncTopics().catch(() => undefined);
    const topics = body.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const answer = (code: number, leaderEpoch = -1, endOffset = -1) => ({ errorCode: code, partition: p.partition, leaderEpoch, endOffset: BigInt(endOffset) });
        try {
          deps.data.authorize(originOf(request), 'describe', t.topic);
          const handle = ctx.registry.partition(t.topic, p.partition);
          const route = ctx.router.route(handle);
          if (route.kind !== 'local' && !oneAddress) return answer(countError(deps, API, KafkaError.NOT_LEADER_OR_FOLLOWER));
          const currentEpoch = route.kind === 'local' ? route.leader.epoch : ctx.cluster.node.partitionView(handle).leaderEpoch;
          if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < currentEpoch) return answer(countError(deps, API, KafkaError.FENCED_LEADER_EPOCH));
          if (p.currentLeaderEpoch > currentEpoch) return answer(countError(deps, API, KafkaError.UNKNOWN_LEADER_EPOCH));
          const highWatermark = ctx.router.highWatermark(handle);
          if (p.leaderEpoch === currentEpoch) return answer(KafkaError.NONE, currentEpoch, highWatermark);
          // An epoch after the current one: unknown to the log, as Kafka answers it.
          if (p.leaderEpoch > currentEpoch) return answer(KafkaError.NONE);
          const found = handle.log.endOffsetForEpoch(p.leaderEpoch);
          // An epoch the log has no batch of, nor of an earlier one: Kafka answers -1, -1 without an error.
          return found.epoch < 0 ? answer(KafkaError.NONE) : answer(KafkaError.NONE, found.epoch, Math.min(found.endOffset, highWatermark));
        } catch (e) {
          const { error, unexpected } = toStrataError(e);
          if (unexpected) ctx.logger.error('kafka offset for leader epoch failed', { topic: t.topic, partition: p.partition, err: e });
          return answer(errorCode(deps, API, error));
        }
      }),
    }));
    return respond(ApiKey.OffsetForLeaderEpoch, request, { throttleTimeMs: 0, topics });
  };
}

// ListOffsets (key 2), v0-7: per partition, the earliest offset (-2), the latest (-1: the high
// watermark), the max timestamp (-3, v7+: the first record holding the partition's largest
// timestamp, KIP-734) or the first offset whose timestamp is at or after a time. As in Kafka, a
// time after every record (or -3 on an empty partition) answers offset -1 and timestamp -1. v0
// answers the offset in a one-element list (old_style_offsets).

import { ApiKey, KafkaError, ListOffsetsTimestamp } from '@strata/kafka-protocol';
import { StrataError } from '@strata/protocol';
import { toStrataError } from '../../core/errors.js';
import type { OffsetAt } from '../../core/data.js';
import { countError, decodeBody, errorCode, readOrigin, respond, type HandlerDeps, type KafkaHandler, type KafkaRequest } from './context.js';
import { leaderOffset } from './leader-reply.js';

const API = 'ListOffsets';

export function listOffsetsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, data } = deps;

  /** The offset (and the timestamp, for a lookup by time) of one partition. */
  const lookup = async (request: KafkaRequest, topic: string, partition: number, at: OffsetAt): Promise<{ offset: number; timestamp?: number }> => {
    const replay = `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/offsets?at=${String(at)}`;
    const found = await data.listOffsets(topic, partition, at, readOrigin(deps, replay, request), request.signal);
    return found.source === 'local' ? found : leaderOffset(found.reply, `offset lookup of ${topic}/${partition}`);
  };

  return async (request) => {
    const version = request.header.apiVersion;
    const body = decodeBody(ApiKey.ListOffsets, request);
    if (body.topics.some((t) => !ctx.registry.has(t.name))) await ctx.cluster.node.syncTopics().catch(() => undefined);

    const topics = await Promise.all(
      body.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            const answer = (code: number, offset: number, timestamp: number) => ({
              partitionIndex: p.partitionIndex,
              errorCode: code,
              // v0 only: the field does not exist after it.
              oldStyleOffsets: version === 0 && offset >= 0 ? [BigInt(offset)] : [],
              // v1+ only (v0 has old_style_offsets).
              timestamp: version === 0 ? -1n : BigInt(timestamp),
              offset: version === 0 ? -1n : BigInt(offset),
              leaderEpoch: -1,
            });
            const ts = p.timestamp;
            let at: OffsetAt;
            if (ts === ListOffsetsTimestamp.EARLIEST) at = 'earliest';
            else if (ts === ListOffsetsTimestamp.LATEST) at = 'latest';
            // Before v7 a client cannot ask for it (Kafka answers UNSUPPORTED_VERSION then).
            else if (ts === ListOffsetsTimestamp.MAX_TIMESTAMP && version >= 7) at = 'max-timestamp';
            else if (ts === ListOffsetsTimestamp.MAX_TIMESTAMP) return answer(countError(deps, API, KafkaError.UNSUPPORTED_VERSION), -1, -1);
            else if (ts >= 0n && ts <= BigInt(Number.MAX_SAFE_INTEGER)) at = Number(ts);
            else return answer(countError(deps, API, KafkaError.INVALID_REQUEST), -1, -1);
            try {
              if (!ctx.registry.has(t.name) || ctx.registry.get(t.name).handle(p.partitionIndex) === undefined) {
                throw new StrataError('UNKNOWN_PARTITION', `unknown topic or partition ${t.name}/${p.partitionIndex}`);
              }
              const found = await lookup(request, t.name, p.partitionIndex, at);
              if (typeof at === 'number' || at === 'max-timestamp') {
                // Kafka: no record at or after the time answers -1, -1 (Strata's lookup answers the high watermark).
                return found.timestamp === undefined ? answer(KafkaError.NONE, -1, -1) : answer(KafkaError.NONE, found.offset, found.timestamp);
              }
              return answer(KafkaError.NONE, found.offset, -1);
            } catch (e) {
              const { error, unexpected } = toStrataError(e);
              if (unexpected) ctx.logger.error('kafka list offsets failed', { topic: t.name, partition: p.partitionIndex, err: e });
              return answer(errorCode(deps, API, error), -1, -1);
            }
          }),
        ),
      })),
    );
    return respond(ApiKey.ListOffsets, request, { throttleTimeMs: 0, topics });
  };
}

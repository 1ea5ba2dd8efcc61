// DeleteRecords (key 21), v0-2: per partition, moves the log start up to the offset asked (-1: the
// high watermark) through the data core on the partition's leader, answering the new low
// watermark; OFFSET_OUT_OF_RANGE above the high watermark, NOT_LEADER_OR_FOLLOWER on another
// broker (the client refreshes its metadata and asks the leader), UNKNOWN_TOPIC_OR_PARTITION.
// In one-address mode a partition led elsewhere is forwarded to its leader through the core (as
// produce is), since the client knows no other broker. The request's timeout bounds each partition's wait.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { toStrataError } from '../../core/errors.js';
import { countError, decodeBody, errorCode, readOrigin, respond, type HandlerDeps, type KafkaHandler } from './context.js';

const API = 'DeleteRecords';
/** Kafka's "up to the high watermark". */
const HIGH_WATERMARK = -1n;

export function deleteRecordsHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, data } = deps;
  return async (request) => {
    const body = decodeBody(ApiKey.DeleteRecords, request);
    if (body.topics.some((t) => !ctx.registry.has(t.name))) await ctx.cluster.node.syncTopics().catch(() => undefined);
    const signal = body.timeoutMs > 0 ? AbortSignal.any([request.signal, AbortSignal.timeout(body.timeoutMs)]) : request.signal;
    const topics = await Promise.all(
      body.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            const answer = (code: number, lowWatermark = -1n) => ({ partitionIndex: p.partitionIndex, lowWatermark, errorCode: code });
            if (p.offset < HIGH_WATERMARK || p.offset > BigInt(Number.MAX_SAFE_INTEGER)) return answer(countError(deps, API, KafkaError.OFFSET_OUT_OF_RANGE));
            // The same request over HTTP, where the leader takes it (forwarded in one-address mode only).
            const origin = readOrigin(deps, `/v1/topics/${encodeURIComponent(t.name)}/partitions/${p.partitionIndex}/delete-records`, request);
            try {
              return answer(KafkaError.NONE, BigInt(await data.deleteRecords(t.name, p.partitionIndex, Number(p.offset), origin, signal)));
            } catch (e) {
              const { error, unexpected } = toStrataError(e);
              if (unexpected) ctx.logger.error('kafka delete records failed', { topic: t.name, partition: p.partitionIndex, err: e });
              return answer(errorCode(deps, API, error));
            }
          }),
        ),
      })),
    );
    return respond(ApiKey.DeleteRecords, request, { throttleTimeMs: 0, topics });
  };
}

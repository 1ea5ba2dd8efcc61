// Produce (key 0), v0-11: RecordBatch v2 only (v0-2 are advertised for librdkafka 2.0.2; see
// SUPPORTED_APIS). Each partition's records are validated in place (framing, CRC, records, bounded
// decompression) and appended through the core, which appends here
// or forwards to the leader; every partition gets its own offsets or its own Kafka error, and a
// partition that fails validation has nothing appended. acks=0 gets no answer, as in Kafka, and a
// failure of it closes the connection (Kafka's way of telling such a client). A client over its
// producer_byte_rate or request_percentage gets the throttle time in the answer and its connection
// muted for it (connection.ts); acks=0 only the mute.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import { StrataError, validateBatchesEager } from '@strata/protocol';
import type { PartitionBatches } from '../../core/data.js';
import { toStrataError } from '../../core/errors.js';
import type { Acks } from '../../produce.js';
import { maxBatchBytes } from '../../topics/topic-config.js';
import { countError, decodeBody, errorCode, originOf, quotaThrottle, respond, type HandlerDeps, type KafkaHandler } from './context.js';

const API = 'Produce';

/**
 * acks=0 is appended as acks=1 and only its answer is left out (as Kafka's broker does it): the
 * request, and the bytes it holds of the listener's budget, last until the append is done, so a
 * client that never waits cannot pile appends up in memory.
 */
const ACKS_BY_KAFKA: ReadonlyMap<number, Acks> = new Map([
  [0, '1'],
  [1, '1'],
  [-1, 'all'],
]);

interface PartitionAnswer {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  errorMessage: string | null;
}

export function produceHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx, data } = deps;
  const { config } = ctx;
  return async (request) => {
    const body = decodeBody(ApiKey.Produce, request);
    const acks = ACKS_BY_KAFKA.get(body.acks);
    if (body.topicData.some((t) => !ctx.registry.has(t.name))) await ctx.cluster.node.syncTopics().catch(() => undefined);

    const failed = (index: number, code: number, message: string | null): PartitionAnswer => ({ index, errorCode: countError(deps, API, code), baseOffset: -1n, errorMessage: message });
    const refused = (index: number, error: StrataError): PartitionAnswer => ({ index, errorCode: errorCode(deps, API, error), baseOffset: -1n, errorMessage: error.message });

    // One origin for the request: the authorizer decides each topic once (the core's check on append reuses it).
    const origin = originOf(request);
    const responses = await Promise.all(
      body.topicData.map(async (topicData) => {
        const answers = new Map<number, PartitionAnswer>();
        const valid: PartitionBatches[] = [];
        const topic = ctx.registry.has(topicData.name) ? ctx.registry.get(topicData.name) : null;
        // Authorization before existence and validation, as Kafka answers (the core checks it again on append).
        let denied: StrataError | null = null;
        try {
          data.authorize(origin, 'write', topicData.name);
        } catch (e) {
          denied = toStrataError(e).error;
        }
        for (const p of topicData.partitionData) {
          if (denied !== null) answers.set(p.index, refused(p.index, denied));
          else if (acks === undefined) answers.set(p.index, failed(p.index, KafkaError.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${body.acks}`));
          else if (body.transactionalId !== null) {
            answers.set(p.index, failed(p.index, KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactions are not supported by this broker'));
          } else if (topic === null || topic.handle(p.index) === undefined) {
            answers.set(p.index, failed(p.index, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic or partition ${topicData.name}/${p.index}`));
          } else if (p.records === null || p.records.length === 0) {
            answers.set(p.index, failed(p.index, KafkaError.CORRUPT_MESSAGE, 'the partition has no records'));
          } else if (valid.some((v) => v.partition === p.index)) {
            answers.set(p.index, failed(p.index, KafkaError.INVALID_REQUEST, `partition ${p.index} is named twice`));
          } else {
            const validationStartedMs = performance.now();
            try {
              const validated = validateBatchesEager(p.records, config.produceSyncValidationBytesMax, {
                maxBatchBytes: maxBatchBytes(topic.configs),
                deep: true,
                maxDecompressedBytes: config.maxDecompressedBytes,
                slots: deps.decompressionSlots,
              });
              const frames = validated instanceof Promise ? await validated : validated;
              valid.push({ partition: p.index, batches: p.records, frames });
            } catch (e) {
              answers.set(p.index, refused(p.index, toStrataError(e).error));
            } finally {
              request.quota.busyMs += performance.now() - validationStartedMs;
            }
          }
        }
        if (valid.length > 0) {
          try {
            const results = await data.produce({ topic: topicData.name, acks: acks!, partitions: valid }, origin, request);
            for (const r of results) {
              if (r.outcome === 'appended') answers.set(r.partition, { index: r.partition, errorCode: KafkaError.NONE, baseOffset: BigInt(r.baseOffset), errorMessage: null });
              else if (r.outcome === 'failed') answers.set(r.partition, refused(r.partition, r.error));
              else answers.set(r.partition, { index: r.partition, errorCode: KafkaError.NONE, baseOffset: -1n, errorMessage: null });
            }
          } catch (e) {
            // The topic went away between the check and the append: nothing was appended.
            const { error, unexpected } = toStrataError(e);
            if (unexpected) ctx.logger.error('kafka produce failed', { topic: topicData.name, err: e });
            for (const v of valid) answers.set(v.partition, refused(v.partition, error));
          }
        }
        return {
          name: topicData.name,
          partitionResponses: topicData.partitionData.map((p) => {
            const a = answers.get(p.index)!;
            return { index: a.index, errorCode: a.errorCode, baseOffset: a.baseOffset, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage: a.errorMessage };
          }),
        };
      }),
    );
    // Kafka counts the whole request's size against producer_byte_rate, records appended or not.
    const throttleTimeMs = quotaThrottle(deps, request, 'produce', request.frame.length);
    if (body.acks === 0) {
      // No answer to carry the error: Kafka's broker closes the connection instead, so the client notices.
      const failed = responses.flatMap((t) => t.partitionResponses.filter((p) => p.errorCode !== KafkaError.NONE).map((p) => `${t.name}/${p.index}: ${p.errorMessage ?? p.errorCode}`));
      return failed.length === 0 ? { kind: 'silent', throttleMs: throttleTimeMs } : { kind: 'close', reason: 'acks0_produce_failed', message: `acks=0 produce failed for ${failed.slice(0, 5).join('; ')}` };
    }
    return { ...respond(ApiKey.Produce, request, { responses, throttleTimeMs }), throttleMs: throttleTimeMs };
  };
}

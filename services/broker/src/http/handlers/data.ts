// Produce and fetch, JSON and raw, and offsets lookup: parse, call the data
// core (core/data.ts decides where each partition's request goes), reply.

import type { ByteQuota, ClientIdentity } from '../../quotas/quota-manager.js';
import { queryParams, type QueryParams, type ReplyBody } from '@strata/api';
import { DecompressionSlots, StrataError, validateBatchesEager, type BatchFrame } from '@strata/protocol';
import { FETCH_DEFAULT_MAX_BYTES, FETCH_DEFAULT_MAX_RECORDS } from '../../config.js';
import type { BrokerContext } from '../../context.js';
import { DataCore, type FetchRequest, type OffsetAt, type PartitionProduceResult } from '../../core/data.js';
import type { ForwardedReply } from '../../core/leader-client.js';
import { toJsonRecords } from '../../fetch.js';
import { planProduce, type Acks, type Encoding, type HeaderEncoding } from '../../produce.js';
import { maxBatchBytes } from '../../topics/topic-config.js';
import { BODY_PREALLOCATE_BYTES_MAX, RECORD_BATCH_MEDIA_TYPE, mediaType, readBody, readRequestJson } from '../body.js';
import { BodyBufferPool } from '../body-pool.js';
import { errorBody } from '../errors.js';
import type { Handler, Reply, RequestContext } from '../router.js';

type DataRoute = 'produceRecords' | 'produceBatches' | 'fetchRecords' | 'fetchBatches' | 'listOffsets' | 'deleteRecords';

/** Kafka's "unknown offset" in answers that have none (acks=0). */
const UNKNOWN_OFFSET = -1;
/** The HTTP client's id for quotas (Kafka's client_id); @strata/client sends its clientId in it. */
export const CLIENT_ID_HEADER = 'x-client-id';

export function dataHandlers(ctx: BrokerContext, core: DataCore = new DataCore(ctx)): Record<DataRoute, Handler> {
  const { registry, config } = ctx;
  // One bound for every decompression this broker does for a request (produce validation, JSON fetch).
  const decompressionSlots = new DecompressionSlots(config.maxConcurrentDecompressions);
  const bodyPool = new BodyBufferPool(BODY_PREALLOCATE_BYTES_MAX, config.produceBodyPoolBuffers);

  /**
   * Client quotas over HTTP (docs/architecture.md#quotas). The client id is the X-Client-Id header
   * ("" without one). A request from a client that owes throttle time is refused before any work,
   * 429 THROTTLING_QUOTA_EXCEEDED with Retry-After, rather than delayed: a delayed answer would hold
   * the connection and its body in memory for the whole throttle time, a refusal costs nothing and
   * tells the client how long to wait. What is served is then recorded (bytes, and the handler's own
   * work for request_percentage). A request another broker forwarded was counted where it entered.
   * null: nothing to measure (forwarded, or no user or client-id quota in force: the default, where
   * a request then does no quota work at all; a quota set meanwhile holds the requests after it).
   */
  const quotaClient = (rc: RequestContext): ClientIdentity | null => {
    if (rc.origin.forwardedBy !== undefined || !ctx.quotas.enforcing) return null;
    const clientId = rc.req.headers[CLIENT_ID_HEADER];
    return { principal: rc.principal, clientId: typeof clientId === 'string' ? clientId : '' };
  };
  const checkQuota = (client: ClientIdentity | null, kind: ByteQuota): void => {
    if (client === null) return;
    const bytesMs = ctx.quotas.throttleNow(kind, client);
    const retryAfterMs = Math.max(bytesMs, ctx.quotas.throttleNow('request', client));
    if (retryAfterMs === 0) return;
    const quota = bytesMs === retryAfterMs ? (kind === 'produce' ? 'producer_byte_rate' : 'consumer_byte_rate') : 'request_percentage';
    throw new StrataError('THROTTLING_QUOTA_EXCEEDED', `the client is over its ${quota} quota; retry after ${retryAfterMs} ms`, { details: { quota, retryAfterMs } });
  };
  /** When the handler's own work began (ms, performance.now()), for request_percentage; the clock is read only for a client a quota measures. */
  const busySince = (client: ClientIdentity | null): number => (client === null ? 0 : performance.now());
  /** `busySinceMs`: busySince's answer; null: no handler work to count (a forward streamed on). */
  const recordQuota = (client: ClientIdentity | null, kind: ByteQuota, bytes: number, busySinceMs: number | null): void => {
    if (client === null) return;
    ctx.quotas.recordBytes(kind, client, bytes);
    ctx.quotas.recordRequestTime(client, busySinceMs === null ? 0 : performance.now() - busySinceMs);
  };

  /** A leader's answer, passed on as it came. */
  const passOn = (reply: ForwardedReply): Reply => ({ status: reply.status, body: reply.body, contentType: reply.contentType, headers: reply.headers });

  /** Every partition failed: the request fails with the first partition's error (as before per-partition answers). */
  const failedWhole = (results: PartitionProduceResult[]): StrataError | null => {
    if (results.length === 0 || results.some((r) => r.outcome !== 'failed')) return null;
    return (results[0] as Extract<PartitionProduceResult, { outcome: 'failed' }>).error;
  };

  /** A fetch's partition (404 first) and bounds: the broker's caps clamp what the client asks (they do not refuse). */
  const fetchRequest = ({ params, query, origin }: RequestContext, route: 'fetchRecords' | 'fetchBatches', defaultMaxBytes: number, client: ClientIdentity | null): { request: FetchRequest; q: QueryParams } => {
    const partition = params.partition!;
    core.authorize(origin, 'read', params.topic!); // 403, then 404
    registry.partition(params.topic!, partition);
    const q = queryParams(route, query);
    const maxBytes = (q.maxBytes as number | undefined) ?? defaultMaxBytes;
    const request = {
      topic: params.topic!,
      partition,
      // Negative offsets are well-formed but out of range (416), as in Kafka.
      offset: q.offset as number,
      // A quota caps one answer at what it allows over the measured span (as Kafka's fetch).
      maxBytes: Math.min(maxBytes, config.fetchMaxBytesCap, (client === null ? null : ctx.quotas.fetchBytesCap(client)) ?? Number.MAX_SAFE_INTEGER),
      maxWaitMs: Math.min((q.maxWaitMs as number | undefined) ?? 0, config.fetchMaxWaitMsCap),
    };
    return { request, q };
  };

  return {
    produceRecords: async (rc) => {
      const { req, params, query } = rc;
      const acks = (queryParams('produceRecords', query).acks ?? 'all') as Acks;
      core.authorize(rc.origin, 'write', params.topic!); // 403, then 404, before reading the body
      registry.get(params.topic!);
      const client = quotaClient(rc);
      checkQuota(client, 'produce');
      const body = await readRequestJson(req, 'produceRecords', config.maxRequestBytes);
      const planStartedMs = busySince(client);
      const topic = registry.get(params.topic!); // it may have been deleted meanwhile
      const plan = planProduce(body, topic, ctx.now(), config.jsonProduceMaxRecords);
      const partitions = plan.batches.map((b) => ({ partition: b.partition, batches: b.batch, frames: b.frames }));
      recordQuota(client, 'produce', partitions.reduce((sum, p) => sum + p.batches.length, 0), planStartedMs);
      const results = await core.produce({ topic: topic.name, acks, partitions }, rc.origin, rc);
      if (acks === '0') {
        return { status: 202, json: { offsets: plan.partitionOf.map((partition) => ({ partition, offset: UNKNOWN_OFFSET })) } satisfies ReplyBody<'produceRecords'> };
      }
      const whole = failedWhole(results);
      if (whole !== null) throw whole;
      const byPartition = new Map(results.map((r) => [r.partition, r]));
      const offsets = plan.partitionOf.map((partition, i) => {
        const outcome = byPartition.get(partition)!;
        if (outcome.outcome === 'appended') return { partition, offset: outcome.baseOffset + plan.positionInBatch[i]! };
        const error = outcome.outcome === 'failed' ? outcome.error : new StrataError('INTERNAL_ERROR', 'no answer for this partition');
        return { partition, offset: UNKNOWN_OFFSET, error: errorBody(error).error };
      });
      // Never drop a partition's error: 207 with per-record errors for the partitions that failed.
      const status = results.some((r) => r.outcome === 'failed') ? 207 : 200;
      return { status, json: { offsets } satisfies ReplyBody<'produceRecords'> };
    },

    produceBatches: async (rc) => {
      const { req, params, query } = rc;
      const acks = (queryParams('produceBatches', query).acks ?? 'all') as Acks;
      const partition = params.partition!;
      core.authorize(rc.origin, 'write', params.topic!); // 403, then 404, before reading the body
      registry.partition(params.topic!, partition);
      const type = mediaType(req);
      if (type !== RECORD_BATCH_MEDIA_TYPE) {
        throw new StrataError('UNSUPPORTED_MEDIA_TYPE', `expected Content-Type ${RECORD_BATCH_MEDIA_TYPE}, got "${type}"`);
      }
      const client = quotaClient(rc);
      checkQuota(client, 'produce');
      const { origin } = rc;
      const forwarding = core.forwardStream(params.topic!, partition, origin, req, type, req.headers['content-length'], rc);
      const forwarded = forwarding instanceof Promise ? await forwarding : forwarding;
      if (forwarded !== null) {
        recordQuota(client, 'produce', Number(req.headers['content-length'] ?? 0) || 0, null);
        return { status: forwarded.status, body: forwarded.body, contentType: forwarded.contentType };
      }
      const configs = registry.get(params.topic!).configs;
      // The hot path: bytes in, validated in place, appended; no JSON, no record decoding beyond validation.
      // max.message.bytes limits each batch, as in Kafka; the body as a whole, the request cap.
      const body = await readBody(req, config.maxRequestBytes, bodyPool);
      const validationStartedMs = busySince(client);
      let frames: BatchFrame[];
      try {
        // A small body is validated at once; a larger one (or one that inflates past the bound) off the event loop.
        const validated = validateBatchesEager(body, config.produceSyncValidationBytesMax, {
          maxBatchBytes: maxBatchBytes(configs),
          deep: true,
          maxDecompressedBytes: config.maxDecompressedBytes,
          slots: decompressionSlots,
        });
        frames = validated instanceof Promise ? await validated : validated;
      } catch (e) {
        bodyPool.give(body); // refused before anything could refer to it
        throw e;
      }
      recordQuota(client, 'produce', body.length, validationStartedMs);
      const [result] = await core.produce({ topic: params.topic!, acks, partitions: [{ partition, batches: body, frames }] }, origin, rc);
      // Appended (the log wrote it and keeps no reference): the buffer can take the next body. A
      // failure or acks=0 ("queued": the append may still be running) leaves it to the GC.
      if (result!.outcome === 'appended') bodyPool.give(body);
      if (result!.outcome === 'failed') throw result!.error;
      if (result!.outcome === 'queued') {
        return { status: 202, json: { baseOffset: UNKNOWN_OFFSET, lastOffset: UNKNOWN_OFFSET } satisfies ReplyBody<'produceBatches'> };
      }
      return {
        status: 200,
        json: {
          baseOffset: result!.baseOffset,
          lastOffset: result!.lastOffset,
          recordCount: result!.recordCount,
          ...(result!.duplicate ? { duplicate: true } : {}),
        } satisfies ReplyBody<'produceBatches'>,
      };
    },

    fetchRecords: async (rc) => {
      const client = quotaClient(rc);
      checkQuota(client, 'fetch');
      const { request, q } = fetchRequest(rc, 'fetchRecords', FETCH_DEFAULT_MAX_BYTES, client);
      const options = {
        maxRecords: Math.min((q.maxRecords as number | undefined) ?? FETCH_DEFAULT_MAX_RECORDS, config.fetchMaxRecordsCap),
        maxBytes: request.maxBytes,
        maxDecompressedBytes: config.maxDecompressedBytes,
        decompressionSlots,
        keyEncoding: (q.keyEncoding ?? 'utf8') as Encoding,
        valueEncoding: (q.valueEncoding ?? 'utf8') as Encoding,
        headerEncoding: (q.headerEncoding ?? 'utf8') as HeaderEncoding,
      };
      const read = await core.fetchPartition(request, rc.origin, rc.signal);
      if (read.source === 'leader') return passOn(read.reply);
      if (read.source === 'none') return { status: 204 }; // the client left; nothing is written
      const { result } = read;
      let converted: Awaited<ReturnType<typeof toJsonRecords>>;
      const convertStartedMs = busySince(client);
      try {
        converted = await toJsonRecords(result, request.offset, options);
      } finally {
        result.release(); // the JSON holds copies of every key, value and header
      }
      recordQuota(client, 'fetch', result.data.length, convertStartedMs);
      const { records, nextOffset } = converted;
      ctx.metrics.fetchRecords.inc({ topic: request.topic, partition: String(request.partition) }, records.length);
      return {
        status: 200,
        json: { records, nextOffset, highWatermark: result.highWatermark, logStartOffset: result.logStartOffset } satisfies ReplyBody<'fetchRecords'>,
      };
    },

    fetchBatches: async (rc) => {
      const client = quotaClient(rc);
      checkQuota(client, 'fetch');
      const read = await core.fetchPartition(fetchRequest(rc, 'fetchBatches', FETCH_DEFAULT_MAX_BYTES, client).request, rc.origin, rc.signal);
      if (read.source === 'leader') {
        recordQuota(client, 'fetch', read.reply.body.length, null);
        return passOn(read.reply);
      }
      if (read.source === 'none') return { status: 204 };
      const { result } = read;
      recordQuota(client, 'fetch', result.data.length, null);
      return {
        status: 200,
        body: result.data, // the log's Buffer, as read
        contentType: RECORD_BATCH_MEDIA_TYPE,
        onDone: result.release,
        headers: {
          'Strata-High-Watermark': String(result.highWatermark),
          'Strata-Log-Start-Offset': String(result.logStartOffset),
          'Strata-Next-Offset': String(result.nextOffset),
          'Strata-Batch-Count': String(result.batchCount),
        },
      };
    },

    listOffsets: async (rc) => {
      const { params, query } = rc;
      const partition = params.partition!;
      core.authorize(rc.origin, 'describe', params.topic!); // 403, then 404
      registry.partition(params.topic!, partition);
      const at = queryParams('listOffsets', query).at as OffsetAt;
      const lookup = await core.listOffsets(params.topic!, partition, at, rc.origin, rc.signal);
      if (lookup.source === 'leader') return passOn(lookup.reply);
      const { offset, timestamp } = lookup;
      return { status: 200, json: (timestamp === undefined ? { offset } : { offset, timestamp }) satisfies ReplyBody<'listOffsets'> };
    },

    deleteRecords: async (rc) => {
      const { params, req } = rc;
      core.authorize(rc.origin, 'delete', params.topic!); // 403, then 404, before reading the body
      registry.partition(params.topic!, params.partition!);
      const { beforeOffset } = await readRequestJson(req, 'deleteRecords', config.maxRequestBytes);
      const lowWatermark = await core.deleteRecords(params.topic!, params.partition!, beforeOffset, rc.origin, rc.signal);
      return { status: 200, json: { lowWatermark } satisfies ReplyBody<'deleteRecords'> };
    },
  };
}

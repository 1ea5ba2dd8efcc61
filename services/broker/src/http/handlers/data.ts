// Produce and fetch, JSON and raw, and offsets lookup.

import type { ReplyBody } from '@strata/api';
import { DecompressionSlots, StrataError, isStrataError, validateBatchesAsync, type BatchFrame } from '@strata/protocol';
import type { AppendResult } from '@strata/log';
import { FORWARDED_HEADER } from '../../cluster/forwarder.js';
import { notLeader, type PartitionRoute } from '../../cluster/routing.js';
import { FETCH_DEFAULT_MAX_BYTES, FETCH_DEFAULT_MAX_RECORDS } from '../../config.js';
import type { BrokerContext } from '../../context.js';
import { fetchBatches, lookupOffset, toJsonRecords, type FetchRequest, type FetchResult } from '../../fetch.js';
import { ACKS, ENCODINGS, HEADER_ENCODINGS, appendToPartition, planProduce, type Acks, type AppendContext } from '../../produce.js';
import { maxBatchBytes } from '../../topics/topic-config.js';
import { RECORD_BATCH_MEDIA_TYPE, mediaType, readBody, readRequestJson } from '../body.js';
import { errorBody, toStrataError } from '../errors.js';
import { enumParam, optionalInt, parseInteger, partitionParam, requiredInt } from '../params.js';
import type { Handler, Reply, RequestContext } from '../router.js';
import type { PartitionHandle } from '../../topics/topic-registry.js';

type DataRoute = 'produceRecords' | 'produceBatches' | 'fetchRecords' | 'fetchBatches' | 'listOffsets';

/** Kafka's "unknown offset" in answers that have none (acks=0). */
const UNKNOWN_OFFSET = -1;

export function dataHandlers(ctx: BrokerContext): Record<DataRoute, Handler> {
  const { registry, config, logger } = ctx;
  // One bound for every decompression this broker does for a request (produce validation, JSON fetch).
  const decompressionSlots = new DecompressionSlots(config.maxConcurrentDecompressions);
  const appendCtx: AppendContext = { now: () => ctx.now(), registry, metrics: ctx.metrics };

  /** Set on requests another broker forwarded here: those are never forwarded again (one hop, no loops). */
  const forwardedBy = (rc: RequestContext): string | undefined => {
    const value = rc.req.headers[FORWARDED_HEADER];
    return typeof value === 'string' ? value : undefined;
  };

  /** The route, looked up again first when this broker knows no leader (a partition it has not read yet). */
  const routeOf = async (handle: PartitionHandle): Promise<PartitionRoute> => {
    const route = ctx.router.route(handle);
    if (route.kind !== 'unavailable' || ctx.cluster === null) return route;
    await ctx.cluster.node.refresh(handle);
    return ctx.router.route(handle);
  };

  /** Appends here when this broker leads the partition; otherwise forwards the encoded batches to its leader. */
  const appendOrForward = async (rc: RequestContext, handle: PartitionHandle, batches: Buffer, frames: BatchFrame[], acks: Acks): Promise<AppendResult> => {
    const route = await routeOf(handle);
    if (route.kind === 'local') return appendToPartition(appendCtx, route.leader, batches, frames, acks, rc.signal);
    if (route.kind === 'unavailable' || ctx.cluster === null || forwardedBy(rc) !== undefined) throw notLeader(handle, route);
    try {
      return await ctx.cluster.forwarder.produce(route.url, handle.topic, handle.partition, acks, batches, rc.signal);
    } catch (e) {
      if (isStrataError(e) && e.details?.unreachable === true) ctx.router.leaderUnreachable(handle, route.leaderId);
      throw e;
    }
  };

  /**
   * A read of a partition led elsewhere: from the bucket here when the bucket holds the offset
   * (any broker serves history), else proxied to the leader. null: this broker leads it.
   */
  const readElsewhere = async (rc: RequestContext, handle: PartitionHandle, request: FetchRequest): Promise<{ fromBucket: FetchResult } | { proxied: Reply } | null> => {
    const route = await routeOf(handle);
    if (route.kind === 'local' || ctx.cluster === null) return null;
    const fromBucket = await ctx.cluster.node.readFromBucket(handle, request.offset, request.maxBytes, rc.signal);
    if (fromBucket !== null) return { fromBucket };
    return { proxied: await proxy(rc, handle) };
  };

  const proxy = async (rc: RequestContext, handle: PartitionHandle): Promise<Reply> => {
    const route = await routeOf(handle);
    if (route.kind !== 'remote' || ctx.cluster === null || forwardedBy(rc) !== undefined) throw notLeader(handle, route);
    try {
      const reply = await ctx.cluster.forwarder.proxy(route.url, rc.target, rc.signal);
      return { status: reply.status, body: reply.body, contentType: reply.contentType, headers: reply.headers };
    } catch (e) {
      if (isStrataError(e) && e.details?.unreachable === true) ctx.router.leaderUnreachable(handle, route.leaderId);
      throw e;
    }
  };

  /** acks=0: the answer does not wait, but close() does, and failures are logged. */
  const background = (what: string, topic: string, appends: Promise<AppendResult>[]): void => {
    ctx.track(
      Promise.allSettled(appends).then((results) => {
        for (const r of results) {
          if (r.status === 'rejected') logger.error('acks=0 append failed', { what, topic, err: r.reason });
        }
      }),
    );
  };

  const fetchRequest = ({ params, query }: RequestContext, defaultMaxBytes: number): FetchRequest => {
    const partition = partitionParam(params.partition!);
    registry.partition(params.topic!, partition); // 404 first
    return {
      topic: params.topic!,
      partition,
      // Negative offsets are well-formed but out of range (416), as in Kafka.
      offset: requiredInt(query, 'offset'),
      maxBytes: optionalInt(query, 'maxBytes', Math.min(defaultMaxBytes, config.fetchMaxBytesCap), { min: 1, clampTo: config.fetchMaxBytesCap }),
      maxWaitMs: optionalInt(query, 'maxWaitMs', 0, { min: 0, clampTo: config.fetchMaxWaitMsCap }),
    };
  };

  return {
    produceRecords: async (rc) => {
      const { req, params, query } = rc;
      const acks = enumParam(query, 'acks', ACKS, 'all');
      registry.get(params.topic!); // 404 before reading the body
      const body = await readRequestJson(req, 'produceRecords', config.maxRequestBytes);
      const topic = registry.get(params.topic!); // it may have been deleted meanwhile
      const plan = planProduce(body, topic, ctx.now(), config.jsonProduceMaxRecords);
      const handles = plan.batches.map((b) => registry.partition(topic.name, b.partition));
      const appends = plan.batches.map((b, i) => appendOrForward(rc, handles[i]!, b.batch, b.frames, acks));
      if (acks === '0') {
        background('json produce', topic.name, appends);
        return { status: 202, json: { offsets: plan.partitionOf.map((partition) => ({ partition, offset: UNKNOWN_OFFSET })) } satisfies ReplyBody<'produceRecords'> };
      }
      // acks=1 answers after the leader's append; acks=all once the high watermark covers the batch
      // (on a single node, or a partition whose ISR is its leader alone, that is the append).
      const settled = await Promise.allSettled(appends);
      const byPartition = new Map(plan.batches.map((b, i) => [b.partition, settled[i]!]));
      const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failures.length === settled.length) throw failures[0]!.reason;
      const offsets = plan.partitionOf.map((partition, i) => {
        const outcome = byPartition.get(partition)!;
        if (outcome.status === 'fulfilled') return { partition, offset: outcome.value.baseOffset + plan.positionInBatch[i]! };
        return { partition, offset: UNKNOWN_OFFSET, error: errorBody(toStrataError(outcome.reason).error).error };
      });
      if (failures.length > 0) {
        // Never drop a partition's error: 207 with per-record errors for the partitions that failed.
        for (const f of failures) {
          // Retriable refusals (no leader yet, too few in-sync replicas) are the client's to retry, not the operator's to read.
          if (toStrataError(f.reason).error.retriable) logger.debug('produce to a partition refused (retriable)', { topic: topic.name, err: f.reason });
          else logger.error('produce to a partition failed', { topic: topic.name, err: f.reason });
        }
        return { status: 207, json: { offsets } satisfies ReplyBody<'produceRecords'> };
      }
      return { status: 200, json: { offsets } satisfies ReplyBody<'produceRecords'> };
    },

    produceBatches: async (rc) => {
      const { req, params, query } = rc;
      const acks = enumParam(query, 'acks', ACKS, 'all');
      const partition = partitionParam(params.partition!);
      registry.partition(params.topic!, partition);
      const type = mediaType(req);
      if (type !== RECORD_BATCH_MEDIA_TYPE) {
        throw new StrataError('UNSUPPORTED_MEDIA_TYPE', `expected Content-Type ${RECORD_BATCH_MEDIA_TYPE}, got "${type}"`);
      }
      if (ctx.cluster !== null && forwardedBy(rc) === undefined) {
        const handle = registry.partition(params.topic!, partition);
        const route = await routeOf(handle);
        if (route.kind === 'remote') {
          try {
            const reply = await ctx.cluster.forwarder.produceStream(route.url, rc.target, req, type, req.headers['content-length'], rc.signal);
            return { status: reply.status, body: reply.body, contentType: reply.contentType };
          } catch (e) {
            if (isStrataError(e) && e.details?.unreachable === true) ctx.router.leaderUnreachable(handle, route.leaderId);
            throw e;
          }
        }
      }
      const configs = registry.get(params.topic!).configs;
      // The hot path: bytes in, validated in place, appended; no JSON, no record decoding beyond validation.
      // max.message.bytes limits each batch, as in Kafka; the body as a whole, the request cap.
      const body = await readBody(req, config.maxRequestBytes);
      const frames = await validateBatchesAsync(body, {
        maxBatchBytes: maxBatchBytes(configs),
        deep: true,
        maxDecompressedBytes: config.maxDecompressedBytes,
        slots: decompressionSlots,
      });
      const handle = registry.partition(params.topic!, partition);
      const append = appendOrForward(rc, handle, body, frames, acks);
      if (acks === '0') {
        background('raw produce', handle.topic, [append]);
        return { status: 202, json: { baseOffset: UNKNOWN_OFFSET, lastOffset: UNKNOWN_OFFSET } satisfies ReplyBody<'produceBatches'> };
      }
      const result = await append;
      return {
        status: 200,
        json: { baseOffset: result.baseOffset, lastOffset: result.lastOffset, recordCount: result.recordCount } satisfies ReplyBody<'produceBatches'>,
      };
    },

    fetchRecords: async (rc) => {
      const request = fetchRequest(rc, FETCH_DEFAULT_MAX_BYTES);
      const options = {
        maxRecords: optionalInt(rc.query, 'maxRecords', Math.min(FETCH_DEFAULT_MAX_RECORDS, config.fetchMaxRecordsCap), {
          min: 1,
          clampTo: config.fetchMaxRecordsCap,
        }),
        maxBytes: request.maxBytes,
        maxDecompressedBytes: config.maxDecompressedBytes,
        decompressionSlots,
        keyEncoding: enumParam(rc.query, 'keyEncoding', ENCODINGS, 'utf8'),
        valueEncoding: enumParam(rc.query, 'valueEncoding', ENCODINGS, 'utf8'),
        headerEncoding: enumParam(rc.query, 'headerEncoding', HEADER_ENCODINGS, 'utf8'),
      };
      const elsewhere = await readElsewhere(rc, registry.partition(request.topic, request.partition), request);
      if (elsewhere !== null && 'proxied' in elsewhere) return elsewhere.proxied;
      const result = elsewhere?.fromBucket ?? (await fetchBatches(ctx, request, rc.signal));
      if (result === null) return { status: 204 }; // the client left; nothing is written
      let converted: Awaited<ReturnType<typeof toJsonRecords>>;
      try {
        converted = await toJsonRecords(result, request.offset, options);
      } finally {
        result.release(); // the JSON holds copies of every key, value and header
      }
      const { records, nextOffset } = converted;
      ctx.metrics.fetchRecords.inc({ topic: request.topic, partition: String(request.partition) }, records.length);
      return {
        status: 200,
        json: { records, nextOffset, highWatermark: result.highWatermark, logStartOffset: result.logStartOffset } satisfies ReplyBody<'fetchRecords'>,
      };
    },

    fetchBatches: async (rc) => {
      const request = fetchRequest(rc, FETCH_DEFAULT_MAX_BYTES);
      const elsewhere = await readElsewhere(rc, registry.partition(request.topic, request.partition), request);
      if (elsewhere !== null && 'proxied' in elsewhere) return elsewhere.proxied;
      const result = elsewhere?.fromBucket ?? (await fetchBatches(ctx, request, rc.signal));
      if (result === null) return { status: 204 };
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
      const handle = registry.partition(params.topic!, partitionParam(params.partition!));
      if ((await routeOf(handle)).kind !== 'local') return proxy(rc, handle);
      const at = query.get('at');
      if (at === null || at === '') throw new StrataError('INVALID_REQUEST', 'query parameter "at" is required: earliest, latest or a timestamp in ms');
      if (at === 'earliest' || at === 'latest') return { status: 200, json: (await lookupOffset(ctx, handle, at)) satisfies ReplyBody<'listOffsets'> };
      const timestamp = parseInteger(at);
      if (timestamp === null || timestamp < 0) {
        throw new StrataError('INVALID_REQUEST', `query parameter "at" must be earliest, latest or a non-negative timestamp in ms, got "${at}"`);
      }
      return { status: 200, json: (await lookupOffset(ctx, handle, timestamp)) satisfies ReplyBody<'listOffsets'> };
    },
  };
}

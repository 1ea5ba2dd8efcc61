// Fetch: range-check the offset, read, and if there is nothing yet and the
// client asked to wait, long-poll until an append, the deadline, a disconnect
// or shutdown. The raw path hands the log's Buffer through untouched; the JSON
// path decodes it lazily, from the asked offset, up to the answer's bounds.

import { StrataError, isStrataError, visitRecordsAsync, type DecodedRecord, type DecompressionSlots } from '@strata/protocol';
import type { ReadResult } from '@strata/log';
import { JSON_MAX_DEPTH } from './config.js';
import { jsonDepthExcess } from './json-depth.js';
import type { PartitionRouter } from './cluster/routing.js';
import type { BrokerMetrics } from './metrics.js';
import type { PartitionWaiters } from './partition-waiters.js';
import type { Encoding, HeaderEncoding } from './produce.js';
import type { PartitionHandle, TopicRegistry } from './topics/topic-registry.js';

export interface FetchContext {
  registry: TopicRegistry;
  waiters: PartitionWaiters;
  metrics: BrokerMetrics;
  router: PartitionRouter;
}

export interface FetchRequest {
  topic: string;
  partition: number;
  offset: number;
  maxBytes: number;
  maxWaitMs: number;
}

export interface FetchResult {
  data: Buffer;
  /** Gives `data`'s memory back for reuse (see ReadResult.release); call once it is written. */
  release: () => void;
  batchCount: number;
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** Consumers read below this: min log end over the ISR at the leader (the log end when its ISR is itself, as on a single node). */
export function highWatermark(ctx: Pick<FetchContext, 'router'>, handle: PartitionHandle): number {
  return ctx.router.highWatermark(handle);
}

/** Where an offset lookup points: the log start, the high watermark, or the first record at/after a time (ms). */
export type OffsetAt = 'earliest' | 'latest' | 'max-timestamp' | number;

/**
 * The offset at `at` in a partition this broker leads (GET .../offsets and the group offset reset).
 * A timestamp with no record at or after it answers the high watermark (where Kafka's consumers seek).
 */
export async function lookupOffset(ctx: Pick<FetchContext, 'router'>, handle: PartitionHandle, at: OffsetAt): Promise<{ offset: number; timestamp?: number }> {
  if (at === 'earliest') return { offset: handle.tier.logStartOffset() };
  const found = at === 'latest' ? { offset: highWatermark(ctx, handle) } : at === 'max-timestamp' ? await lookupMaxTimestamp(ctx, handle) : await lookupTimestamp(ctx, handle, at);
  // A record found below the HW stands; an answer that is the HW itself must not go back (KIP-207).
  if (found.timestamp === undefined) {
    const route = ctx.router.route(handle);
    if (route.kind === 'local') route.leader.replicas.checkOffsetsAvailable(`${handle.topic}/${handle.partition}`);
  }
  return found;
}

async function lookupTimestamp(ctx: Pick<FetchContext, 'router'>, handle: PartitionHandle, at: number): Promise<{ offset: number; timestamp?: number }> {
  // Older data lives in the bucket: ask it first, then the local log (which may still hold a
  // segment that remote retention already dropped: never answer below the log start).
  let found = (await handle.tier.offsetForTimestamp(at)) ?? (await handle.log.offsetForTimestamp(at));
  const start = handle.tier.logStartOffset();
  if (found !== null && found.offset < start) found = { offset: start, timestamp: found.timestamp };
  if (found === null || found.offset >= highWatermark(ctx, handle)) return { offset: highWatermark(ctx, handle) };
  return { offset: found.offset, timestamp: found.timestamp };
}

/**
 * The first record holding the partition's largest timestamp (Kafka's ListOffsets -3, KIP-734), or
 * the high watermark without a timestamp when there is none (an empty partition, or that record is
 * not yet acknowledged or below the log start). Segments keep their largest timestamp, so only the
 * segment holding it is searched, with the same lookup as a time.
 */
async function lookupMaxTimestamp(ctx: Pick<FetchContext, 'router'>, handle: PartitionHandle): Promise<{ offset: number; timestamp?: number }> {
  const start = handle.tier.logStartOffset();
  let maxTimestamp = handle.log.stats().maxTimestamp;
  for (const segment of handle.tier.manifest.segments) if (segment.lastOffset >= start) maxTimestamp = Math.max(maxTimestamp, segment.maxTimestamp);
  const hw = highWatermark(ctx, handle);
  if (maxTimestamp < 0) return { offset: hw };
  const found = (await handle.tier.offsetForTimestamp(maxTimestamp)) ?? (await handle.log.offsetForTimestamp(maxTimestamp));
  if (found === null || found.offset < start || found.offset >= hw || found.timestamp !== maxTimestamp) return { offset: hw };
  return { offset: found.offset, timestamp: found.timestamp };
}

/**
 * OFFSET_OUT_OF_RANGE (416) outside [logStartOffset, logEndOffset], with the ends and the HW in the
 * details. An offset between the HW and the log end is in range with nothing to read yet: a
 * consumer that read to the old leader's HW may be ahead of a new leader's (lagging) HW for a moment.
 */
export function checkOffset(ctx: Pick<FetchContext, 'router'>, handle: PartitionHandle, offset: number): void {
  const logStartOffset = handle.tier.logStartOffset();
  const hw = highWatermark(ctx, handle);
  if (offset < logStartOffset || offset > Math.max(hw, handle.log.logEndOffset)) {
    throw new StrataError(
      'OFFSET_OUT_OF_RANGE',
      `offset ${offset} is outside [${logStartOffset}, ${hw}] for ${handle.topic}/${handle.partition}`,
      { details: { topic: handle.topic, partition: handle.partition, offset, logStartOffset, logEndOffset: handle.log.logEndOffset, highWatermark: hw } },
    );
  }
}

/** Reads at `offset`, long-polling for up to maxWaitMs when there is nothing to read yet. */
export async function fetchBatches(ctx: FetchContext, request: FetchRequest, signal: AbortSignal): Promise<FetchResult | null> {
  const handle = ctx.registry.partition(request.topic, request.partition);
  try {
    return await fetchFrom(ctx, handle, request, signal);
  } catch (e) {
    throw ctx.registry.explainFailure(handle, e);
  }
}

async function fetchFrom(ctx: FetchContext, first: PartitionHandle, request: FetchRequest, signal: AbortSignal): Promise<FetchResult | null> {
  let handle = first;
  checkOffset(ctx, handle, request.offset);
  let result = await readEitherTier(ctx, handle, request, signal);
  if (result.batchCount === 0 && request.maxWaitMs > 0) {
    const outcome = await ctx.waiters.wait(handle.key, request.offset, () => highWatermark(ctx, handle), request.maxWaitMs, signal);
    if (outcome === 'aborted') {
      result.release?.();
      return null;
    }
    // The topic may have been deleted (or recreated) while we waited.
    handle = ctx.registry.partition(request.topic, request.partition);
    if (outcome === 'data' || outcome === 'woken') {
      checkOffset(ctx, handle, request.offset);
      result.release?.();
      result = await readEitherTier(ctx, handle, request, signal);
    }
  }
  ctx.metrics.fetchBytes.inc({ topic: handle.topic, partition: String(handle.partition) }, result.data.length);
  return {
    data: result.data,
    release: result.release ?? noRelease,
    batchCount: result.batchCount,
    nextOffset: result.nextOffset,
    highWatermark: highWatermark(ctx, handle),
    logStartOffset: handle.tier.logStartOffset(),
  };
}

function noRelease(): void {}

/**
 * Below the local log start the bucket serves (all of it is below the high watermark);
 * otherwise the local log. The caller checked the offset against the partition's range.
 */
async function readEitherTier(ctx: Pick<FetchContext, 'router'>, handle: PartitionHandle, request: FetchRequest, signal: AbortSignal): Promise<ReadResult> {
  if (request.offset < handle.log.logStartOffset) {
    try {
      return await handle.tier.read(request.offset, request.maxBytes, signal);
    } catch (e) {
      // Local eviction raced the check: the offset may be local now after all.
      if (!(isStrataError(e) && e.code === 'OFFSET_OUT_OF_RANGE') || request.offset < handle.log.logStartOffset) throw e;
    }
  }
  return handle.log.read(request.offset, { maxBytes: request.maxBytes, maxOffset: highWatermark(ctx, handle) });
}

export interface JsonRecord {
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: Array<{ key: string; value: string | null }>;
  /** Present when the key could not be rendered in the asked encoding (json): it is base64 instead. */
  keyEncoding?: 'base64';
  /** Present when the value could not be rendered in the asked encoding (json): it is base64 instead. */
  valueEncoding?: 'base64';
}

export interface JsonFetchOptions {
  maxRecords: number;
  /** Bytes of JSON the records may take in the answer (the request's maxBytes); the first record always goes, as in Kafka. */
  maxBytes: number;
  /** Bound on one stored compressed batch's decompressed size (STRATA_MAX_DECOMPRESSED_BYTES). */
  maxDecompressedBytes: number;
  /** The broker's bound on decompressions at once (STRATA_MAX_CONCURRENT_DECOMPRESSIONS). */
  decompressionSlots: DecompressionSlots;
  keyEncoding: Encoding;
  valueEncoding: Encoding;
  headerEncoding: HeaderEncoding;
}

/**
 * Decodes fetched batches to JSON records at/after `offset`; returns the next offset too. The work
 * follows the answer, not the stored bytes: it stops at maxRecords and at maxBytes of rendered JSON
 * (at least one record), never decodes a batch below `offset`, and decompresses batches off the
 * event loop within maxDecompressedBytes. A batch that cannot be decoded after some records were
 * taken ends the answer there (the next fetch starts at it and reports it).
 */
export async function toJsonRecords(result: FetchResult, offset: number, options: JsonFetchOptions): Promise<{ records: JsonRecord[]; nextOffset: number }> {
  const records: JsonRecord[] = [];
  let nextOffset = result.nextOffset;
  let bytes = 0;
  const take = (record: DecodedRecord): boolean => {
    if (records.length >= options.maxRecords) {
      nextOffset = record.offset;
      return false;
    }
    const json = toJsonRecord(record, options);
    const size = Buffer.byteLength(JSON.stringify(json)) + 1; // and a comma
    if (records.length > 0 && bytes + size > options.maxBytes) {
      nextOffset = record.offset;
      return false;
    }
    records.push(json);
    bytes += size;
    return true;
  };
  try {
    if (result.data.length > 0) {
      await visitRecordsAsync(result.data, take, {
        fromOffset: offset,
        maxDecompressedBytes: options.maxDecompressedBytes,
        slots: options.decompressionSlots,
      });
    }
  } catch (e) {
    const last = records.at(-1);
    if (last !== undefined && isStrataError(e)) return { records, nextOffset: last.offset + 1 };
    if (isStrataError(e) && e.code === 'MESSAGE_TOO_LARGE') {
      throw new StrataError('MESSAGE_TOO_LARGE', `JSON fetch from offset ${offset}: ${e.message}; read it as raw batches instead`, { cause: e, details: e.details });
    }
    throw e;
  }
  return { records, nextOffset };
}

function toJsonRecord(record: DecodedRecord, options: JsonFetchOptions): JsonRecord {
  const json: JsonRecord = {
    offset: record.offset,
    timestamp: record.timestamp,
    key: encodeOut(record.key, options.keyEncoding),
    value: encodeOut(record.value, options.valueEncoding),
    headers: record.headers.map((h) => ({ key: h.key, value: h.value === null ? null : h.value.toString(options.headerEncoding) })),
  };
  if (json.key === UNRENDERABLE) {
    json.key = record.key!.toString('base64');
    json.keyEncoding = 'base64';
  }
  if (json.value === UNRENDERABLE) {
    json.value = record.value!.toString('base64');
    json.valueEncoding = 'base64';
  }
  return json;
}

/** A stored key or value that is not JSON, or nests deeper than JSON_MAX_DEPTH: it goes out base64, marked. */
const UNRENDERABLE = Symbol('unrenderable');

function encodeOut(bytes: Buffer | null, encoding: Encoding): unknown {
  if (bytes === null) return null;
  if (encoding === 'utf8') return bytes.toString('utf8');
  if (encoding === 'base64') return bytes.toString('base64');
  // Stored bytes are whatever a producer sent (the raw endpoint checks no JSON): a value that does not
  // parse, or that could not be serialised again, must not fail the fetch of every record beside it.
  if (jsonDepthExcess(bytes, JSON_MAX_DEPTH) >= 0) return UNRENDERABLE;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return UNRENDERABLE;
  }
}

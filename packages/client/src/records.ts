// What users hand the producer and get from the fetcher, and the one
// normalisation of a produced record: strings become UTF-8 bytes, everything
// is checked at send() so that a bad record fails alone, never its batch.

import { BATCH_HEADER_SIZE, StrataError, type RecordHeader } from '@strata/protocol';

export type Bytes = Uint8Array | string;
export type HeaderValue = Bytes | null;
/** Headers as {key: value} or as [{key, value}] (the array form keeps order and repeated keys). */
export type RecordHeadersInput = Readonly<Record<string, HeaderValue>> | ReadonlyArray<{ key: string; value: HeaderValue }>;

export interface ProducerRecord {
  topic: string;
  /** null/absent: the sticky partition of the topic (unless `partition` is given). */
  key?: Bytes | null;
  /** null is a tombstone. Buffers are not copied: do not modify one until its send settles. */
  value: Bytes | null;
  headers?: RecordHeadersInput;
  /** Overrides the partitioner. */
  partition?: number;
  /** ms since the epoch (default: when send() is called, as in Kafka). */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0 (the broker does not say). */
  offset: number;
}

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/**
 * A record after send()'s checks, measured: key and value stay as given (a string is written as
 * UTF-8 straight into the batch), with their byte lengths (-1 = null). The producer measures into
 * one reused object, so the fast path allocates nothing per record here.
 */
export interface RecordParts {
  topic: string;
  key: Buffer | string | null;
  keyBytes: number;
  value: Buffer | string | null;
  valueBytes: number;
  headers: RecordHeader[] | undefined;
  partition: number | undefined;
  timestamp: number | undefined;
  /** An upper bound of its encoded size in a batch (what the buffer accounts). */
  sizeBytes: number;
}

export function emptyRecordParts(): RecordParts {
  return { topic: '', key: null, keyBytes: -1, value: null, valueBytes: -1, headers: undefined, partition: undefined, timestamp: undefined, sizeBytes: 0 };
}

/**
 * Worst-case bytes of one record's framing: length (5) + attributes (1) + timestampDelta (10) +
 * offsetDelta (5) + key and value lengths (5 + 5) + header count (5).
 */
const RECORD_OVERHEAD_BYTES = 36;
/** Worst case for one header's two length varints. */
const HEADER_OVERHEAD_BYTES = 10;

/** Bytes a batch takes besides its records. */
export const BATCH_OVERHEAD_BYTES = BATCH_HEADER_SIZE;

function invalid(message: string): StrataError {
  return new StrataError('INVALID_RECORD', message);
}

function toBuffer(value: unknown, what: string): Buffer | null {
  if (value === null) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw invalid(`${what} must be a string, a Buffer/Uint8Array or null, got ${value === undefined ? 'undefined' : typeof value}`);
}

function toHeaders(raw: unknown): RecordHeader[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const out: RecordHeader[] = [];
  if (Array.isArray(raw)) {
    raw.forEach((h: unknown, i) => {
      const header = h as { key?: unknown; value?: unknown } | null;
      if (header === null || typeof header !== 'object' || typeof header.key !== 'string') {
        throw invalid(`headers[${i}] must be {key: string, value: string | Buffer | null}`);
      }
      out.push({ key: header.key, value: toBuffer(header.value ?? null, `headers[${i}].value`) });
    });
  } else if (typeof raw === 'object') {
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) out.push({ key, value: toBuffer(value ?? null, `header "${key}"`) });
  } else {
    throw invalid('headers must be an object {key: value} or an array [{key, value}]');
  }
  return out.length === 0 ? undefined : out;
}

function part(value: unknown, what: string): Buffer | string | null {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
  return toBuffer(value, what);
}

function byteLength(value: Buffer | string | null): number {
  if (value === null) return -1;
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
}

/** Checks a record and measures it into `into` (reused by the caller); throws StrataError for a bad one. */
export function measureRecord(record: ProducerRecord, into: RecordParts): void {
  if (record === null || typeof record !== 'object') throw invalid('a record must be an object {topic, key?, value, headers?, partition?, timestamp?}');
  const { topic } = record;
  if (typeof topic !== 'string' || topic.length === 0) throw invalid('record.topic must be a non-empty string');
  if (!('value' in record)) throw invalid('record.value is required (null for a tombstone)');
  const key = part(record.key ?? null, 'record.key');
  const value = part(record.value, 'record.value');
  const headers = record.headers === undefined ? undefined : toHeaders(record.headers);
  const { partition, timestamp } = record;
  if (partition !== undefined && partition !== null && (!Number.isSafeInteger(partition) || partition < 0)) {
    throw invalid(`record.partition must be a non-negative integer, got ${String(partition)}`);
  }
  if (timestamp !== undefined && timestamp !== null && (!Number.isSafeInteger(timestamp) || timestamp < 0)) {
    throw new StrataError('INVALID_TIMESTAMP', `record.timestamp must be a non-negative integer (ms), got ${String(timestamp)}`);
  }
  const keyBytes = byteLength(key);
  const valueBytes = byteLength(value);
  let sizeBytes = RECORD_OVERHEAD_BYTES + Math.max(0, keyBytes) + Math.max(0, valueBytes);
  if (headers !== undefined) for (const h of headers) sizeBytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(h.key, 'utf8') + (h.value?.length ?? 0);
  into.topic = topic;
  into.key = key;
  into.keyBytes = keyBytes;
  into.value = value;
  into.valueBytes = valueBytes;
  into.headers = headers;
  into.partition = partition ?? undefined;
  into.timestamp = timestamp ?? undefined;
  into.sizeBytes = sizeBytes;
}

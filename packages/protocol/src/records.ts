// Encoding records into a RecordBatch v2 and decoding them back out.
// Encoding sizes the batch exactly first, then writes it into one buffer (two
// with gzip: the plain section, then header + compressed section).

import { StrataError, assert } from './errors.js';
import { writeInt64 } from './int64.js';
import { crc32cRange } from './crc32c.js';
import { Compression, compressRecords, compressionCode, type CompressionName } from './compression.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchField,
  MAGIC_V2,
  decodeBatchAt,
  visitRecords,
  type BatchHeader,
  type VisitOptions,
} from './batch.js';
import { ByteCursor, sizeOfVarint } from './varint.js';
import { sizeOfRecordBody, writeRecord, type DecodedRecord, type RecordInput } from './record-section.js';

export interface EncodeBatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: CompressionName;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** The timestamp for records without one (default Date.now()). */
  now?: number;
}

/** A Kafka batch length is an int32. */
const MAX_BATCH_LENGTH = 0x7fffffff;

function invalidOption(name: string, value: unknown, rule: string): StrataError {
  return new StrataError('INVALID_REQUEST', `encodeRecordBatch: ${name} ${String(value)} must be ${rule}`);
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidOption(name, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

function checkTimestamp(timestamp: number, what: string): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new StrataError('INVALID_TIMESTAMP', `${what} ${String(timestamp)} is not a non-negative safe integer (ms)`);
  }
}

function checkBytes(bytes: unknown, what: string, index: number): void {
  if (bytes !== null && bytes !== undefined && !(bytes instanceof Uint8Array)) {
    throw new StrataError('INVALID_RECORD', `record ${index}: ${what} must be a Buffer or null`);
  }
}

/**
 * Encode records as one RecordBatch v2. baseTimestamp is the smallest record
 * timestamp (records without one get options.now ?? Date.now()), maxTimestamp
 * the largest; offset deltas are 0..n-1. Defaults are a plain (non-idempotent)
 * producer's: producerId -1, producerEpoch -1, baseSequence -1,
 * partitionLeaderEpoch -1 (the broker stamps it), baseOffset 0 (the broker assigns it).
 */
export function encodeRecordBatch(records: RecordInput[], options: EncodeBatchOptions = {}): Buffer {
  const count = records.length;
  if (count === 0) throw new StrataError('INVALID_RECORD', 'encodeRecordBatch: a batch needs at least one record');
  const codec = compressionCode(options.compression ?? 'none');
  const baseOffset = intOption('baseOffset', options.baseOffset, 0, 0, Number.MAX_SAFE_INTEGER);
  const leaderEpoch = intOption('partitionLeaderEpoch', options.partitionLeaderEpoch, -1, -1, 0x7fffffff);
  const producerId = intOption('producerId', options.producerId, -1, -1, Number.MAX_SAFE_INTEGER);
  const producerEpoch = intOption('producerEpoch', options.producerEpoch, -1, -1, 0x7fff);
  const baseSequence = intOption('baseSequence', options.baseSequence, -1, -1, 0x7fffffff);

  // Timestamps: one pass for min/max; `now` is read once, and only if needed.
  let now = -1;
  let minTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  const timestamps = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const record = records[i];
    checkBytes(record.key, 'key', i);
    checkBytes(record.value, 'value', i);
    let timestamp = record.timestamp;
    if (timestamp === undefined) {
      if (now < 0) {
        now = options.now ?? Date.now();
        checkTimestamp(now, 'encodeRecordBatch: options.now');
      }
      timestamp = now;
    } else {
      checkTimestamp(timestamp, `record ${i}: timestamp`);
    }
    timestamps[i] = timestamp;
    if (timestamp < minTimestamp) minTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
  }

  // Sizes: body sizes are kept for the write pass.
  const bodySizes = new Int32Array(count);
  let sectionBytes = 0;
  for (let i = 0; i < count; i++) {
    const body = sizeOfRecordBody(records[i], timestamps[i] - minTimestamp, i);
    bodySizes[i] = body;
    sectionBytes += sizeOfVarint(body) + body;
    if (sectionBytes > MAX_BATCH_LENGTH) {
      throw new StrataError('MESSAGE_TOO_LARGE', `encodeRecordBatch: records exceed ${MAX_BATCH_LENGTH} bytes`);
    }
  }

  let batch: Buffer;
  if (codec === Compression.none) {
    batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + sectionBytes);
    writeSection(batch, BATCH_HEADER_SIZE, records, bodySizes, timestamps, minTimestamp);
  } else {
    const section = Buffer.allocUnsafe(sectionBytes);
    writeSection(section, 0, records, bodySizes, timestamps, minTimestamp);
    const compressed = compressRecords(codec, section);
    batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length);
    compressed.copy(batch, BATCH_HEADER_SIZE);
  }
  if (batch.length - BATCH_LOG_OVERHEAD > MAX_BATCH_LENGTH) {
    throw new StrataError('MESSAGE_TOO_LARGE', `encodeRecordBatch: batch exceeds ${MAX_BATCH_LENGTH} bytes`);
  }

  writeInt64(batch, BatchField.baseOffset, baseOffset);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt32BE(leaderEpoch, BatchField.partitionLeaderEpoch);
  batch.writeInt8(MAGIC_V2, BatchField.magic);
  batch.writeInt16BE(codec, BatchField.attributes); // CreateTime, not transactional, not control
  batch.writeInt32BE(count - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, minTimestamp);
  writeInt64(batch, BatchField.maxTimestamp, maxTimestamp);
  writeInt64(batch, BatchField.producerId, producerId);
  batch.writeInt16BE(producerEpoch, BatchField.producerEpoch);
  batch.writeInt32BE(baseSequence, BatchField.baseSequence);
  batch.writeInt32BE(count, BatchField.recordCount);
  // The CRC goes last: it covers everything from attributes to the end.
  batch.writeUInt32BE(crc32cRange(batch, BatchField.attributes, batch.length), BatchField.crc);
  return batch;
}

function writeSection(
  buf: Buffer,
  start: number,
  records: RecordInput[],
  bodySizes: Int32Array,
  timestamps: number[],
  baseTimestamp: number,
): void {
  let pos = start;
  for (let i = 0; i < records.length; i++) {
    const next = writeRecord(buf, pos, records[i], bodySizes[i], timestamps[i] - baseTimestamp, i);
    assert(next - pos === sizeOfVarint(bodySizes[i]) + bodySizes[i], `record ${i} was written at its computed size`);
    pos = next;
  }
  assert(pos === buf.length, 'the records section fills its buffer exactly');
}

/**
 * Decode the batch at position, verifying framing, CRC and record structure
 * (CORRUPT_MESSAGE otherwise). Uncompressed keys and values are views of buf.
 */
export function decodeRecordBatch(buf: Buffer, position = 0): { header: BatchHeader; records: DecodedRecord[] } {
  return decodeBatchAt(buf, position, 0, new ByteCursor(buf, 0, 0));
}

export interface DecodeLimits extends VisitOptions {
  /** Stop after this many records (at or after fromOffset). Default: no limit. */
  maxRecords?: number;
}

/**
 * The records of the whole batches in buf (a trailing partial batch is ignored,
 * as Kafka clients do), at or after limits.fromOffset, at most limits.maxRecords.
 */
export function decodeRecordBatches(buf: Buffer, limits: DecodeLimits = {}): DecodedRecord[] {
  const maxRecords = limits.maxRecords ?? Number.POSITIVE_INFINITY;
  if (!(maxRecords >= 1)) throw new StrataError('INVALID_REQUEST', `decodeRecordBatches: maxRecords ${String(maxRecords)} must be at least 1`);
  const out: DecodedRecord[] = [];
  visitRecords(buf, (record) => out.push(record) < maxRecords, limits);
  return out;
}

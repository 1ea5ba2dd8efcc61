// A RecordBatch v2 written as its records arrive (the producer's open batch): each send() encodes
// its record straight into the batch's buffer, so a buffered record is bytes, not an object. The
// header (counts, timestamps, the idempotent stamp) and the CRC are written once, by finish(),
// right before the batch's first send; a retry resends the same bytes.
//
// The layout is the one encodeRecordBatch writes (@strata/protocol records.ts): the header, then
// per record: length varint, attributes, timestampDelta varlong, offsetDelta varint, key, value,
// headers. As Kafka's MemoryRecordsBuilder, baseTimestamp is the first record's timestamp and a
// later record with an earlier timestamp gets a negative delta.

import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchField,
  Compression,
  MAGIC_V2,
  StrataError,
  compressRecords,
  compressionCode,
  crc32c,
  sizeOfVarint,
  sizeOfVarlong,
  writeInt64,
  writeVarint,
  writeVarlong,
  type CompressionName,
  type RecordHeader,
} from '@strata/protocol';
import type { RecordParts } from './records.js';

/** The idempotence fields of a batch (idempotence.ts); null for a plain producer (-1s). */
export interface BatchStampFields {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** The smallest buffer a batch starts with; it doubles (one copy) when a record does not fit. */
const MIN_CAPACITY_BYTES = 1024;

/** A released builder's buffer: nothing can be appended to it or read from it again. */
const RELEASED = Buffer.alloc(0);

function sizeOfField(bytes: number): number {
  return bytes < 0 ? 1 : sizeOfVarint(bytes) + bytes;
}

function sizeOfHeaders(headers: RecordHeader[] | undefined): number {
  if (headers === undefined) return 1;
  let size = sizeOfVarint(headers.length);
  for (const h of headers) size += sizeOfField(Buffer.byteLength(h.key, 'utf8')) + sizeOfField(h.value === null ? -1 : h.value.length);
  return size;
}

export class BatchBuilder {
  #buf: Buffer;
  #pos = BATCH_HEADER_SIZE;
  #count = 0;
  #baseTimestamp = 0;
  #maxTimestamp = 0;
  #finished: Buffer | null = null;

  /**
   * `capacityBytes`: the buffer to start with (the partition's last batch size is a good guess);
   * `spare`: a settled batch's buffer (releaseBuffer()), used when it is that large.
   */
  constructor(capacityBytes: number, spare: Buffer | null = null) {
    const bytes = Math.max(MIN_CAPACITY_BYTES, capacityBytes);
    this.#buf = spare !== null && spare.length >= bytes ? spare : Buffer.allocUnsafe(bytes);
  }

  /**
   * Gives up the buffer for the next batch: a fresh 256 KiB buffer per batch cost a page fault every
   * 4 KiB written (the copies into it were a tenth of the client's CPU at 100 B records). Only once
   * the batch's bytes are nowhere else: its request answered, never to be sent again.
   */
  releaseBuffer(): Buffer {
    const buf = this.#buf;
    this.#buf = RELEASED;
    this.#finished = RELEASED;
    return buf;
  }

  get count(): number {
    return this.#count;
  }

  /** Bytes written so far (header included). */
  get bytes(): number {
    return this.#pos;
  }

  /** Appends one record (already checked by RecordParts.measure) with its timestamp. */
  append(record: RecordParts, timestamp: number): void {
    if (this.#finished !== null) throw new StrataError('INTERNAL_ERROR', 'assertion failed: a record appended to a finished batch');
    if (this.#count === 0) {
      this.#baseTimestamp = timestamp;
      this.#maxTimestamp = timestamp;
    } else if (timestamp > this.#maxTimestamp) {
      this.#maxTimestamp = timestamp;
    }
    const delta = timestamp - this.#baseTimestamp;
    const body =
      1 + sizeOfVarlong(delta) + sizeOfVarint(this.#count) + sizeOfField(record.keyBytes) + sizeOfField(record.valueBytes) + sizeOfHeaders(record.headers);
    this.#reserve(sizeOfVarint(body) + body);
    const buf = this.#buf;
    let pos = writeVarint(buf, this.#pos, body);
    const bodyStart = pos;
    buf[pos++] = 0; // attributes
    pos = writeVarlong(buf, pos, delta);
    pos = writeVarint(buf, pos, this.#count);
    pos = writeField(buf, pos, record.key, record.keyBytes);
    pos = writeField(buf, pos, record.value, record.valueBytes);
    const headers = record.headers;
    if (headers === undefined) {
      buf[pos++] = 0; // header count 0
    } else {
      pos = writeVarint(buf, pos, headers.length);
      for (const h of headers) {
        pos = writeField(buf, pos, h.key, Buffer.byteLength(h.key, 'utf8'));
        pos = writeField(buf, pos, h.value, h.value === null ? -1 : h.value.length);
      }
    }
    if (pos - bodyStart !== body) throw new StrataError('INTERNAL_ERROR', `assertion failed: a record body of ${pos - bodyStart} bytes, sized ${body}`);
    this.#pos = pos;
    this.#count++;
  }

  /**
   * The batch's bytes, header and CRC written (compressing the records section when asked). Called
   * once, before the first send; the records are no longer appendable after it.
   */
  finish(compression: CompressionName, stamp: BatchStampFields | null): Buffer {
    if (this.#finished === RELEASED) throw new StrataError('INTERNAL_ERROR', 'assertion failed: a released batch finished');
    if (this.#finished !== null) return this.#finished;
    if (this.#count === 0) throw new StrataError('INTERNAL_ERROR', 'assertion failed: an empty batch finished');
    const codec = compressionCode(compression);
    let batch: Buffer;
    if (codec === Compression.none) {
      batch = this.#buf.subarray(0, this.#pos);
    } else {
      const compressed = compressRecords(codec, this.#buf.subarray(BATCH_HEADER_SIZE, this.#pos));
      batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length);
      compressed.copy(batch, BATCH_HEADER_SIZE);
    }
    writeInt64(batch, BatchField.baseOffset, 0);
    batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD, BatchField.batchLength);
    batch.writeInt32BE(-1, BatchField.partitionLeaderEpoch); // the broker stamps it
    batch.writeInt8(MAGIC_V2, BatchField.magic);
    batch.writeInt16BE(codec, BatchField.attributes); // CreateTime, not transactional, not control
    batch.writeInt32BE(this.#count - 1, BatchField.lastOffsetDelta);
    writeInt64(batch, BatchField.baseTimestamp, this.#baseTimestamp);
    writeInt64(batch, BatchField.maxTimestamp, this.#maxTimestamp);
    writeInt64(batch, BatchField.producerId, stamp?.producerId ?? -1);
    batch.writeInt16BE(stamp?.producerEpoch ?? -1, BatchField.producerEpoch);
    batch.writeInt32BE(stamp?.baseSequence ?? -1, BatchField.baseSequence);
    batch.writeInt32BE(this.#count, BatchField.recordCount);
    // The CRC goes last: it covers everything from attributes to the end.
    batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
    this.#finished = batch;
    return batch;
  }

  #reserve(bytes: number): void {
    const needed = this.#pos + bytes;
    if (needed <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#buf.length * 2));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }
}

/** A key, value or header part: -1 bytes is null; strings are written as UTF-8 without a copy. */
function writeField(buf: Buffer, pos: number, part: Buffer | string | null, bytes: number): number {
  if (bytes < 0 || part === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes);
  if (typeof part === 'string') buf.write(part, pos, bytes, 'utf8');
  // TypedArray#set, not Buffer#copy: copy's argument checks cost more than the bytes of a 100 B
  // value (it was 11% of the client's CPU at 100 B records).
  else buf.set(part, pos);
  return pos + bytes;
}

// One sealed segment as one object (docs/architecture.md#object-storage):
//
//   [data]          the segment's RecordBatch v2 bytes exactly as the log holds them
//   [offset index]  offsetIndexCount x (relativeOffset u32, position u32): a batch
//                   start every ~indexIntervalBytes, the first batch always
//   [time index]    timeIndexCount x (maxTimestampSoFar i64, relativeOffset u32):
//                   relativeOffset is the first batch whose max timestamp reached
//                   maxTimestampSoFar, so every batch before it is older
//   [footer]        SEGMENT_FOOTER_BYTES, fixed size, at the very end:
//
//      0  magic "STRSEG01"        8   version u16       10  flags u16 (0)
//     12  footerBytes u32        16  baseOffset i64     24  lastOffset i64
//     32  dataBytes i64          40  recordCount i64    48  maxTimestamp i64
//     56  offsetIndexPosition i64                       64  timeIndexPosition i64
//     72  batchCount u32         76  offsetIndexCount u32
//     80  timeIndexCount u32     84  indexIntervalBytes u32
//     88  dataCrc u32 (CRC-32C of the data)             92  indexCrc u32 (of both indexes)
//     96  footerCrc u32 (CRC-32C of footer bytes 0..95)
//
// All integers big-endian. Positions in the offset index are u32, so the data is
// under 4 GiB (segment.bytes is far below). Offsets within a segment are dense
// (batch n+1 starts right after batch n's last offset): the writer refuses
// anything else and the reader checks it, so an index or a header that lies is
// caught before bytes go out.
//
// Reading takes a HEAD (skipped when the caller knows the size), one ranged GET
// of the tail (footer + both indexes, when they fit the window) and then one
// ranged GET per read or timestamp lookup. Checksums are verified before writing (every batch CRC
// while the writer streams) and after reading (footer, indexes, every batch
// handed out; the data CRC whenever the whole data region is read).

import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchField,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
  StrataError,
  crc32c,
  visitRecordsAsync,
  readInt64,
  scanValidPrefix,
  validateBatches,
  writeInt64,
} from '@strata/protocol';
import { StorageError, invalidRequest } from './errors.js';
import { parseSegmentObjectKey } from './keys.js';
import type { ObjectStore, OperationOptions } from './object-store.js';

export const SEGMENT_OBJECT_MAGIC = 'STRSEG01';
export const SEGMENT_OBJECT_VERSION = 1;
export const SEGMENT_FOOTER_BYTES = 100;
export const OFFSET_INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;
/** Between two offset index entries; a read fetches at most about this much before the asked offset. */
export const DEFAULT_INDEX_INTERVAL_BYTES = 64 * 1024;
/** The tail GET on open; indexes larger than this take a second GET. */
export const DEFAULT_TAIL_WINDOW_BYTES = 64 * 1024;
/** Positions are u32. */
export const MAX_SEGMENT_DATA_BYTES = 0xffff_ffff;
/** Refuse (as corrupt) indexes larger than this: 64 MiB is a 4 GiB segment indexed every 1 KiB. */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;

const MAGIC_BYTES = Buffer.from(SEGMENT_OBJECT_MAGIC, 'latin1');
const MAX_U32 = 0xffff_ffff;

const F = {
  magic: 0,
  version: 8,
  flags: 10,
  footerBytes: 12,
  baseOffset: 16,
  lastOffset: 24,
  dataBytes: 32,
  recordCount: 40,
  maxTimestamp: 48,
  offsetIndexPosition: 56,
  timeIndexPosition: 64,
  batchCount: 72,
  offsetIndexCount: 76,
  timeIndexCount: 80,
  indexIntervalBytes: 84,
  dataCrc: 88,
  indexCrc: 92,
  footerCrc: 96,
} as const;

/** What the footer says about the segment object. */
export interface SegmentFooter {
  version: number;
  baseOffset: number;
  lastOffset: number;
  dataBytes: number;
  recordCount: number;
  batchCount: number;
  /** Max batch timestamp in the segment (-1 when no batch has one). */
  maxTimestamp: number;
  offsetIndexPosition: number;
  offsetIndexCount: number;
  timeIndexPosition: number;
  timeIndexCount: number;
  indexIntervalBytes: number;
  dataCrc: number;
  indexCrc: number;
  /** Size of the whole object: data + indexes + footer. */
  objectBytes: number;
}

export interface SegmentObjectInfo {
  /** The segment's first offset: the first batch must start here. */
  baseOffset: number;
  /** When given, the last batch must end here (a cross-check against the log's view). */
  lastOffset?: number;
  indexIntervalBytes?: number;
}

function corrupt(key: string, message: string, details?: Record<string, unknown>, cause?: unknown): StrataError {
  return new StrataError('CORRUPT_MESSAGE', `segment object ${key}: ${message}`, { details: { key, ...details }, cause });
}

// ---- writing ----------------------------------------------------------------

/**
 * Builds the indexes and footer while the data streams through, and checks
 * every batch on the way (framing, magic 2, CRC-32C, dense offsets from
 * info.baseOffset), so a corrupt local segment is never uploaded.
 */
export class SegmentObjectWriter {
  readonly #baseOffset: number;
  readonly #expectedLastOffset: number | undefined;
  readonly #intervalBytes: number;
  readonly #header = Buffer.alloc(BATCH_HEADER_SIZE);
  #headerFill = 0;
  #bodyRemaining = 0;
  #batchCrc = 0;
  #storedCrc = 0;
  #batchStart = 0;
  #batchLastOffset = 0;
  #position = 0;
  #dataCrc = 0;
  #nextOffset: number;
  #batchCount = 0;
  #recordCount = 0;
  #bytesSinceIndexEntry = 0;
  #maxTimestamp = Number.NEGATIVE_INFINITY;
  #relativeOffsetOfMax = 0;
  readonly #offsetIndex: number[] = []; // relativeOffset, position, ...
  readonly #timeIndex: number[] = []; // timestamp, relativeOffset, ...
  #finished = false;

  constructor(info: SegmentObjectInfo) {
    if (!Number.isSafeInteger(info.baseOffset) || info.baseOffset < 0) throw invalidRequest(`segment baseOffset ${String(info.baseOffset)} is not a safe integer >= 0`);
    const interval = info.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL_BYTES;
    if (!Number.isSafeInteger(interval) || interval < 1 || interval > MAX_U32) throw invalidRequest(`indexIntervalBytes ${String(interval)} is out of range`);
    this.#baseOffset = info.baseOffset;
    this.#expectedLastOffset = info.lastOffset;
    this.#intervalBytes = interval;
    this.#nextOffset = info.baseOffset;
  }

  /** Feeds the next data bytes (any chunking). Throws CORRUPT_MESSAGE at the first bad batch. */
  update(chunk: Buffer): void {
    if (this.#finished) throw new StrataError('INTERNAL_ERROR', 'SegmentObjectWriter.update after finish');
    if (this.#position + chunk.length > MAX_SEGMENT_DATA_BYTES) {
      throw invalidRequest(`segment data exceeds ${MAX_SEGMENT_DATA_BYTES} bytes, the most a segment object indexes`);
    }
    this.#dataCrc = crc32c(chunk, this.#dataCrc);
    let i = 0;
    while (i < chunk.length) {
      if (this.#headerFill < BATCH_HEADER_SIZE) {
        const n = Math.min(BATCH_HEADER_SIZE - this.#headerFill, chunk.length - i);
        chunk.copy(this.#header, this.#headerFill, i, i + n);
        this.#headerFill += n;
        this.#position += n;
        i += n;
        if (this.#headerFill === BATCH_HEADER_SIZE) this.#onHeader();
        continue;
      }
      const n = Math.min(this.#bodyRemaining, chunk.length - i);
      this.#batchCrc = crc32c(chunk.subarray(i, i + n), this.#batchCrc);
      this.#bodyRemaining -= n;
      this.#position += n;
      i += n;
      if (this.#bodyRemaining === 0) this.#onBatchEnd();
    }
  }

  /** The indexes and footer to append after the data, once all data is fed. */
  finish(): { tail: Buffer; footer: SegmentFooter } {
    if (this.#finished) throw new StrataError('INTERNAL_ERROR', 'SegmentObjectWriter.finish called twice');
    this.#finished = true;
    const where = `segment data from offset ${this.#baseOffset}`;
    if (this.#headerFill !== 0) {
      throw new StrataError('CORRUPT_MESSAGE', `${where}: ends inside a batch at byte ${this.#batchStart} (truncated segment)`);
    }
    if (this.#batchCount === 0) throw invalidRequest(`${where}: a segment object needs at least one batch`);
    const lastOffset = this.#nextOffset - 1;
    if (this.#expectedLastOffset !== undefined && this.#expectedLastOffset !== lastOffset) {
      throw invalidRequest(`${where}: the batches end at offset ${lastOffset}, expected ${this.#expectedLastOffset}`);
    }
    // The final max, if the last interval raised it.
    if (this.#timeIndex.length === 0 || this.#maxTimestamp > this.#timeIndex[this.#timeIndex.length - 2]!) {
      this.#timeIndex.push(this.#maxTimestamp, this.#relativeOffsetOfMax);
    }
    const offsetCount = this.#offsetIndex.length / 2;
    const timeCount = this.#timeIndex.length / 2;
    const indexBytes = offsetCount * OFFSET_INDEX_ENTRY_BYTES + timeCount * TIME_INDEX_ENTRY_BYTES;
    const tail = Buffer.alloc(indexBytes + SEGMENT_FOOTER_BYTES);
    let at = 0;
    for (let k = 0; k < this.#offsetIndex.length; k += 2) {
      tail.writeUInt32BE(this.#offsetIndex[k]!, at);
      tail.writeUInt32BE(this.#offsetIndex[k + 1]!, at + 4);
      at += OFFSET_INDEX_ENTRY_BYTES;
    }
    for (let k = 0; k < this.#timeIndex.length; k += 2) {
      writeInt64(tail, at, this.#timeIndex[k]!);
      tail.writeUInt32BE(this.#timeIndex[k + 1]!, at + 8);
      at += TIME_INDEX_ENTRY_BYTES;
    }
    const dataBytes = this.#position;
    const footer: SegmentFooter = {
      version: SEGMENT_OBJECT_VERSION,
      baseOffset: this.#baseOffset,
      lastOffset,
      dataBytes,
      recordCount: this.#recordCount,
      batchCount: this.#batchCount,
      maxTimestamp: this.#maxTimestamp,
      offsetIndexPosition: dataBytes,
      offsetIndexCount: offsetCount,
      timeIndexPosition: dataBytes + offsetCount * OFFSET_INDEX_ENTRY_BYTES,
      timeIndexCount: timeCount,
      indexIntervalBytes: this.#intervalBytes,
      dataCrc: this.#dataCrc,
      indexCrc: crc32c(tail.subarray(0, indexBytes)),
      objectBytes: dataBytes + indexBytes + SEGMENT_FOOTER_BYTES,
    };
    encodeFooter(footer).copy(tail, indexBytes);
    return { tail, footer };
  }

  #onHeader(): void {
    const h = this.#header;
    const at = `segment data byte ${this.#batchStart}`;
    const batchLength = h.readInt32BE(BatchField.batchLength);
    if (batchLength < MIN_BATCH_LENGTH) throw new StrataError('CORRUPT_MESSAGE', `${at}: batchLength ${batchLength} is below ${MIN_BATCH_LENGTH}`);
    if (h[BatchField.magic] !== MAGIC_V2) throw new StrataError('CORRUPT_MESSAGE', `${at}: magic ${h[BatchField.magic]}, expected ${MAGIC_V2}`);
    const baseOffset = readInt64(h, BatchField.baseOffset);
    if (baseOffset !== this.#nextOffset) {
      throw new StrataError('CORRUPT_MESSAGE', `${at}: batch base offset ${baseOffset}, expected ${this.#nextOffset} (segments hold dense offsets)`);
    }
    const lastOffsetDelta = h.readInt32BE(BatchField.lastOffsetDelta);
    const recordCount = h.readInt32BE(BatchField.recordCount);
    if (lastOffsetDelta < 0 || recordCount < 0) throw new StrataError('CORRUPT_MESSAGE', `${at}: negative lastOffsetDelta or recordCount`);
    const maxTimestamp = readInt64(h, BatchField.maxTimestamp);
    const relativeOffset = baseOffset - this.#baseOffset;
    if (relativeOffset + lastOffsetDelta > MAX_U32) throw invalidRequest(`${at}: offsets span more than 2^32 in one segment`);

    if (this.#batchCount === 0 || this.#bytesSinceIndexEntry >= this.#intervalBytes) {
      // Record the max so far before this batch joins it: entries stay valid either way
      // (see the file header), and this keeps the time index as sparse as the offset index.
      if (this.#batchCount > 0 && (this.#timeIndex.length === 0 || this.#maxTimestamp > this.#timeIndex[this.#timeIndex.length - 2]!)) {
        this.#timeIndex.push(this.#maxTimestamp, this.#relativeOffsetOfMax);
      }
      this.#offsetIndex.push(relativeOffset, this.#batchStart);
      this.#bytesSinceIndexEntry = 0;
    }
    if (maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestamp = maxTimestamp;
      this.#relativeOffsetOfMax = relativeOffset;
    }
    this.#batchLastOffset = baseOffset + lastOffsetDelta;
    this.#recordCount += recordCount;
    this.#storedCrc = h.readUInt32BE(BatchField.crc);
    this.#batchCrc = crc32c(h.subarray(BatchField.attributes, BATCH_HEADER_SIZE));
    this.#bodyRemaining = BATCH_LOG_OVERHEAD + batchLength - BATCH_HEADER_SIZE;
    if (this.#bodyRemaining === 0) this.#onBatchEnd();
  }

  #onBatchEnd(): void {
    if (this.#batchCrc !== this.#storedCrc) {
      throw new StrataError(
        'CORRUPT_MESSAGE',
        `segment data byte ${this.#batchStart}: batch CRC mismatch (stored 0x${hex(this.#storedCrc)}, computed 0x${hex(this.#batchCrc)})`,
      );
    }
    this.#batchCount++;
    this.#bytesSinceIndexEntry += this.#position - this.#batchStart;
    this.#nextOffset = this.#batchLastOffset + 1;
    this.#batchStart = this.#position;
    this.#headerFill = 0;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function encodeFooter(f: SegmentFooter): Buffer {
  const b = Buffer.alloc(SEGMENT_FOOTER_BYTES);
  MAGIC_BYTES.copy(b, F.magic);
  b.writeUInt16BE(f.version, F.version);
  b.writeUInt16BE(0, F.flags);
  b.writeUInt32BE(SEGMENT_FOOTER_BYTES, F.footerBytes);
  writeInt64(b, F.baseOffset, f.baseOffset);
  writeInt64(b, F.lastOffset, f.lastOffset);
  writeInt64(b, F.dataBytes, f.dataBytes);
  writeInt64(b, F.recordCount, f.recordCount);
  writeInt64(b, F.maxTimestamp, f.maxTimestamp);
  writeInt64(b, F.offsetIndexPosition, f.offsetIndexPosition);
  writeInt64(b, F.timeIndexPosition, f.timeIndexPosition);
  b.writeUInt32BE(f.batchCount, F.batchCount);
  b.writeUInt32BE(f.offsetIndexCount, F.offsetIndexCount);
  b.writeUInt32BE(f.timeIndexCount, F.timeIndexCount);
  b.writeUInt32BE(f.indexIntervalBytes, F.indexIntervalBytes);
  b.writeUInt32BE(f.dataCrc, F.dataCrc);
  b.writeUInt32BE(f.indexCrc, F.indexCrc);
  b.writeUInt32BE(crc32c(b.subarray(0, F.footerCrc)), F.footerCrc);
  return b;
}

/** The whole object as parts to write one after the other: [data, indexes + footer]. No copy of the data. */
export function buildSegmentObject(data: Buffer, info: SegmentObjectInfo): { parts: Buffer[]; footer: SegmentFooter; sizeBytes: number } {
  const writer = new SegmentObjectWriter(info);
  writer.update(data);
  const { tail, footer } = writer.finish();
  return { parts: [data, tail], footer, sizeBytes: footer.objectBytes };
}

/**
 * The object as a stream for ObjectStore.putStream, built while `source` (the
 * segment file, say) streams through: memory stays at one chunk plus the indexes.
 * `footer` is there once the stream has been read to the end.
 */
export function segmentObjectParts(source: Buffer | AsyncIterable<Buffer>, info: SegmentObjectInfo): SegmentObjectStream {
  return new SegmentObjectStream(source, info);
}

export class SegmentObjectStream implements AsyncIterable<Buffer> {
  readonly #source: Buffer | AsyncIterable<Buffer>;
  readonly #info: SegmentObjectInfo;
  #footer: SegmentFooter | null = null;
  #started = false;

  constructor(source: Buffer | AsyncIterable<Buffer>, info: SegmentObjectInfo) {
    this.#source = source;
    this.#info = info;
  }

  /** The footer of the object streamed; throws until the stream has ended. */
  get footer(): SegmentFooter {
    if (this.#footer === null) throw new StrataError('INTERNAL_ERROR', 'segment object footer asked for before the stream ended');
    return this.#footer;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.#started) throw new StrataError('INTERNAL_ERROR', 'a SegmentObjectStream can be read once');
    this.#started = true;
    const writer = new SegmentObjectWriter(this.#info);
    const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(this.#source) ? [this.#source] : this.#source;
    for await (const chunk of chunks) {
      // Checked before it is handed on: a bad batch stops the upload before its last byte.
      writer.update(chunk);
      yield chunk;
    }
    const { tail, footer } = writer.finish();
    this.#footer = footer;
    yield tail;
  }
}

// ---- reading ----------------------------------------------------------------

function decodeFooter(key: string, b: Buffer, objectBytes: number): SegmentFooter {
  if (b.length !== SEGMENT_FOOTER_BYTES) throw corrupt(key, `footer is ${b.length} bytes, expected ${SEGMENT_FOOTER_BYTES}`);
  if (!b.subarray(F.magic, F.magic + 8).equals(MAGIC_BYTES)) {
    throw corrupt(key, `no footer magic ${SEGMENT_OBJECT_MAGIC} at the end (not a segment object, or truncated)`);
  }
  const stored = b.readUInt32BE(F.footerCrc);
  const computed = crc32c(b.subarray(0, F.footerCrc));
  if (stored !== computed) throw corrupt(key, `footer CRC mismatch (stored 0x${hex(stored)}, computed 0x${hex(computed)})`);
  const version = b.readUInt16BE(F.version);
  if (version !== SEGMENT_OBJECT_VERSION) {
    throw new StrataError('UNSUPPORTED_VERSION', `segment object ${key}: format version ${version}, this reader knows ${SEGMENT_OBJECT_VERSION}`);
  }
  let footer: SegmentFooter;
  try {
    footer = {
      version,
      baseOffset: readInt64(b, F.baseOffset),
      lastOffset: readInt64(b, F.lastOffset),
      dataBytes: readInt64(b, F.dataBytes),
      recordCount: readInt64(b, F.recordCount),
      batchCount: b.readUInt32BE(F.batchCount),
      maxTimestamp: readInt64(b, F.maxTimestamp),
      offsetIndexPosition: readInt64(b, F.offsetIndexPosition),
      offsetIndexCount: b.readUInt32BE(F.offsetIndexCount),
      timeIndexPosition: readInt64(b, F.timeIndexPosition),
      timeIndexCount: b.readUInt32BE(F.timeIndexCount),
      indexIntervalBytes: b.readUInt32BE(F.indexIntervalBytes),
      dataCrc: b.readUInt32BE(F.dataCrc),
      indexCrc: b.readUInt32BE(F.indexCrc),
      objectBytes,
    };
  } catch (error) {
    throw corrupt(key, 'footer field out of range', undefined, error);
  }
  // The CRC says the footer is what was written; these say the writer was sane
  // and the object is the size the footer describes.
  const problems: string[] = [];
  if (b.readUInt16BE(F.flags) !== 0) problems.push('unknown flags');
  if (b.readUInt32BE(F.footerBytes) !== SEGMENT_FOOTER_BYTES) problems.push('footerBytes');
  if (footer.baseOffset < 0 || footer.lastOffset < footer.baseOffset) problems.push('offset range');
  if (footer.lastOffset - footer.baseOffset > MAX_U32) problems.push('offset span');
  if (footer.dataBytes < BATCH_HEADER_SIZE || footer.dataBytes > MAX_SEGMENT_DATA_BYTES) problems.push('dataBytes');
  if (footer.batchCount < 1 || footer.offsetIndexCount < 1 || footer.offsetIndexCount > footer.batchCount) problems.push('batch/index counts');
  if (footer.timeIndexCount < 1 || footer.timeIndexCount > footer.batchCount) problems.push('time index count');
  if (footer.offsetIndexPosition !== footer.dataBytes) problems.push('offset index position');
  if (footer.timeIndexPosition !== footer.offsetIndexPosition + footer.offsetIndexCount * OFFSET_INDEX_ENTRY_BYTES) problems.push('time index position');
  if (footer.timeIndexPosition + footer.timeIndexCount * TIME_INDEX_ENTRY_BYTES + SEGMENT_FOOTER_BYTES !== objectBytes) {
    problems.push(`object size ${objectBytes} (the footer describes ${footer.timeIndexPosition + footer.timeIndexCount * TIME_INDEX_ENTRY_BYTES + SEGMENT_FOOTER_BYTES})`);
  }
  if (problems.length > 0) throw corrupt(key, `footer is inconsistent: ${problems.join(', ')}`, { footer });
  return footer;
}

interface ParsedIndexes {
  offsetRelative: Uint32Array;
  offsetPosition: Uint32Array;
  timeTimestamp: Float64Array;
  timeRelative: Uint32Array;
}

function decodeIndexes(key: string, region: Buffer, footer: SegmentFooter): ParsedIndexes {
  const crc = crc32c(region);
  if (crc !== footer.indexCrc) throw corrupt(key, `index CRC mismatch (stored 0x${hex(footer.indexCrc)}, computed 0x${hex(crc)})`);
  const span = footer.lastOffset - footer.baseOffset;
  const n = footer.offsetIndexCount;
  const offsetRelative = new Uint32Array(n);
  const offsetPosition = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const rel = region.readUInt32BE(i * OFFSET_INDEX_ENTRY_BYTES);
    const pos = region.readUInt32BE(i * OFFSET_INDEX_ENTRY_BYTES + 4);
    const ok =
      rel <= span &&
      pos < footer.dataBytes &&
      (i === 0 ? rel === 0 && pos === 0 : rel > offsetRelative[i - 1]! && pos > offsetPosition[i - 1]!);
    if (!ok) throw corrupt(key, `offset index entry ${i} (relativeOffset ${rel}, position ${pos}) is out of order or range`);
    offsetRelative[i] = rel;
    offsetPosition[i] = pos;
  }
  const m = footer.timeIndexCount;
  const timeTimestamp = new Float64Array(m);
  const timeRelative = new Uint32Array(m);
  const base = n * OFFSET_INDEX_ENTRY_BYTES;
  for (let i = 0; i < m; i++) {
    let ts: number;
    try {
      ts = readInt64(region, base + i * TIME_INDEX_ENTRY_BYTES);
    } catch (error) {
      throw corrupt(key, `time index entry ${i} has an unsafe timestamp`, undefined, error);
    }
    const rel = region.readUInt32BE(base + i * TIME_INDEX_ENTRY_BYTES + 8);
    const ok = rel <= span && (i === 0 || (ts > timeTimestamp[i - 1]! && rel > timeRelative[i - 1]!));
    if (!ok) throw corrupt(key, `time index entry ${i} (timestamp ${ts}, relativeOffset ${rel}) is out of order or range`);
    timeTimestamp[i] = ts;
    timeRelative[i] = rel;
  }
  if (timeTimestamp[m - 1] !== footer.maxTimestamp) throw corrupt(key, `the time index ends at ${timeTimestamp[m - 1]}, the footer says max timestamp ${footer.maxTimestamp}`);
  return { offsetRelative, offsetPosition, timeTimestamp, timeRelative };
}

/** Index of the last element <= value in a sorted array (-1 when none). */
function floorIndex(sorted: Uint32Array | Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** One batch located while walking data, its header fields read. */
interface WalkedBatch {
  /** Position in the data region. */
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export interface SegmentReadResult {
  /** Whole, CRC-checked batches; the first holds the asked offset and may begin before it. */
  data: Buffer;
  /** The offset after the last returned batch. */
  nextOffset: number;
  batchCount: number;
}

export interface SegmentTimestampLookup {
  /** First offset in the segment whose record timestamp is >= the asked one. */
  offset: number;
  /** That record's timestamp. */
  timestamp: number;
}

export interface SegmentObjectOpenOptions extends OperationOptions {
  /** The object's size when the caller knows it (the manifest does): saves the HEAD. */
  sizeBytes?: number;
  /** Bytes of the tail fetched by the first GET. Default 64 KiB. */
  tailWindowBytes?: number;
}

/**
 * Reads one segment object: open() fetches and verifies the footer and indexes;
 * read() and offsetForTimestamp() then cost one ranged GET each. The indexes stay in memory
 * (20 bytes per index entry).
 */
export class SegmentObjectReader {
  readonly store: ObjectStore;
  readonly key: string;
  readonly footer: SegmentFooter;
  readonly #index: ParsedIndexes;

  private constructor(store: ObjectStore, key: string, footer: SegmentFooter, index: ParsedIndexes) {
    this.store = store;
    this.key = key;
    this.footer = footer;
    this.#index = index;
  }

  get baseOffset(): number {
    return this.footer.baseOffset;
  }

  get lastOffset(): number {
    return this.footer.lastOffset;
  }

  /** null when the object does not exist. CORRUPT_MESSAGE when its footer or indexes fail their checks. */
  static async open(store: ObjectStore, key: string, options: SegmentObjectOpenOptions = {}): Promise<SegmentObjectReader | null> {
    const { signal } = options;
    const window = options.tailWindowBytes ?? DEFAULT_TAIL_WINDOW_BYTES;
    if (!Number.isSafeInteger(window) || window < SEGMENT_FOOTER_BYTES) throw invalidRequest(`tailWindowBytes must be >= ${SEGMENT_FOOTER_BYTES}`);
    let size = options.sizeBytes;
    if (size === undefined) {
      const info = await store.head(key, { signal });
      if (info === null) return null;
      size = info.size;
    }
    if (!Number.isSafeInteger(size) || size < 0) throw invalidRequest(`sizeBytes ${String(size)} is not a size`);
    if (size < SEGMENT_FOOTER_BYTES + BATCH_HEADER_SIZE) throw corrupt(key, `object is ${size} bytes, too small for a segment object (truncated?)`);
    const tailBytes = Math.min(size, window);
    const tail = await store.get(key, { signal, range: { start: size - tailBytes, end: size - 1 } });
    if (tail === null) return null;
    if (tail.length !== tailBytes) throw corrupt(key, `asked for the last ${tailBytes} bytes, got ${tail.length} (the object changed size?)`);
    const footer = decodeFooter(key, tail.subarray(tailBytes - SEGMENT_FOOTER_BYTES), size);

    const indexBytes = size - SEGMENT_FOOTER_BYTES - footer.offsetIndexPosition;
    if (indexBytes > MAX_INDEX_BYTES) throw corrupt(key, `indexes of ${indexBytes} bytes exceed the limit of ${MAX_INDEX_BYTES}`);
    const inWindow = tailBytes - SEGMENT_FOOTER_BYTES; // index (and maybe data) bytes already fetched
    let region: Buffer;
    if (inWindow >= indexBytes) {
      region = tail.subarray(inWindow - indexBytes, inWindow);
    } else {
      // Indexes larger than the window: fetch the part before it (the second and last GET).
      const rest = await fetchRange(store, key, footer.offsetIndexPosition, size - tailBytes, signal);
      region = Buffer.concat([rest, tail.subarray(0, inWindow)]);
    }
    const index = decodeIndexes(key, region, footer);
    const named = parseSegmentObjectKey(key);
    if (named !== null && (named.baseOffset !== footer.baseOffset || named.lastOffset !== footer.lastOffset)) {
      throw corrupt(key, `the key names offsets ${named.baseOffset}-${named.lastOffset}, the footer ${footer.baseOffset}-${footer.lastOffset}`);
    }
    const reader = new SegmentObjectReader(store, key, footer, index);
    // The whole object came in the window: check the data too, since it costs no I/O.
    if (tailBytes === size) verifyData(key, footer, index, tail.subarray(0, footer.dataBytes));
    return reader;
  }

  /**
   * Whole batches from the one holding `offset`, up to maxBytes (at least one
   * batch however large), from one ranged GET. Every returned batch's CRC is
   * checked first. OFFSET_OUT_OF_RANGE outside [baseOffset, lastOffset].
   */
  async read(offset: number, maxBytes: number, options?: OperationOptions): Promise<SegmentReadResult> {
    this.#checkOffset(offset);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw invalidRequest(`maxBytes ${String(maxBytes)} must be a positive integer`);
    const { footer } = this;
    const { offsetRelative, offsetPosition } = this.#index;
    const i = floorIndex(offsetRelative, offset - footer.baseOffset);
    const start = offsetPosition[i]!;
    // The batch holding `offset` ends at or before the next index entry; the
    // range reaches maxBytes past that, so maxBytes of batches fit whatever
    // the holding batch's position between the two entries.
    const nextEntry = i + 1 < offsetPosition.length ? offsetPosition[i + 1]! : footer.dataBytes;
    const end = Math.min(footer.dataBytes, nextEntry + maxBytes);
    const bytes = await fetchRange(this.store, this.key, start, end, options?.signal);
    const batches = walkBatches(this.key, this.footer, bytes, start, footer.baseOffset + offsetRelative[i]!, false);

    let first = -1;
    let count = 0;
    let endPosition = 0;
    let nextOffset = offset;
    for (const batch of batches) {
      if (batch.lastOffset < offset) continue;
      if (first < 0) {
        if (batch.baseOffset > offset) throw corrupt(this.key, `no batch holds offset ${offset} (the one at data byte ${batch.position} starts at ${batch.baseOffset})`);
        first = batch.position;
      } else if (batch.position + batch.size - first > maxBytes) break;
      endPosition = batch.position + batch.size;
      nextOffset = batch.lastOffset + 1;
      count++;
    }
    if (first < 0) throw corrupt(this.key, `no whole batch holding offset ${offset} between data bytes ${start} and ${end}`);
    // Skipped batches too (at most one index interval): their headers steered the walk.
    verifyBatches(this.key, bytes.subarray(0, endPosition - start), start);
    const data = bytes.subarray(first - start, endPosition - start);
    return { data, nextOffset, batchCount: count };
  }

  /**
   * The first record at or after `timestamp`, or null when every record in the
   * segment is older. One ranged GET, bounded by the indexes: with t the last
   * time entry older than `timestamp`, every batch up to t's batch is older, and
   * the batch of entry t+1 reaches it, so the answer lies between the two.
   */
  async offsetForTimestamp(timestamp: number, options?: OperationOptions): Promise<SegmentTimestampLookup | null> {
    if (!Number.isSafeInteger(timestamp)) throw invalidRequest(`timestamp ${String(timestamp)} is not a safe integer`);
    const { footer } = this;
    if (timestamp > footer.maxTimestamp) return null;
    const { offsetRelative, offsetPosition, timeTimestamp, timeRelative } = this.#index;
    const t = floorIndex(timeTimestamp, timestamp - 1); // last entry with T < timestamp, or -1
    const from = t < 0 ? 0 : floorIndex(offsetRelative, timeRelative[t]!);
    // Entry t+1 exists: the last entry's T is the footer's max, which is >= timestamp.
    const until = floorIndex(offsetRelative, timeRelative[t + 1]!) + 1;
    const start = offsetPosition[from]!;
    const end = until < offsetPosition.length ? offsetPosition[until]! : footer.dataBytes;
    const bytes = await fetchRange(this.store, this.key, start, end, options?.signal);
    const batches = walkBatches(this.key, footer, bytes, start, footer.baseOffset + offsetRelative[from]!, true);
    for (const batch of batches) {
      if (batch.maxTimestamp < timestamp) continue;
      // Check it and those skipped before it, so a wrong maxTimestamp cannot hide the answer.
      verifyBatches(this.key, bytes.subarray(0, batch.position - start + batch.size), start);
      // Stops at the first match (a batch may hold hundreds of thousands of records), inflating off the loop.
      let found = null as SegmentTimestampLookup | null; // set by the visitor: `as` keeps TypeScript from narrowing it to null
      await visitRecordsAsync(bytes.subarray(batch.position - start, batch.position - start + batch.size), (record) => {
        if (record.timestamp >= timestamp) found = { offset: record.offset, timestamp: record.timestamp };
        return found === null;
      });
      if (found !== null) return found;
      throw corrupt(this.key, `batch at data byte ${batch.position} has max timestamp ${batch.maxTimestamp} but no record at or after ${timestamp}`);
    }
    throw corrupt(this.key, `the time index says a batch between data bytes ${start} and ${end} reaches timestamp ${timestamp}; none does`);
  }

  /**
   * Reads the whole data region (one GET) and checks everything: the data CRC,
   * every batch, dense offsets, and that each index entry names a batch start.
   * For scrubbing and tests; memory is the size of the data.
   */
  async verify(options?: OperationOptions): Promise<void> {
    const data = await fetchRange(this.store, this.key, 0, this.footer.dataBytes, options?.signal);
    verifyData(this.key, this.footer, this.#index, data);
  }

  #checkOffset(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < this.footer.baseOffset || offset > this.footer.lastOffset) {
      throw new StrataError('OFFSET_OUT_OF_RANGE', `offset ${String(offset)} is outside segment object ${this.key} [${this.footer.baseOffset}, ${this.footer.lastOffset}]`, {
        details: { baseOffset: this.footer.baseOffset, lastOffset: this.footer.lastOffset },
      });
    }
  }
}

// ---- checks shared by the reader and parseSegmentObject ----------------------

/**
 * Walks batch headers in `bytes` (data bytes from `start`), checking framing
 * and dense offsets from expectedBase. A batch cut by the end of `bytes` ends
 * the walk, unless `bytes` should end on a batch boundary (`wholeBatches`, and
 * always at the end of the data), where it is corruption.
 */
function walkBatches(key: string, footer: SegmentFooter, bytes: Buffer, start: number, expectedBase: number, wholeBatches: boolean): WalkedBatch[] {
  const toDataEnd = start + bytes.length === footer.dataBytes;
  const mustBeWhole = wholeBatches || toDataEnd;
  const batches: WalkedBatch[] = [];
  let pos = 0;
  let next = expectedBase;
  while (pos < bytes.length) {
    const at = start + pos;
    if (bytes.length - pos < BATCH_HEADER_SIZE) {
      if (mustBeWhole) throw corrupt(key, `the range ends inside a batch header at data byte ${at}`);
      break;
    }
    const batchLength = bytes.readInt32BE(pos + BatchField.batchLength);
    if (batchLength < MIN_BATCH_LENGTH) throw corrupt(key, `batch at data byte ${at} has batchLength ${batchLength}`);
    const size = BATCH_LOG_OVERHEAD + batchLength;
    if (pos + size > bytes.length) {
      if (mustBeWhole) throw corrupt(key, `batch at data byte ${at} runs past the end of its range`);
      break;
    }
    let baseOffset: number;
    let maxTimestamp: number;
    try {
      baseOffset = readInt64(bytes, pos + BatchField.baseOffset);
      maxTimestamp = readInt64(bytes, pos + BatchField.maxTimestamp);
    } catch (error) {
      throw corrupt(key, `batch at data byte ${at} has an unsafe offset or timestamp`, undefined, error);
    }
    const lastOffsetDelta = bytes.readInt32BE(pos + BatchField.lastOffsetDelta);
    if (baseOffset !== next) throw corrupt(key, `batch at data byte ${at} starts at offset ${baseOffset}, expected ${next}`);
    const lastOffset = baseOffset + lastOffsetDelta;
    if (lastOffsetDelta < 0 || lastOffset > footer.lastOffset) {
      throw corrupt(key, `batch at data byte ${at} ends at offset ${lastOffset}, outside the segment's [${footer.baseOffset}, ${footer.lastOffset}]`);
    }
    batches.push({ position: at, size, baseOffset, lastOffset, maxTimestamp });
    next = lastOffset + 1;
    pos += size;
  }
  if (toDataEnd && pos === bytes.length && next !== footer.lastOffset + 1) {
    throw corrupt(key, `the data ends at offset ${next - 1}, the footer says ${footer.lastOffset}`);
  }
  return batches;
}

/** Every batch in `data` (data bytes from `start`) must be a whole, CRC-valid v2 batch. */
function verifyBatches(key: string, data: Buffer, start: number): void {
  const { validBytes } = scanValidPrefix(data);
  if (validBytes === data.length) return;
  let cause: unknown;
  try {
    validateBatches(data.subarray(validBytes), { deep: false });
  } catch (error) {
    cause = error;
  }
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  throw corrupt(key, `the batch at data byte ${start + validBytes} fails its check${reason}`, { position: start + validBytes }, cause);
}

/** The whole data region against the footer and the offset index. */
function verifyData(key: string, footer: SegmentFooter, index: ParsedIndexes, data: Buffer): void {
  if (data.length !== footer.dataBytes) throw corrupt(key, `data region is ${data.length} bytes, the footer says ${footer.dataBytes}`);
  const crc = crc32c(data);
  if (crc !== footer.dataCrc) throw corrupt(key, `data CRC mismatch (stored 0x${hex(footer.dataCrc)}, computed 0x${hex(crc)})`);
  const batches = walkBatches(key, footer, data, 0, footer.baseOffset, true);
  verifyBatches(key, data, 0);
  if (batches.length !== footer.batchCount) throw corrupt(key, `the data holds ${batches.length} batches, the footer says ${footer.batchCount}`);
  const starts = new Map(batches.map((b) => [b.position, b.baseOffset]));
  const { offsetRelative, offsetPosition } = index;
  for (let i = 0; i < offsetPosition.length; i++) {
    if (starts.get(offsetPosition[i]!) !== footer.baseOffset + offsetRelative[i]!) {
      throw corrupt(key, `offset index entry ${i} does not name the batch at data byte ${offsetPosition[i]}`);
    }
  }
}

/** Bytes [start, end) of the object, exactly; the object vanishing or coming back short is an error here. */
async function fetchRange(store: ObjectStore, key: string, start: number, end: number, signal: AbortSignal | undefined): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const bytes = await store.get(key, { signal, range: { start, end: end - 1 } });
  if (bytes === null) {
    throw new StorageError(`segment object ${key} disappeared while being read`, { retriable: false, details: { key, missing: true } });
  }
  if (bytes.length !== end - start) throw corrupt(key, `asked for bytes ${start}-${end - 1}, got ${bytes.length} bytes (truncated object?)`);
  return bytes;
}

/** Parses and fully verifies a whole segment object held in memory. */
export function parseSegmentObject(object: Buffer, key = '(in memory)'): { footer: SegmentFooter; data: Buffer } {
  if (object.length < SEGMENT_FOOTER_BYTES + BATCH_HEADER_SIZE) throw corrupt(key, `object is ${object.length} bytes, too small for a segment object`);
  const footer = decodeFooter(key, object.subarray(object.length - SEGMENT_FOOTER_BYTES), object.length);
  const index = decodeIndexes(key, object.subarray(footer.offsetIndexPosition, object.length - SEGMENT_FOOTER_BYTES), footer);
  const data = object.subarray(0, footer.dataBytes);
  verifyData(key, footer, index, data);
  return { footer, data };
}

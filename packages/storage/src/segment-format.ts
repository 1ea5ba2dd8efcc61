// The segment object's bytes (segment-object.ts describes the layout): its constants, the footer
// both ways, and the indexes as the reader decodes them. The writer (segment-writer.ts) and the
// reader (segment-reader.ts) share them; nothing else lays out these bytes.


import {
  BATCH_HEADER_SIZE,
  StrataError,
  crc32c,
  readInt64,
  writeInt64,
} from '@strata/protocol';

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

export const MAGIC_BYTES = Buffer.from(SEGMENT_OBJECT_MAGIC, 'latin1');
export const MAX_U32 = 0xffff_ffff;

export const F = {
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

export function corrupt(key: string, message: string, details?: Record<string, unknown>, cause?: unknown): StrataError {
  return new StrataError('CORRUPT_MESSAGE', `segment object ${key}: ${message}`, { details: { key, ...details }, cause });
}


export function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function encodeFooter(f: SegmentFooter): Buffer {
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

export function decodeFooter(key: string, b: Buffer, objectBytes: number): SegmentFooter {
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

export interface ParsedIndexes {
  offsetRelative: Uint32Array;
  offsetPosition: Uint32Array;
  timeTimestamp: Float64Array;
  timeRelative: Uint32Array;
}

export function decodeIndexes(key: string, region: Buffer, footer: SegmentFooter): ParsedIndexes {
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
export function floorIndex(sorted: Uint32Array | Float64Array, value: number): number {
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

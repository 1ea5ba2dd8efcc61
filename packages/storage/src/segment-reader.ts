// Reading a segment object (segment-object.ts describes the layout): a HEAD when the size is not
// known, one ranged GET of the tail (footer and indexes), then one ranged GET per read or timestamp
// lookup; every check made after reading (footer, indexes, batches, the data CRC when whole).


import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchField,
  MIN_BATCH_LENGTH,
  StrataError,
  crc32c,
  visitRecordsAsync,
  readInt64,
  scanValidPrefix,
  validateBatches,
} from '@strata/protocol';
import { StorageError, invalidRequest } from './errors.js';
import { parseSegmentObjectKey } from './keys.js';
import { isLendingObjectStore, type ObjectStore, type OperationOptions } from './object-store.js';
import {
  DEFAULT_TAIL_WINDOW_BYTES,
  MAX_INDEX_BYTES,
  type ParsedIndexes,
  SEGMENT_FOOTER_BYTES,
  type SegmentFooter,
  corrupt,
  decodeFooter,
  decodeIndexes,
  floorIndex,
  hex,
} from './segment-format.js';

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
  /**
   * Gives `data`'s memory back when the store lent it (a LendingObjectStore); call it once nothing
   * refers to `data`, or never (the memory is then garbage collected, not reused).
   */
  release: () => void;
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
    const { bytes, release } = await fetchRangeLent(this.store, this.key, start, end, options?.signal);
    try {
      return this.#batchesFrom(bytes, start, end, footer.baseOffset + offsetRelative[i]!, offset, maxBytes, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** read's answer from data bytes [start, end), whose first batch starts at expectedBase. */
  #batchesFrom(bytes: Buffer, start: number, end: number, expectedBase: number, offset: number, maxBytes: number, release: () => void): SegmentReadResult {
    const batches = walkBatches(this.key, this.footer, bytes, start, expectedBase, false);

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
    return { data, nextOffset, batchCount: count, release };
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

/** fetchRange in memory the store lends, when it lends (the remote read path: no allocation per read). */
async function fetchRangeLent(store: ObjectStore, key: string, start: number, end: number, signal: AbortSignal | undefined): Promise<{ bytes: Buffer; release: () => void }> {
  if (!isLendingObjectStore(store) || end <= start) return { bytes: await fetchRange(store, key, start, end, signal), release: noRelease };
  const lent = await store.getLent(key, { signal, range: { start, end: end - 1 } });
  if (lent === null) {
    throw new StorageError(`segment object ${key} disappeared while being read`, { retriable: false, details: { key, missing: true } });
  }
  if (lent.bytes.length !== end - start) {
    lent.release();
    throw corrupt(key, `asked for bytes ${start}-${end - 1}, got ${lent.bytes.length} bytes (truncated object?)`);
  }
  return lent;
}

function noRelease(): void {}

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

// RecordBatch v2 (batch-frame.ts has the layout and the framing check): validation on the append
// path, recovery's scan of a valid prefix, decoding, bounded lazy reading, and the in-place updates
// of the fields outside the CRC.
//
// Error codes: bytes that are not a batch (framing, CRC, record structure) are
// CORRUPT_MESSAGE; magic 0/1 (Kafka's legacy formats) UNSUPPORTED_VERSION;
// codec ids other than Kafka's five (none, gzip, snappy, lz4, zstd) UNSUPPORTED_COMPRESSION_TYPE; a well-formed batch
// that breaks an append rule (counts, offset deltas, transactional/control
// flags, sequence) INVALID_RECORD, as Kafka's LogValidator reports them.

import { StrataError, assert, isStrataError } from './errors.js';
import { readInt32, readInt64Unchecked, writeInt64 } from './int64.js';
import {
  COMPRESSION_MASK,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  assertSupportedCompression,
  compressionName,
  decompressRecords,
  decompressRecordsAsync,
  type DecompressionSlots,
} from './compression.js';
import { ByteCursor } from './varint.js';
import { walkRecords, type DecodedRecord, type RecordSink } from './record-section.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchAttribute,
  BatchField,
  type BatchFrame,
  type BatchHeader,
  FAULT_NONE,
  MAGIC_V2,
  MIN_BATCH_LENGTH,
  checkFrame,
  frameAt,
  frameError,
  readBatchHeader,
  where,
} from './batch-frame.js';

export { MAGIC_V2, BATCH_LOG_OVERHEAD, BATCH_HEADER_SIZE, MIN_BATCH_LENGTH, BatchField, BatchAttribute, readBatchHeader } from './batch-frame.js';
export type { BatchHeader, BatchFrame } from './batch-frame.js';

// ---- validation (the append path) -----------------------------------------

export interface ValidateOptions {
  /** A batch (including its 12-byte log overhead) larger than this is MESSAGE_TOO_LARGE. Default: no limit. */
  maxBatchBytes?: number;
  /** Also walk every record (decompressing a compressed section). Default true. */
  deep?: boolean;
  /** Refuse compressed sections that decompress to more than this. Default 64 MiB. */
  maxDecompressedBytes?: number;
  /** validateBatchesAsync: decompressions wait for one of these slots. Default: no bound. */
  slots?: DecompressionSlots;
}

/**
 * Validate a buffer that must hold one or more whole batches and nothing else.
 * Checks: length framing, magic 2, CRC-32C, recordCount/lastOffsetDelta
 * consistency, supported compression and (deep, default true) the record
 * framing inside (decompressing it). Throws StrataError CORRUPT_MESSAGE /
 * INVALID_RECORD / UNSUPPORTED_VERSION / UNSUPPORTED_COMPRESSION_TYPE /
 * MESSAGE_TOO_LARGE (a batch over maxBatchBytes).
 */
export function validateBatches(buf: Buffer, options?: ValidateOptions): BatchFrame[] {
  const { maxBatchBytes, deep, maxDecompressedBytes } = validateOptions(buf, options);
  const frames: BatchFrame[] = [];
  const cursor = new ByteCursor(buf, 0, 0);
  let pos = 0;
  for (let index = 0; pos < buf.length; index++) {
    const frame = appendableFrame(buf, pos, index, maxBatchBytes);
    if (deep) walkBatchRecords(buf, frame, index, cursor, null, true, maxDecompressedBytes);
    frames.push(frame);
    pos += frame.size;
  }
  assert(pos === buf.length, 'validated frames cover the buffer exactly');
  return frames;
}

/**
 * validateBatches for a server: the same checks and errors, but gzip sections
 * inflate on the thread pool, so a batch of a million records does not hold
 * the event loop while it decompresses (the walk that follows allocates nothing).
 */
export async function validateBatchesAsync(buf: Buffer, options?: ValidateOptions): Promise<BatchFrame[]> {
  const { maxBatchBytes, deep, maxDecompressedBytes } = validateOptions(buf, options);
  const frames: BatchFrame[] = [];
  const cursor = new ByteCursor(buf, 0, 0);
  let pos = 0;
  for (let index = 0; pos < buf.length; index++) {
    const frame = appendableFrame(buf, pos, index, maxBatchBytes);
    if (deep) {
      checkLastOffset(frame, index);
      const codec = frame.attributes & COMPRESSION_MASK;
      const section =
        codec === 0
          ? null
          : await decompressRecordsAsync(codec, compressedSection(buf, frame), where(index, pos), maxDecompressedBytes, options?.slots);
      walkSection(buf, section, frame, index, cursor, null, true);
    }
    frames.push(frame);
    pos += frame.size;
  }
  assert(pos === buf.length, 'validated frames cover the buffer exactly');
  return frames;
}

/**
 * validateBatchesAsync's checks and errors, without its promise where the promise buys nothing: a
 * body of at most `syncBytesMax` bytes is validated here and now, a compressed section in it
 * inflated on the spot up to `syncBytesMax` bytes (tens of microseconds of the event loop, and no
 * decompression slot); a larger body, or a section that inflates past that, is validateBatchesAsync's
 * promise (off the loop, under `slots`, up to maxDecompressedBytes). For a server's hot path: a
 * single-record produce paid an async call and its await for nothing (issue #11). Bad bytes throw at
 * once or reject, as the path taken; the caller awaits only a promise:
 *   const v = validateBatchesEager(body, max, options); const frames = v instanceof Promise ? await v : v;
 */
export function validateBatchesEager(buf: Buffer, syncBytesMax: number, options?: ValidateOptions): BatchFrame[] | Promise<BatchFrame[]> {
  if (!(buf.length <= syncBytesMax)) return validateBatchesAsync(buf, options);
  const { maxBatchBytes, deep, maxDecompressedBytes } = validateOptions(buf, options);
  const inflateMax = Math.min(syncBytesMax, maxDecompressedBytes);
  const frames: BatchFrame[] = [];
  const cursor = new ByteCursor(buf, 0, 0);
  let pos = 0;
  for (let index = 0; pos < buf.length; index++) {
    const frame = appendableFrame(buf, pos, index, maxBatchBytes);
    if (deep) {
      checkLastOffset(frame, index);
      const codec = frame.attributes & COMPRESSION_MASK;
      let section: Buffer | null = null;
      if (codec !== 0) {
        try {
          section = decompressRecords(codec, compressedSection(buf, frame), where(index, pos), inflateMax);
        } catch (e) {
          // Larger than what is inflated on the loop (not necessarily than the real bound): the asynchronous way decides.
          if (inflateMax < maxDecompressedBytes && isStrataError(e) && e.code === 'MESSAGE_TOO_LARGE') return validateBatchesAsync(buf, options);
          throw e;
        }
      }
      walkSection(buf, section, frame, index, cursor, null, true);
    }
    frames.push(frame);
    pos += frame.size;
  }
  assert(pos === buf.length, 'validated frames cover the buffer exactly');
  return frames;
}

function validateOptions(buf: Buffer, options: ValidateOptions | undefined): Required<Omit<ValidateOptions, 'slots'>> {
  if (!Buffer.isBuffer(buf)) throw new StrataError('INVALID_REQUEST', 'validateBatches needs a Buffer');
  if (buf.length === 0) throw new StrataError('CORRUPT_MESSAGE', 'no batch: the buffer is empty');
  return {
    maxBatchBytes: options?.maxBatchBytes ?? Number.POSITIVE_INFINITY,
    deep: options?.deep ?? true,
    maxDecompressedBytes: options?.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
  };
}

/** The frame at pos, checked: framing, CRC, the size limit and the append rules. */
function appendableFrame(buf: Buffer, pos: number, index: number, maxBatchBytes: number): BatchFrame {
  const fault = checkFrame(buf, pos);
  if (fault !== FAULT_NONE) throw frameError(buf, pos, index, fault);
  const frame = frameAt(buf, pos);
  if (frame.size > maxBatchBytes) {
    throw new StrataError(
      'MESSAGE_TOO_LARGE',
      `${where(index, pos)}batch is ${frame.size} bytes, over the limit of ${maxBatchBytes}`,
      { details: { batchIndex: index, position: pos, size: frame.size, maxBatchBytes } },
    );
  }
  checkAppendRules(buf, frame, index);
  return frame;
}

/** Kafka LogValidator's rules for batches a client sends (origin = client). */
function checkAppendRules(buf: Buffer, frame: BatchFrame, index: number): void {
  const at = where(index, frame.position);
  const details = { batchIndex: index, position: frame.position };
  assertSupportedCompression(frame.attributes & COMPRESSION_MASK, at);
  if (frame.attributes & BatchAttribute.transactional) {
    throw new StrataError('INVALID_RECORD', `${at}transactional batches are not supported (Strata has no transactions)`, {
      details,
    });
  }
  if (frame.attributes & BatchAttribute.control) {
    throw new StrataError('INVALID_RECORD', `${at}clients may not write control batches`, { details });
  }
  if (frame.recordCount <= 0) {
    throw new StrataError('INVALID_RECORD', `${at}recordCount is ${frame.recordCount}; a batch must hold at least one record`, {
      details,
    });
  }
  if (frame.lastOffsetDelta !== frame.recordCount - 1) {
    throw new StrataError(
      'INVALID_RECORD',
      `${at}lastOffsetDelta ${frame.lastOffsetDelta} is inconsistent with recordCount ${frame.recordCount} ` +
        `(must be recordCount - 1)`,
      { details },
    );
  }
  const producerId = readInt64Unchecked(buf, frame.position + BatchField.producerId);
  const baseSequence = readInt32(buf, frame.position + BatchField.baseSequence);
  if (producerId >= 0 && baseSequence < 0) {
    throw new StrataError('INVALID_RECORD', `${at}producerId ${producerId} is set but baseSequence is ${baseSequence}`, {
      details,
    });
  }
}

/**
 * Walk the records of a framed batch, decompressing first if needed.
 * `strict` enforces the append rules on offset deltas; `sink` takes decoded records.
 */
function walkBatchRecords(
  buf: Buffer,
  frame: BatchFrame,
  index: number,
  cursor: ByteCursor,
  sink: RecordSink | null,
  strict: boolean,
  maxDecompressedBytes: number,
  at = where(index, frame.position),
): boolean {
  checkLastOffset(frame, index);
  const codec = frame.attributes & COMPRESSION_MASK;
  const section = codec === 0 ? null : decompressRecords(codec, compressedSection(buf, frame), at, maxDecompressedBytes);
  return walkSection(buf, section, frame, index, cursor, sink, strict, at);
}

function checkLastOffset(frame: BatchFrame, index: number): void {
  if (!Number.isSafeInteger(frame.baseOffset + frame.lastOffsetDelta)) {
    throw new StrataError('CORRUPT_MESSAGE', `${where(index, frame.position)}baseOffset + lastOffsetDelta is outside the safe integer range`, {
      details: { batchIndex: index, position: frame.position },
    });
  }
}

function compressedSection(buf: Buffer, frame: BatchFrame): Buffer {
  return buf.subarray(frame.position + BATCH_HEADER_SIZE, frame.position + frame.size);
}

/** Walk a batch's records: from buf itself (section null: uncompressed) or from its decompressed section. */
function walkSection(
  buf: Buffer,
  section: Buffer | null,
  frame: BatchFrame,
  index: number,
  cursor: ByteCursor,
  sink: RecordSink | null,
  strict: boolean,
  at = where(index, frame.position),
): boolean {
  const codec = frame.attributes & COMPRESSION_MASK;
  if (section === null) cursor.reset(buf, frame.position + BATCH_HEADER_SIZE, frame.position + frame.size);
  else cursor.reset(section, 0, section.length);
  try {
    return walkRecords(
      cursor,
      {
        baseOffset: frame.baseOffset,
        baseTimestamp: frame.baseTimestamp,
        logAppendTime: (frame.attributes & BatchAttribute.logAppendTime) !== 0,
        maxTimestamp: frame.maxTimestamp,
        lastOffsetDelta: frame.lastOffsetDelta,
        recordCount: frame.recordCount,
        strict,
      },
      sink,
    );
  } catch (e) {
    if (!(e instanceof StrataError)) throw e;
    const inside = codec === 0 ? '' : ` (byte positions are within the decompressed ${compressionName(codec)} records)`;
    throw new StrataError(e.code, `${at}${e.message}${inside}`, {
      cause: e,
      details: { ...e.details, batchIndex: index, batchPosition: frame.position },
    });
  }
}

// ---- recovery ---------------------------------------------------------------

/**
 * Recovery: the longest prefix of whole, CRC-valid v2 batches (safe int64
 * fields, non-negative counts). Never throws. It does not apply the append
 * rules or walk records: everything in a log passed validateBatches before it
 * was written, and the CRC says these bytes are still those bytes.
 */
export function scanValidPrefix(buf: Buffer): { frames: BatchFrame[]; validBytes: number } {
  const frames: BatchFrame[] = [];
  let pos = 0;
  while (pos < buf.length && checkFrame(buf, pos) === FAULT_NONE) {
    const frame = frameAt(buf, pos);
    if (frame.lastOffsetDelta < 0 || frame.recordCount < 0) break;
    frames.push(frame);
    pos += frame.size;
  }
  return { frames, validBytes: pos };
}

// ---- decoding ------------------------------------------------------------------

/** The frame of a batch a reader is about to decode: framing, CRC, codec and counts checked. */
function readableFrame(buf: Buffer, position: number, index: number): BatchFrame {
  const fault = checkFrame(buf, position);
  if (fault !== FAULT_NONE) throw frameError(buf, position, index, fault);
  const frame = frameAt(buf, position);
  assertSupportedCompression(frame.attributes & COMPRESSION_MASK, where(index, position));
  if (frame.recordCount < 0 || frame.lastOffsetDelta < 0) {
    throw new StrataError(
      'CORRUPT_MESSAGE',
      `${where(index, position)}recordCount ${frame.recordCount} / lastOffsetDelta ${frame.lastOffsetDelta} is negative`,
      { details: { batchIndex: index, position } },
    );
  }
  checkLastOffset(frame, index);
  return frame;
}

/** Decode the batch at position (verifying framing, CRC and record structure). Bytes after it are ignored. */
export function decodeBatchAt(
  buf: Buffer,
  position: number,
  index: number,
  cursor: ByteCursor,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): { header: BatchHeader; records: DecodedRecord[] } {
  if (!Number.isInteger(position) || position < 0 || position > buf.length) {
    throw new StrataError('INVALID_REQUEST', `batch position ${String(position)} is outside a ${buf.length}-byte buffer`);
  }
  const frame = readableFrame(buf, position, index);
  const header = readBatchHeader(buf, position);
  const records: DecodedRecord[] = [];
  const sink: RecordSink = { fromOffset: Number.NEGATIVE_INFINITY, accept: (record) => records.push(record) > 0 };
  walkBatchRecords(buf, frame, index, cursor, sink, false, maxDecompressedBytes);
  return { header, records };
}

// ---- bounded, lazy reading -----------------------------------------------------
// A reader's work must follow what it keeps, not what is stored: one gzip batch
// of 1 MiB can hold 740,000 records. These walk whole batches in order (a
// trailing partial batch is ignored, as a fetch answer may end in one), never
// decompress a batch that lies wholly below fromOffset, never materialise a
// record below it, and stop as soon as the visitor says so.

export interface VisitOptions {
  /** Records below this offset are skipped; batches wholly below it are not even decompressed. Default: all. */
  fromOffset?: number;
  /** A batch whose records decompress to more than this is MESSAGE_TOO_LARGE. Default 64 MiB. */
  maxDecompressedBytes?: number;
  /** visitRecordsAsync: decompressions wait for one of these slots. Default: no bound. */
  slots?: DecompressionSlots;
}

/** visitRecordsAsync yields to the event loop after walking this many bytes of batches (a few ms of work). */
const VISIT_YIELD_BYTES = 1024 * 1024;

/** A reader names a stored batch by its offsets too: its byte position is only within what was read. */
function readerWhere(index: number, frame: BatchFrame): string {
  return `batch ${index} at byte ${frame.position} (offsets ${frame.baseOffset}..${frame.baseOffset + frame.lastOffsetDelta}): `;
}

/** Called with each record in offset order; false stops the reading. */
export type RecordVisitor = (record: DecodedRecord) => boolean;

/**
 * Visit the records of the whole batches in buf, verifying each batch read
 * (framing, CRC, record structure: CORRUPT_MESSAGE otherwise). Synchronous:
 * for clients and for one batch at a time; a server uses visitRecordsAsync.
 */
export function visitRecords(buf: Buffer, visit: RecordVisitor, options: VisitOptions = {}): void {
  const fromOffset = options.fromOffset ?? Number.NEGATIVE_INFINITY;
  const maxDecompressedBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const cursor = new ByteCursor(buf, 0, 0);
  const sink: RecordSink = { fromOffset, accept: visit };
  let pos = 0;
  for (let index = 0; pos < buf.length && !isPartialTail(buf, pos); index++) {
    const frame = readableFrame(buf, pos, index);
    pos += frame.size;
    if (frame.baseOffset + frame.lastOffsetDelta < fromOffset) continue;
    if (!walkBatchRecords(buf, frame, index, cursor, sink, false, maxDecompressedBytes, readerWhere(index, frame))) return;
  }
}

/**
 * visitRecords for a server: compressed batches are inflated on the thread
 * pool (the event loop is free while they are), so the loop runs at most one
 * batch's walk at a time, and the visitor bounds that walk.
 */
export async function visitRecordsAsync(buf: Buffer, visit: RecordVisitor, options: VisitOptions = {}): Promise<void> {
  const fromOffset = options.fromOffset ?? Number.NEGATIVE_INFINITY;
  const maxDecompressedBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const cursor = new ByteCursor(buf, 0, 0);
  const sink: RecordSink = { fromOffset, accept: visit };
  let pos = 0;
  let bytesSinceYield = 0;
  for (let index = 0; pos < buf.length && !isPartialTail(buf, pos); index++) {
    // Many small plain batches never await: give the loop a turn every so many bytes (CRCs, walks).
    if (bytesSinceYield >= VISIT_YIELD_BYTES) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      bytesSinceYield = 0;
    }
    const frame = readableFrame(buf, pos, index);
    pos += frame.size;
    bytesSinceYield += frame.size;
    if (frame.baseOffset + frame.lastOffsetDelta < fromOffset) continue;
    const codec = frame.attributes & COMPRESSION_MASK;
    const section =
      codec === 0
        ? null
        : await decompressRecordsAsync(codec, compressedSection(buf, frame), readerWhere(index, frame), maxDecompressedBytes, options.slots);
    if (!walkSection(buf, section, frame, index, cursor, sink, false, readerWhere(index, frame))) return;
  }
}

/**
 * True when the bytes at pos are the start of a batch cut off by the end of the
 * buffer (as a fetch response may end): fewer than 12 bytes, or a plausible
 * length that runs past the end. A too-small length is corruption, not a tail.
 */
export function isPartialTail(buf: Buffer, pos: number): boolean {
  const remaining = buf.length - pos;
  if (remaining < BATCH_LOG_OVERHEAD) return true;
  const batchLength = readInt32(buf, pos + BatchField.batchLength);
  return batchLength >= MIN_BATCH_LENGTH && batchLength > remaining - BATCH_LOG_OVERHEAD;
}

// ---- in-place field updates (outside the CRC) -------------------------------

function assertBatchAt(buf: Buffer, position: number): void {
  assert(
    Number.isInteger(position) && position >= 0 && position + BATCH_HEADER_SIZE <= buf.length,
    `a batch header fits at byte ${position} of a ${buf.length}-byte buffer`,
  );
  // A misaligned position would scribble over record bytes; the magic byte catches it.
  assert(buf[position + BatchField.magic] === MAGIC_V2, `byte ${position} starts a v2 batch`);
}

/** Rewrite baseOffset (the broker's offset assignment); the CRC does not cover it. */
export function setBaseOffset(buf: Buffer, position: number, baseOffset: number): void {
  assertBatchAt(buf, position);
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `baseOffset ${baseOffset} is a non-negative safe integer`);
  writeInt64(buf, position + BatchField.baseOffset, baseOffset);
}

/** Stamp partitionLeaderEpoch; the CRC does not cover it. */
export function setPartitionLeaderEpoch(buf: Buffer, position: number, epoch: number): void {
  assertBatchAt(buf, position);
  assert((epoch | 0) === epoch && epoch >= -1, `partitionLeaderEpoch ${epoch} is an int32 >= -1`);
  buf.writeInt32BE(epoch, position + BatchField.partitionLeaderEpoch);
}

// RecordBatch v2 framing, exactly as Kafka lays it out (docs/architecture.md#model):
//
//   offset  field                 type    in CRC
//        0  baseOffset            int64   no   (rewritten by the broker on append)
//        8  batchLength           int32   no   (bytes after this field)
//       12  partitionLeaderEpoch  int32   no   (stamped by the broker)
//       16  magic                 int8    no   (2)
//       17  crc                   uint32  no   (CRC-32C of bytes 21..end)
//       21  attributes            int16   yes  (bits 0-2 codec, 3 timestampType, 4 transactional, 5 control)
//       23  lastOffsetDelta       int32   yes
//       27  baseTimestamp         int64   yes
//       35  maxTimestamp          int64   yes
//       43  producerId            int64   yes
//       51  producerEpoch         int16   yes
//       53  baseSequence          int32   yes
//       57  recordCount           int32   yes
//       61  records...                    yes  (compressed as a whole when codec != 0)
//
// Error codes: bytes that are not a batch (framing, CRC, record structure) are
// CORRUPT_MESSAGE; magic 0/1 (Kafka's legacy formats) UNSUPPORTED_VERSION;
// codecs other than none/gzip UNSUPPORTED_COMPRESSION_TYPE; a well-formed batch
// that breaks an append rule (counts, offset deltas, transactional/control
// flags, sequence) INVALID_RECORD, as Kafka's LogValidator reports them.

import { StrataError, assert } from './errors.js';
import { readInt16, readInt32, readInt64, readInt64Unchecked, readUInt32, writeInt64 } from './int64.js';
import { crc32cRange } from './crc32c.js';
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

export const MAGIC_V2 = 2;
/** baseOffset int64 + batchLength int32: the bytes not counted by batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
/** Bytes from baseOffset through recordCount. */
export const BATCH_HEADER_SIZE = 61;
/** The smallest batchLength: a header with no records. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD;

export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

/** Attribute bits above the codec. */
export const BatchAttribute = {
  compressionMask: COMPRESSION_MASK,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** One validated batch frame inside a buffer: what the log needs, without decoding records. */
export interface BatchFrame {
  position: number;
  size: number;
  baseOffset: number;
  lastOffsetDelta: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
  attributes: number;
}

/** Read the header at position without validating it. Throws CORRUPT_MESSAGE if it is cut short or an int64 is unsafe. */
export function readBatchHeader(buf: Buffer, position = 0): BatchHeader {
  if (!Number.isInteger(position) || position < 0 || buf.length - position < BATCH_HEADER_SIZE) {
    throw new StrataError(
      'CORRUPT_MESSAGE',
      `batch header at byte ${position} needs ${BATCH_HEADER_SIZE} bytes, the buffer has ${buf.length}`,
      { details: { position } },
    );
  }
  return {
    baseOffset: readInt64(buf, position),
    batchLength: readInt32(buf, position + BatchField.batchLength),
    partitionLeaderEpoch: readInt32(buf, position + BatchField.partitionLeaderEpoch),
    magic: buf.readInt8(position + BatchField.magic),
    crc: readUInt32(buf, position + BatchField.crc),
    attributes: readInt16(buf, position + BatchField.attributes),
    lastOffsetDelta: readInt32(buf, position + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64(buf, position + BatchField.baseTimestamp),
    maxTimestamp: readInt64(buf, position + BatchField.maxTimestamp),
    producerId: readInt64(buf, position + BatchField.producerId),
    producerEpoch: readInt16(buf, position + BatchField.producerEpoch),
    baseSequence: readInt32(buf, position + BatchField.baseSequence),
    recordCount: readInt32(buf, position + BatchField.recordCount),
  };
}

// ---- framing: one check shared by validation, decoding and recovery --------
// checkFrame returns a fault number instead of throwing, so that recovery
// (scanValidPrefix) never pays for or risks an exception; frameError turns a
// fault into the message, recomputing what it reports on the failure path only.

const FAULT_NONE = 0;
const FAULT_SHORT = 1;
const FAULT_LENGTH = 2;
const FAULT_TRUNCATED = 3;
const FAULT_MAGIC = 4;
const FAULT_CRC = 5;
const FAULT_UNSAFE = 6;
type Fault = number;

function checkFrame(buf: Buffer, pos: number): Fault {
  const remaining = buf.length - pos;
  if (remaining < BATCH_LOG_OVERHEAD) return FAULT_SHORT;
  const batchLength = readInt32(buf, pos + BatchField.batchLength);
  if (batchLength < MIN_BATCH_LENGTH) return FAULT_LENGTH;
  if (batchLength > remaining - BATCH_LOG_OVERHEAD) return FAULT_TRUNCATED;
  if (buf[pos + BatchField.magic] !== MAGIC_V2) return FAULT_MAGIC;
  const end = pos + BATCH_LOG_OVERHEAD + batchLength;
  if (readUInt32(buf, pos + BatchField.crc) !== crc32cRange(buf, pos + BatchField.attributes, end)) return FAULT_CRC;
  // Offsets and timestamps become numbers; a value past 2^53 is corruption.
  if (!isSafeInt64(buf, pos + BatchField.baseOffset)) return FAULT_UNSAFE;
  if (!isSafeInt64(buf, pos + BatchField.baseTimestamp)) return FAULT_UNSAFE;
  if (!isSafeInt64(buf, pos + BatchField.maxTimestamp)) return FAULT_UNSAFE;
  if (!isSafeInt64(buf, pos + BatchField.producerId)) return FAULT_UNSAFE;
  return FAULT_NONE;
}

function isSafeInt64(buf: Buffer, pos: number): boolean {
  return Number.isSafeInteger(readInt64Unchecked(buf, pos));
}

function where(index: number, pos: number): string {
  return `batch ${index} at byte ${pos}: `;
}

function frameError(buf: Buffer, pos: number, index: number, fault: Fault): StrataError {
  const at = where(index, pos);
  const details = { batchIndex: index, position: pos };
  const remaining = buf.length - pos;
  switch (fault) {
    case FAULT_SHORT:
      return new StrataError(
        'CORRUPT_MESSAGE',
        `${at}only ${remaining} bytes remain, too few for a batch header (${BATCH_HEADER_SIZE} bytes): ` +
          (index === 0 ? 'truncated batch' : 'trailing bytes after the last whole batch'),
        { details },
      );
    case FAULT_LENGTH:
      return new StrataError(
        'CORRUPT_MESSAGE',
        `${at}batchLength ${readInt32(buf, pos + BatchField.batchLength)} is below the minimum ${MIN_BATCH_LENGTH}`,
        { details },
      );
    case FAULT_TRUNCATED:
      return new StrataError(
        'CORRUPT_MESSAGE',
        `${at}batchLength ${readInt32(buf, pos + BatchField.batchLength)} runs past the end: ` +
          `only ${remaining - BATCH_LOG_OVERHEAD} bytes follow the length field (truncated batch or trailing bytes)`,
        { details },
      );
    case FAULT_MAGIC: {
      const magic = buf.readInt8(pos + BatchField.magic);
      return magic === 0 || magic === 1
        ? new StrataError(
            'UNSUPPORTED_VERSION',
            `${at}magic ${magic} (a legacy message set) is not supported; only RecordBatch v2 (magic 2)`,
            { details },
          )
        : new StrataError('CORRUPT_MESSAGE', `${at}magic byte is ${magic}, expected ${MAGIC_V2}`, { details });
    }
    case FAULT_CRC: {
      const end = pos + BATCH_LOG_OVERHEAD + readInt32(buf, pos + BatchField.batchLength);
      const stored = readUInt32(buf, pos + BatchField.crc);
      const computed = crc32cRange(buf, pos + BatchField.attributes, end);
      return new StrataError(
        'CORRUPT_MESSAGE',
        `${at}CRC mismatch: stored 0x${hex32(stored)}, computed 0x${hex32(computed)} over bytes ${pos + BatchField.attributes}..${end}`,
        { details },
      );
    }
    case FAULT_UNSAFE:
      return new StrataError(
        'CORRUPT_MESSAGE',
        `${at}baseOffset, baseTimestamp, maxTimestamp or producerId is outside the safe integer range`,
        { details },
      );
    default:
      return new StrataError('INTERNAL_ERROR', `${at}unknown frame fault ${fault}`, { details });
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function frameAt(buf: Buffer, pos: number): BatchFrame {
  return {
    position: pos,
    size: BATCH_LOG_OVERHEAD + readInt32(buf, pos + BatchField.batchLength),
    baseOffset: readInt64Unchecked(buf, pos + BatchField.baseOffset),
    lastOffsetDelta: readInt32(buf, pos + BatchField.lastOffsetDelta),
    recordCount: readInt32(buf, pos + BatchField.recordCount),
    baseTimestamp: readInt64Unchecked(buf, pos + BatchField.baseTimestamp),
    maxTimestamp: readInt64Unchecked(buf, pos + BatchField.maxTimestamp),
    attributes: readInt16(buf, pos + BatchField.attributes),
  };
}

// ---- validation (the append path) -----------------------------------------

export interface ValidateOptions {
  /** A batch (including its 12-byte log overhead) larger than this is MESSAGE_TOO_LARGE. Default: no limit. */
  maxBatchBytes?: number;
  /** Also walk every record (decompressing gzip). Default true. */
  deep?: boolean;
  /** Refuse gzip sections that decompress to more than this. Default 64 MiB. */
  maxDecompressedBytes?: number;
  /** validateBatchesAsync: decompressions wait for one of these slots. Default: no bound. */
  slots?: DecompressionSlots;
}

/**
 * Validate a buffer that must hold one or more whole batches and nothing else.
 * Checks: length framing, magic 2, CRC-32C, recordCount/lastOffsetDelta
 * consistency, supported compression and (deep, default true) the record
 * framing inside (decompressing gzip). Throws StrataError CORRUPT_MESSAGE /
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

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
// This file: the layout's constants, the header, and the one framing check that validation,
// decoding and recovery share (batch.ts holds those three and re-exports this file's public names).

import { StrataError } from './errors.js';
import { readInt16, readInt32, readInt64, readInt64Unchecked, readUInt32 } from './int64.js';
import { crc32cRange } from './crc32c.js';
import { COMPRESSION_MASK } from './compression.js';

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

export const FAULT_NONE = 0;
export const FAULT_SHORT = 1;
export const FAULT_LENGTH = 2;
export const FAULT_TRUNCATED = 3;
export const FAULT_MAGIC = 4;
export const FAULT_CRC = 5;
export const FAULT_UNSAFE = 6;
export type Fault = number;

export function checkFrame(buf: Buffer, pos: number): Fault {
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

export function isSafeInt64(buf: Buffer, pos: number): boolean {
  return Number.isSafeInteger(readInt64Unchecked(buf, pos));
}

export function where(index: number, pos: number): string {
  return `batch ${index} at byte ${pos}: `;
}

export function frameError(buf: Buffer, pos: number, index: number, fault: Fault): StrataError {
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

export function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function frameAt(buf: Buffer, pos: number): BatchFrame {
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


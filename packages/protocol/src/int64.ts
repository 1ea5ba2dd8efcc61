// Fixed-width big-endian integers. Offsets and timestamps are int64 on the wire
// but plain numbers in process (docs/architecture.md#model: 2^53 records is centuries at
// millions per second), so reading an int64 that is not a safe integer is an
// error, never a silent rounding.
//
// The int16/int32 readers below do their own byte arithmetic: callers check
// bounds once per batch, and Buffer's own readers would check them again on
// every field (and throw RangeError, which must never escape this package).

import { StrataError } from './errors.js';

const TWO_POW_32 = 0x1_0000_0000;

/** Read a big-endian int64 as a number; throws CORRUPT_MESSAGE when out of bounds or not a safe integer. */
export function readInt64(buf: Buffer, pos: number): number {
  if (!Number.isInteger(pos) || pos < 0 || pos + 8 > buf.length) {
    throw new StrataError('CORRUPT_MESSAGE', `int64 at byte ${pos} runs past the end of a ${buf.length}-byte buffer`, {
      details: { position: pos },
    });
  }
  const value = readInt64Unchecked(buf, pos);
  if (!Number.isSafeInteger(value)) {
    throw new StrataError('CORRUPT_MESSAGE', `int64 at byte ${pos} is outside the safe integer range`, {
      details: { position: pos },
    });
  }
  return value;
}

/**
 * The int64 at pos as a number, or a non-safe number when it is outside
 * ±(2^53 - 1). hi * 2^32 is exact and rounding is monotone, so the result is a
 * safe integer exactly when the wire value is one: callers test with
 * Number.isSafeInteger. The caller guarantees pos + 8 <= buf.length.
 */
export function readInt64Unchecked(buf: Buffer, pos: number): number {
  return readInt32(buf, pos) * TWO_POW_32 + readUInt32(buf, pos + 4);
}

/** Write a safe integer as a big-endian int64; throws INVALID_REQUEST for anything else. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new StrataError('INVALID_REQUEST', `int64 field value ${String(value)} is not a safe integer`);
  }
  if (!Number.isInteger(pos) || pos < 0 || pos + 8 > buf.length) {
    throw new StrataError('INVALID_REQUEST', `int64 at byte ${pos} runs past the end of a ${buf.length}-byte buffer`);
  }
  const hi = Math.floor(value / TWO_POW_32);
  const lo = value - hi * TWO_POW_32; // in [0, 2^32): the two's-complement low word
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(lo, pos + 4);
}

/** Unchecked big-endian int32; the caller guarantees pos + 4 <= buf.length. */
export function readInt32(buf: Buffer, pos: number): number {
  return (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3];
}

/** Unchecked big-endian uint32; the caller guarantees pos + 4 <= buf.length. */
export function readUInt32(buf: Buffer, pos: number): number {
  return readInt32(buf, pos) >>> 0;
}

/** Unchecked big-endian int16; the caller guarantees pos + 2 <= buf.length. */
export function readInt16(buf: Buffer, pos: number): number {
  return ((buf[pos] << 24) | (buf[pos + 1] << 16)) >> 16;
}

// Zigzag varints (int32, at most 5 bytes) and varlongs (int64, at most 10
// bytes) as Kafka's ByteUtils writes them. Reads go through a ByteCursor that a
// caller allocates once per batch and reuses for every field, so decoding a
// record allocates nothing here. Varlongs become numbers and must be safe
// integers; the arithmetic below never forms the full zigzag value (which can
// reach 2^54 and lose its low bit in a double), it keeps the sign bit apart.

import { StrataError } from './errors.js';

/** A read position over buf[pos, end). Fields are public and mutable on purpose: it is a hot-path scratch object. */
export class ByteCursor {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }
}

export const VARINT_MAX_BYTES = 5;
export const VARLONG_MAX_BYTES = 10;

function overrun(cur: ByteCursor, start: number, what: string): StrataError {
  return new StrataError('CORRUPT_MESSAGE', `${what} at byte ${start} runs past the end (byte ${cur.end})`, {
    details: { position: start },
  });
}

/** Read a zigzag varint (int32). Like Kafka, bits past 32 in the fifth byte are dropped. */
export function readVarint(cur: ByteCursor): number {
  const buf = cur.buf;
  const end = cur.end;
  const start = cur.pos;
  let pos = start;
  if (pos >= end) throw overrun(cur, start, 'varint');
  let b = buf[pos++];
  if (b < 0x80) {
    // One byte: the common case for lengths, deltas and counts.
    cur.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let raw = b & 0x7f;
  let shift = 7;
  for (;;) {
    if (pos >= end) throw overrun(cur, start, 'varint');
    b = buf[pos++];
    raw |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
    if (shift > 28) {
      throw new StrataError('CORRUPT_MESSAGE', `varint at byte ${start} is longer than ${VARINT_MAX_BYTES} bytes`, {
        details: { position: start },
      });
    }
  }
  cur.pos = pos;
  return (raw >>> 1) ^ -(raw & 1);
}

/** Read a zigzag varlong (int64) that must be a safe integer. */
export function readVarlong(cur: ByteCursor): number {
  const buf = cur.buf;
  const end = cur.end;
  const start = cur.pos;
  let pos = start;
  if (pos >= end) throw overrun(cur, start, 'varlong');
  let b = buf[pos++];
  if (b < 0x80) {
    cur.pos = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  // raw = zigzag value; sign = raw bit 0; half = raw >>> 1 accumulated as a
  // double: exact while it stays below 2^53, which is all a safe result needs.
  const sign = b & 1;
  let half = (b & 0x7f) >>> 1;
  let scale = 64; // 2^(7k - 1) for the k-th continuation byte
  for (let k = 1; ; k++) {
    if (pos >= end) throw overrun(cur, start, 'varlong');
    b = buf[pos++];
    half += (b & 0x7f) * scale;
    if (b < 0x80) break;
    if (k === VARLONG_MAX_BYTES - 1) {
      throw new StrataError('CORRUPT_MESSAGE', `varlong at byte ${start} is longer than ${VARLONG_MAX_BYTES} bytes`, {
        details: { position: start },
      });
    }
    scale *= 128;
  }
  if (half > Number.MAX_SAFE_INTEGER - sign) {
    throw new StrataError('CORRUPT_MESSAGE', `varlong at byte ${start} is outside the safe integer range`, {
      details: { position: start },
    });
  }
  cur.pos = pos;
  return sign === 0 ? half : -half - 1;
}

function assertInt32(value: number): void {
  if ((value | 0) !== value) {
    throw new StrataError('INVALID_REQUEST', `varint value ${String(value)} is not an int32`);
  }
}

function assertSafe(value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new StrataError('INVALID_REQUEST', `varlong value ${String(value)} is not a safe integer`);
  }
}

/** Bytes a zigzag varint of value takes (value must be an int32). */
export function sizeOfVarint(value: number): number {
  assertInt32(value);
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (raw >= 0x80) {
    raw >>>= 7;
    size++;
  }
  return size;
}

/** Write a zigzag varint at pos and return the position after it. The caller sized buf. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  assertInt32(value);
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  while (raw >= 0x80) {
    buf[pos++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[pos++] = raw;
  return pos;
}

/** Bytes a zigzag varlong of value takes (value must be a safe integer). */
export function sizeOfVarlong(value: number): number {
  if ((value | 0) === value) return sizeOfVarint(value); // zigzag32 and zigzag64 agree on int32 values
  assertSafe(value);
  // raw = 2 * half + sign, so it has one bit more than half.
  let half = value < 0 ? -value - 1 : value;
  let size = 1;
  half = Math.floor(half / 64); // the first byte carries 6 bits of half
  while (half > 0) {
    half = Math.floor(half / 128);
    size++;
  }
  return size;
}

/** Write a zigzag varlong at pos and return the position after it. The caller sized buf. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  if ((value | 0) === value) return writeVarint(buf, pos, value);
  assertSafe(value);
  const sign = value < 0 ? 1 : 0;
  const half = value < 0 ? -value - 1 : value;
  let rest = Math.floor(half / 64);
  let byte = ((half % 64) << 1) | sign;
  while (rest > 0) {
    buf[pos++] = byte | 0x80;
    byte = rest % 128;
    rest = Math.floor(rest / 128);
  }
  buf[pos++] = byte;
  return pos;
}

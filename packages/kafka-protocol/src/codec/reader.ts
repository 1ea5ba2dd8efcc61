// A bounded cursor over one frame. Every read checks the bytes that remain
// first, so garbage fails with a KafkaProtocolError and never reads past `end`;
// every length or count is checked against the remaining bytes before anything
// is allocated for it (a 2 GiB array count in a 20-byte frame fails at once).

import { KafkaProtocolError } from '../errors.js';

/** An unsigned varint is at most 5 bytes for 32 bits. */
const UNSIGNED_VARINT_MAX_BYTES = 5;

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  need(bytes: number, what: string): void {
    if (bytes > this.end - this.pos) {
      throw new KafkaProtocolError('truncated', `${what}: needs ${bytes} bytes at byte ${this.pos}, ${this.end - this.pos} remain`, { position: this.pos });
    }
  }

  // Byte arithmetic rather than Buffer's readers: the bounds are checked once
  // by need(), and Buffer's readers would check them again on every field.

  int8(what: string): number {
    this.need(1, what);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  int16(what: string): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16;
  }

  uint16(what: string): number {
    this.need(2, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  int32(what: string): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  uint32(what: string): number {
    return this.int32(what) >>> 0;
  }

  int64(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  unsignedVarint(what: string): number {
    let value = 0;
    for (let i = 0; i < UNSIGNED_VARINT_MAX_BYTES; i++) {
      this.need(1, what);
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffff_ffff) break;
        return value;
      }
    }
    throw new KafkaProtocolError('invalid-length', `${what}: unsigned varint at byte ${this.pos} is longer than 32 bits`, { position: this.pos });
  }

  /** A slice of the frame (no copy): it stays valid as long as the frame does. */
  slice(length: number, what: string): Buffer {
    this.need(length, what);
    const s = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  utf8(length: number, what: string): string {
    this.need(length, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  /**
   * Refuse a count of elements that cannot fit in what remains, before anything
   * is allocated: each element takes at least `minElementBytes` (at least 1).
   */
  checkCount(count: number, minElementBytes: number, what: string): void {
    if (count * Math.max(1, minElementBytes) > this.end - this.pos) {
      throw new KafkaProtocolError('length-exceeds-frame', `${what}: ${count} elements cannot fit in the ${this.end - this.pos} bytes that remain`, {
        position: this.pos,
        count,
      });
    }
  }
}

// The encoder's output: a growing buffer for the fields, and the records of a
// Fetch response passed through as they are. A records slice larger than
// RECORDS_INLINE_COPY_MAX_BYTES closes the current chunk and is appended as its
// own chunk, so the socket writes (writev) the log's bytes without a copy into
// one big response buffer; smaller ones are cheaper copied than given an iovec.

import { KafkaProtocolError } from '../errors.js';

/** Records at most this long (bytes) are copied into the field buffer; longer ones become their own chunk. */
export const RECORDS_INLINE_COPY_MAX_BYTES = 1024;

/** The field buffer's first size (bytes); it doubles as needed. */
const WRITER_INITIAL_BYTES = 512;

export class Writer {
  private buf: Buffer;
  private pos = 0;
  /** Where the chunk being filled starts in `buf`. */
  private chunkStart = 0;
  private readonly chunks: Buffer[] = [];
  private chunkedBytes = 0;

  constructor(initialBytes = WRITER_INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written so far, chunks included. */
  length(): number {
    return this.chunkedBytes + (this.pos - this.chunkStart);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    // Only the chunk being filled moves; closed chunks keep the old buffer's memory.
    const open = this.pos - this.chunkStart;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, open + bytes));
    this.buf.copy(next, 0, this.chunkStart, this.pos);
    this.buf = next;
    this.chunkStart = 0;
    this.pos = open;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  unsignedVarint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new KafkaProtocolError('invalid-value', `unsigned varint ${v} is not a 32-bit unsigned integer`);
    }
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  utf8(s: string, byteLength: number): void {
    this.ensure(byteLength);
    this.pos += this.buf.write(s, this.pos, byteLength, 'utf8');
  }

  /** Bytes copied into the field buffer. */
  copy(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** Bytes written as they are: copied when small, their own chunk when large. */
  passThrough(b: Buffer): void {
    if (b.length <= RECORDS_INLINE_COPY_MAX_BYTES) {
      this.copy(b);
      return;
    }
    this.closeChunk();
    this.chunks.push(b);
    this.chunkedBytes += b.length;
  }

  private closeChunk(): void {
    if (this.pos > this.chunkStart) {
      const chunk = this.buf.subarray(this.chunkStart, this.pos);
      this.chunks.push(chunk);
      this.chunkedBytes += chunk.length;
    }
    this.chunkStart = this.pos;
  }

  /** The bytes written, as chunks in order (for writev). The writer is done. */
  finish(): Buffer[] {
    this.closeChunk();
    return this.chunks;
  }

  /** The bytes written, as one buffer (one copy at most). */
  finishAsBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.chunkedBytes);
  }
}

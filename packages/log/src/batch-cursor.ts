import type { FileHandle } from 'node:fs/promises';
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, BatchField, readInt64 } from '@strata/protocol';
import type { ReadBufferPool } from './buffer-pool.js';

/** The header fields of a stored batch that reads and indexes need; one object reused per cursor. */
export interface StoredBatch {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  /** The partitionLeaderEpoch the leader stamped (the epoch cache is rebuilt from it). */
  leaderEpoch: number;
  /** The idempotent producer's id (-1: none), epoch and first sequence (producer state is rebuilt from them). */
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/**
 * Walks the batch headers of one segment file forward from a position, reading the file in
 * windows so a walk costs one read per window, not one per batch. It trusts the framing: the
 * bytes were validated on append or by recovery. A header that does not make sense ends the walk.
 */
export class BatchCursor {
  readonly batch: StoredBatch = { position: 0, size: 0, baseOffset: 0, lastOffset: 0, maxTimestamp: 0, leaderEpoch: 0, producerId: -1, producerEpoch: -1, baseSequence: -1 };
  #window: Buffer = Buffer.alloc(0);
  #windowStart = 0;
  #next: number;
  /** Pooled buffers this cursor read into; they go back with releaseAll(). */
  readonly #acquired: Buffer[] = [];

  constructor(
    private readonly file: FileHandle,
    from: number,
    private readonly end: number,
    private readonly windowBytes: number,
    private readonly pool: ReadBufferPool | null = null,
  ) {
    this.#next = from;
  }

  /** Gives the pooled buffers back: only once nothing refers to the bytes this cursor returned. */
  releaseAll(): void {
    for (const buffer of this.#acquired.splice(0)) this.pool?.release(buffer);
  }

  /** Advances to the next batch; false at the end of the range or at a torn header. */
  async next(): Promise<boolean> {
    const position = this.#next;
    if (position + BATCH_HEADER_SIZE > this.end) return false;
    const header = await this.#bytesAt(position, BATCH_HEADER_SIZE);
    const size = BATCH_LOG_OVERHEAD + header.readInt32BE(BatchField.batchLength);
    if (size < BATCH_HEADER_SIZE || position + size > this.end) return false;
    const baseOffset = readInt64(header, BatchField.baseOffset);
    const b = this.batch;
    b.position = position;
    b.size = size;
    b.baseOffset = baseOffset;
    b.lastOffset = baseOffset + header.readInt32BE(BatchField.lastOffsetDelta);
    b.maxTimestamp = readInt64(header, BatchField.maxTimestamp);
    b.leaderEpoch = header.readInt32BE(BatchField.partitionLeaderEpoch);
    // Two int32 reads, not readInt64: a walk never throws on a field only the producer-state replay uses.
    b.producerId = header.readInt32BE(BatchField.producerId) * 2 ** 32 + header.readUInt32BE(BatchField.producerId + 4);
    b.producerEpoch = header.readInt16BE(BatchField.producerEpoch);
    b.baseSequence = header.readInt32BE(BatchField.baseSequence);
    this.#next = position + size;
    return true;
  }

  /** The bytes [from, to) of the file: a slice of the current window when it holds them, else one read. */
  async slice(from: number, to: number): Promise<Buffer> {
    if (from >= this.#windowStart && to <= this.#windowStart + this.#window.length) {
      return this.#window.subarray(from - this.#windowStart, to - this.#windowStart);
    }
    return this.#read(from, to - from);
  }

  #read(position: number, length: number): Promise<Buffer> {
    if (this.pool === null) return readExactly(this.file, position, length);
    const buffer = this.pool.acquire(length);
    this.#acquired.push(buffer);
    return readExactly(this.file, position, length, buffer);
  }

  async #bytesAt(position: number, length: number): Promise<Buffer> {
    const windowEnd = this.#windowStart + this.#window.length;
    if (position < this.#windowStart || position + length > windowEnd) {
      const windowLength = Math.min(Math.max(this.windowBytes, length), this.end - position);
      this.#window = await this.#read(position, windowLength);
      this.#windowStart = position;
    }
    const at = position - this.#windowStart;
    return this.#window.subarray(at, at + length);
  }
}

/** Reads exactly `length` bytes at `position`, or throws: a short read means the file changed under us. */
export async function readExactly(file: FileHandle, position: number, length: number, into?: Buffer): Promise<Buffer> {
  const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new Error(`short read at ${position + filled}: wanted ${length - filled} more bytes`);
    filled += bytesRead;
  }
  return buffer;
}

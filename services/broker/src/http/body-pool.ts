// Buffers for raw-produce bodies, kept for reuse: a fresh 64-256 KiB allocation per request was
// external memory the GC had to chase on the hot path (issue #16). Bounded: at most `buffersMax`
// idle buffers of `bufferBytes` each. A buffer comes back only through give(), by the one who took
// it, once nothing refers to the body any more (its append completed); one never given back is
// garbage collected like any other, so a path that cannot tell simply does not give it back.

export class BodyBufferPool {
  readonly bufferBytes: number;
  readonly buffersMax: number;
  readonly #idle: Buffer[] = [];
  /** Taken and not yet given back: give() accepts only these, and each once. */
  readonly #out = new WeakSet<ArrayBufferLike>();

  constructor(bufferBytes: number, buffersMax: number) {
    if (!Number.isSafeInteger(bufferBytes) || bufferBytes < 1) throw new Error(`bufferBytes must be a positive integer, got ${bufferBytes}`);
    if (!Number.isSafeInteger(buffersMax) || buffersMax < 0) throw new Error(`buffersMax must be an integer >= 0, got ${buffersMax}`);
    this.bufferBytes = bufferBytes;
    this.buffersMax = buffersMax;
  }

  get idle(): number {
    return this.#idle.length;
  }

  /** A buffer of exactly `bytes` (a view of a pooled one), or null when `bytes` is larger than the pool's buffers or the pool is off. */
  take(bytes: number): Buffer | null {
    if (bytes > this.bufferBytes || this.buffersMax === 0) return null;
    // Its own ArrayBuffer (allocUnsafe past Node's 4 KiB pool): a body never shares memory with another.
    const buffer = this.#idle.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    this.#out.add(buffer.buffer);
    return buffer.subarray(0, bytes);
  }

  /** Gives back a body take() returned, once nothing refers to it; anything else is ignored. */
  give(body: Buffer): void {
    const memory = body.buffer;
    if (!this.#out.has(memory)) return;
    this.#out.delete(memory);
    if (this.#idle.length < this.buffersMax) this.#idle.push(Buffer.from(memory, 0, this.bufferBytes));
  }
}

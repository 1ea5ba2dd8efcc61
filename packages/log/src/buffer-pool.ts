/**
 * Read buffers, reused: every fetch reads a window of up to a few MiB, and allocating a fresh one
 * each time makes V8 collect its (large) heap often to account for the external memory. Buffers
 * come in power-of-two classes from 64 KiB; the pool keeps at most `capacityBytes` of free ones.
 * A buffer handed out must be given back only once nothing refers to it any more (the response
 * that carried it has been written); one never given back is simply garbage collected.
 */
export class ReadBufferPool {
  readonly #free = new Map<number, Buffer[]>();
  readonly #capacityBytes: number;
  #freeBytes = 0;

  constructor(capacityBytes = 64 * 1024 * 1024) {
    this.#capacityBytes = capacityBytes;
  }

  /** A buffer of at least `size` bytes (its contents are garbage). */
  acquire(size: number): Buffer {
    const capacity = sizeClass(size);
    const list = this.#free.get(capacity);
    const reused = list?.pop();
    if (reused) {
      this.#freeBytes -= capacity;
      return reused;
    }
    return Buffer.allocUnsafeSlow(capacity);
  }

  release(buffer: Buffer): void {
    const capacity = buffer.length;
    if (capacity !== sizeClass(capacity) || this.#freeBytes + capacity > this.#capacityBytes) return;
    const list = this.#free.get(capacity) ?? [];
    list.push(buffer);
    this.#free.set(capacity, list);
    this.#freeBytes += capacity;
  }

  get freeBytes(): number {
    return this.#freeBytes;
  }
}

const MIN_CLASS_BYTES = 64 * 1024;

function sizeClass(size: number): number {
  let capacity = MIN_CLASS_BYTES;
  while (capacity < size) capacity *= 2;
  return capacity;
}

/** The pool reads use unless a log is given its own. */
export const sharedReadBufferPool = new ReadBufferPool();

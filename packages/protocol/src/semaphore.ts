// At most `limit` tasks at once; the rest wait, first come first served. A pure concurrency bound
// (no I/O), here so that every package bounds its work with the same one.

export class Semaphore {
  readonly limit: number;
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`Semaphore: limit ${limit} must be an integer >= 1`);
    this.limit = limit;
  }

  /** Tasks running now (at most limit). */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.limit) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve)); // handed a slot already counted
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}

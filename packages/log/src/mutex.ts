/** At most `limit` tasks at once; the rest wait, first come first served. */
export class Semaphore {
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  constructor(readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.limit) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve)); // handed a slot already counted
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}

/** Runs tasks one at a time, in call order: appends, rolls and retention never interleave. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    // The queue continues after a failure; the caller sees the failure through `result`.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

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

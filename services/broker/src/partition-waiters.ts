// Long-poll fetches waiting for data: one list per partition, resolved when an
// append moves the log end past the waiter's offset. Bounded: past
// `maxWaiters` a fetch does not wait. Every waiter ends on data, timeout, client
// disconnect (its AbortSignal), topic deletion or shutdown, and cleans up its
// timer and listener whichever comes first.

export type WaitOutcome =
  /** The log end moved past the offset. */
  | 'data'
  | 'timeout'
  /** The client went away. */
  | 'aborted'
  /** The partition went away, or the broker is shutting down: answer with what there is. */
  | 'woken'
  /** Too many waiters: answered at once. */
  | 'rejected';

interface Waiter {
  offset: number;
  settle(outcome: WaitOutcome): void;
}

export class PartitionWaiters {
  readonly #maxWaiters: number;
  readonly #byKey = new Map<string, Set<Waiter>>();
  #count = 0;
  #closed = false;
  #rejected = 0;

  constructor(maxWaiters: number) {
    this.#maxWaiters = maxWaiters;
  }

  /** Waiters now waiting. */
  get size(): number {
    return this.#count;
  }

  /** Waits refused because the cap was reached (a counter). */
  get rejectedTotal(): number {
    return this.#rejected;
  }

  /**
   * Resolves when `logEndOffset()` > `offset` (checked first, synchronously, so an append that
   * landed before the call is not missed), or on timeout / abort / wake.
   */
  wait(key: string, offset: number, logEndOffset: () => number, timeoutMs: number, signal: AbortSignal): Promise<WaitOutcome> {
    if (logEndOffset() > offset) return Promise.resolve('data');
    if (signal.aborted) return Promise.resolve('aborted');
    if (this.#closed) return Promise.resolve('woken');
    if (timeoutMs <= 0) return Promise.resolve('timeout');
    if (this.#count >= this.#maxWaiters) {
      this.#rejected++;
      return Promise.resolve('rejected');
    }
    return new Promise<WaitOutcome>((resolve) => {
      let list = this.#byKey.get(key);
      if (!list) {
        list = new Set();
        this.#byKey.set(key, list);
      }
      const waiters = list;
      const onAbort = (): void => waiter.settle('aborted');
      const timer = setTimeout(() => waiter.settle('timeout'), timeoutMs);
      let done = false;
      const waiter: Waiter = {
        offset,
        settle: (outcome) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          waiters.delete(waiter);
          if (waiters.size === 0 && this.#byKey.get(key) === waiters) this.#byKey.delete(key);
          this.#count--;
          resolve(outcome);
        },
      };
      waiters.add(waiter);
      this.#count++;
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** An append moved the partition's log end to `logEndOffset`. */
  notify(key: string, logEndOffset: number): void {
    const list = this.#byKey.get(key);
    if (!list) return;
    for (const waiter of [...list]) {
      if (waiter.offset < logEndOffset) waiter.settle('data');
    }
  }

  /** The partition is gone (topic deleted). */
  wakeKey(key: string): void {
    const list = this.#byKey.get(key);
    if (!list) return;
    for (const waiter of [...list]) waiter.settle('woken');
  }

  /** Shutdown: wake everyone, and refuse to wait from now on. */
  close(): void {
    this.#closed = true;
    for (const list of [...this.#byKey.values()]) for (const waiter of [...list]) waiter.settle('woken');
  }
}

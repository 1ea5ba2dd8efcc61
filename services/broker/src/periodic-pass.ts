// One pass every interval, never two at once: the next pass is scheduled only when this one ends
// (so a slow pass delays the next instead of piling up), and stop() waits for a running pass.
// The maintenance loop and the group expiry run on it.

export class PeriodicPass {
  readonly #intervalMs: number;
  readonly #pass: () => Promise<void>;
  readonly #keepsProcessAlive: boolean;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  /** `pass` must not throw (a failure is the pass's own to report); `keepsProcessAlive: false` unrefs the timer. */
  constructor(intervalMs: number, pass: () => Promise<void>, options: { keepsProcessAlive?: boolean } = {}) {
    this.#intervalMs = intervalMs;
    this.#pass = pass;
    this.#keepsProcessAlive = options.keepsProcessAlive ?? true;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    this.#schedule();
  }

  /** Stops scheduling and waits for a running pass to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#pass().finally(() => {
        this.#running = null;
        this.#schedule();
      });
    }, this.#intervalMs);
    if (!this.#keepsProcessAlive) this.#timer.unref();
  }
}

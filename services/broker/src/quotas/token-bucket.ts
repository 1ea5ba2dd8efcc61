// What a client may still take under a quota, as a token bucket (Kafka's own TokenBucket, KIP-599,
// and Redpanda's client quotas): credit refills at the quota's bound per second up to a burst of
// (samples - 1) windows' worth; every byte (ms of handler time, connection) spends it; a client
// that spent more than it had owes the difference, and its throttle time is how long the refill
// takes to pay that debt back:
//   -credit / bound, in ms, capped at one whole span (samples x windowMs).
//
// Why not Kafka's sampled rate (a sum over `samples` windows of `windowMs`), which this replaced:
// with a client always over its quota, the window that holds its first burst expires whole, the
// span it frees is taken again at once into one window, and that window expires whole one span
// later: the client was held to its rate only on average over a span, in bursts one span apart
// (`pnpm bench quotas` saw 0.27, 1.92 and 0.07 of the quota in three 5 s buckets). A bucket holds it
// at every moment. The first burst is the one the sampled rate allowed (its minimum span of
// samples - 1 windows), and after a whole span of silence a bucket is full again, the state a new
// one starts in: so an idle bucket may be dropped (quota-manager.ts), forgiving at most a debt
// older than one span, as the sampled rate forgot it.
//
// The bound is passed on each use, not kept: a quota changed by the refresh applies at once. One
// instance per tracked entity and quota kind; no allocation per record.

export interface RateWindows {
  /** Windows in one span (Kafka's quota.window.num, 11). */
  samples: number;
  /** Length of one window, ms (Kafka's quota.window.size.seconds, 1 s). */
  windowMs: number;
}

export class TokenBucket {
  readonly #burstSeconds: number;
  readonly #spanMs: number;
  /** Credit left, in the quota's unit (bytes, ms, connections); negative: a debt. */
  #credit = 0;
  /** When the credit was last brought up to date (ms); NaN: never used (full). */
  #atMs = Number.NaN;
  /** When a value was last recorded (ms): idle buckets are dropped (quota-manager.ts). */
  lastRecordMs = 0;

  constructor(windows: RateWindows) {
    if (!(windows.samples >= 2 && Number.isSafeInteger(windows.samples))) throw new Error(`samples must be an integer >= 2, got ${windows.samples}`);
    if (!(windows.windowMs >= 1)) throw new Error(`windowMs must be >= 1, got ${windows.windowMs}`);
    this.#burstSeconds = ((windows.samples - 1) * windows.windowMs) / 1000;
    this.#spanMs = windows.samples * windows.windowMs;
  }

  /** Spends `value` (negative gives back what was recorded for an answer never sent) at `nowMs`. */
  record(value: number, boundPerSecond: number, nowMs: number): void {
    this.#refill(boundPerSecond, nowMs);
    this.#credit -= value;
    this.lastRecordMs = nowMs;
  }

  /** 0 while the client is within `boundPerSecond`; else how long (ms) it must pause (see the header). */
  throttleMs(boundPerSecond: number, nowMs: number): number {
    this.#refill(boundPerSecond, nowMs);
    if (this.#credit >= 0) return 0;
    return Math.min(Math.ceil((-this.#credit / boundPerSecond) * 1000), this.#spanMs);
  }

  #refill(boundPerSecond: number, nowMs: number): void {
    const burst = boundPerSecond * this.#burstSeconds;
    if (Number.isNaN(this.#atMs)) this.#credit = burst;
    // A clock that steps back refills nothing (and credit never passes the burst).
    else if (nowMs > this.#atMs) this.#credit = Math.min(burst, this.#credit + (boundPerSecond * (nowMs - this.#atMs)) / 1000);
    else this.#credit = Math.min(burst, this.#credit);
    if (!(nowMs <= this.#atMs)) this.#atMs = nowMs;
  }
}

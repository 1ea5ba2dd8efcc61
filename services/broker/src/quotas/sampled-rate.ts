// A rate measured as Kafka measures quotas (org.apache.kafka.common.metrics.stats.Rate over a
// SampledStat): `samples` windows of `windowMs` each; a value is added to the current window; a
// window older than the whole span is forgotten; the rate is the sum of the live windows over the
// time they cover, never less than (samples - 1) windows, so that a client's first burst is
// measured over the full span rather than over the few milliseconds it took (which would throttle
// every new client at once).
//
// The throttle time of a client over its bound is Kafka's (QuotaUtils.throttleTime): how long the
// client must stay silent for the measured rate to fall back to the bound,
//   (rate - bound) / bound * span,
// capped at the span itself: after one whole span every sample has rolled over, so a longer pause
// would only punish, not correct.
//
// One instance per tracked entity and quota kind: two small Float64Arrays, no allocation per record.

export interface RateWindows {
  /** Windows kept (Kafka's quota.window.num, 11). */
  samples: number;
  /** Length of one window, ms (Kafka's quota.window.size.seconds, 1 s). */
  windowMs: number;
}

export class SampledRate {
  readonly #windows: RateWindows;
  /** Start (ms) of each window; NaN: never used. */
  readonly #starts: Float64Array;
  readonly #values: Float64Array;
  #current = 0;
  /** When a value was last recorded (ms): idle trackers are dropped (quota-manager.ts). */
  lastRecordMs = 0;

  constructor(windows: RateWindows) {
    if (!(windows.samples >= 2 && Number.isSafeInteger(windows.samples))) throw new Error(`samples must be an integer >= 2, got ${windows.samples}`);
    if (!(windows.windowMs >= 1)) throw new Error(`windowMs must be >= 1, got ${windows.windowMs}`);
    this.#windows = windows;
    this.#starts = new Float64Array(windows.samples).fill(Number.NaN);
    this.#values = new Float64Array(windows.samples);
  }

  /** Adds `value` (bytes, ms of handler time, connections; negative takes a recorded value back) at `nowMs`. */
  record(value: number, nowMs: number): void {
    this.#purge(nowMs);
    let i = this.#current;
    const start = this.#starts[i]!;
    if (Number.isNaN(start)) this.#starts[i] = nowMs;
    else if (nowMs - start >= this.#windows.windowMs) {
      i = (i + 1) % this.#windows.samples;
      this.#current = i;
      this.#starts[i] = nowMs;
      this.#values[i] = 0;
    }
    this.#values[i]! += value;
    this.lastRecordMs = nowMs;
  }

  /** Per second, over the live windows (see the header). */
  ratePerSecond(nowMs: number): number {
    this.#purge(nowMs);
    let total = 0;
    for (let i = 0; i < this.#windows.samples; i++) if (!Number.isNaN(this.#starts[i]!)) total += this.#values[i]!;
    return (total * 1000) / this.spanMs(nowMs);
  }

  /** The time the live windows cover (ms), at least (samples - 1) whole windows. */
  spanMs(nowMs: number): number {
    const { samples, windowMs } = this.#windows;
    let oldest = nowMs;
    for (let i = 0; i < samples; i++) {
      const start = this.#starts[i]!;
      if (!Number.isNaN(start) && start < oldest) oldest = start;
    }
    const elapsed = nowMs - oldest;
    const fullWindows = Math.floor(elapsed / windowMs);
    return fullWindows < samples - 1 ? elapsed + (samples - 1 - fullWindows) * windowMs : elapsed;
  }

  /** 0 while the rate is within `boundPerSecond`; else how long (ms) the client must pause (see the header). */
  throttleMs(boundPerSecond: number, nowMs: number): number {
    const rate = this.ratePerSecond(nowMs);
    if (rate <= boundPerSecond) return 0;
    const span = this.spanMs(nowMs);
    return Math.min(Math.round(((rate - boundPerSecond) / boundPerSecond) * span), this.#windows.samples * this.#windows.windowMs);
  }

  /** Windows that ended a whole span ago hold nothing any more (Kafka's purgeObsoleteSamples). */
  #purge(nowMs: number): void {
    const expiredBefore = nowMs - this.#windows.samples * this.#windows.windowMs;
    for (let i = 0; i < this.#windows.samples; i++) {
      if (this.#starts[i]! <= expiredBefore) {
        this.#starts[i] = Number.NaN;
        this.#values[i] = 0;
      }
    }
  }
}

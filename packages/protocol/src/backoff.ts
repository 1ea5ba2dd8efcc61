// Capped exponential backoff with jitter: the one formula every retry loop uses (the client's
// request retries and consumer loops, the S3 store's retries, the Redis reconnects, tiering's
// upload retries, replica fetchers, the CLI). Pure: the random source is a parameter, so tests
// pin the jitter.
//
//   wait(attempt) = floor(min(maxMs, baseMs × 2^(attempt-1)) × (low + (high - low) × random())),
//                   then capped at maxMs again
//
// `attempt` 1 is the wait before the first retry. The jitter is the range [low, high] the
// capped exponential is multiplied by; each caller picks a named range (below) instead of
// writing its own formula.

/** The multiplier range of the jitter: the wait is the capped exponential times a draw in [low, high]. */
export type JitterRange = readonly [low: number, high: number];

/** Kafka's retry.backoff jitter: ±20% (then capped), so retries of many clients spread out. */
export const KAFKA_JITTER: JitterRange = Object.freeze([0.8, 1.2] as const);
/** "Full jitter" (AWS architecture blog): anywhere in [0, capped exponential]; the best spread under contention. */
export const FULL_JITTER: JitterRange = Object.freeze([0, 1] as const);
/** "Equal jitter": at least half the capped exponential, so a retry never comes at once. */
export const EQUAL_JITTER: JitterRange = Object.freeze([0.5, 1] as const);

export interface BackoffPolicy {
  /** The wait before the first retry, before jitter (ms). */
  baseMs: number;
  /** No wait is longer (ms), jitter included. */
  maxMs: number;
  jitter: JitterRange;
}

/** Doublings past this change nothing (2^52 × 1 ms is far over any cap) and keep the product finite. */
const DOUBLINGS_MAX = 52;

/** The wait before retry `attempt` (1 = the first retry), in whole ms. */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const doublings = Math.min(Math.max(attempt - 1, 0), DOUBLINGS_MAX);
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** doublings);
  const [low, high] = policy.jitter;
  const wait = Math.floor(capped * (low + (high - low) * random()));
  return Math.max(0, Math.min(policy.maxMs, wait));
}

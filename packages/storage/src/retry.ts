// The one retry policy of the object-store layer (Redpanda's "remote I/O with
// retries and deadlines" layer). Every S3 request goes through withRetries,
// and nothing else retries: the SDK's own retry strategy is off
// (maxAttempts: 1), so attempts never multiply across two layers.
//
// - What is retried: 5xx, throttling (SlowDown, 503, 429, RequestTimeout) and
//   connection failures (ECONNRESET, ECONNREFUSED, EPIPE, socket hang up,
//   timeouts). Never a 4xx such as NoSuchKey or AccessDenied: the same request
//   fails the same way again.
// - How long: capped exponential backoff with full jitter (AWS architecture
//   blog, "Exponential Backoff And Jitter"): the wait before retry n is uniform
//   in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). Bounded three ways: a number
//   of attempts, a deadline for the whole operation (each attempt's timeout is
//   cut to what is left of it) and the caller's AbortSignal.
// - How it ends: the caller's abort rejects with REQUEST_TIMED_OUT; a
//   non-retriable failure with a StorageError (retriable false); running out of
//   attempts or time with a StorageError (retriable true) whose cause is the
//   last failure.

import { setTimeout as sleepTimer } from 'node:timers/promises';
import { FULL_JITTER, StrataError, backoffMs, isStrataError } from '@strata/protocol';
import { StorageError, abortedError, errorMessage, raceAbort } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included (>= 1). */
  maxAttempts: number;
  /** The backoff cap before the first retry; doubles per retry up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The whole operation (every attempt and wait) ends this many ms after it started. */
  deadlineMs: number;
  /** One attempt is abandoned, as a retriable timeout, after this many ms. */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  deadlineMs: 120_000,
  attemptTimeoutMs: 60_000,
});

/** Time as the policy sees it; tests substitute a fake one. */
export interface RetryClock {
  now(): number;
  /** Waits ms; rejects (with anything) as soon as signal fires. */
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void>;
  /** Calls fn after ms; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: RetryClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleepTimer(ms, undefined, signal === undefined ? undefined : { signal }),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface RetryDecision {
  retriable: boolean;
  /** One line for messages and logs: what kind of failure this was. */
  reason: string;
}

export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** Fires when the caller aborts, the attempt times out or the deadline passes: pass it to the I/O. */
  signal: AbortSignal;
}

export interface RetryInfo {
  what: string;
  /** The attempt that just failed. */
  attempt: number;
  delayMs: number;
  reason: string;
  error: unknown;
}

export interface RetryOptions {
  /** Names the operation in errors: "s3 get topics/a/0/...". */
  what: string;
  policy?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  clock?: RetryClock;
  /** Uniform in [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
  classify?: (error: unknown) => RetryDecision;
  /** Observability hook (the service decides whether to log or count). */
  onRetry?: (info: RetryInfo) => void;
}

/** Merges overrides into the default policy and checks every field. */
export function resolveRetryPolicy(overrides?: Partial<RetryPolicy>): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  const check = (ok: boolean, field: keyof RetryPolicy): void => {
    if (!ok) throw new StrataError('INVALID_CONFIG', `retry policy: ${field} = ${String(policy[field])} is out of range`);
  };
  check(Number.isSafeInteger(policy.maxAttempts) && policy.maxAttempts >= 1 && policy.maxAttempts <= 100, 'maxAttempts');
  check(Number.isFinite(policy.baseDelayMs) && policy.baseDelayMs >= 0, 'baseDelayMs');
  check(Number.isFinite(policy.maxDelayMs) && policy.maxDelayMs >= policy.baseDelayMs, 'maxDelayMs');
  check(Number.isFinite(policy.deadlineMs) && policy.deadlineMs > 0, 'deadlineMs');
  check(Number.isFinite(policy.attemptTimeoutMs) && policy.attemptTimeoutMs > 0, 'attemptTimeoutMs');
  return policy;
}

/** The wait before retry `retry` (1 = the first retry): full jitter under a capped exponential (backoffMs, the one formula). */
export function backoffDelayMs(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  return backoffMs(retry, { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, jitter: FULL_JITTER }, random);
}

// S3 error names (the `Code` in the XML body) that mean "slow down / try later".
const THROTTLING_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
]);
// Server-side or timing failures that a later identical request can get past.
const TRANSIENT_NAMES = new Set(['RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'TimeoutError']);
// Connection-level failures (Node system errors and undici/stream codes).
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const NETWORK_MESSAGES = ['socket hang up', 'other side closed'];

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** Sorts an S3 SDK / network failure into retriable or not. Unknown failures are not retried. */
export function classifyStorageFailure(error: unknown): RetryDecision {
  // The SDK sometimes wraps the socket error: look a few causes deep.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const e = current as ErrorShape;
    const code = typeof e.code === 'string' ? e.code : undefined;
    const name = typeof e.name === 'string' ? e.name : undefined;
    const message = typeof e.message === 'string' ? e.message : '';
    if (code !== undefined && NETWORK_CODES.has(code)) return { retriable: true, reason: `connection failure ${code}` };
    if (NETWORK_MESSAGES.some((m) => message.includes(m))) return { retriable: true, reason: `connection failure: ${message}` };
    if (name !== undefined && THROTTLING_NAMES.has(name)) return { retriable: true, reason: `throttled (${name})` };
    if (name !== undefined && TRANSIENT_NAMES.has(name)) return { retriable: true, reason: `transient failure ${name}` };
    const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : e.statusCode;
    if (typeof status === 'number') {
      if (status === 429 || status === 503) return { retriable: true, reason: `throttled (HTTP ${status}${name ? ` ${name}` : ''})` };
      if (status === 408 || status >= 500) return { retriable: true, reason: `HTTP ${status}${name ? ` ${name}` : ''}` };
      return { retriable: false, reason: `HTTP ${status}${name ? ` ${name}` : ''}: ${message}` };
    }
    current = e.cause;
  }
  return { retriable: false, reason: errorMessage(error) };
}

/**
 * Runs `operation` until it succeeds, fails for good, or the policy's budget
 * or the caller's signal ends it. See the top of this file for the rules.
 */
export async function withRetries<T>(operation: (context: AttemptContext) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = resolveRetryPolicy(options.policy);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const classify = options.classify ?? classifyStorageFailure;
  const { what, signal } = options;
  const startedAt = clock.now();
  const deadline = startedAt + policy.deadlineMs;

  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortedError(signal, what);
    const remainingMs = Math.max(1, deadline - clock.now());
    const attemptBudgetMs = Math.min(policy.attemptTimeoutMs, remainingMs);
    const controller = new AbortController();
    let timedOutAfterMs = -1;
    const cancelTimer = clock.setTimer(attemptBudgetMs, () => {
      timedOutAfterMs = attemptBudgetMs;
      controller.abort(new StorageError(`${what}: attempt ${attempt} timed out after ${attemptBudgetMs} ms`, { retriable: true }));
    });
    const forwardAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forwardAbort, { once: true });

    let failure: unknown;
    try {
      // The race makes the timeout and the caller's abort prompt even when the
      // operation does not watch its signal closely (a stuck body stream).
      return await raceAbort(operation({ attempt, signal: controller.signal }), controller.signal, what);
    } catch (error) {
      failure = error;
    } finally {
      cancelTimer();
      signal?.removeEventListener('abort', forwardAbort);
    }

    if (signal?.aborted) throw abortedError(signal, what);
    if (timedOutAfterMs >= 0) failure = controller.signal.reason;
    const decision: RetryDecision = isStrataError(failure)
      ? { retriable: failure.retriable, reason: failure.message }
      : classify(failure);
    if (!decision.retriable) {
      if (isStrataError(failure)) throw failure;
      throw new StorageError(`${what} failed: ${decision.reason}`, { retriable: false, cause: failure, details: { attempts: attempt } });
    }
    const delayMs = backoffDelayMs(attempt, policy, random);
    const elapsedMs = Math.round(clock.now() - startedAt);
    const outOfAttempts = attempt >= policy.maxAttempts;
    const outOfTime = clock.now() + delayMs >= deadline;
    if (outOfAttempts || outOfTime) {
      const limit = outOfAttempts ? `${attempt} attempts` : `its ${policy.deadlineMs} ms deadline (${attempt} attempts)`;
      throw new StorageError(`${what} failed after ${limit} in ${elapsedMs} ms: ${decision.reason}`, {
        retriable: true,
        cause: failure,
        details: { attempts: attempt, elapsedMs, deadlineExceeded: outOfTime && !outOfAttempts },
      });
    }
    options.onRetry?.({ what, attempt, delayMs, reason: decision.reason, error: failure });
    try {
      await clock.sleep(delayMs, signal);
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal, what);
      throw error;
    }
  }
}

// Retries with capped exponential backoff and jitter, stopped by a deadline
// (STYLE.md: deadlines travel). Each attempt's timeout is what is left of the
// deadline, at most the per-attempt cap, so a retry never outlives its caller.

import { setTimeout as sleep } from 'node:timers/promises';
import { channel } from 'node:diagnostics_channel';
import { KAFKA_JITTER, backoffMs } from '@strata/protocol';
import { RequestFailure, gaveUp } from './failure.js';

export interface RetryEvent {
  what: string;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  backoffMs: number;
  failure: RequestFailure;
}

/** Published before each retry (diagnostics_channel). */
export const retryChannel = channel('strata:client:retry');

export interface RetryPolicy {
  what: string;
  /** Epoch ms after which no attempt starts and no backoff ends. */
  deadline: number;
  /** An attempt's timeout is at most this (then min'ed with what is left of the deadline). */
  attemptTimeoutMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** At most this many attempts (default: as many as the deadline allows); the last failure's error is thrown as it is. */
  attemptsMax?: number;
  /** At attemptsMax, throw a retriable failure as its RequestFailure (for a caller that retries itself and reports it). */
  throwRetriable?: boolean;
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Runs attempt(timeoutMs) until it succeeds, fails for good (a non-retriable RequestFailure: its
 * StrataError is thrown), or the deadline leaves no room for another backoff (the last failure,
 * see gaveUp). Anything that is not a RequestFailure (an abort, a bug) is thrown as it is.
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (timeoutMs: number, attemptNumber: number) => Promise<T>): Promise<T> {
  const started = Date.now();
  /** The failure to report when the deadline ends the retries (see below). */
  let telling: RequestFailure | null = null;
  for (let attempts = 1; ; attempts++) {
    const timeoutMs = Math.max(1, Math.min(policy.attemptTimeoutMs, policy.deadline - Date.now()));
    try {
      return await attempt(timeoutMs, attempts);
    } catch (e) {
      if (!(e instanceof RequestFailure)) throw e;
      if (!e.retriable) throw e.error;
      if (attempts >= (policy.attemptsMax ?? Number.POSITIVE_INFINITY)) throw policy.throwRetriable === true ? e : e.error;
      // The last attempt often gets only the sliver of the deadline left after a backoff: its
      // timeout is the deadline's doing and says nothing about the brokers, so the caller hears the
      // failure before it (the server's code), not REQUEST_TIMED_OUT. Only a timeout that had the
      // full per-attempt budget is a finding of its own.
      const cutByDeadline = e.kind === 'timeout' && timeoutMs < policy.attemptTimeoutMs;
      if (!cutByDeadline || telling === null) telling = e;
      const wait = backoffMs(attempts, { baseMs: policy.retryBackoffMs, maxMs: policy.retryBackoffMaxMs, jitter: KAFKA_JITTER });
      if (Date.now() + wait >= policy.deadline) throw gaveUp(telling, attempts, Date.now() - started, policy.what);
      const event: RetryEvent = { what: policy.what, attempt: attempts, backoffMs: wait, failure: e };
      policy.onRetry?.(event);
      if (retryChannel.hasSubscribers) retryChannel.publish(event);
      try {
        await sleep(wait, undefined, policy.signal ? { signal: policy.signal } : undefined);
      } catch (abort) {
        throw policy.signal?.aborted ? policy.signal.reason : abort;
      }
    }
  }
}

// The retry policy as a function: a fake clock and fake operations (no S3 here;
// the engines' behaviour against a real server is in s3-store.test.ts).

import { describe, expect, it } from 'vitest';
import { StrataError } from '@strata/protocol';
import {
  DEFAULT_RETRY_POLICY,
  StorageError,
  backoffDelayMs,
  classifyStorageFailure,
  resolveRetryPolicy,
  withRetries,
  type RetryClock,
  type RetryInfo,
} from '@strata/storage';
import { expectStrataError } from './conformance.js';

/** Time moves only when the code under test sleeps, or when a test advances it. */
class FakeClock implements RetryClock {
  t = 1_000_000;
  readonly sleeps: number[] = [];
  #timers: { at: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.advance(ms);
  }
  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn, live: true };
    this.#timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  advance(ms: number): void {
    this.t += ms;
    for (const timer of this.#timers) {
      if (timer.live && timer.at <= this.t) {
        timer.live = false;
        timer.fn();
      }
    }
  }
}

function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(`${name} from the service`), { name, $metadata: { httpStatusCode: status }, $fault: status >= 500 ? 'server' : 'client' });
}

function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });
}

/** An operation that fails with each error in turn, then returns 'ok'. */
function failing(errors: unknown[], onCall?: (attempt: number) => void): { op: (ctx: { attempt: number }) => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    op: async ({ attempt }) => {
      calls++;
      onCall?.(attempt);
      const error = errors[calls - 1];
      if (error !== undefined) throw error;
      return 'ok';
    },
    calls: () => calls,
  };
}

const fixedJitter = (): number => 0.5;

describe('classifyStorageFailure', () => {
  it.each([
    ['503 SlowDown', s3Error('SlowDown', 503), true],
    ['503 ServiceUnavailable', s3Error('ServiceUnavailable', 503), true],
    ['500 InternalError', s3Error('InternalError', 500), true],
    ['502 with an unknown name', s3Error('BadGateway', 502), true],
    ['429', s3Error('TooManyRequests', 429), true],
    ['400 RequestTimeout (S3 reports it as a 400)', s3Error('RequestTimeout', 400), true],
    ['ECONNRESET', sysError('ECONNRESET'), true],
    ['ECONNREFUSED', sysError('ECONNREFUSED'), true],
    ['EPIPE', sysError('EPIPE'), true],
    ['ETIMEDOUT', sysError('ETIMEDOUT'), true],
    ['socket hang up', new Error('socket hang up'), true],
    ['TimeoutError', Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' }), true],
    ['a reset wrapped as a cause', new Error('request failed', { cause: sysError('ECONNRESET') }), true],
    ['404 NoSuchKey', s3Error('NoSuchKey', 404), false],
    ['403 AccessDenied', s3Error('AccessDenied', 403), false],
    ['404 NoSuchBucket', s3Error('NoSuchBucket', 404), false],
    ['400 InvalidArgument', s3Error('InvalidArgument', 400), false],
    ['416 InvalidRange', s3Error('InvalidRange', 416), false],
    ['an unknown bug', new TypeError('x is not a function'), false],
  ])('%s → retriable %s', (_label, error, retriable) => {
    expect(classifyStorageFailure(error).retriable).toBe(retriable);
  });
});

describe('backoffDelayMs (full jitter under a capped exponential)', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 2_000 };
  it('doubles the ceiling per retry up to the cap', () => {
    const top = (): number => 0.999_999;
    expect([1, 2, 3, 4, 5, 6, 30].map((n) => backoffDelayMs(n, policy, top))).toEqual([99, 199, 399, 799, 1599, 1999, 1999]);
  });
  it('draws uniformly from [0, ceiling)', () => {
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(200);
    const draws = Array.from({ length: 2000 }, () => backoffDelayMs(4, policy, Math.random));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(800);
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeGreaterThan(300); // mean ~400
  });
});

describe('withRetries', () => {
  it('returns the first success without waiting', async () => {
    const clock = new FakeClock();
    const { op, calls } = failing([]);
    expect(await withRetries(op, { what: 'op', clock })).toBe('ok');
    expect(calls()).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('retries throttling, 5xx and connection failures with growing backoff', async () => {
    const clock = new FakeClock();
    const retries: RetryInfo[] = [];
    const { op, calls } = failing([s3Error('SlowDown', 503), sysError('ECONNRESET'), s3Error('InternalError', 500), new Error('socket hang up')]);
    const result = await withRetries(op, {
      what: 'get k',
      clock,
      random: fixedJitter,
      policy: { baseDelayMs: 100, maxDelayMs: 10_000, maxAttempts: 10 },
      onRetry: (info) => retries.push(info),
    });
    expect(result).toBe('ok');
    expect(calls()).toBe(5);
    expect(clock.sleeps).toEqual([50, 100, 200, 400]);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
    expect(retries[0]!.reason).toMatch(/SlowDown/);
  });

  it('never retries a 4xx: one call, a non-retriable STORAGE_ERROR with the cause chained', async () => {
    for (const error of [s3Error('NoSuchKey', 404), s3Error('AccessDenied', 403)]) {
      const clock = new FakeClock();
      const { op, calls } = failing([error]);
      const thrown = await expectStrataError(withRetries(op, { what: 'get k', clock }), 'STORAGE_ERROR');
      expect(thrown.retriable).toBe(false);
      expect(thrown.cause).toBe(error);
      expect(calls()).toBe(1);
      expect(clock.sleeps).toEqual([]);
    }
  });

  it('gives up after maxAttempts with a retriable STORAGE_ERROR carrying the last failure', async () => {
    const clock = new FakeClock();
    const errors = Array.from({ length: 10 }, () => s3Error('SlowDown', 503));
    const { op, calls } = failing(errors);
    const thrown = await expectStrataError(withRetries(op, { what: 'put k', clock, policy: { maxAttempts: 4 } }), 'STORAGE_ERROR');
    expect(thrown.retriable).toBe(true);
    expect(thrown.cause).toBe(errors[3]);
    expect(thrown.details).toMatchObject({ attempts: 4, deadlineExceeded: false });
    expect(thrown.message).toMatch(/put k failed after 4 attempts/);
    expect(calls()).toBe(4);
  });

  it('stops at the deadline: never sleeps past it, and cuts the last attempt to what is left', async () => {
    const clock = new FakeClock();
    const startedAt = clock.now();
    const attemptSignals: AbortSignal[] = [];
    let calls = 0;
    // Each attempt takes 300 ms of (fake) time, then fails with a 503.
    const op = async ({ signal }: { signal: AbortSignal }): Promise<string> => {
      calls++;
      attemptSignals.push(signal);
      clock.advance(300);
      throw s3Error('ServiceUnavailable', 503);
    };
    const thrown = await expectStrataError(
      withRetries(op, { what: 'op', clock, random: () => 0.999, policy: { deadlineMs: 1_000, baseDelayMs: 100, maxDelayMs: 100, maxAttempts: 100 } }),
      'STORAGE_ERROR',
    );
    expect(thrown.retriable).toBe(true);
    expect(thrown.details).toMatchObject({ attempts: 3, deadlineExceeded: true });
    // 300 + 99 + 300 + 99: the third attempt gets the 202 ms left, and its signal fires at the deadline.
    expect(clock.sleeps).toEqual([99, 99]);
    expect(calls).toBe(3);
    expect(attemptSignals.map((s) => s.aborted)).toEqual([false, false, true]);
    expect((thrown.cause as Error).message).toMatch(/attempt 3 timed out after 202 ms/);
    expect(startedAt + 1_000).toBeLessThanOrEqual(clock.now());
    expect(thrown.message).toMatch(/deadline/);
  });

  it('abandons an attempt that outlives attemptTimeoutMs and retries it', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const op = async ({ signal }: { signal: AbortSignal }): Promise<string> => {
      calls++;
      if (calls === 1) {
        // Hangs until its signal fires; the fake clock fires the attempt timer.
        const hung = new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted by signal'))));
        clock.advance(5_000);
        return hung;
      }
      return 'second time lucky';
    };
    expect(await withRetries(op, { what: 'op', clock, random: fixedJitter, policy: { attemptTimeoutMs: 5_000 } })).toBe('second time lucky');
    expect(calls).toBe(2);
  });

  it('does not call the operation when the signal has already fired', async () => {
    const { op, calls } = failing([]);
    await expectStrataError(withRetries(op, { what: 'op', signal: AbortSignal.abort(), clock: new FakeClock() }), 'REQUEST_TIMED_OUT');
    expect(calls()).toBe(0);
  });

  it('ends a backoff wait as soon as the caller aborts (real clock)', async () => {
    const controller = new AbortController();
    const { op, calls } = failing(Array.from({ length: 10 }, () => sysError('ECONNREFUSED')));
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const thrown = await expectStrataError(
      withRetries(op, { what: 'op', signal: controller.signal, random: () => 0.999, policy: { baseDelayMs: 10_000, maxDelayMs: 10_000 } }),
      'REQUEST_TIMED_OUT',
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls()).toBe(1);
    expect(thrown.retriable).toBe(true);
  });

  it('ends a hung attempt as soon as the caller aborts, even if the operation ignores its signal', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    const thrown = await expectStrataError(
      withRetries(() => new Promise<string>(() => {}), { what: 'op', signal: controller.signal }),
      'REQUEST_TIMED_OUT',
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((thrown.cause as Error).message).toBe('shutting down');
  });

  it("honours a StrataError's own retriable flag and passes non-retriable ones through untouched", async () => {
    const clock = new FakeClock();
    const transient = new StorageError('body ended early', { retriable: true });
    const { op, calls } = failing([transient, transient]);
    expect(await withRetries(op, { what: 'op', clock, random: fixedJitter })).toBe('ok');
    expect(calls()).toBe(3);

    const fatal = new StorageError('range not satisfiable', { retriable: false });
    const bad = new StrataError('INVALID_REQUEST', 'bad key');
    for (const error of [fatal, bad]) {
      const once = failing([error]);
      let caught: unknown;
      await withRetries(once.op, { what: 'op', clock }).catch((e: unknown) => (caught = e));
      expect(caught).toBe(error);
      expect(once.calls()).toBe(1);
    }
  });

  it('validates the policy', () => {
    expect(resolveRetryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => resolveRetryPolicy({ baseDelayMs: 100, maxDelayMs: 50 })).toThrow(/maxDelayMs/);
    expect(() => resolveRetryPolicy({ deadlineMs: 0 })).toThrow(/deadlineMs/);
  });
});

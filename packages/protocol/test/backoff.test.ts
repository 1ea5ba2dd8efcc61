import { describe, expect, it } from 'vitest';
import { EQUAL_JITTER, FULL_JITTER, KAFKA_JITTER, backoffMs } from '../src/index.js';

describe('backoffMs (the one capped exponential backoff with jitter)', () => {
  // Moved from packages/client/test/units.test.ts (the client's own formula is gone).
  it('doubles from the base, caps, and jitters by ±20% under the cap (Kafka)', () => {
    const kafka = (baseMs: number, maxMs: number) => ({ baseMs, maxMs, jitter: KAFKA_JITTER });
    expect(backoffMs(1, kafka(100, 1000), () => 0.5)).toBe(100);
    expect(backoffMs(2, kafka(100, 1000), () => 0.5)).toBe(200);
    expect(backoffMs(4, kafka(100, 1000), () => 0.5)).toBe(800);
    expect(backoffMs(5, kafka(100, 1000), () => 0.5)).toBe(1000);
    expect(backoffMs(1, kafka(100, 1000), () => 0)).toBe(80);
    expect(backoffMs(1, kafka(100, 1000), () => 0.999)).toBe(119);
    expect(backoffMs(50, kafka(100, 1000), () => 0.999)).toBe(1000);
    expect(backoffMs(3, kafka(0, 0))).toBe(0);
  });

  it('full jitter draws in [0, capped exponential); equal jitter keeps at least half', () => {
    const top = (): number => 0.9999;
    expect([1, 2, 3, 30].map((n) => backoffMs(n, { baseMs: 100, maxMs: 2000, jitter: FULL_JITTER }, top))).toEqual([99, 199, 399, 1999]);
    expect(backoffMs(3, { baseMs: 100, maxMs: 2000, jitter: FULL_JITTER }, () => 0)).toBe(0);
    expect(backoffMs(3, { baseMs: 100, maxMs: 2000, jitter: EQUAL_JITTER }, () => 0)).toBe(200);
    expect(backoffMs(3, { baseMs: 100, maxMs: 2000, jitter: EQUAL_JITTER }, top)).toBe(399);
  });

  it('stays finite, whole and within [0, maxMs] for any attempt and draw', () => {
    for (const jitter of [KAFKA_JITTER, FULL_JITTER, EQUAL_JITTER]) {
      for (const attempt of [-5, 0, 1, 2, 10, 53, 1_000, Number.MAX_SAFE_INTEGER]) {
        for (const draw of [0, 0.25, 0.5, 0.9999]) {
          const wait = backoffMs(attempt, { baseMs: 7, maxMs: 5_000, jitter }, () => draw);
          expect(Number.isSafeInteger(wait) && wait >= 0 && wait <= 5_000, `${attempt} ${draw} ${jitter.join('..')}: ${wait}`).toBe(true);
        }
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import { PartitionWaiters } from '../src/partition-waiters.js';

describe('PartitionWaiters', () => {
  it('resolves waiters whose offset the log end passed, and only those', async () => {
    const w = new PartitionWaiters(10);
    let leo = 5;
    const signal = new AbortController().signal;
    const a = w.wait('t-0', 5, () => leo, 10_000, signal);
    const b = w.wait('t-0', 7, () => leo, 10_000, signal);
    const c = w.wait('t-1', 5, () => leo, 10_000, signal);
    expect(w.size).toBe(3);
    leo = 6;
    w.notify('t-0', 6);
    expect(await a).toBe('data');
    expect(w.size).toBe(2);
    w.close();
    expect(await b).toBe('woken');
    expect(await c).toBe('woken');
    expect(w.size).toBe(0);
    expect(await w.wait('t-0', 9, () => leo, 1000, signal)).toBe('woken');
  });

  it('answers at once when data is already there, on timeout 0, and past the cap', async () => {
    const w = new PartitionWaiters(1);
    const signal = new AbortController().signal;
    expect(await w.wait('k', 1, () => 2, 1000, signal)).toBe('data');
    expect(await w.wait('k', 2, () => 2, 0, signal)).toBe('timeout');
    const held = w.wait('k', 2, () => 2, 50, signal);
    expect(await w.wait('k', 2, () => 2, 1000, signal)).toBe('rejected');
    expect(w.rejectedTotal).toBe(1);
    expect(await held).toBe('timeout');
    expect(w.size).toBe(0);
  });

  it('cleans up on abort and on wakeKey', async () => {
    const w = new PartitionWaiters(10);
    const controller = new AbortController();
    const a = w.wait('k', 0, () => 0, 10_000, controller.signal);
    const b = w.wait('other', 0, () => 0, 10_000, new AbortController().signal);
    controller.abort();
    expect(await a).toBe('aborted');
    w.wakeKey('other');
    expect(await b).toBe('woken');
    expect(w.size).toBe(0);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecordBatch, validateBatches } from '@strata/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '@strata/log';
import { LeaderReplicas } from '../src/partition/leader-replicas.js';

let dir: string;
let log: PartitionLog;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-replicas-'));
  log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG });
});
afterEach(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

async function append(count: number): Promise<void> {
  const bytes = encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })));
  await log.append(bytes, validateBatches(bytes), { leaderEpoch: 1 });
}

describe('LeaderReplicas (the leader side of one reign)', () => {
  it('HW = min log end over the ISR; it never moves back; acks=all waiters resolve as it passes them', async () => {
    await append(10);
    const advanced: number[] = [];
    const r = new LeaderReplicas({ me: 'a', log, isr: ['a', 'b', 'c'], highWatermark: 4, onAdvance: (hw) => advanced.push(hw) });
    expect(r.highWatermark).toBe(4); // the followers have not fetched in this reign yet
    const waiter = r.awaitHighWatermark(10, 5_000, new AbortController());
    r.onFetch('b', 10);
    expect(r.highWatermark).toBe(4);
    r.onFetch('c', 7);
    expect(r.highWatermark).toBe(7);
    r.onFetch('c', 6); // a fetch offset going back (a truncation) does not move the HW back
    expect(r.highWatermark).toBe(7);
    r.onFetch('c', 10);
    expect(r.highWatermark).toBe(10);
    await waiter;
    expect(advanced).toEqual([7, 10]);
  });

  it('a lone leader commits on append; NOT_ENOUGH_REPLICAS below min.insync.replicas, up front and after', async () => {
    const r = new LeaderReplicas({ me: 'a', log, isr: ['a'], highWatermark: 0, onAdvance: () => undefined });
    await append(3);
    r.recompute();
    expect(r.highWatermark).toBe(3);
    expect(() => r.checkInSync(2, 't/0')).toThrow(expect.objectContaining({ code: 'NOT_ENOUGH_REPLICAS', retriable: true }));
    r.checkInSync(1, 't/0');
  });

  it('plans ISR changes: a lagging or dead follower leaves, one caught up to the HW joins; nothing counts before it is written', async () => {
    await append(5);
    const r = new LeaderReplicas({ me: 'a', log, isr: ['a', 'b'], highWatermark: 5, onAdvance: () => undefined });
    r.onFetch('b', 5);
    r.onFetch('c', 2); // not in the ISR, behind
    const live = new Set(['a', 'b', 'c']);
    const options = { lagMs: 60_000, live: (id: string) => live.has(id), replicas: ['a', 'b', 'c'] };
    expect(r.plan(options)).toBeNull();
    r.onFetch('c', 5);
    expect(r.plan(options)).toEqual({ isr: ['a', 'b', 'c'], shrunk: [], expanded: ['c'] });
    expect(r.isr).toEqual(['a', 'b']); // until the coordinator has it
    r.setIsr(['a', 'b', 'c']);
    live.delete('b');
    expect(r.plan(options)).toEqual({ isr: ['a', 'c'], shrunk: ['b'], expanded: [] });
    // A follower not caught up within lagMs leaves too.
    await append(5);
    r.onFetch('c', 7);
    expect(r.plan({ ...options, lagMs: 0, live: () => true })).toMatchObject({ shrunk: expect.arrayContaining(['c']) as unknown });
  });

  it('waiters fail with the reign, or time out, without acknowledging', async () => {
    await append(2);
    const r = new LeaderReplicas({ me: 'a', log, isr: ['a', 'b'], highWatermark: 0, onAdvance: () => undefined });
    const lost = r.awaitHighWatermark(2, 5_000, new AbortController());
    r.failAll(new Error('leadership lost'));
    await expect(lost).rejects.toThrow('leadership lost');
    await expect(r.awaitHighWatermark(2, 20, new AbortController())).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
    const uploaded = r.awaitHighWatermark(2, 5_000, new AbortController());
    r.resolveUpTo(2); // a hand-over put them in the bucket
    await uploaded;
    expect(r.waiting).toBe(0);
  });
});

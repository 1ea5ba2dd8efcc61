// The partition leader's append protocol, on a real log: one call does the epoch's append, the
// lease check, the wake-ups and the ISR wait, for a leader alone (a single node) and a leader with
// followers alike.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrataError, encodeRecordBatch, validateBatches } from '@strata/protocol';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '@strata/log';
import { LeaderReplicas } from '../src/partition/leader-replicas.js';
import { PartitionLeader, replicaWaitKey, type LeaderEnvironment } from '../src/partition/partition-leader.js';
import { PartitionWaiters } from '../src/partition-waiters.js';
import { lookupOffset } from '../src/fetch.js';
import type { PartitionRouter } from '../src/cluster/routing.js';
import type { PartitionHandle } from '../src/topics/topic-registry.js';

let dir: string;
let log: PartitionLog;
let handle: PartitionHandle;
let waiters: PartitionWaiters;
let unacknowledged: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-leader-'));
  log = await PartitionLog.open({ dir, config: DEFAULT_LOG_CONFIG });
  // The leader never touches the tier on its append path.
  handle = { topic: 't', partition: 0, key: 't-0', log, tier: null as never };
  waiters = new PartitionWaiters(100);
  unacknowledged = 0;
});
afterEach(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

function env(): LeaderEnvironment {
  return {
    waiters,
    explainFailure: (_h, e) => e,
    notLeader: (h, why) => new StrataError('NOT_LEADER', `${h.topic}/${h.partition}: ${why}`),
    onUnacknowledged: () => void unacknowledged++,
    replicaAckTimeoutMs: 5_000,
  };
}

function batchOf(count: number): { bytes: Buffer; frames: ReturnType<typeof validateBatches> } {
  const bytes = encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })));
  return { bytes, frames: validateBatches(bytes) };
}

const never = new AbortController();

describe('PartitionLeader', () => {
  it('alone in its ISR (a single node, a cluster of one): acks=all is the append, the HW is the log end and consumers are woken', async () => {
    const replicas = new LeaderReplicas({ me: 'a', log, isr: ['a'], highWatermark: 0, onAdvance: (hw) => waiters.notify(handle.key, hw) });
    const leader = new PartitionLeader({ handle, epoch: 1, deadline: performance.now() + 60_000, replicas }, env());
    const woken = waiters.wait(handle.key, 0, () => leader.highWatermark, 5_000, never.signal);
    const counted: number[] = [];
    const { bytes, frames } = batchOf(3);
    const result = await leader.append(bytes, frames, { acks: 'all', minInsync: 1, onAppended: (r) => counted.push(r.recordCount) }, never);
    expect(result.baseOffset).toBe(0);
    expect(result.lastOffset).toBe(2);
    expect(counted).toEqual([3]);
    expect(leader.highWatermark).toBe(3);
    expect(log.latestEpoch).toBe(1);
    await woken;
  });

  it('with followers: acks=all answers once the ISR has the records, and wakes the followers first', async () => {
    const replicas = new LeaderReplicas({ me: 'a', log, isr: ['a', 'b'], highWatermark: 0, onAdvance: (hw) => waiters.notify(handle.key, hw) });
    const leader = new PartitionLeader({ handle, epoch: 4, deadline: performance.now() + 60_000, replicas }, env());
    const followerWoken = waiters.wait(replicaWaitKey(handle), 0, () => log.logEndOffset, 5_000, never.signal);
    const { bytes, frames } = batchOf(2);
    let acked = false;
    const append = leader.append(bytes, frames, { acks: 'all', minInsync: 2 }, never).then((r) => {
      acked = true;
      return r;
    });
    await followerWoken;
    expect(acked).toBe(false);
    expect(leader.highWatermark).toBe(0);
    replicas.onFetch('b', 2);
    expect((await append).lastOffset).toBe(1);
    expect(leader.highWatermark).toBe(2);
    expect(log.latestEpoch).toBe(4);
  });

  it('acks=all with fewer in-sync replicas than min.insync.replicas: NOT_ENOUGH_REPLICAS, nothing appended', async () => {
    const replicas = new LeaderReplicas({ me: 'a', log, isr: ['a'], highWatermark: 0, onAdvance: () => undefined });
    const leader = new PartitionLeader({ handle, epoch: 1, deadline: performance.now() + 60_000, replicas }, env());
    const { bytes, frames } = batchOf(1);
    await expect(leader.append(bytes, frames, { acks: 'all', minInsync: 2 }, never)).rejects.toMatchObject({ code: 'NOT_ENOUGH_REPLICAS' });
    expect(log.logEndOffset).toBe(0);
    // acks=1 does not ask the ISR.
    await leader.append(bytes, frames, { acks: '1', minInsync: 1 }, never);
    expect(log.logEndOffset).toBe(1);
  });

  it('an append that finishes after the lease ran out, or once a hand-over started, is not acknowledged', async () => {
    const replicas = new LeaderReplicas({ me: 'a', log, isr: ['a'], highWatermark: 0, onAdvance: () => undefined });
    const leader = new PartitionLeader({ handle, epoch: 1, deadline: performance.now() - 1, replicas }, env());
    const { bytes, frames } = batchOf(1);
    await expect(leader.append(bytes, frames, { acks: '1', minInsync: 1 }, never)).rejects.toMatchObject({ code: 'NOT_LEADER' });
    expect(unacknowledged).toBe(1);
    leader.extendLease(performance.now() + 60_000);
    await leader.append(bytes, frames, { acks: '1', minInsync: 1 }, never);
    leader.drain();
    expect(leader.writable).toBe(false);
    expect(leader.leaseLive).toBe(true); // followers still fetch while it drains
    await expect(leader.append(bytes, frames, { acks: '1', minInsync: 1 }, never)).rejects.toMatchObject({ code: 'NOT_LEADER' });
    expect(unacknowledged).toBe(2);
  });

  it('ending the reign fails the acks=all produces still waiting (retriable), and refuses new ones', async () => {
    const replicas = new LeaderReplicas({ me: 'a', log, isr: ['a', 'b'], highWatermark: 0, onAdvance: () => undefined });
    const leader = new PartitionLeader({ handle, epoch: 1, deadline: performance.now() + 60_000, replicas }, env());
    const { bytes, frames } = batchOf(1);
    const waiting = leader.append(bytes, frames, { acks: 'all', minInsync: 1 }, never);
    const failed = expect(waiting).rejects.toMatchObject({ code: 'NOT_LEADER', retriable: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    leader.end(new StrataError('NOT_LEADER', 'test: the reign ended'));
    await failed;
    await expect(leader.append(bytes, frames, { acks: 'all', minInsync: 1 }, never)).rejects.toMatchObject({ code: 'NOT_LEADER' });
    expect(leader.status).toBe('ended');
  });

  it('a new leader whose inherited HW lags the start of its reign answers OFFSET_NOT_AVAILABLE to offset lookups until its followers fetch (KIP-207)', async () => {
    // The follower held 8 acknowledged records, but the HW it last heard of was 0: taking over, the
    // HW must not be answered as the latest offset (a client saw 8 from the last leader).
    const { bytes, frames } = batchOf(8);
    await log.append(bytes, frames, { leaderEpoch: 1 });
    const replicas = new LeaderReplicas({ me: 'a', log, isr: ['a', 'b'], highWatermark: 0, onAdvance: () => undefined });
    const leader = new PartitionLeader({ handle, epoch: 2, deadline: performance.now() + 60_000, replicas }, env());
    const tier = { logStartOffset: () => 0, offsetForTimestamp: async () => null, manifest: { segments: [] } };
    const led = { ...handle, tier: tier as never };
    const router: PartitionRouter = { route: () => ({ kind: 'local', leader }), leaderUnreachable: () => undefined, highWatermark: () => leader.highWatermark };
    const unavailable = expect.objectContaining({ code: 'OFFSET_NOT_AVAILABLE', retriable: true });
    await expect(lookupOffset({ router }, led, 'latest')).rejects.toEqual(unavailable);
    await expect(lookupOffset({ router }, led, 'max-timestamp')).rejects.toEqual(unavailable);
    await expect(lookupOffset({ router }, led, Date.now() + 60_000)).rejects.toEqual(unavailable);
    expect(await lookupOffset({ router }, led, 'earliest')).toEqual({ offset: 0 });

    replicas.onFetch('b', 8);
    expect(await lookupOffset({ router }, led, 'latest')).toEqual({ offset: 8 });
  });
});

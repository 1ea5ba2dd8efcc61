// Redis restarts, crashes and lost writes (README.md: fencing across restarts). A real
// redis-server with AOF (appendfsync everysec) is killed with SIGKILL and restarted on the same
// port and directory; to make it forget its last writes, as a failover to a lagging replica or a
// lost fsync would, its directory is replaced by an earlier copy before the restart.

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisCoordinator, type CoordinatorEvent, type LeaseAcquisition } from '@strata/coord';
import { expectStrataError, segment } from './conformance.js';
// The one test Redis launcher: the harness' (test/src/harness), imported by path. Its modules use
// nothing but node: so a package's unit tests can share it without depending on @strata/test.
import { RedisServer } from '../../../test/src/harness/redis-server.js';
import { tempDir } from '../../../test/src/harness/temp.js';
import { SwitchProxy } from './support/switch-proxy.js';

const TTL_MS = 3000; // leases, and so the quarantine after a restart: short, to keep the waits short
/**
 * The lease (and so the quarantine) of the test whose leader must keep its lease across a kill and
 * restart of Redis: with room for the restart, the reconnection and the scripts' reload on a loaded
 * machine (they took 153 ms in the run that lost a renewal to the AOF: EVERY_WRITE_ON_FILE below).
 */
const RESTART_SURVIVING_TTL_MS = 10_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * `appendfsync always` for a test that needs every acknowledged write to survive a kill -9: under
 * `everysec` Redis writes its AOF buffer to the file before it answers, unless a background fsync is
 * still running, when it postpones that write (up to 2 s) and answers anyway ("Asynchronous AOF fsync
 * is taking too long"): on a loaded machine a kill then loses the last acknowledged writes, the lease
 * this test renews among them (it failed so: the renewal 153 ms after the restart answered false).
 */
const EVERY_WRITE_ON_FILE = ['--appendfsync', 'always'];

async function startServer(args: string[] = []): Promise<RedisServer> {
  const server = await RedisServer.start({ args });
  cleanups.push(async () => void (await server.kill()));
  return server;
}

async function connect(server: { url: string }, prefix = 'r:', ttlMs = TTL_MS): Promise<RedisCoordinator> {
  const co = await RedisCoordinator.connect({ url: server.url, prefix, leaseTtlMaxMs: ttlMs, restartQuarantineMs: ttlMs });
  cleanups.push(() => co.close());
  return co;
}

/** Waits out the quarantine that follows a (first) start or a restart of the server. */
async function waitQuarantine(co: RedisCoordinator, ttlMs = TTL_MS): Promise<void> {
  const { quarantineRemainingMs } = await co.status();
  expect(quarantineRemainingMs).toBeLessThanOrEqual(ttlMs);
  await sleep(quarantineRemainingMs + 20);
}

function lead(co: RedisCoordinator, partition: number, brokerId: string, knownEpoch = 0, startOffset = 0, ttlMs = TTL_MS): Promise<LeaseAcquisition> {
  return co.acquireLeadership('t', partition, { topicId: 'tid-1', brokerId, ttlMs, startOffset, knownEpoch });
}

describe('RedisCoordinator across Redis restarts', () => {
  it('survives kill -9 with AOF: reconnects, reloads its scripts, detects the restart and quarantines acquisitions', async () => {
    const ttlMs = RESTART_SURVIVING_TTL_MS;
    const server = await startServer(EVERY_WRITE_ON_FILE);
    const co = await connect(server, 'r:', ttlMs);
    // A brand-new (or emptied) Redis has no boot record: that too starts a quarantine.
    const first = await co.status();
    expect(first.quarantineRemainingMs).toBeGreaterThan(0);
    await waitQuarantine(co, ttlMs);

    await co.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 1 });
    await co.setReplicas('t', 1, { topicId: 'tid-1', replicas: ['b2'], controllerEpoch: 1 });
    expect(await lead(co, 0, 'b1', 0, 0, ttlMs)).toEqual({ acquired: true, epoch: 1 });
    await co.commitSegment('t', 0, segment(0, 9, 1));
    const events: CoordinatorEvent[] = [];
    co.onEvent((e) => events.push(e));

    // The lease's clock starts here: it must outlast the kill, the restart and the reconnection.
    expect(await co.renewLeadership('t', 0, 'b1', 1, ttlMs)).toBe(true);
    const renewedAt = Date.now();
    await server.kill();
    await server.restart();

    // The acknowledged writes survived (AOF), the client reconnected and the scripts came back.
    expect(await co.renewLeadership('t', 0, 'b1', 1, ttlMs), `renewed ${Date.now() - renewedAt} ms after the last renewal (lease ${ttlMs} ms)`).toBe(true);
    expect((await co.loadManifest('t', 0)).segments).toEqual([segment(0, 9, 1)]);
    const after = await co.status();
    expect(after.serverRunId).not.toBe(first.serverRunId);
    expect(after.bootId).toBe(first.bootId); // the state was not lost
    expect(after.restartsSeen).toBe(1);
    expect(after.quarantineRemainingMs).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'restart-detected' && e.previousRunId === first.serverRunId && !e.stateLost)).toBe(true);
    // Every script call on the new connection waited for its load, so the event came before the renewal's answer.
    expect(events.some((e) => e.type === 'scripts-loaded')).toBe(true);

    // No lease is granted until every lease granted before the restart could have expired,
    // not even to a client that connected after the restart.
    const refused = await lead(co, 1, 'b2', 0, 0, ttlMs);
    expect(refused).toMatchObject({ acquired: false, reason: 'quarantine' });
    const late = await connect(server, 'r:', ttlMs);
    expect(await lead(late, 1, 'b2', 0, 0, ttlMs)).toMatchObject({ acquired: false, reason: 'quarantine' });
    expect(await late.acquireController({ brokerId: 'b2', ttlMs })).toMatchObject({ acquired: false, reason: 'quarantine' });
    if (refused.acquired) throw new Error('unreachable');
    expect(refused.retryAfterMs).toBeLessThanOrEqual(ttlMs);
    // Meanwhile the leader whose grant survived keeps its lease by renewing, as usual.
    const until = Date.now() + refused.retryAfterMs + 20;
    while (Date.now() < until) {
      await sleep(100);
      expect(await co.renewLeadership('t', 0, 'b1', 1, ttlMs)).toBe(true);
    }
    expect(await lead(co, 1, 'b2', 0, 0, ttlMs)).toEqual({ acquired: true, epoch: 1 });
  });

  it('never grants an epoch twice when Redis forgets its last writes', async () => {
    const server = await startServer();
    const co = await connect(server);
    await waitQuarantine(co);

    // Timeline 1, kept: b1 leads partitions 0 and 1 at epoch 1 and uploads to both.
    for (const p of [0, 1]) {
      await co.setReplicas('t', p, { topicId: 'tid-1', replicas: ['b1', 'b2'], controllerEpoch: 1 });
      expect(await lead(co, p, 'b1')).toEqual({ acquired: true, epoch: 1 });
      await co.commitSegment('t', p, segment(0, 9, 1));
    }
    await server.stop();
    const kept = server.snapshotDir();
    await server.restart();
    await waitQuarantine(co);

    // Timeline 2, to be forgotten: b2 takes both partitions over at epoch 2 and uploads.
    for (const p of [0, 1]) {
      // (b1's lease ran out while Redis was down.)
      await co.setReplicas('t', p, { topicId: 'tid-1', replicas: ['b2', 'b1'], controllerEpoch: 2 });
      expect(await lead(co, p, 'b2', 0, 10)).toEqual({ acquired: true, epoch: 2 });
      await co.commitSegment('t', p, segment(10, 19, 2));
    }

    // Redis crashes and comes back without timeline 2 (a restored copy: writes lost).
    await server.kill();
    server.restoreDir(kept);
    await server.restart();
    expect((await co.getPartitionState('t', 0))!.leaderEpoch).toBe(1);
    expect((await co.loadManifest('t', 0)).segments).toEqual([segment(0, 9, 1)]);

    // Partition 0: b2, which still believes it leads at epoch 2, talks to Redis during the
    // quarantine: it is refused, and Redis learns that epoch 2 was granted.
    expect(await co.renewLeadership('t', 0, 'b2', 2, TTL_MS)).toBe(false);
    await expectStrataError(co.commitSegment('t', 0, segment(10, 19, 2)), 'FENCED_LEADER_EPOCH', 'EPOCH_FORGOTTEN_BY_COORDINATOR');
    expect(await lead(co, 0, 'b1', 0, 10)).toMatchObject({ acquired: false, reason: 'quarantine' });
    await waitQuarantine(co);
    // ...so the next leader gets epoch 3, even knowing of no epoch past 1.
    expect(await lead(co, 0, 'b1', 1, 10)).toEqual({ acquired: true, epoch: 3 });
    await expectStrataError(co.commitSegment('t', 0, segment(10, 19, 2)), 'FENCED_LEADER_EPOCH');

    // Partition 1: b2 stays silent (it died). The next leader passes the highest epoch it knows
    // (from the bucket's manifest snapshot, where b2's upload at epoch 2 is recorded): epoch 3.
    expect(await lead(co, 1, 'b1', 2, 10)).toEqual({ acquired: true, epoch: 3 });
    expect((await co.getPartitionState('t', 1))!.epochHistory).toEqual([
      { epoch: 1, startOffset: 0, leader: 'b1' },
      { epoch: 3, startOffset: 10, leader: 'b1' },
    ]);
    // b2, back from the dead, cannot write at epoch 2.
    await expectStrataError(co.commitSegment('t', 1, segment(10, 19, 2)), 'FENCED_LEADER_EPOCH', 'FENCED_LEADER_EPOCH');
  });

  it('treats a Redis that lost everything as a new boot: state lost, quarantine, epochs from the caller\'s knowledge', async () => {
    const server = await startServer();
    const co = await connect(server);
    await waitQuarantine(co);
    await co.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 4 });
    expect(await lead(co, 0, 'b1', 6)).toEqual({ acquired: true, epoch: 7 });
    const before = await co.status();
    const events: CoordinatorEvent[] = [];
    co.onEvent((e) => events.push(e));

    await server.stop();
    server.restoreDir(tempDir('strata-redis-empty-'));
    await server.restart();

    const after = await co.status();
    expect(after.bootId).not.toBe(before.bootId);
    expect(after.quarantineRemainingMs).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'restart-detected' && e.stateLost)).toBe(true);
    expect(await co.renewLeadership('t', 0, 'b1', 7, TTL_MS)).toBe(false);
    await waitQuarantine(co);
    await co.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 5 });
    expect(await lead(co, 0, 'b1', 7)).toEqual({ acquired: true, epoch: 8 });
  });

  it('notices a server that changed under an open connection (a failover behind a proxy) before granting a lease', async () => {
    const [a, b] = [await startServer(), await startServer()];
    // b's own clients have set the partition up and waited out its first quarantine.
    const direct = await connect(b);
    await waitQuarantine(direct);
    await direct.setReplicas('t', 0, { topicId: 'tid-1', replicas: ['b1'], controllerEpoch: 1 });
    expect(await lead(direct, 0, 'b1', 0)).toEqual({ acquired: true, epoch: 1 });
    expect(await direct.releaseLeadership('t', 0, 'b1', 1)).toBe(true);

    const proxy = await SwitchProxy.start(a.port);
    cleanups.push(() => proxy.close());
    const co = await connect(proxy);
    await waitQuarantine(co);
    const before = await co.status();
    const events: CoordinatorEvent[] = [];
    co.onEvent((e) => events.push(e));

    proxy.switchTo(b.port);
    // The client's connection never closed: only the run id check inside the script can tell.
    expect(await lead(co, 0, 'b1', 0)).toEqual({ acquired: true, epoch: 2 });
    expect(events.some((e) => e.type === 'restart-detected' && e.previousRunId === before.serverRunId)).toBe(true);
    expect((await co.status()).serverRunId).toBe((await direct.status()).serverRunId);
  });
});

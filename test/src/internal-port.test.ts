// The internal (broker-to-broker) port, issue #14 "internal port hardening":
// - regression: one forged follower fetch (replica=<a paused follower>, offset=<leader end>) moved
//   the high watermark and made a waiting acks=all produce answer 200 although the follower had
//   nothing. Forged with the cluster secret (the old bearer header; a valid credential of another
//   broker) or without it (a wrong secret; a replayed header), it is refused and the HW stays.
// - the cluster secret rotated (STRATA_CLUSTER_SECRET_FILE, three steps) while a producer runs
//   acks=all on 3 brokers, RF 3: every produce is acknowledged (no replication stall: a stall
//   longer than the ack timeout fails one), none is lost, and the old secret is refused after.
import { createHmac, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RedisCoordinator } from '@strata/coord';
import { Cluster, expectStatus, tempDir, type BrokerProcess } from './harness/index.js';
import { clusterPerTest } from './support.js';

const SECRET = 'strata-test-cluster-secret';

/** A broker credential, computed here from the documented format (security/broker-credentials.ts). */
function credential(secret: string, brokerId: string, method: string, pathAndQuery: string, signedAtMs = Date.now()): string {
  const key = createHmac('sha256', secret).update(`strata-broker-key/v1\0${brokerId}`).digest();
  const nonce = randomBytes(16).toString('base64url');
  const signature = createHmac('sha256', key).update(`v1\n${method}\n${pathAndQuery}\n${brokerId}\n${signedAtMs}\n${nonce}`).digest('base64url');
  return `Strata-Broker ${brokerId}:${signedAtMs}:${nonce}:${signature}`;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('internal port', () => {
  const t = clusterPerTest();

  const createTopic = async (c: Cluster, topic: string, rf: number): Promise<void> => {
    await until(`b1 to see ${c.brokers.size} live brokers`, async () => {
      const res = await c.broker('b1').http.get('/v1/cluster');
      return res.status === 200 && (res.body.brokers as Array<{ live: boolean }>).filter((b) => b.live).length === c.brokers.size;
    });
    expectStatus(await c.broker('b1').http.post('/v1/topics', { name: topic, partitions: 1, replicationFactor: rf, configs: { 'min.insync.replicas': 2 } }), 201, 'create');
    await c.awaitLeaders(topic, 1);
    await until('a full ISR', async () => (await t.coord!.getPartitionState(topic, 0))?.isr.length === rf);
  };

  it('refuses a forged follower fetch, with or without the secret: the high watermark stays and acks=all waits', async () => {
    const TOPIC = 'forged';
    // Followers stay in the ISR while paused (a long lag time): only their fetches can move the HW.
    const c = (t.cluster = await Cluster.start({ brokers: 3, env: { STRATA_REPLICA_LAG_TIME_MAX_MS: '120000', STRATA_REPLICA_ACK_TIMEOUT_MS: '60000' } }));
    t.coord = await RedisCoordinator.connect({ url: c.redis.url });
    await createTopic(c, TOPIC, 3);
    const state = (await t.coord.getPartitionState(TOPIC, 0))!;
    const leaderId = state.leader!;
    const leader = c.broker(leaderId);
    const [pausedId, otherId] = state.isr.filter((id) => id !== leaderId) as [string, string];
    for (let i = 0; i < 3; i++) expectStatus(await leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: `before-${i}` }] }), 200, 'acks=all before');
    const highWatermark = async (): Promise<number> => {
      const res = await leader.http.get(`/v1/topics/${TOPIC}/partitions/0/offsets?at=latest`);
      expectStatus(res, 200, 'latest offset');
      return res.body.offset as number;
    };
    const hw = await highWatermark();

    c.broker(pausedId).pause();
    await sleep(200);
    let answered: number | null = null;
    const waiting = leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value: 'waits-for-the-paused-follower' }] }, { timeoutMs: 90_000 }).then((r) => {
      answered = r.status;
      return r;
    });
    // The record is at `hw` (appended, waiting for the ISR); the leader's end is hw + 1.
    await sleep(500);
    const internalUrl = (await t.coord.listBrokers()).find((b) => b.id === leaderId)!.internalUrl;
    const path = `/internal/v1/replicas/${TOPIC}/0/fetch?replica=${pausedId}&epoch=${state.leaderEpoch}&offset=${hw + 1}&maxBytes=1048576&maxWaitMs=0`;
    const forge = async (authorization: string): Promise<number> => (await fetch(`${internalUrl}${path}`, { headers: { authorization } })).status;

    // With the secret: the old bearer header, and another broker's valid credential claiming the paused follower's progress.
    expect(await forge(`Bearer ${SECRET}`), 'the cluster secret as a bearer token').toBe(401);
    expect(await forge(credential(SECRET, otherId, 'GET', path)), "another broker's credential").toBe(403);
    expect(await forge(credential(SECRET, leaderId, 'GET', path)), "the leader's own credential").toBe(403);
    // Without it: a wrong secret, a credential too old, one signed for another request, one replayed.
    expect(await forge(credential('not-the-cluster-secret-at-all', pausedId, 'GET', path)), 'a wrong secret').toBe(401);
    expect(await forge(credential(SECRET, pausedId, 'GET', path, Date.now() - 10 * 60_000)), 'a credential signed 10 minutes ago').toBe(401);
    expect(await forge(credential(SECRET, pausedId, 'GET', `/internal/v1/replicas/${TOPIC}/0/epoch-end?epoch=0&leaderEpoch=${state.leaderEpoch}`)), 'signed for another target').toBe(401);
    const epochEnd = `/internal/v1/replicas/${TOPIC}/0/epoch-end?epoch=${state.leaderEpoch}&leaderEpoch=${state.leaderEpoch}`;
    const captured = credential(SECRET, otherId, 'GET', epochEnd);
    expect((await fetch(`${internalUrl}${epochEnd}`, { headers: { authorization: captured } })).status, 'a valid credential, once').toBe(200);
    expect((await fetch(`${internalUrl}${epochEnd}`, { headers: { authorization: captured } })).status, 'the same header replayed').toBe(401);

    await sleep(500);
    expect(answered, 'the acks=all produce still waits for the paused follower').toBeNull();
    expect(await highWatermark(), 'the high watermark did not move').toBe(hw);
    expect((await t.coord.getPartitionState(TOPIC, 0))!.highWatermark, 'nor the one published').toBe(hw);

    // The real follower comes back: its own fetches move the HW, and the produce is acknowledged.
    c.broker(pausedId).resume();
    expectStatus(await waiting, 200, 'acks=all once the follower has the record');
    expect(await highWatermark()).toBe(hw + 1);
    // The refusals were logged, without the credential.
    await leader.waitForLog('internal request refused');
    expect(leader.logs()).not.toContain(SECRET);
  }, 120_000);

  it('rotates the cluster secret while a producer runs acks=all on 3 brokers (RF 3): no stall, nothing lost', async () => {
    const TOPIC = 'rotation';
    const dir = tempDir('strata-secret-');
    const file = join(dir, 'cluster-secret');
    const OLD = 'old-cluster-secret-0123456789';
    const NEW = 'new-cluster-secret-9876543210';
    await writeFile(file, `${OLD}\n`);
    const c = (t.cluster = await Cluster.start({
      brokers: 3,
      // A stall longer than the ack timeout fails a produce below (bounded, without timing the test).
      env: { STRATA_CLUSTER_SECRET: '', STRATA_CLUSTER_SECRET_FILE: file, STRATA_CLUSTER_SECRET_RELOAD_INTERVAL_MS: '200', STRATA_REPLICA_ACK_TIMEOUT_MS: '10000' },
    }));
    t.coord = await RedisCoordinator.connect({ url: c.redis.url });
    await createTopic(c, TOPIC, 3);
    const leaderId = (await t.coord.getPartitionState(TOPIC, 0))!.leader!;
    const leader = c.broker(leaderId);

    const acknowledged: string[] = [];
    const failures: string[] = [];
    let stop = false;
    const producer = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const value = `r-${i}`;
        const res = await leader.http.post(`/v1/topics/${TOPIC}/records?acks=all`, { records: [{ value }] }, { timeoutMs: 30_000 });
        if (res.status === 200) acknowledged.push(value);
        else failures.push(`${value}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    })();

    const reloadsOf = (b: BrokerProcess): number => b.logs().split('cluster secrets reloaded').length - 1;
    const step = async (content: string, reloads: number): Promise<void> => {
      await writeFile(file, content);
      for (const [, b] of c.brokers) process.kill(b.pid!, 'SIGHUP');
      await until(`every broker to reload the secrets (${reloads})`, async () => [...c.brokers.values()].every((b) => reloadsOf(b) >= reloads));
      // Replication keeps going between the steps.
      const before = acknowledged.length;
      await until('more acks=all produces acknowledged', async () => acknowledged.length >= before + 20);
    };
    await until('the producer to run', async () => acknowledged.length >= 20);
    await step(`${OLD}\n${NEW}\n`, 1); // sign with the old one, accept both
    await step(`${NEW}\n${OLD}\n`, 2); // sign with the new one, accept both
    await step(`${NEW}\n`, 3); // the old one is gone
    stop = true;
    await producer;

    expect(failures, 'every acks=all produce was acknowledged').toEqual([]);
    for (const [id, b] of c.brokers) expect(b.logs(), `${id} refused no broker`).not.toContain('internal request refused');
    const read: string[] = [];
    for (let offset = 0, round = 0; round < 1_000; round++) {
      const res = await leader.http.get(`/v1/topics/${TOPIC}/partitions/0/records?offset=${offset}&maxRecords=2000`);
      expectStatus(res, 200, 'read back');
      for (const r of res.body.records as Array<{ offset: number; value: string }>) read.push(r.value);
      offset += (res.body.records as unknown[]).length;
      if (offset >= res.body.highWatermark) break;
    }
    expect(read.length).toBe(acknowledged.length);
    expect(new Set(read)).toEqual(new Set(acknowledged));
    expect((await t.coord.getPartitionState(TOPIC, 0))!.isr).toHaveLength(3);

    // After the rotation, the old secret is refused and the new one accepted.
    const internalUrl = (await t.coord.listBrokers()).find((b) => b.id === leaderId)!.internalUrl;
    const epoch = (await t.coord.getPartitionState(TOPIC, 0))!.leaderEpoch;
    const path = `/internal/v1/replicas/${TOPIC}/0/epoch-end?epoch=${epoch}&leaderEpoch=${epoch}`;
    const other = [...c.brokers.keys()].find((id) => id !== leaderId)!;
    expect((await fetch(`${internalUrl}${path}`, { headers: { authorization: credential(OLD, other, 'GET', path) } })).status).toBe(401);
    expect((await fetch(`${internalUrl}${path}`, { headers: { authorization: credential(NEW, other, 'GET', path) } })).status).toBe(200);
  }, 180_000);
});

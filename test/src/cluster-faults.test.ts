// Faults on the coordination path of a cluster: a leader paused (SIGSTOP) past its lease wakes up
// fenced; Redis killed (-9) and restarted from its AOF; hostile names and configs refused before
// they reach Redis.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Fetcher, PartitionReader, Producer } from '@strata/client';
import { RedisCoordinator } from '@strata/coord';
import { Cluster, FaultProxy, S3Server, expectStatus, type BrokerProcess } from './harness/index.js';
import { clusterPerTest } from './support.js';

const run = promisify(execFile);

/** Every key in the cluster's Redis (for "nothing changed" checks). */
async function redisKeys(cluster: Cluster): Promise<string[]> {
  const { stdout } = await run('redis-cli', ['-p', String(cluster.redis.port), '--scan']);
  return stdout.split('\n').filter(Boolean).sort();
}

async function metric(broker: BrokerProcess, name: string, labels = ''): Promise<number> {
  const text = (await broker.http.get('/metrics')).body as string;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}${labels}`) || (labels === '' && line.startsWith(`${name}{`))) total += Number(line.split(' ').at(-1));
  }
  return total;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cluster faults', () => {
  const t = clusterPerTest();

  it('a leader paused past its lease wakes up fenced: its appends and its manifest commit are refused by epoch', async () => {
    const s3 = await S3Server.start();
    // Segment uploads through a proxy that can hold them back: the paused leader's upload is in flight.
    const proxy = await FaultProxy.start({ target: s3.endpoint });
    t.extras = [proxy, s3];
    const c = (t.cluster = await Cluster.start({ brokers: 3, s3, s3Via: proxy, env: { STRATA_MIN_SEGMENT_BYTES: '1024' } })); // small segments: the tests' escape hatch
    const coord = (t.coord = await RedisCoordinator.connect({ url: c.redis.url }));
    const b1 = c.broker('b1');
    expectStatus(await b1.http.post('/v1/topics', { name: 'fence', partitions: 1, configs: { 'segment.bytes': 65536 } }), 201, 'create');
    const oldLeaderId = (await c.awaitLeaders('fence', 1)).get(0)!;
    const old = c.broker(oldLeaderId);
    const oldEpoch = (await coord.getPartitionState('fence', 0))!.leaderEpoch;

    // Enough to seal a segment; its upload is held back 4 s in the proxy.
    proxy.setFaults({ delayMs: 4_000, match: (r) => r.method === 'PUT' && r.url.includes('/topics/fence/0/') });
    const value = 'v'.repeat(1024);
    for (let i = 0; i < 3; i++) {
      const records = Array.from({ length: 40 }, (_, j) => ({ value: `${i * 40 + j}:${value}` }));
      expectStatus(await old.http.post('/v1/topics/fence/records?acks=1', { records: records.map((r) => ({ ...r, partition: 0 })) }), 200, 'produce');
    }
    await until('the upload to reach the proxy', async () => proxy.counts().delayed > 0);
    const appendedBefore = await metric(old, 'strata_produce_records_total', '{topic="fence",partition="0"}');
    old.pause();

    // Another broker takes over in a newer epoch once the lease (2 s) and the registration expired.
    const state = await until('a new leader', async () => {
      const s = await coord.getPartitionState('fence', 0);
      return s !== null && s.leader !== null && s.leader !== oldLeaderId ? s : null;
    });
    expect(state.leaderEpoch).toBeGreaterThan(oldEpoch);
    const takeoverAt = state.epochHistory.at(-1)!.startOffset;
    const newLeader = c.broker(state.leader!);
    proxy.setFaults({});
    // The new lease holder may still be taking over (adopting the lease): retriable until it leads.
    await until('the new leader to take a produce', async () => {
      const res = await newLeader.http.post('/v1/topics/fence/records?acks=1', { records: [{ partition: 0, value: 'after-takeover' }] });
      if (res.status !== 200 && !(res.status === 503 && res.body.error.retriable)) throw new Error(`produce: ${res.status} ${JSON.stringify(res.body)}`);
      return res.status === 200;
    });

    // A produce sent to the old leader while it sleeps waits in its socket; it is handled on waking.
    const late = old.http.post('/v1/topics/fence/records?acks=1', { records: [{ partition: 0, value: 'sent-to-the-sleeper' }] }, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    old.resume();
    const lateAnswer = await late;
    // Either refused (retriable) or forwarded to the new leader: never appended by the old one.
    expect([200, 503]).toContain(lateAnswer.status);
    // The held-back upload completes and its commit, in the old epoch, is refused.
    await until('the fenced commit', async () => (await metric(old, 'strata_tier_fenced_writes_total')) >= 1);
    expect(await metric(old, 'strata_produce_records_total', '{topic="fence",partition="0"}')).toBe(appendedBefore);

    // What the partition holds from the takeover on was written in newer epochs only.
    const manifest = await coord.loadManifest('fence', 0);
    for (const segment of manifest.segments) if (segment.lastOffset >= takeoverAt) expect(segment.epoch).toBeGreaterThan(oldEpoch);
    // With replication the woken broker rejoins the ISR and, being the preferred replica, may get the
    // partition back (a hand-over): a read during that moment is refused as retriable (503), so retry.
    const raw = await until('a read of the partition', async () => {
      const answer = await newLeader.http.raw('GET', `/v1/topics/fence/partitions/0/batches?offset=${takeoverAt}&maxBytes=1048576`);
      return answer.status === 503 ? null : answer;
    });
    expect(raw.status).toBe(200);
    let position = 0;
    let batches = 0;
    while (position + 61 <= raw.body.length) {
      const baseOffset = Number(raw.body.readBigInt64BE(position));
      const length = raw.body.readInt32BE(position + 8);
      const epoch = raw.body.readInt32BE(position + 12);
      if (baseOffset >= takeoverAt) {
        expect(epoch).toBeGreaterThan(oldEpoch);
        batches++;
      }
      position += 12 + length;
    }
    expect(batches).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('moves the partitions of a broker killed (-9) to live brokers once its heartbeats and leases time out', async () => {
    const c = (t.cluster = await Cluster.start({ brokers: 3 }));
    expectStatus(await c.broker('b1').http.post('/v1/topics', { name: 'failover', partitions: 6 }), 201, 'create');
    const before = await c.awaitLeaders('failover', 6);
    const victim = before.get(0)!;
    const moved = [...before.entries()].filter(([, id]) => id === victim).map(([p]) => p);
    const killedAt = Date.now();
    await c.broker(victim).kill();
    const after = await c.awaitLeaders('failover', 6, 30_000);
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(`\nfailover: ${moved.length} partition(s) of ${victim} led elsewhere ${failoverMs} ms after kill -9 (lease and session TTL 2000 ms)\n`);
    for (const p of moved) expect(after.get(p)).not.toBe(victim);
    for (const [id, broker] of c.running()) {
      for (let p = 0; p < 6; p++) {
        const res = await broker.http.post('/v1/topics/failover/records', { records: [{ partition: p, value: `via-${id}` }] });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
    }
  }, 60_000);

  it('survives Redis killed and restarted from its AOF: leases come back, never two writers, nothing acknowledged lost', async () => {
    const c = (t.cluster = await Cluster.start({ brokers: 3 }));
    const [b1, b2, b3] = ['b1', 'b2', 'b3'].map((id) => c.broker(id));
    expectStatus(await b1!.http.post('/v1/topics', { name: 'outage', partitions: 6 }), 201, 'create');
    await c.awaitLeaders('outage', 6);

    const stop = new AbortController();
    const twoWriters: string[] = [];
    let samples = 0;
    const observer = (async () => {
      while (!stop.signal.aborted) {
        const { claims } = await c.leaders();
        samples++;
        for (const [key, who] of claims) if (who.length > 1) twoWriters.push(`${key}:${who.join('+')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const producer = new Producer({ brokers: [b1!.url, b2!.url, b3!.url], acks: 1, lingerMs: 2 });
    const acked: Array<{ partition: number; offset: number; value: string }> = [];
    const errors: unknown[] = [];
    let n = 0;
    const producing = (async () => {
      while (!stop.signal.aborted) {
        await Promise.all(
          Array.from({ length: 10 }, () => {
            const value = String(n++);
            return producer.send({ topic: 'outage', key: `k${n % 24}`, value }).then(
              (meta) => void acked.push({ partition: meta.partition, offset: meta.offset, value }),
              (e: unknown) => void errors.push(e),
            );
          }),
        );
        await new Promise((r) => setTimeout(r, 10));
      }
      await producer.flush();
    })();

    await new Promise((r) => setTimeout(r, 1_500));
    const beforeOutage = acked.length;
    await c.redis.kill();
    await new Promise((r) => setTimeout(r, 3_000)); // longer than the 2 s leases: every leader stops writing
    await c.redis.restart();
    await c.awaitLeaders('outage', 6, 60_000);
    const afterRecovery = acked.length;
    await new Promise((r) => setTimeout(r, 1_500));
    stop.abort();
    await producing;
    await observer;
    await producer.close();

    process.stdout.write(
      `\nredis outage: ${acked.length} acknowledged (${beforeOutage} before the kill, ${afterRecovery - beforeOutage} during the outage and recovery), ${samples} leadership samples\n`,
    );
    expect(twoWriters).toEqual([]);
    expect(errors).toEqual([]);
    expect(acked.length).toBeGreaterThan(afterRecovery);

    const fetcher = new Fetcher({ brokers: b2!.url });
    const byPartition = new Map<number, Map<number, string>>();
    for (let p = 0; p < 6; p++) {
      const end = await b3!.http.latestOffset('outage', p);
      const reader = new PartitionReader(fetcher, 'outage', p, { from: 'earliest', maxWaitMs: 0 });
      const got = new Map<number, string>();
      while ((reader.position ?? -1) < end) for (const r of await reader.poll()) got.set(r.offset, r.value!.toString());
      reader.close();
      byPartition.set(p, got);
    }
    await fetcher.close();
    for (const a of acked) expect(byPartition.get(a.partition)!.get(a.offset), `acked ${JSON.stringify(a)}`).toBe(a.value);
  }, 120_000);

  it('refuses hostile topic names, configs and group names before they reach Redis', async () => {
    const cluster = (t.cluster = await Cluster.start({ brokers: 1 }));
    const broker = cluster.broker('b1');
    const coord = (t.coord = await RedisCoordinator.connect({ url: cluster.redis.url }));
    const before = await redisKeys(cluster);
    const hostileNames = ['{cluster}', 'a}b', 'x\r\nFLUSHALL', '../etc', 'a b', '', '.', '..', 'ü', 'a'.repeat(250), 'topic:1', '*'];
    for (const name of hostileNames) {
      const res = await broker.http.post('/v1/topics', { name, partitions: 1 });
      expect(res.status, name).toBe(400);
      expect(res.body.error.code, name).toBe('INVALID_TOPIC');
    }
    const hostileConfigs: Array<Record<string, unknown>> = [
      { 'retention.ms': 'x\r\n' },
      { 'no.such.config': 1 },
      { 'segment.bytes': -1 },
      { 'cleanup.policy': 'delete\u0000compact' },
      { ['a'.repeat(300)]: 1 },
    ];
    for (const configs of hostileConfigs) {
      const res = await broker.http.post('/v1/topics', { name: 'fine', partitions: 1, configs });
      expect(res.status, JSON.stringify(configs)).toBe(400);
    }
    for (const group of ['{g}', 'a b', 'g\r\nDEL x', '', '.', '..', 'x'.repeat(250)]) {
      await expect(coord.commitOffsets(group, null, [{ topic: 'fine', partition: 0, offset: 1 }]), group).rejects.toMatchObject({ code: 'INVALID_GROUP_ID' });
    }
    expect(await redisKeys(cluster)).toEqual(before);
  }, 60_000);
});

// A cluster of three broker processes over one Redis and one S3 server: any broker serves any
// partition (forwarding to its leader), every partition has exactly one leader, and the CLI works
// against any broker.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Consumer, Producer } from '@strata/client';
import { Cluster, cleanupAll, expectStatus, runStrata, type HttpAnswer, type Json } from './harness/index.js';

/** Reads this broker proxied to a leader (the leader's HTTP metrics count them as forwarded). */
async function proxiedReads(broker: { http: { get(path: string): Promise<HttpAnswer<Json>> } }): Promise<number> {
  const text = (await broker.http.get('/metrics')).body as string;
  const line = text.split('\n').find((l) => l.startsWith('strata_cluster_forwarded_requests_total{kind="read"}'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function ok(answer: Promise<HttpAnswer<Json>>, status: number): Promise<HttpAnswer<Json>> {
  return expectStatus(await answer, status, 'cluster request');
}

describe('a three-broker cluster', () => {
  let cluster: Cluster;
  let failed = false;
  beforeAll(async () => {
    cluster = await Cluster.start({ brokers: 3, env: { STRATA_MIN_SEGMENT_BYTES: '1024' } }); // small segments: the tests' escape hatch
  }, 60_000);
  beforeEach((context) => {
    context.onTestFailed(() => {
      failed = true;
      cluster.printLogs();
    });
  });
  afterAll(async () => {
    await cluster?.stop();
    cleanupAll({ keepDirs: failed });
  }, 60_000);

  it('produces through one broker and consumes through another, in order, with one leader per partition', async () => {
    const [a, , c] = ['b1', 'b2', 'b3'].map((id) => cluster.broker(id));
    await ok(a!.http.post('/v1/topics', { name: 'orders', partitions: 6 }), 201);
    const leaders = await cluster.awaitLeaders('orders', 6);
    // Rendezvous hashing spreads six partitions over three brokers; each broker leads at least one
    // with overwhelming likelihood, but the assertion is only that every partition has one.
    expect([...leaders.values()].every((id) => ['b1', 'b2', 'b3'].includes(id))).toBe(true);

    const sent = new Map<string, string[]>();
    for (let round = 0; round < 20; round++) {
      const records = Array.from({ length: 25 }, (_, i) => ({ key: `k${(round * 25 + i) % 40}`, value: `v${round * 25 + i}` }));
      // acks=all: answered once the in-sync replicas have the records, so they are below the HW at once
      // (acks=1 answers after the leader's append; consumers see the records when the followers have them).
      const res = await ok(a!.http.post('/v1/topics/orders/records?acks=all', { records }), 200);
      expect(res.body.offsets).toHaveLength(25);
      for (const r of records) sent.set(r.key, [...(sent.get(r.key) ?? []), r.value]);
    }

    // Every partition is read through broker C, whichever broker leads it.
    const received = new Map<string, string[]>();
    let total = 0;
    for (let p = 0; p < 6; p++) {
      let offset = 0;
      for (;;) {
        const res = await ok(c!.http.get(`/v1/topics/orders/partitions/${p}/records?offset=${offset}&maxRecords=1000`), 200);
        for (const r of res.body.records) {
          expect(r.offset).toBe(offset);
          offset = r.offset + 1;
          received.set(r.key, [...(received.get(r.key) ?? []), r.value]);
          total++;
        }
        if (offset >= res.body.highWatermark) break;
      }
    }
    expect(total).toBe(500);
    expect(received).toEqual(sent); // per key: every record, in send order

    // Every broker agrees on the leaders, and each partition is claimed by exactly one broker.
    const { claims, reported } = await cluster.leaders();
    for (let p = 0; p < 6; p++) {
      expect(claims.get(`orders/${p}`)).toHaveLength(1);
      expect(new Set(reported.get(`orders/${p}`))).toEqual(new Set([leaders.get(p)]));
    }
    const described = await ok(c!.http.get('/v1/topics/orders'), 200);
    expect(described.body.partitions.map((x: { leader: string }) => x.leader)).toEqual([0, 1, 2, 3, 4, 5].map((p) => leaders.get(p)));
  }, 60_000);

  it('serves raw batches, offsets by time and describes through any broker', async () => {
    const b = cluster.broker('b2');
    await ok(b.http.post('/v1/topics', { name: 'raw', partitions: 3 }), 201);
    await cluster.awaitLeaders('raw', 3);
    for (const broker of cluster.brokers.values()) {
      for (let p = 0; p < 3; p++) {
        const res = await ok(broker.http.post('/v1/topics/raw/records', { records: [{ partition: p, value: `from-${broker.port}` }] }), 200);
        expect(res.body.offsets[0].partition).toBe(p);
      }
    }
    for (const broker of cluster.brokers.values()) {
      for (let p = 0; p < 3; p++) {
        const latest = await ok(broker.http.get(`/v1/topics/raw/partitions/${p}/offsets?at=latest`), 200);
        expect(latest.body.offset).toBe(3);
        const raw = await broker.http.raw('GET', `/v1/topics/raw/partitions/${p}/batches?offset=0`);
        expect(raw.status).toBe(200);
        expect(raw.headers['strata-high-watermark']).toBe('3');
      }
    }
  }, 60_000);

  it('serves history from the bucket at whichever broker is asked, without forwarding', async () => {
    const [b1, b2, b3] = ['b1', 'b2', 'b3'].map((id) => cluster.broker(id));
    await ok(b1!.http.post('/v1/topics', { name: 'history', partitions: 1, configs: { 'segment.bytes': 16384 } }), 201);
    const leader = (await cluster.awaitLeaders('history', 1)).get(0)!;
    const follower = [b1!, b2!, b3!].find((b) => b !== cluster.broker(leader))!;
    for (let i = 0; i < 10; i++) {
      const records = Array.from({ length: 20 }, (_, j) => ({ partition: 0, value: `${i * 20 + j}:${'h'.repeat(200)}` }));
      await ok(b1!.http.post('/v1/topics/history/records', { records }), 200);
    }
    // Sealed segments reach the bucket.
    const deadline = Date.now() + 20_000;
    let described: Json;
    for (;;) {
      described = (await ok(cluster.broker(leader).http.get('/v1/topics/history'), 200)).body;
      if (described.partitions[0].remoteLogEndOffset >= 100 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(described.partitions[0].remoteLogEndOffset).toBeGreaterThanOrEqual(100);
    const forwardedBefore = await proxiedReads(follower);
    const res = await ok(follower.http.get('/v1/topics/history/partitions/0/records?offset=0&maxRecords=50'), 200);
    expect(res.body.records[0].offset).toBe(0);
    expect(res.body.records[0].value).toMatch(/^0:/);
    // Read here, from the bucket: the follower's remote-read counter moved, and nothing went to the leader.
    const metrics = (await follower.http.get('/metrics')).body as string;
    expect(metrics).toMatch(/strata_tier_remote_reads_total\{result="ok"\} [1-9]/);
    expect(await proxiedReads(follower)).toBe(forwardedBefore);
  }, 60_000);

  it('runs a consumer group whose members talk to different brokers (group state in Redis)', async () => {
    const [b1, b2, b3] = ['b1', 'b2', 'b3'].map((id) => cluster.broker(id));
    await ok(b3!.http.post('/v1/topics', { name: 'grouped', partitions: 6 }), 201);
    await cluster.awaitLeaders('grouped', 6);
    const producer = new Producer({ brokers: [b1!.url], acks: 1 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send({ topic: 'grouped', key: `k${i % 30}`, value: String(i) })));
    await producer.close();
    const members = [b1!, b2!, b3!].map(
      (b) => new Consumer({ brokers: b.url, groupId: 'spread', topics: ['grouped'], autoOffsetReset: 'earliest', sessionTimeoutMs: 5_000, autoCommitIntervalMs: 100, maxWaitMs: 200 }),
    );
    const seen = new Set<string>();
    const runs = members.map(async (m) => {
      for await (const r of m) {
        seen.add(r.value!.toString());
        if (seen.size === 300) break;
      }
    });
    const deadline = Date.now() + 30_000;
    while (seen.size < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.size).toBe(300);
    // Each broker describes the same group from Redis; members were spread, and no partition has two owners.
    const described = await ok(b2!.http.get('/v1/groups/spread'), 200);
    const owners = described.body.members.flatMap((m: Json) => m.assignment.flatMap((a: Json) => a.partitions));
    expect(new Set(owners).size).toBe(owners.length);
    await Promise.all(members.map((m) => m.close()));
    await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, 5_000))]);
    const offsets = await ok(b1!.http.get('/v1/groups/spread/offsets'), 200);
    expect(offsets.body.offsets.reduce((n: number, o: Json) => n + o.offset, 0)).toBe(300);
  }, 60_000);

  it('answers the strata CLI pointed at any broker', async () => {
    for (const [id, broker] of cluster.brokers) {
      const topic = `cli-${id}`;
      expect((await runStrata(['topics', 'create', topic, '--partitions', '2', '--broker', broker.url])).code).toBe(0);
      const produced = await runStrata(['produce', topic, '--broker', broker.url], { stdin: 'one\ntwo\nthree\n' });
      expect(produced.code, produced.stderr).toBe(0);
    }
    for (const [id] of cluster.brokers) {
      const other = [...cluster.brokers.values()].find((b) => b !== cluster.broker(id))!;
      const consumed = await runStrata(['consume', `cli-${id}`, '--from-beginning', '--broker', other.url]);
      expect(consumed.code, consumed.stderr).toBe(0);
      expect(consumed.stdout.trim().split('\n').sort()).toEqual(['one', 'three', 'two']);
    }
  }, 60_000);
});

/**
 * Tiered storage against a real S3 HTTP server (s3rver) and real broker processes:
 * - a broker that loses its whole data dir comes back from the bucket alone, record for record;
 * - with an S3 fault proxy in between (drops, SlowDown, 500s, slow answers, resets mid-upload),
 *   nothing acknowledged ever becomes unreadable, no local segment leaves before its upload is
 *   committed, uploads resume once the store recovers, and the visible manifest never has a
 *   duplicate or overlap.
 */
import { rm } from 'node:fs/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, S3Server, SeededRandom, seedFromEnv, type BrokerProcess, type HttpClient, type Json } from './harness/index.js';
import { brokerLifecycle } from './support.js';

const TOPIC_CONFIGS = { 'segment.bytes': 16 * 1024, 'local.retention.bytes': 0 };
// Small segments (below Kafka 4.0's 1 MiB floor) so uploads happen within a test: the tests' escape hatch.
const FAST_TIERING = { STRATA_TIER_INTERVAL_MS: '50', STRATA_MAINTENANCE_INTERVAL_MS: '50', STRATA_LOG_LEVEL: 'warn', STRATA_MIN_SEGMENT_BYTES: '1024' };

interface Acked {
  partition: number;
  offset: number;
  key: string;
  value: string;
  timestamp: number;
  headers: Array<{ key: string; value: string }>;
}

async function produceBatch(http: HttpClient, topic: string, first: number, count: number, t0: number): Promise<Acked[]> {
  const records = Array.from({ length: count }, (_, j) => {
    const i = first + j;
    return { key: `key-${i % 17}`, value: `value-${i}-${'v'.repeat(i % 64)}`, timestamp: t0 + i, headers: { seq: String(i) } };
  });
  const answer = await http.post(`/v1/topics/${topic}/records`, { records }, { query: { acks: 1 } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.offsets.map((o: Json, j: number) => ({
    partition: o.partition,
    offset: o.offset,
    key: records[j]!.key,
    value: records[j]!.value,
    timestamp: records[j]!.timestamp,
    headers: [{ key: 'seq', value: records[j]!.headers.seq }],
  }));
}

async function readPartition(http: HttpClient, topic: string, partition: number, from = 0): Promise<Json[]> {
  const out: Json[] = [];
  let offset = from;
  for (let i = 0; i < 100_000; i++) {
    const answer = await http.get(`/v1/topics/${topic}/partitions/${partition}/records`, { query: { offset, maxBytes: 8192, maxRecords: 10_000 } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    out.push(...answer.body.records.filter((r: Json) => r.offset >= offset));
    if (answer.body.nextOffset >= answer.body.highWatermark) return out;
    offset = answer.body.nextOffset;
  }
  throw new Error('no end');
}

function expectAllPresent(acked: Acked[], byPartition: Map<number, Json[]>): void {
  for (const record of acked) {
    const read = byPartition.get(record.partition)![record.offset];
    expect(read, `partition ${record.partition} offset ${record.offset}`).toEqual({
      offset: record.offset,
      timestamp: record.timestamp,
      key: record.key,
      value: record.value,
      headers: record.headers,
    });
  }
}

async function describeTopic(http: HttpClient, topic: string): Promise<Json> {
  const answer = await http.get(`/v1/topics/${topic}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const settled = (topic: Json): boolean =>
  topic.partitions.every((p: Json) => p.uploadLagSegments === 0 && p.remoteSegments > 0 && p.localLogStartOffset === p.remoteLogEndOffset);

describe('tiered storage against S3', () => {
  const startBroker = brokerLifecycle();
  let s3: S3Server;

  beforeAll(async () => {
    s3 = await S3Server.start();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('a broker on an empty disk serves every committed offset from the bucket alone', async () => {
    const env = { ...s3.brokerEnv('restore'), ...FAST_TIERING };
    const first: BrokerProcess = await startBroker({ env });
    // segment.ms rolls the tails once producing stops, so every acknowledged record reaches the bucket.
    const configs = { ...TOPIC_CONFIGS, 'segment.ms': 500 };
    expect((await first.http.post('/v1/topics', { name: 'history', partitions: 3, configs })).status).toBe(201);
    const t0 = Date.now() - 3_600_000;
    const acked: Acked[] = [];
    for (let i = 0; i < 3000; i += 25) acked.push(...(await produceBatch(first.http, 'history', i, 25, t0)));
    const before = await until('every acknowledged record to be in the bucket', async () => {
      const topic = await describeTopic(first.http, 'history');
      return settled(topic) && topic.partitions.every((p: Json) => p.remoteLogEndOffset === p.highWatermark) ? topic : null;
    });
    const remoteEnd = new Map<number, number>(before.partitions.map((p: Json) => [p.partition, p.remoteLogEndOffset]));
    expect([...remoteEnd.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(2000);

    // The manifest snapshot in the bucket, read with an independent client, names contiguous segments.
    const client = s3.client();
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'restore/topics/history/0/' }));
    expect((listed.Contents ?? []).length).toBeGreaterThan(3);
    const snapshot = JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'restore/manifests/history/0.json' }))).Body!.transformToString());
    snapshot.segments.forEach((s: Json, i: number) => i > 0 && expect(s.baseOffset).toBe(snapshot.segments[i - 1].lastOffset + 1));
    client.destroy();

    await first.kill();
    await rm(first.dataDir, { recursive: true, force: true });
    const second = await startBroker({ env, port: first.port, dataDir: first.dataDir });
    const byPartition = new Map<number, Json[]>();
    for (let p = 0; p < 3; p++) byPartition.set(p, await readPartition(second.http, 'history', p));
    const committed = acked;
    expect(committed.length).toBe([...remoteEnd.values()].reduce((a, b) => a + b, 0));
    expectAllPresent(committed, byPartition);
    for (const [p, records] of byPartition) expect(records.map((r) => r.offset)).toEqual(Array.from({ length: remoteEnd.get(p)! }, (_, i) => i));

    // offsets?at=<timestamp> from the bucket.
    for (const record of [committed[0]!, committed[Math.floor(committed.length / 2)]!]) {
      const answer = await second.http.get(`/v1/topics/history/partitions/${record.partition}/offsets`, { query: { at: record.timestamp } });
      expect(answer.body).toEqual({ offset: record.offset, timestamp: record.timestamp });
    }
    console.log(`restore: ${committed.length} records in ${[...remoteEnd.values()].length} partitions read back from the bucket alone`);
  });

  it('survives a faulty object store: nothing acknowledged becomes unreadable, nothing leaves the disk before its commit, uploads resume', async () => {
    const seed = seedFromEnv();
    const random = new SeededRandom(seed);
    const proxy = await FaultProxy.start({ target: s3.endpoint, seed });
    const broker = await startBroker({ env: { ...s3.brokerEnv('faults', proxy), ...FAST_TIERING } });
    expect((await broker.http.post('/v1/topics', { name: 'bumpy', partitions: 2, configs: TOPIC_CONFIGS })).status).toBe(201);
    proxy.setFaults({ drop: 0.1, status503SlowDown: 0.15, status500: 0.1, resetMidBody: 0.1, delayMs: 30, delayProbability: 0.2 });

    const acked: Acked[] = [];
    const t0 = Date.now();
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 5; i++) acked.push(...(await produceBatch(broker.http, 'bumpy', acked.length, 20, t0)));
      // Throughout: every acknowledged record readable, and the tiers leave no gap.
      const topic = await describeTopic(broker.http, 'bumpy');
      for (const p of topic.partitions) {
        expect(p.localLogStartOffset, 'a local segment left before its upload was committed').toBeLessThanOrEqual(p.remoteLogEndOffset);
        expect(p.logStartOffset).toBe(0);
      }
      if (round % 4 === 3) {
        const byPartition = new Map<number, Json[]>();
        for (const p of [0, 1]) byPartition.set(p, await readPartition(broker.http, 'bumpy', p));
        expectAllPresent(acked, byPartition);
      }
      await new Promise((resolve) => setTimeout(resolve, random.int(50, 200)));
    }
    const faulted = proxy.counts();
    expect(faulted.drop + faulted.status503SlowDown + faulted.status500 + faulted.resetMidBody).toBeGreaterThan(0);

    proxy.clear();
    const recovered = await until('uploads to resume and settle', async () => {
      const topic = await describeTopic(broker.http, 'bumpy');
      return settled(topic) ? topic : null;
    });
    const byPartition = new Map<number, Json[]>();
    for (const p of [0, 1]) byPartition.set(p, await readPartition(broker.http, 'bumpy', p));
    expectAllPresent(acked, byPartition);
    for (const [p, records] of byPartition) {
      // Each offset exactly once, dense from 0.
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: records.length }, (_, i) => i));
      expect(records.length).toBe(acked.filter((r) => r.partition === p).length);
    }
    // The visible manifests: contiguous, no duplicate, no overlap.
    const client = s3.client();
    for (const p of recovered.partitions) {
      const snapshot = JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `faults/manifests/bumpy/${p.partition}.json` }))).Body!.transformToString());
      expect(snapshot.segments[0].baseOffset).toBe(0);
      snapshot.segments.forEach((s: Json, i: number) => i > 0 && expect(s.baseOffset).toBe(snapshot.segments[i - 1].lastOffset + 1));
      expect(snapshot.segments.at(-1).lastOffset + 1).toBe(p.remoteLogEndOffset);
    }
    client.destroy();
    const metrics = (await broker.http.get('/metrics')).body as string;
    console.log(`faults (seed ${seed}): ${JSON.stringify(faulted)}; ${acked.length} records acknowledged, all readable`);
    expect(metrics).toMatch(/strata_s3_retries_total [1-9]/);
    await proxy.stop();
  });
});

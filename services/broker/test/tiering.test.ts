import { mkdtemp, open, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, startBroker, type Broker } from '@strata/broker';
import { encodeRecordBatch } from '@strata/protocol';
import { call, captureLogger, createTopic, fetchRecords, postBatch, produce, type Loose } from './helpers.js';

// Tiering against the local-directory object store, kept outside the data dir so that a
// broker can lose its whole data dir and come back from the "bucket" alone.

let root: string;
let objectsDir: string;
const brokers: Broker[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-tier-'));
  objectsDir = join(root, 'bucket');
});
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  await rm(root, { recursive: true, force: true });
});

async function start(dataDirName: string, extra: Record<string, string> = {}): Promise<Broker> {
  const env = {
    STRATA_HTTP_PORT: '0',
    STRATA_KAFKA_PORT: '0',
    STRATA_HOST: '127.0.0.1',
    STRATA_DATA_DIR: join(root, dataDirName),
    STRATA_OBJECTS_DIR: objectsDir,
    STRATA_TIER_INTERVAL_MS: '20',
    STRATA_MAINTENANCE_INTERVAL_MS: '20',
    // Small segments (below Kafka 4.0's 1 MiB floor) so uploads happen within a test: the tests' escape hatch.
    STRATA_MIN_SEGMENT_BYTES: '1024',
    ...extra,
  };
  const broker = await startBroker(loadConfig(env, []), { logger: captureLogger([]) });
  brokers.push(broker);
  return broker;
}

async function until<T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const TOPIC_CONFIGS = { 'segment.bytes': 2048, 'local.retention.bytes': 0 };

interface Sent {
  key: string;
  value: string;
  timestamp: number;
  headers: Record<string, string>;
}

async function produceMany(url: string, topic: string, count: number, t0: number): Promise<Map<number, Array<Sent & { offset: number }>>> {
  const byPartition = new Map<number, Array<Sent & { offset: number }>>();
  for (let start = 0; start < count; start += 8) {
    const records: Sent[] = [];
    for (let i = start; i < Math.min(count, start + 8); i++) {
      records.push({ key: `key-${i % 13}`, value: `value-${i}-${'x'.repeat(i % 40)}`, timestamp: t0 + i * 1000, headers: { seq: String(i) } });
    }
    const res = await produce(url, topic, { records });
    expect(res.status).toBe(200);
    res.body.offsets.forEach((o: { partition: number; offset: number }, i: number) => {
      const list = byPartition.get(o.partition) ?? [];
      list.push({ ...records[i]!, offset: o.offset });
      byPartition.set(o.partition, list);
    });
  }
  return byPartition;
}

async function consumeAll(url: string, topic: string, partition: number): Promise<Loose[]> {
  const out: Loose[] = [];
  let offset = 0;
  for (;;) {
    const res = await fetchRecords(url, topic, partition, `offset=${offset}&maxRecords=1000&maxBytes=1500`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...res.body.records);
    if (res.body.nextOffset >= res.body.highWatermark) return out;
    expect(res.body.nextOffset).toBeGreaterThan(offset);
    offset = res.body.nextOffset;
  }
}

function expectSame(read: Loose[], sent: Array<Sent & { offset: number }>): void {
  expect(read.map((r) => r.offset)).toEqual(sent.map((s) => s.offset));
  expect(read.map((r) => r.offset)).toEqual(read.map((_, i) => i));
  for (let i = 0; i < sent.length; i++) {
    expect(read[i]).toEqual({ offset: sent[i]!.offset, timestamp: sent[i]!.timestamp, key: sent[i]!.key, value: sent[i]!.value, headers: [{ key: 'seq', value: sent[i]!.headers.seq }] });
  }
}

async function waitUploaded(url: string, topic: string): Promise<Loose> {
  return until('every sealed segment uploaded and evicted locally', async () => {
    const described = (await call(url, 'GET', `/v1/topics/${topic}`)).body;
    const done = described.partitions.every((p: Loose) => p.uploadLagSegments === 0 && p.remoteSegments > 0 && p.localLogStartOffset === p.remoteLogEndOffset);
    return done ? described : null;
  });
}

describe('tiered storage', () => {
  it('uploads sealed segments, evicts them locally, and serves every offset from either tier; an empty disk comes back from the bucket', async () => {
    const first = await start('data-1');
    await createTopic(first.url, 'events', 3, TOPIC_CONFIGS);
    const t0 = Date.now() - 3_600_000;
    const sent = await produceMany(first.url, 'events', 600, t0);
    const described = await waitUploaded(first.url, 'events');
    for (const p of described.partitions) {
      expect(p.logStartOffset).toBe(0);
      expect(p.localLogStartOffset).toBeGreaterThan(0);
      expect(p.remoteBytes).toBeGreaterThan(0);
    }
    for (const [partition, records] of sent) expectSame(await consumeAll(first.url, 'events', partition), records);

    // offsets?at=<timestamp> across tiers: one in the bucket, one local.
    for (const [partition, records] of sent) {
      for (const pick of [records[3]!, records[records.length - 1]!]) {
        const res = await call(first.url, 'GET', `/v1/topics/events/partitions/${partition}/offsets?at=${pick.timestamp}`);
        expect(res.body).toEqual({ offset: pick.offset, timestamp: pick.timestamp });
      }
    }
    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    expect(metrics).toMatch(/strata_tier_uploads_total\{result="ok"\} [1-9]/);
    expect(metrics).toMatch(/strata_tier_remote_reads_total\{result="ok"\} [1-9]/);

    // A fresh broker with an empty data dir and the same bucket serves every committed offset.
    await first.close();
    brokers.splice(brokers.indexOf(first), 1);
    await rm(join(root, 'data-1'), { recursive: true, force: true });
    const second = await start('data-2');
    const restored = (await call(second.url, 'GET', '/v1/topics/events')).body;
    expect(restored.configOverrides).toEqual(TOPIC_CONFIGS);
    for (const [partition, records] of sent) {
      const remoteEnd = restored.partitions[partition].remoteLogEndOffset;
      const read = await consumeAll(second.url, 'events', partition);
      expectSame(read, records.slice(0, remoteEnd));
      // Appends continue after the restored offsets.
      const next = await produce(second.url, 'events', { records: [{ value: 'after', partition }] });
      expect(next.body.offsets[0].offset).toBe(remoteEnd);
    }
  });

  it("an empty disk gets the idempotent producers' state from the bucket: retries of uploaded batches are still duplicates", async () => {
    const first = await start('data-1');
    await createTopic(first.url, 'idem', 1, TOPIC_CONFIGS);
    const idem = (seq: number) => encodeRecordBatch([{ key: null, value: Buffer.from(`idem-${seq}-${'x'.repeat(700)}`) }], { producerId: 77, producerEpoch: 0, baseSequence: seq });
    const offsets: number[] = [];
    for (let seq = 0; seq < 5; seq++) offsets.push((await postBatch(first.url, 'idem', 0, idem(seq))).body.baseOffset as number);
    // Plain batches roll the segments holding the producer's batches, so they are uploaded.
    for (let i = 0; i < 8; i++) await postBatch(first.url, 'idem', 0, encodeRecordBatch([{ key: null, value: Buffer.from('y'.repeat(700)) }]));
    const described = await waitUploaded(first.url, 'idem');
    expect(described.partitions[0].remoteLogEndOffset).toBeGreaterThan(offsets[4]!);
    await first.close();
    brokers.splice(brokers.indexOf(first), 1);
    await rm(join(root, 'data-1'), { recursive: true, force: true });

    const second = await start('data-2');
    expect((await postBatch(second.url, 'idem', 0, idem(4))).body).toEqual({ baseOffset: offsets[4], lastOffset: offsets[4], recordCount: 1, duplicate: true });
    expect((await postBatch(second.url, 'idem', 0, idem(2))).body).toMatchObject({ baseOffset: offsets[2], duplicate: true });
    // The producer is known (a gap is refused), so the state came from the bucket, not from nothing.
    expect((await postBatch(second.url, 'idem', 0, idem(9))).body.error.code).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
  });

  it('applies retention across tiers: old objects go, the log start advances, below it is 416', async () => {
    const broker = await start('data');
    await createTopic(broker.url, 'short', 1, { ...TOPIC_CONFIGS, 'retention.bytes': 4096 });
    await produceMany(broker.url, 'short', 300, Date.now());
    const described = await until('retention to advance the log start', async () => {
      const d = (await call(broker.url, 'GET', '/v1/topics/short')).body;
      return d.partitions[0].logStartOffset > 0 && d.partitions[0].uploadLagSegments === 0 ? d : null;
    });
    const start0 = described.partitions[0].logStartOffset;
    const res = await fetchRecords(broker.url, 'short', 0, 'offset=0');
    expect(res.status).toBe(416);
    expect(res.body.error.code).toBe('OFFSET_OUT_OF_RANGE');
    expect(res.body.error.details.logStartOffset).toBeGreaterThanOrEqual(start0);
    expect((await call(broker.url, 'GET', '/v1/topics/short/partitions/0/offsets?at=earliest')).body.offset).toBeGreaterThanOrEqual(start0);
    const objects = await readdir(join(objectsDir, 'topics', 'short', '0'));
    const remaining = described.partitions[0].remoteSegments;
    await until('deleted objects to leave the bucket', async () => (await readdir(join(objectsDir, 'topics', 'short', '0'))).length <= remaining + 1);
    expect(objects.length).toBeGreaterThan(0);
  });

  it('reports a corrupt segment object clearly and keeps serving', async () => {
    const broker = await start('data');
    await createTopic(broker.url, 'fragile', 1, TOPIC_CONFIGS);
    await produceMany(broker.url, 'fragile', 200, Date.now());
    await waitUploaded(broker.url, 'fragile');
    const dir = join(objectsDir, 'topics', 'fragile', '0');
    const first = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort()[0]!;
    const file = await open(join(dir, first), 'r+');
    // Byte 100: in the first batch's records of a copied object; in the tail a linked object's pointer
    // file holds (the embedded store links sealed segments). Either fails the object's checks.
    await file.write(Buffer.from([0xee]), 0, 1, 100);
    await file.close();
    const res = await fetchRecords(broker.url, 'fragile', 0, 'offset=0');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('STORAGE_ERROR');
    expect(res.body.error.message).toMatch(/failed its checks/);
    expect(await (await fetch(`${broker.url}/metrics`)).text()).toMatch(/strata_tier_corrupt_objects_total [1-9]/);
    // The rest of the partition is still served.
    const described = (await call(broker.url, 'GET', '/v1/topics/fragile')).body;
    const local = await fetchRecords(broker.url, 'fragile', 0, `offset=${described.partitions[0].localLogStartOffset}`);
    expect(local.status).toBe(200);
  });

  it('removes uploaded objects that the manifest never named', async () => {
    const broker = await start('data', { STRATA_TIER_GC_INTERVAL_MS: '100', STRATA_TIER_ORPHAN_GRACE_MS: '0' });
    await createTopic(broker.url, 'tidy', 1, TOPIC_CONFIGS);
    await produceMany(broker.url, 'tidy', 100, Date.now());
    await waitUploaded(broker.url, 'tidy');
    const dir = join(objectsDir, 'topics', 'tidy', '0');
    // As if a broker died between uploading a segment and committing it to the manifest.
    const orphan = join(dir, '00000000000001000000-00000000000001000099-e0.seg');
    await mkdir(dir, { recursive: true });
    await writeFile(orphan, 'never committed');
    await until('the orphan to be collected', async () => stat(orphan).then(() => false, () => true));
    expect((await readdir(dir)).length).toBeGreaterThan(0);
  });

  it('deleting a topic removes its objects', async () => {
    const broker = await start('data');
    await createTopic(broker.url, 'gone', 1, TOPIC_CONFIGS);
    await produceMany(broker.url, 'gone', 100, Date.now());
    await waitUploaded(broker.url, 'gone');
    expect((await call(broker.url, 'DELETE', '/v1/topics/gone')).status).toBe(200);
    await expect(readdir(join(objectsDir, 'topics', 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readdir(join(objectsDir, 'manifests', 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('tiered storage when the object store fails', () => {
  it('a topic whose configs cannot reach the bucket is not created anywhere', async () => {
    const { LocalDirObjectStore, StorageError } = await import('@strata/storage');
    const store = new LocalDirObjectStore(join(root, 'bucket'));
    let failing = true;
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'put' && failing) return () => Promise.reject(new StorageError('bucket down: ECONNREFUSED', { retriable: true }));
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const env = { STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_HOST: '127.0.0.1', STRATA_DATA_DIR: join(root, 'data'), STRATA_LOG_LEVEL: 'error' };
    const broker = await startBroker(loadConfig(env, []), { logger: captureLogger([]), objectStore: flaky });
    brokers.push(broker);
    const refused = await call(broker.url, 'POST', '/v1/topics', { name: 'early', partitions: 1 });
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect((await call(broker.url, 'GET', '/v1/topics')).body.topics).toEqual([]);
    await broker.close();
    brokers.splice(brokers.indexOf(broker), 1);
    failing = false;
    const again = await startBroker(loadConfig(env, []), { logger: captureLogger([]), objectStore: flaky });
    brokers.push(again);
    expect((await call(again.url, 'GET', '/v1/topics')).body.topics).toEqual([]);
    await createTopic(again.url, 'early', 1);
  });
});

describe('deleting a topic while the object store fails', () => {
  it('refuses the delete (retriable) rather than leaving bucket leftovers that a restart would restore', async () => {
    const { LocalDirObjectStore, StorageError } = await import('@strata/storage');
    const store = new LocalDirObjectStore(join(root, 'bucket'));
    let failing = false;
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        // What a store engine throws when the bucket is unreachable.
        if (property === 'deleteMany' && failing) return () => Promise.reject(new StorageError('bucket down: ECONNREFUSED', { retriable: true }));
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const dataDir = join(root, 'data');
    const env = { STRATA_HTTP_PORT: '0', STRATA_KAFKA_PORT: '0', STRATA_HOST: '127.0.0.1', STRATA_DATA_DIR: dataDir, STRATA_LOG_LEVEL: 'error', STRATA_TIER_INTERVAL_MS: '20', STRATA_MIN_SEGMENT_BYTES: '1024' };
    let broker = await startBroker(loadConfig(env, []), { logger: captureLogger([]), objectStore: flaky });
    brokers.push(broker);
    await createTopic(broker.url, 'doomed', 1, TOPIC_CONFIGS);
    await produceMany(broker.url, 'doomed', 100, Date.now());
    await waitUploaded(broker.url, 'doomed');
    failing = true;
    const refused = await call(broker.url, 'DELETE', '/v1/topics/doomed');
    expect(refused.status).toBe(503);
    expect(refused.body.error.retriable).toBe(true);
    expect((await call(broker.url, 'GET', '/v1/topics/doomed')).status).toBe(200);
    failing = false;
    expect((await call(broker.url, 'DELETE', '/v1/topics/doomed')).status).toBe(200);
    await broker.close();
    brokers.splice(brokers.indexOf(broker), 1);
    broker = await startBroker(loadConfig(env, []), { logger: captureLogger([]), objectStore: flaky });
    brokers.push(broker);
    expect((await call(broker.url, 'GET', '/v1/topics')).body.topics).toEqual([]);
  });
});

describe('a slow object store for one partition', () => {
  it('does not hold up uploads of other partitions', async () => {
    const { LocalDirObjectStore } = await import('@strata/storage');
    const store = new LocalDirObjectStore(join(root, 'bucket'));
    let releaseSlow = (): void => undefined;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    const gated = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'putStream') {
          return async (key: string, ...rest: unknown[]) => {
            if (key.startsWith('topics/slow/')) await slowGate; // a request that hangs
            return (target.putStream as (...a: unknown[]) => Promise<unknown>)(key, ...rest);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const env = {
      STRATA_HTTP_PORT: '0',
      STRATA_KAFKA_PORT: '0',
      STRATA_HOST: '127.0.0.1',
      STRATA_DATA_DIR: join(root, 'data'),
      STRATA_LOG_LEVEL: 'error',
      STRATA_TIER_INTERVAL_MS: '20',
      STRATA_TIER_UPLOAD_CONCURRENCY: '2',
      STRATA_MIN_SEGMENT_BYTES: '1024', // small segments: the tests' escape hatch
    };
    const broker = await startBroker(loadConfig(env, []), { logger: captureLogger([]), objectStore: gated });
    brokers.push(broker);
    await createTopic(broker.url, 'slow', 1, TOPIC_CONFIGS);
    await createTopic(broker.url, 'fast', 1, TOPIC_CONFIGS);
    await produceMany(broker.url, 'slow', 100, Date.now());
    // The slow partition's upload is now stuck; the fast one keeps sealing segments for a while.
    for (let round = 0; round < 5; round++) {
      await produceMany(broker.url, 'fast', 60, Date.now());
      await sleep(50);
    }
    try {
      await waitUploaded(broker.url, 'fast');
    } finally {
      releaseSlow();
    }
    await waitUploaded(broker.url, 'slow');
  });
});

/**
 * Issue 15, item 8: a single node with S3 configured leaves nothing only on its local disk after a
 * graceful stop. SIGTERM seals each partition's active segment and uploads the tail before the
 * process exits, so a broker started on an empty disk against the same bucket reads every
 * acknowledged record back (the disk of a stopped node may be lost: a replaced VM, a new pod).
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Server, type HttpClient, type Json } from './harness/index.js';
import { brokerLifecycle } from './support.js';

const RECORDS = 500;
const PARTITIONS = 3;
/** Records per produce request. */
const BATCH = 50;
/** Longest the test may take, in milliseconds (two broker starts and a graceful stop, on a loaded machine). */
const TEST_TIMEOUT_MS = 180_000;

async function readPartition(http: HttpClient, topic: string, partition: number): Promise<Json[]> {
  const out: Json[] = [];
  let offset = 0;
  for (let i = 0; i < 1_000; i++) {
    const answer = await http.get(`/v1/topics/${topic}/partitions/${partition}/records`, { query: { offset, maxWaitMs: 0 } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    out.push(...answer.body.records.filter((r: Json) => r.offset >= offset));
    if (answer.body.nextOffset >= answer.body.highWatermark) return out;
    offset = answer.body.nextOffset;
  }
  throw new Error(`partition ${partition}: did not reach the high watermark`);
}

describe('a single node stopped with SIGTERM', () => {
  const startBroker = brokerLifecycle();
  let s3: S3Server;

  beforeAll(async () => {
    s3 = await S3Server.start();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('uploads its unsealed tail before exiting: a broker on an empty disk reads all 500 acknowledged records from the bucket', async () => {
    // Default segment.bytes (128 MiB) and segment.ms (7 d): nothing rolls on its own, every record
    // is in an active segment when SIGTERM arrives.
    const env = { ...s3.brokerEnv('graceful-stop'), STRATA_LOG_LEVEL: 'warn', STRATA_KAFKA_PORT: '0' };
    const first = await startBroker({ env });
    expect((await first.http.post('/v1/topics', { name: 'ledger', partitions: PARTITIONS })).status).toBe(201);
    const acked = new Map<string, string>();
    for (let i = 0; i < RECORDS; i += BATCH) {
      const records = Array.from({ length: BATCH }, (_, j) => ({ key: `account-${(i + j) % 23}`, value: `entry-${i + j}` }));
      const answer = await first.http.post('/v1/topics/ledger/records', { records }, { query: { acks: 'all' } });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      answer.body.offsets.forEach((o: Json, j: number) => acked.set(`${o.partition}/${o.offset}`, records[j]!.value));
    }
    expect(acked.size).toBe(RECORDS);
    const before = (await first.http.get('/v1/topics/ledger')).body;
    expect(before.partitions.some((p: Json) => p.remoteLogEndOffset < p.highWatermark), 'the tails were uploaded before the stop').toBe(true);

    expect(await first.stop()).toEqual({ code: 0, signal: null });
    await rm(first.dataDir, { recursive: true, force: true });

    const second = await startBroker({ env, port: first.port, dataDir: first.dataDir });
    const read = new Map<string, string>();
    for (let p = 0; p < PARTITIONS; p++) {
      const records = await readPartition(second.http, 'ledger', p);
      expect(records.map((r) => r.offset), `partition ${p}: dense from 0`).toEqual(records.map((_, i) => i));
      for (const r of records) read.set(`${p}/${r.offset}`, r.value);
    }
    expect(read.size).toBe(RECORDS);
    expect(read).toEqual(acked);
  }, TEST_TIMEOUT_MS);
});

/**
 * Produce, fetch and latency of one broker process, each beside the baseline server
 * (baseline-server.ts) measured in the same run on the same bytes: the ratio is the figure
 * that means something on a shared, noisy machine, not the absolute numbers.
 */
import { spawn } from 'node:child_process';
import { Pool } from 'undici';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess, freePort, tempDir } from '@strata/test';
import { encodeRecordBatch, type RecordInput } from '@strata/protocol';
import { quantile, runLoad, type LoadResult } from './load.js';
import { runProduceMatrix } from './produce-matrix.js';

export interface Row {
  name: string;
  [column: string]: string | number;
}

const BATCH_BYTES = 64 * 1024;
const PARTITIONS = 4;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

interface BenchSettings {
  durationMs: number;
  concurrency: number;
  repeats: number;
}

export function batchOfSize(recordBytes: number, targetBytes: number): { body: Buffer; records: number } {
  const value = Buffer.alloc(recordBytes, 0x61);
  const records: RecordInput[] = [];
  // ~10 bytes of per-record framing besides the value and a short key.
  const perRecord = recordBytes + 20;
  const count = Math.max(1, Math.floor((targetBytes - 61) / perRecord));
  for (let i = 0; i < count; i++) records.push({ key: Buffer.from(`key-${i}`), value });
  return { body: encodeRecordBatch(records), records: count };
}

export async function startBaseline(): Promise<{ origin: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./baseline-server.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(port), join(tempDir('strata-baseline-'), 'log')], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** The better of `repeats` runs, alternating with the other side so drift hits both alike. */
export function best(results: LoadResult[]): LoadResult {
  return results.reduce((a, b) => (b.bytes / b.seconds > a.bytes / a.seconds ? b : a));
}

export function mbps(r: LoadResult): number {
  return round(r.bytes / r.seconds / 1e6);
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function createTopic(origin: string, name: string): Promise<void> {
  const response = await fetch(`${origin}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions: PARTITIONS }),
  });
  if (response.status !== 201) throw new Error(`create topic ${name}: ${response.status} ${await response.text()}`);
}

export async function runBrokerBench(settings: BenchSettings = { durationMs: 4000, concurrency: 8, repeats: 2 }): Promise<Row[]> {
  const rounds = Number(process.env.STRATA_BENCH_ROUNDS ?? 3);
  const rows: Row[] = await runProduceMatrix({
    durationMs: settings.durationMs,
    concurrency: settings.concurrency,
    rounds: Math.max(3, rounds),
    beforeCheckout: process.env.STRATA_BENCH_BEFORE ?? null,
  });
  if (process.env.STRATA_BENCH_PRODUCE_ONLY === '1') return rows;
  const broker = await BrokerProcess.start({ env: { STRATA_LOG_LEVEL: 'warn' } });
  const baseline = await startBaseline();
  try {
    for (const recordBytes of [100, 1024]) {
      const topic = `bench-${recordBytes}`;
      await createTopic(broker.url, topic);
      const { body, records } = batchOfSize(recordBytes, BATCH_BYTES);
      const produce = (origin: string, path: (i: number) => string) =>
        runLoad({
          origin,
          method: 'POST',
          concurrency: settings.concurrency,
          durationMs: settings.durationMs,
          request: (i) => ({ path: path(i), body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
          account: () => ({ bytes: body.length, records }),
        });
      // Only fills the topic the fetch below reads: produce is measured by produce-matrix.ts,
      // on fresh processes, never beside this broker's background tiering.
      // The baseline's file gets the same bytes, for its side of the fetch row.
      if (recordBytes === 1024) {
        await produce(broker.url, (i) => `/v1/topics/${topic}/partitions/${i % PARTITIONS}/batches?acks=1`);
        await produce(baseline.origin, () => '/append');
      }
    }

    // Fetch: read back the 1 KiB topic from every partition, 1 MiB per request.
    const topic = 'bench-1024';
    // Sealed segments are being copied to the object store (the embedded default tiers to a local
    // directory): let that finish first, so the fetch is measured alone.
    await uploadsSettled(broker.url, ['bench-100', 'bench-1024']);
    const strataFetch = await readAllPartitions(broker.url, topic, settings.durationMs);
    const baselineFetch = await readBaseline(baseline.origin, settings.durationMs);
    rows.push({
      name: 'fetch (sequential replay, 1 MiB per request, 4 partitions)',
      'strata MB/s': mbps(strataFetch),
      'baseline MB/s': mbps(baselineFetch),
      ratio: round(mbps(strataFetch) / mbps(baselineFetch), 2),
      'strata p50/p99 ms': `${round(strataFetch.p50Ms)}/${round(strataFetch.p99Ms)}`,
      'baseline p50/p99 ms': `${round(baselineFetch.p50Ms)}/${round(baselineFetch.p99Ms)}`,
    });

    // Latency: one 1 KiB record per request, one request in flight.
    const single = batchOfSize(1024, 1);
    await createTopic(broker.url, 'bench-latency');
    const latency = async (origin: string, path: string) =>
      runLoad({
        origin,
        method: 'POST',
        concurrency: 1,
        durationMs: settings.durationMs / 2,
        request: () => ({ path, body: single.body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
      });
    const bl = await latency(baseline.origin, '/append');
    const sl = await latency(broker.url, '/v1/topics/bench-latency/partitions/0/batches?acks=1');
    rows.push({
      name: 'produce latency, 1 record of 1 KiB per request, 1 in flight',
      'strata rec/s': Math.round(sl.requests / sl.seconds),
      // With one request in flight, requests/s is 1 / mean latency: the same ratio as the others.
      ratio: round(sl.requests / sl.seconds / (bl.requests / bl.seconds), 2),
      'strata p50/p99 ms': `${round(sl.p50Ms, 2)}/${round(sl.p99Ms, 2)}`,
      'baseline p50/p99 ms': `${round(bl.p50Ms, 2)}/${round(bl.p99Ms, 2)}`,
    });
  } finally {
    await baseline.stop();
    await broker.stop();
  }
  return rows;
}

/** Replays every partition of a topic from offset 0 to its high watermark, one reader per partition. */
async function readAllPartitions(origin: string, topic: string, durationMs: number): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: PARTITIONS });
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  const deadline = started + durationMs * 2;
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      let offset = 0;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const response = await pool.request({ method: 'GET', path: `/v1/topics/${topic}/partitions/${partition}/batches?offset=${offset}&maxBytes=1048576` });
        const body = Buffer.from(await response.body.arrayBuffer());
        latencies.push(performance.now() - t0);
        if (response.statusCode !== 200) throw new Error(`fetch: ${response.statusCode} ${body.toString().slice(0, 200)}`);
        bytes += body.length;
        const next = Number(response.headers['strata-next-offset']);
        const highWatermark = Number(response.headers['strata-high-watermark']);
        if (!(next > offset) || next >= highWatermark) break;
        offset = next;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors: 0, bytes, records: 0, seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

/** The same amount of reading from the baseline's file: 1 MiB ranges, 4 readers over 4 quarters. */
async function readBaseline(origin: string, durationMs: number): Promise<LoadResult> {
  const head = await fetch(`${origin}/?position=0&length=0`);
  await head.arrayBuffer();
  const size = Number(head.headers.get('x-size'));
  const pool = new Pool(origin, { connections: PARTITIONS });
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  const deadline = started + durationMs * 2;
  const quarter = Math.ceil(size / PARTITIONS);
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, reader) => {
      let position = reader * quarter;
      const end = Math.min(size, position + quarter);
      while (position < end && performance.now() < deadline) {
        const t0 = performance.now();
        const response = await pool.request({ method: 'GET', path: `/?position=${position}&length=${Math.min(1 << 20, end - position)}` });
        const body = Buffer.from(await response.body.arrayBuffer());
        latencies.push(performance.now() - t0);
        bytes += body.length;
        position += body.length;
        if (body.length === 0) break;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors: 0, bytes, records: 0, seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

async function uploadsSettled(origin: string, topics: string[]): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (const topic of topics) {
    for (;;) {
      const described = (await (await fetch(`${origin}/v1/topics/${topic}`)).json()) as { partitions: Array<{ uploadLagSegments: number }> };
      if (described.partitions.every((p) => p.uploadLagSegments === 0)) break;
      if (Date.now() > deadline) throw new Error(`${topic}: uploads did not settle`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

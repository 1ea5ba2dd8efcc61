/**
 * Tiered storage, measured against the same object store in the same run:
 * - replay of a multi-segment backlog from the bucket through the broker, beside raw GetObject of
 *   the same objects with the same SDK (target ratio >= 0.8);
 * - produce p99 with and without a concurrent replay (target: at most 10% higher);
 * - S3 PUT requests per GiB ingested at default settings (target <= 20).
 * The object store is s3rver (a real S3 HTTP server) on loopback; MinIO is what users run.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Pool } from 'undici';
import { BrokerProcess, S3Server } from '@strata/test';
import { encodeRecordBatch } from '@strata/protocol';
import { quantile, runLoad, type LoadResult } from './load.js';
import type { Row } from './broker-bench.js';

const MiB = 1024 * 1024;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

function batch(recordBytes: number, batchBytes: number): { body: Buffer; records: number } {
  const value = Buffer.alloc(recordBytes, 0x62);
  const count = Math.max(1, Math.floor(batchBytes / (recordBytes + 20)));
  return { body: encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value }))), records: count };
}

interface PartitionView {
  remoteLogEndOffset: number;
  remoteSegments: number;
  uploadLagSegments: number;
  localLogStartOffset: number;
}
interface TopicView {
  partitions: PartitionView[];
}

async function json<T = unknown>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export async function createTopic(url: string, name: string, partitions: number, configs: Record<string, number> = {}): Promise<void> {
  await json(`${url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions, configs }) });
}

export async function produceBytes(url: string, topic: string, partitions: number, totalBytes: number): Promise<void> {
  const { body } = batch(1024, 256 * 1024);
  const requests = Math.ceil(totalBytes / body.length);
  await runLoad({
    origin: url,
    method: 'POST',
    concurrency: 4,
    durationMs: 120_000,
    maxRequests: requests,
    request: (i) => ({ path: `/v1/topics/${topic}/partitions/${i % partitions}/batches?acks=1`, body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
  });
}

export async function waitSettled(url: string, topic: string, timeoutMs = 300_000): Promise<TopicView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = await json<TopicView>(`${url}/v1/topics/${topic}`);
    if (described.partitions.every((p) => p.uploadLagSegments === 0 && p.localLogStartOffset === p.remoteLogEndOffset)) return described;
    if (Date.now() > deadline) throw new Error(`${topic}: uploads did not settle`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (match) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Every partition from offset 0 to the remote end, through the broker, one reader per partition. */
export async function replay(url: string, topic: string, remoteEnds: number[]): Promise<LoadResult> {
  const pool = new Pool(url, { connections: remoteEnds.length });
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    remoteEnds.map(async (end, partition) => {
      let offset = 0;
      while (offset < end) {
        const t0 = performance.now();
        const response = await pool.request({ method: 'GET', path: `/v1/topics/${topic}/partitions/${partition}/batches?offset=${offset}&maxBytes=${MiB}` });
        const body = Buffer.from(await response.body.arrayBuffer());
        latencies.push(performance.now() - t0);
        if (response.statusCode !== 200) throw new Error(`replay: ${response.statusCode} ${body.toString().slice(0, 200)}`);
        bytes += body.length;
        offset = Number(response.headers['strata-next-offset']);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors: 0, bytes, records: 0, seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

/** The same objects with plain GetObject, as many in parallel as the replay has readers. */
async function rawGets(s3: S3Server, prefix: string, parallel: number): Promise<LoadResult> {
  const client = s3.client();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key!.endsWith('.seg')) keys.push(object.Key!);
    token = page.NextContinuationToken;
  } while (token);
  let next = 0;
  let bytes = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const t0 = performance.now();
        const answer = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
        bytes += (await answer.Body!.transformToByteArray()).length;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: keys.length, errors: 0, bytes, records: 0, seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

export async function produceLatency(url: string, topic: string, durationMs: number): Promise<LoadResult> {
  const { body } = batch(1024, 16 * 1024);
  return runLoad({
    origin: url,
    method: 'POST',
    concurrency: 2,
    durationMs,
    request: (i) => ({ path: `/v1/topics/${topic}/partitions/${i % 2}/batches?acks=1`, body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
  });
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

export async function runTierBench(): Promise<Row[]> {
  const s3 = await S3Server.start();
  const rows: Row[] = [];
  // A small cache, so that every replay pass really reads the bucket.
  const broker = await BrokerProcess.start({
    env: { ...s3.brokerEnv('bench'), STRATA_LOG_LEVEL: 'warn', STRATA_TIER_INTERVAL_MS: '100', STRATA_REMOTE_CACHE_BYTES: String(32 * MiB) },
  });
  try {
    // Replay vs raw GetObject.
    const partitions = 4;
    await createTopic(broker.url, 'backlog', partitions, { 'segment.bytes': 8 * MiB, 'local.retention.bytes': 0 });
    await produceBytes(broker.url, 'backlog', partitions, 160 * MiB);
    const settled = await waitSettled(broker.url, 'backlog');
    const remoteEnds = settled.partitions.map((p) => p.remoteLogEndOffset);
    const segments = settled.partitions.reduce((n, p) => n + p.remoteSegments, 0);
    const raw = await rawGets(s3, 'bench/topics/backlog/', partitions);
    const viaBroker = await replay(broker.url, 'backlog', remoteEnds);
    const raw2 = await rawGets(s3, 'bench/topics/backlog/', partitions);
    const rawBest = raw.bytes / raw.seconds > raw2.bytes / raw2.seconds ? raw : raw2;
    rows.push({
      name: `replay ${round(viaBroker.bytes / MiB, 0)} MiB backlog from the bucket (${segments} segment objects, ${partitions} readers)`,
      'strata MB/s': round(viaBroker.bytes / viaBroker.seconds / 1e6),
      'baseline MB/s': round(rawBest.bytes / rawBest.seconds / 1e6),
      ratio: round(viaBroker.bytes / viaBroker.seconds / (rawBest.bytes / rawBest.seconds), 2),
      note: 'baseline: GetObject of the same objects, same SDK, same parallelism',
    });

    // Produce p99 with and without a concurrent replay.
    await createTopic(broker.url, 'live', 2);
    await produceLatency(broker.url, 'live', 1000); // warm-up
    const quiet = await produceLatency(broker.url, 'live', 4000);
    let replaying = true;
    const replayLoop = (async () => {
      let passes = 0;
      while (replaying) {
        await replay(broker.url, 'backlog', remoteEnds);
        passes++;
      }
      return passes;
    })();
    const busy = await produceLatency(broker.url, 'live', 4000);
    replaying = false;
    await replayLoop;
    rows.push({
      name: 'produce p99, 16 KiB batches, 2 in flight: alone / during a bucket replay',
      'strata p50/p99 ms': `${round(quiet.p50Ms, 2)}/${round(quiet.p99Ms, 2)} -> ${round(busy.p50Ms, 2)}/${round(busy.p99Ms, 2)}`,
      ratio: round(busy.p99Ms / quiet.p99Ms, 2),
      note: 'ratio = p99 during replay / p99 alone (target <= 1.10)',
    });

    // S3 PUTs per GiB at default settings (segment.bytes 128 MiB).
    await createTopic(broker.url, 'ingest', 1);
    const before = await metric(broker.url, /^strata_s3_requests_total\{operation="(PutObject|UploadPart|CreateMultipartUpload|CompleteMultipartUpload)"\}/);
    const uploadedBefore = await metric(broker.url, /^strata_tier_upload_bytes_total /);
    await produceBytes(broker.url, 'ingest', 1, 3 * 128 * MiB + 8 * MiB);
    await waitSettledSealed(broker.url, 'ingest', 3);
    const puts = (await metric(broker.url, /^strata_s3_requests_total\{operation="(PutObject|UploadPart|CreateMultipartUpload|CompleteMultipartUpload)"\}/)) - before;
    const uploaded = (await metric(broker.url, /^strata_tier_upload_bytes_total /)) - uploadedBefore;
    rows.push({
      name: 'S3 PUT requests per GiB ingested, default settings (128 MiB segments)',
      'PUTs/GiB': round(puts / (uploaded / 1024 / MiB), 1),
      note: `${puts} PUT-class requests for ${round(uploaded / MiB, 0)} MiB uploaded in the window (segment objects, manifest snapshots, topic configs; target <= 20)`,
    });
  } finally {
    await broker.stop();
    await s3.stop();
  }
  return rows;
}

async function waitSettledSealed(url: string, topic: string, segments: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const described = await json<TopicView>(`${url}/v1/topics/${topic}`);
    const p = described.partitions[0]!;
    if (p.remoteSegments >= segments && p.uploadLagSegments === 0) return;
    if (Date.now() > deadline) throw new Error(`${topic}: ${segments} segments were not uploaded in time`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

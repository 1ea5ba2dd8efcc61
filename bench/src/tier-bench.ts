/**
 * Tiered storage, measured against the same object store in the same run:
 * - replay of a multi-segment backlog from the bucket through the broker, beside raw GetObject of
 *   the same objects with the same SDK (target ratio >= 0.8);
 * - produce p99 with and without a concurrent replay (target: at most 10% higher);
 * - S3 PUT requests per GiB ingested at default settings (target <= 20).
 * The object store is s3rver (a real S3 HTTP server) on loopback; MinIO is what users run.
 * The replay and its raw baseline alternate over STRATA_BENCH_ROUNDS (3) rounds; with
 * STRATA_BENCH_BEFORE (a built checkout) that build's broker replays its own copy of the backlog
 * (another prefix, the same s3rver) in the same rounds. STRATA_BENCH_TIER_SECTIONS
 * (replay,interference,puts by default) picks the measurements.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Pool } from 'undici';
import { join } from 'node:path';
import { BrokerProcess, S3Server } from '@strata/test';
import { encodeRecordBatch } from '@strata/protocol';
import { quantile, runLoad, type LoadResult } from './load.js';
import type { Row } from './broker-bench.js';
import { median, spread } from './stats.js';

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

const ROUNDS = Math.max(3, Number(process.env.STRATA_BENCH_ROUNDS ?? 3));
const SECTIONS = new Set((process.env.STRATA_BENCH_TIER_SECTIONS ?? 'replay,interference,puts').split(','));
const BACKLOG_PARTITIONS = 4;

interface ReplayTarget {
  build: 'this' | 'before';
  broker: BrokerProcess;
  prefix: string;
  remoteEnds: number[];
  segments: number;
}

async function startReplayTarget(s3: S3Server, build: ReplayTarget['build'], cliMain?: string): Promise<ReplayTarget> {
  const prefix = build === 'this' ? 'bench' : 'bench-before';
  // A small cache, so that every replay pass really reads the bucket.
  const broker = await BrokerProcess.start({
    env: { ...s3.brokerEnv(prefix), STRATA_LOG_LEVEL: 'warn', STRATA_TIER_INTERVAL_MS: '100', STRATA_REMOTE_CACHE_BYTES: String(32 * MiB) },
    ...(cliMain === undefined ? {} : { cliMain }),
  });
  if (SECTIONS.has('replay') || SECTIONS.has('interference')) {
    await createTopic(broker.url, 'backlog', BACKLOG_PARTITIONS, { 'segment.bytes': 8 * MiB, 'local.retention.bytes': 0 });
    await produceBytes(broker.url, 'backlog', BACKLOG_PARTITIONS, 160 * MiB);
  }
  const settled = SECTIONS.has('replay') || SECTIONS.has('interference') ? await waitSettled(broker.url, 'backlog') : { partitions: [] };
  return {
    build,
    broker,
    prefix,
    remoteEnds: settled.partitions.map((p) => p.remoteLogEndOffset),
    segments: settled.partitions.reduce((n, p) => n + p.remoteSegments, 0),
  };
}

/** The broker's garbage collections so far, by kind (prom-client's nodejs_gc_duration_seconds). */
async function gcCounts(url: string): Promise<{ minor: number; major: number }> {
  const counts = { minor: 0, major: 0 };
  for (const line of (await (await fetch(`${url}/metrics`)).text()).split('\n')) {
    const match = /^nodejs_gc_duration_seconds_count\{kind="(minor|major)"\} (\S+)/.exec(line);
    if (match) counts[match[1] as 'minor' | 'major'] = Number(match[2]);
  }
  return counts;
}

/** Replay through each build's broker beside raw GetObject of the same objects, alternated, ROUNDS times. */
async function replayRows(s3: S3Server, targets: ReplayTarget[]): Promise<Row[]> {
  const runs = new Map(targets.map((t) => [t.build, { via: [] as number[], raw: [] as number[], ratio: [] as number[], minorGcs: [] as number[], majorGcs: [] as number[] }]));
  const mbPerS = (r: LoadResult): number => r.bytes / r.seconds / 1e6;
  for (let r = 0; r < ROUNDS; r++) {
    for (const target of r % 2 === 0 ? targets : [...targets].reverse()) {
      const run = runs.get(target.build)!;
      let raw = 0;
      let via = 0;
      for (const side of r % 2 === 0 ? ['raw', 'via'] : ['via', 'raw']) {
        if (side === 'raw') raw = mbPerS(await rawGets(s3, `${target.prefix}/topics/backlog/`, BACKLOG_PARTITIONS));
        else {
          const gcBefore = await gcCounts(target.broker.url);
          const result = await replay(target.broker.url, 'backlog', target.remoteEnds);
          const gcAfter = await gcCounts(target.broker.url);
          via = mbPerS(result);
          const gib = result.bytes / 1024 / MiB;
          run.minorGcs.push((gcAfter.minor - gcBefore.minor) / gib);
          run.majorGcs.push((gcAfter.major - gcBefore.major) / gib);
        }
      }
      run.via.push(via);
      run.raw.push(raw);
      run.ratio.push(via / raw);
      console.error(JSON.stringify({ round: r, build: target.build, replayMbPerS: via, rawMbPerS: raw }));
    }
  }
  return targets.map((target) => {
    const run = runs.get(target.build)!;
    return {
      name: `${target.build === 'before' ? 'before (STRATA_BENCH_BEFORE): ' : ''}replay the 160 MiB backlog from the bucket (${target.segments} segment objects, ${BACKLOG_PARTITIONS} readers), ${ROUNDS} rounds`,
      'strata MB/s': spread(run.via),
      // The broker's collections per GiB replayed: what its per-read allocations cost it.
      'broker GCs/GiB minor, major': `${spread(run.minorGcs, 0)}, ${spread(run.majorGcs, 0)}`,
      'baseline MB/s': spread(run.raw),
      ratio: `${round(median(run.ratio), 2)} (per round ${run.ratio.map((x) => round(x, 2)).join(', ')})`,
      note: 'baseline: GetObject of the same objects, same SDK, same parallelism, beside it in each round',
    };
  });
}

export async function runTierBench(): Promise<Row[]> {
  const s3 = await S3Server.start();
  const rows: Row[] = [];
  const targets: ReplayTarget[] = [];
  try {
    targets.push(await startReplayTarget(s3, 'this'));
    const before = process.env.STRATA_BENCH_BEFORE;
    if (before !== undefined && SECTIONS.has('replay')) targets.push(await startReplayTarget(s3, 'before', join(before, 'services', 'cli', 'dist', 'main.js')));
    if (SECTIONS.has('replay')) rows.push(...(await replayRows(s3, targets)));
    const { broker, remoteEnds } = targets[0]!;
    if (SECTIONS.has('interference')) await interferenceRow(broker, remoteEnds, rows);
    if (SECTIONS.has('puts')) await putsRow(broker, rows);
  } finally {
    for (const { broker } of targets) await broker.stop();
    await s3.stop();
  }
  return rows;
}

async function interferenceRow(broker: BrokerProcess, remoteEnds: number[], rows: Row[]): Promise<void> {
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
}

async function putsRow(broker: BrokerProcess, rows: Row[]): Promise<void> {
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

/**
 * `pnpm bench producer`: the client Producer with default settings against one broker process
 * (acks 'all', idempotent, one partition): records/s of 100 B records sent by a loop that keeps
 * two windows of sends outstanding, and the latency of lone 1 KiB sends awaited one at a time
 * (what the default lingerMs costs a lone record) and of 1 KiB sends paced at 5,000 records/s.
 * Each round is a fresh client process against a fresh broker (this checkout's); median (min-max)
 * of STRATA_BENCH_ROUNDS (3). With STRATA_BENCH_BEFORE=<a built checkout>, each round also runs
 * that checkout's client, the two alternated (which goes first alternates by round). Not a test:
 * nothing asserts a time.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordMetadata } from '@strata/client';
import { BrokerProcess, REPO_ROOT } from '@strata/test';
import { quantile } from './load.js';

type Client = typeof import('@strata/client');
type Producer = InstanceType<Client['Producer']>;

export interface Row {
  name: string;
  [column: string]: string | number;
}

const ROUNDS = Number(process.env.STRATA_BENCH_ROUNDS ?? 3);
const THROUGHPUT_RECORDS = 400_000;
/** Sends issued before the loop awaits the window before the previous one. */
const WINDOW_RECORDS = 20_000;
const LONE_SENDS = 2_000;
const PACED_RATE_PER_SEC = 5_000;
const PACED_SECONDS = 4;
/** The argument that makes this module run one round in its own process and print it as JSON. */
const ROUND_FLAG = '--producer-round';
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

async function throughput(producer: Producer): Promise<number> {
  const value = Buffer.alloc(100, 0x61);
  await producer.send({ topic: 'bench-producer', value });
  const started = performance.now();
  let previous: Array<Promise<RecordMetadata>> = [];
  for (let sent = 0; sent < THROUGHPUT_RECORDS; sent += WINDOW_RECORDS) {
    const window: Array<Promise<RecordMetadata>> = [];
    for (let i = 0; i < WINDOW_RECORDS; i++) window.push(producer.send({ topic: 'bench-producer', value }));
    await Promise.all(previous);
    previous = window;
  }
  await Promise.all(previous);
  return THROUGHPUT_RECORDS / ((performance.now() - started) / 1000);
}

/**
 * The same loop through send(record, callback): one shared callback counts acknowledgements (they
 * come in send order on one partition), a window is done when the count passes its last record.
 */
async function throughputWithCallback(producer: Producer): Promise<number> {
  const value = Buffer.alloc(100, 0x61);
  await producer.send({ topic: 'bench-producer-callback', value });
  let acknowledged = 0;
  let failure: unknown = null;
  let waiter: { until: number; wake: () => void } | null = null;
  const onAcknowledged = (error: unknown): void => {
    if (error !== null) failure ??= error;
    acknowledged++;
    if (waiter !== null && (acknowledged >= waiter.until || failure !== null)) waiter.wake();
  };
  const acknowledgedUpTo = (until: number): Promise<void> =>
    acknowledged >= until ? Promise.resolve() : new Promise((wake) => (waiter = { until, wake }));
  const started = performance.now();
  for (let sent = 0; sent < THROUGHPUT_RECORDS; sent += WINDOW_RECORDS) {
    for (let i = 0; i < WINDOW_RECORDS; i++) producer.send({ topic: 'bench-producer-callback', value }, onAcknowledged);
    await acknowledgedUpTo(sent);
    if (failure !== null) throw failure;
  }
  await acknowledgedUpTo(THROUGHPUT_RECORDS);
  if (failure !== null) throw failure;
  return THROUGHPUT_RECORDS / ((performance.now() - started) / 1000);
}

async function loneSends(producer: Producer): Promise<number[]> {
  const value = Buffer.alloc(1024, 0x62);
  const samples: number[] = [];
  for (let i = 0; i < LONE_SENDS; i++) {
    const t = performance.now();
    await producer.send({ topic: 'bench-producer-latency', value });
    samples.push(performance.now() - t);
  }
  return samples.sort((a, b) => a - b);
}

/** Open loop: sends every 1/rate s on schedule (in bursts when the timer is late), each timed from its schedule. */
async function pacedSends(producer: Producer): Promise<number[]> {
  const value = Buffer.alloc(1024, 0x63);
  const samples: number[] = [];
  const sends: Array<Promise<void>> = [];
  const intervalMs = 1000 / PACED_RATE_PER_SEC;
  const started = performance.now();
  const total = PACED_RATE_PER_SEC * PACED_SECONDS;
  for (let i = 0; i < total; ) {
    const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
    for (; i < due; i++) {
      const scheduled = started + i * intervalMs;
      sends.push(producer.send({ topic: 'bench-producer-latency', value }).then(() => void samples.push(performance.now() - scheduled)));
    }
    await sleep(1);
  }
  await Promise.all(sends);
  return samples.sort((a, b) => a - b);
}

interface Round {
  recordsPerSec: number;
  /** send(record, callback), when the client has it (null for a build without). */
  callbackRecordsPerSec: number | null;
  lone: number[];
  paced: number[];
}

/** One round in this process, with the client of `checkout`. */
async function oneRound(checkout: string): Promise<Round> {
  const client = (await import(pathToFileURL(join(checkout, 'packages/client/dist/index.js')).href)) as Client;
  const broker = await BrokerProcess.start({ env: { STRATA_LOG_LEVEL: 'warn' } });
  const admin = new client.Admin({ brokers: broker.url });
  const producer = new client.Producer({ brokers: broker.url });
  try {
    await admin.createTopic({ name: 'bench-producer', partitions: 1 });
    await admin.createTopic({ name: 'bench-producer-latency', partitions: 1 });
    const recordsPerSec = await throughput(producer);
    await admin.createTopic({ name: 'bench-producer-callback', partitions: 1 });
    // A build whose send() takes no callback ignores it (and would never call it): skipped.
    const callbackRecordsPerSec = producer.send.length >= 2 ? await throughputWithCallback(producer) : null;
    return { recordsPerSec, callbackRecordsPerSec, lone: await loneSends(producer), paced: await pacedSends(producer) };
  } finally {
    await producer.close();
    await admin.close();
    await broker.stop();
  }
}

/** One round in a fresh process (no JIT or heap state carried over from another round or client). */
async function roundInProcess(checkout: string): Promise<Round> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ROUND_FLAG, checkout], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`producer bench round (client of ${checkout}) exited with ${code}`);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Round;
}

function spread(values: number[], digits = 2): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${round(quantile(sorted, 0.5), digits)} (${round(sorted[0]!, digits)}-${round(sorted.at(-1)!, digits)})`;
}

function rows(rounds: Round[], label: string): Row[] {
  return [
    { name: `Producer${label}, 100 B records, 1 partition (records/s)`, value: spread(rounds.map((r) => r.recordsPerSec), 0) },
    ...(rounds.every((r) => r.callbackRecordsPerSec !== null)
      ? [{ name: `Producer${label}, send(record, callback), 100 B, 1 partition (records/s)`, value: spread(rounds.map((r) => r.callbackRecordsPerSec!), 0) }]
      : []),
    { name: `Producer${label}, lone 1 KiB sends awaited one by one: p50 ms`, value: spread(rounds.map((r) => quantile(r.lone, 0.5))) },
    { name: `Producer${label}, lone 1 KiB sends awaited one by one: p99 ms`, value: spread(rounds.map((r) => quantile(r.lone, 0.99))) },
    { name: `Producer${label}, 1 KiB at ${PACED_RATE_PER_SEC} records/s: p50 ms`, value: spread(rounds.map((r) => quantile(r.paced, 0.5))) },
    { name: `Producer${label}, 1 KiB at ${PACED_RATE_PER_SEC} records/s: p99 ms`, value: spread(rounds.map((r) => quantile(r.paced, 0.99))) },
  ];
}

export async function runProducerBench(): Promise<Row[]> {
  const before = process.env.STRATA_BENCH_BEFORE ?? null;
  const after: Round[] = [];
  const previous: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (before !== null && i % 2 === 0) previous.push(await roundInProcess(before));
    after.push(await roundInProcess(REPO_ROOT));
    if (before !== null && i % 2 === 1) previous.push(await roundInProcess(before));
  }
  return before === null ? rows(after, '') : [...rows(previous, ` (before: ${before})`), ...rows(after, ' (this checkout)')];
}

if (process.argv[2] === ROUND_FLAG) {
  const result = await oneRound(process.argv[3]!);
  process.stdout.write(JSON.stringify(result));
}

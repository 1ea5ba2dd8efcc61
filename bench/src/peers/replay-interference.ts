/**
 * Produce p99 while a full-speed replay from the bucket runs (issue #16: at most ×1.1 of produce
 * alone). The tier bench's setup, reused (tier-bench.ts): s3rver on loopback as the object store (a
 * real S3 HTTP server; not the embedded directory store), a 4-partition backlog of 8 MiB segments
 * tiered away from local disk, a small remote cache so every pass really reads the bucket, and the
 * same produce load (16 KiB batches, 2 in flight, acks=1) on another topic. The replay runs in its
 * own process (replay-reader.ts). Rounds alternate "alone" and "during replay", each both unpinned
 * and pinned with `taskset`: the broker on core 1; s3rver, the replay reader and this load generator
 * on core 0 (a 2-core machine has no third core: pinning keeps the others off the broker's core, it
 * cannot keep them off each other's).
 * With STRATA_BENCH_BEFORE (a built checkout), that build's broker runs the same rounds beside this
 * one's (its own backlog under another prefix of the same s3rver), builds alternated per round. Each
 * window also reads the broker's own view from /metrics (event-loop delay, GC time) and its CPU time,
 * to tell a broker that was busy from one that waited for a core.
 * STRATA_BENCH_BROKER_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, space-separated) goes to the brokers'
 * node command line only (not NODE_OPTIONS, which refuses --cpu-prof on Node 20).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { BrokerProcess, S3Server } from '@strata/test';
import { createTopic, produceBytes, produceLatency, waitSettled } from '../tier-bench.js';
import { allCores, canPin, cpuSeconds, mainThreadSchedMs, pin } from './processes.js';

const MiB = 1024 * 1024;
const BACKLOG_BYTES = 160 * MiB;
const BACKLOG_PARTITIONS = 4;
const WINDOW_MS = 4_000;
/** The sampling period of the load generator's own event-loop delay histogram (prom-client's default in the broker). */
const LOOP_DELAY_RESOLUTION_MS = 10;
const BROKER_CORE = '1';
const OTHERS_CORE = '0';
const READER_SCRIPT = fileURLToPath(new URL('./replay-reader.js', import.meta.url));

export type Build = 'this' | 'before';

/** What the broker says about one measurement window (read from its /metrics, reset before it). */
export interface BrokerWindow {
  /** Event-loop delay p99 and max over the window (perf_hooks.monitorEventLoopDelay through prom-client). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Time in GC pauses during the window, all kinds. */
  gcMs: number;
  /** CPU the broker used, in cores (CPU seconds / wall seconds). */
  cores: number;
  /**
   * Share of the window the broker's main thread ran, and the share it was runnable but waited
   * for a core (the scheduler's run queue): the second is contention, not the broker's own work.
   */
  mainThreadRunShare: number;
  mainThreadWaitShare: number;
  /**
   * Event-loop delay p99 of this process, the load generator: a produce it times includes it, so a
   * p99 the broker did not cause shows here (the generator shares core 0 with s3rver and the reader).
   */
  clientLoopDelayP99Ms: number;
  /** Bytes fetched from the bucket per byte a fetch served from it (above 1: chunks read ahead were evicted unread). */
  bucketBytesPerServedByte: number;
  /** The window on CLOCK_MONOTONIC in µs (process.hrtime's clock and a --cpu-prof's), to cut a profile to it. */
  monotonicUs: [number, number];
}

export interface InterferenceTrial {
  build: Build;
  pinned: boolean;
  aloneP99Ms: number;
  busyP99Ms: number;
  aloneP50Ms: number;
  busyP50Ms: number;
  /** The replay's rate while it ran beside produce. */
  replayMbPerS: number;
  alone: BrokerWindow;
  busy: BrokerWindow;
}

interface Target {
  build: Build;
  broker: BrokerProcess;
  ends: number[];
}

export async function runReplayInterference(rounds: number): Promise<InterferenceTrial[]> {
  const s3 = await S3Server.start();
  const before = process.env.STRATA_BENCH_BEFORE;
  const nodeOptions = process.env.STRATA_BENCH_BROKER_NODE_OPTIONS;
  const builds: Array<{ build: Build; cliMain?: string }> = [{ build: 'this' }];
  if (before !== undefined) builds.push({ build: 'before', cliMain: join(before, 'services', 'cli', 'dist', 'main.js') });
  const pinning = canPin() ? [false, true] : [false];
  if (pinning.length === 1) console.log('replay interference: taskset or a second core is missing, so unpinned only');
  const targets: Target[] = [];
  const trials: InterferenceTrial[] = [];
  try {
    for (const { build, cliMain } of builds) {
      const broker = await BrokerProcess.start({
        env: {
          ...s3.brokerEnv(`bench-${build}`),
          STRATA_LOG_LEVEL: 'warn',
          STRATA_TIER_INTERVAL_MS: '100',
          STRATA_REMOTE_CACHE_BYTES: String(32 * MiB),
        },
        ...(nodeOptions === undefined ? {} : { nodeFlags: nodeOptions.split(/\s+/).filter((f) => f !== '') }),
        ...(cliMain === undefined ? {} : { cliMain }),
      });
      targets.push({ build, broker, ends: [] });
      await createTopic(broker.url, 'backlog', BACKLOG_PARTITIONS, { 'segment.bytes': 8 * MiB, 'local.retention.bytes': 0 });
      await produceBytes(broker.url, 'backlog', BACKLOG_PARTITIONS, BACKLOG_BYTES);
      targets.at(-1)!.ends = (await waitSettled(broker.url, 'backlog')).partitions.map((p) => p.remoteLogEndOffset);
      await createTopic(broker.url, 'live', 2);
      await produceLatency(broker.url, 'live', 1000); // warm-up
    }
    for (let r = 0; r < rounds; r++) {
      for (const target of r % 2 === 0 ? targets : [...targets].reverse()) {
        for (const pinned of r % 2 === 0 ? pinning : [...pinning].reverse()) trials.push(await trial(s3, target, pinned, r));
      }
    }
  } finally {
    pin(process.pid, allCores());
    for (const { broker } of targets) await broker.stop();
    await s3.stop();
  }
  return trials;
}

async function trial(s3: S3Server, { build, broker, ends }: Target, pinned: boolean, round: number): Promise<InterferenceTrial> {
  const placement = pinned ? { broker: BROKER_CORE, others: OTHERS_CORE } : { broker: allCores(), others: allCores() };
  pin(broker.pid!, placement.broker);
  pin(s3.pid!, placement.others);
  pin(process.pid, placement.others);
  // Alternated within the pair too, so that drift does not always favour the same side.
  let alone = null;
  let busy = null;
  for (const mode of round % 2 === 0 ? ['alone', 'busy'] : ['busy', 'alone']) {
    if (mode === 'alone') alone = await observed(broker, () => produceLatency(broker.url, 'live', WINDOW_MS));
    else busy = await observed(broker, () => duringReplay(broker.url, ends, placement.others, () => produceLatency(broker.url, 'live', WINDOW_MS)));
  }
  const trial: InterferenceTrial = {
    build,
    pinned,
    aloneP99Ms: alone!.result.p99Ms,
    aloneP50Ms: alone!.result.p50Ms,
    busyP99Ms: busy!.result.result.p99Ms,
    busyP50Ms: busy!.result.result.p50Ms,
    replayMbPerS: busy!.result.replayMbPerS,
    alone: alone!.window,
    busy: busy!.window,
  };
  console.error(JSON.stringify(trial));
  return trial;
}

/** Runs `measure` and reports what the broker saw meanwhile: a scrape before resets the event-loop histogram. */
async function observed<T>(broker: BrokerProcess, measure: () => Promise<T>): Promise<{ result: T; window: BrokerWindow }> {
  const before = await scrape(broker.url);
  const cpuBefore = cpuSeconds(broker.pid!);
  const schedBefore = mainThreadSchedMs(broker.pid!);
  const clientLoopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  clientLoopDelay.enable();
  const started = process.hrtime.bigint();
  const result = await measure();
  const ended = process.hrtime.bigint();
  clientLoopDelay.disable();
  const wallSeconds = Number(ended - started) / 1e9;
  const cpu = cpuSeconds(broker.pid!) - cpuBefore;
  const schedAfter = mainThreadSchedMs(broker.pid!);
  const after = await scrape(broker.url);
  return {
    result,
    window: {
      loopDelayP99Ms: after.loopDelayP99Seconds * 1000,
      loopDelayMaxMs: after.loopDelayMaxSeconds * 1000,
      gcMs: (after.gcSeconds - before.gcSeconds) * 1000,
      bucketBytesPerServedByte: (after.bucketBytes - before.bucketBytes) / (after.servedBytes - before.servedBytes),
      cores: cpu / wallSeconds,
      mainThreadRunShare: (schedAfter.runMs - schedBefore.runMs) / 1000 / wallSeconds,
      mainThreadWaitShare: (schedAfter.waitMs - schedBefore.waitMs) / 1000 / wallSeconds,
      clientLoopDelayP99Ms: clientLoopDelay.percentile(99) / 1e6,
      monotonicUs: [Number(started / 1000n), Number(ended / 1000n)],
    },
  };
}

interface Scrape {
  loopDelayP99Seconds: number;
  loopDelayMaxSeconds: number;
  gcSeconds: number;
  bucketBytes: number;
  servedBytes: number;
}

async function scrape(url: string): Promise<Scrape> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let loopDelayP99Seconds = NaN;
  let loopDelayMaxSeconds = NaN;
  let gcSeconds = 0;
  let bucketBytes = 0;
  let servedBytes = 0;
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('nodejs_eventloop_lag_p99_seconds')) loopDelayP99Seconds = value;
    else if (line.startsWith('nodejs_eventloop_lag_max_seconds')) loopDelayMaxSeconds = value;
    else if (line.startsWith('nodejs_gc_duration_seconds_sum')) gcSeconds += value;
    else if (line.startsWith('strata_tier_cache_fetched_bytes_total')) bucketBytes = value;
    else if (line.startsWith('strata_tier_remote_read_bytes_total')) servedBytes = value;
  }
  return { loopDelayP99Seconds, loopDelayMaxSeconds, gcSeconds, bucketBytes, servedBytes };
}

/** Runs `measure` while a replay reader process (pinned to `cores`) reads the backlog at full speed. */
async function duringReplay<T>(url: string, ends: number[], cores: string, measure: () => Promise<T>): Promise<{ result: T; replayMbPerS: number }> {
  const reader = spawn(process.execPath, [READER_SCRIPT, url, 'backlog', ends.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(reader, 'exit');
  const lines = createInterface({ input: reader.stdout! })[Symbol.asyncIterator]();
  try {
    pin(reader.pid!, cores);
    const ready = await lines.next();
    if (ready.done === true || ready.value !== 'ready') throw new Error('the replay reader did not start');
    const result = await measure();
    reader.kill('SIGTERM');
    const summary = await lines.next();
    if (summary.done === true) throw new Error('the replay reader exited without a summary');
    const { bytes, seconds } = JSON.parse(summary.value) as { bytes: number; seconds: number };
    return { result, replayMbPerS: bytes / seconds / 1e6 };
  } finally {
    if (reader.exitCode === null && reader.signalCode === null) reader.kill('SIGKILL');
    await exited;
  }
}

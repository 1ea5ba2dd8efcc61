/**
 * `pnpm bench quotas`: issue #14's quota target. Two producers share one broker through the Kafka
 * listener; one (client id `throttled`) is far over its producer_byte_rate, the other (`free`) has
 * no quota. Shown: the throttled producer's acknowledged rate against its quota, over the whole
 * measured window and per 5 s of it; the free producer's throughput and p99 beside the same
 * producer running alone.
 *
 * Honest by construction:
 * - every producer is its own process (quota-producer.ts), so neither shares an event loop or a
 *   heap with the other or with this bench;
 * - every trial starts a fresh broker and stops it after; "alone" and the shared trials take turns
 *   in a rotated order each round; each figure is the median of the rounds with its min and max;
 * - the free producer is the pre-encoded Produce v7 path of `pnpm bench kafka` (64 KiB batches, 8 in
 *   flight): it asks nothing of its own CPU, so it keeps the broker saturated and any broker time
 *   the throttled producer takes shows in its figures (kafkajs as the free producer would measure
 *   kafkajs: it reaches about 0.4x of that path);
 * - the throttled producer is run twice per round: kafkajs (a real client, which waits out the
 *   throttle_time_ms it is told, KIP-219) and the pre-encoded path (which ignores it: only the
 *   broker's muted connection holds it back);
 * - with `taskset` and two or more CPUs, the broker runs on CPU 0 and the producers on CPU 1, so the
 *   load generators do not take the broker's core (STRATA_BENCH_QUOTA_PIN=0 turns it off).
 * - the broker's CPU seconds over the window are read from /proc: the free producer's bytes per
 *   broker CPU-second, shared against alone, is the throttled producer's cost to the broker, and it
 *   holds whatever share of a core a busy machine gave the broker in each trial (throughput does not).
 * The Kafka front door, not HTTP: it is the one with a throttle-time protocol (answer, then mute)
 * and real clients to hold to it; HTTP refuses a client that owes time (429 + Retry-After) before
 * any work, and that path is the same quota manager.
 *
 * The measured window (STRATA_BENCH_QUOTA_SECONDS, 30) starts one whole quota span (11 s, Kafka's
 * 11 windows of 1 s) after every producer's first answered send and after the throttled one's first
 * burst (10 s of its quota, which a new client may take at once: not its steady rate). Not a test: nothing here asserts
 * a time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '@strata/test';
import { round, type Row } from './broker-bench.js';
import type { MeasureWindow, ProducerPlan, ProducerReport } from './quota-producer.js';
import { spread } from './stats.js';

const RECORD_BYTES = 1024;
const PARTITIONS = 4;
/** The throttled producer's producer_byte_rate: far below what it would send unthrottled. */
const QUOTA_BYTES_PER_SECOND = 1024 * 1024;
/** One quota span with Kafka's default windows (11 x 1 s): the warm-up, from every producer's ready to the window. */
const WARMUP_MS = 11_000;
/** A new client's first burst, in seconds of its quota (the broker's default span less one window: quotas/token-bucket.ts). */
const FIRST_BURST_SECONDS = 10;
/** The throttled producer's rate is also shown per bucket of this length, to show it holds all along. */
const BUCKET_MS = 5_000;
const ROUNDS = intFromEnv('STRATA_BENCH_ROUNDS', 3, 1, 50);
const MEASURE_MS = intFromEnv('STRATA_BENCH_QUOTA_SECONDS', 30, 5, 600) * 1000;
const PIN = process.env.STRATA_BENCH_QUOTA_PIN !== '0' && availableParallelism() >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const BROKER_CPU = '0';
const PRODUCER_CPU = '1';
/** How long a producer may take to have its first send answered (process start, connect, metadata). */
const READY_TIMEOUT_MS = 60_000;
const PRODUCER_SCRIPT = fileURLToPath(new URL('./quota-producer.js', import.meta.url));

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, not ${process.env[name]}`);
  return value;
}

/** The producers of one trial beside the free one: none ("alone"), or a throttled one with this client. */
type TrialKind = 'alone' | 'kafkajs' | 'raw';
const KINDS: readonly TrialKind[] = ['alone', 'kafkajs', 'raw'];
const KIND_NAME: Readonly<Record<TrialKind, string>> = {
  alone: 'free alone',
  kafkajs: 'shared with throttled kafkajs (waits out throttle_time_ms)',
  raw: 'shared with throttled pre-encoded Produce (ignores throttle_time_ms)',
};

interface TrialResult {
  free: ProducerReport;
  throttled: ProducerReport | null;
  /** CPU seconds the broker process used over the measured window. */
  brokerCpuSeconds: number;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds `pid` has used so far (user + system, every thread), from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), counted from field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** Resolves at wall-clock `atMs`. */
const until = (atMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, atMs - Date.now())));

interface ProducerProcess {
  /** Settles once the producer's first send is answered. */
  ready: Promise<void>;
  /** Starts its measured window; its report once it has run to the end. */
  measure: (window: MeasureWindow) => Promise<ProducerReport>;
  /** Ends it if it still runs (a trial that failed). */
  kill: () => void;
}

/** Starts one producer process (it produces at once; see quota-producer.ts). */
function startProducer(plan: ProducerPlan): ProducerProcess {
  const [command, args] = PIN ? ['taskset', ['-c', PRODUCER_CPU, process.execPath, PRODUCER_SCRIPT, JSON.stringify(plan)]] : [process.execPath, [PRODUCER_SCRIPT, JSON.stringify(plan)]];
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`producer ${plan.clientId} (${plan.client}) exited ${code}: ${stderr.slice(0, 1000)}`)))),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`producer ${plan.clientId} (${plan.client}): no send answered in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.startsWith('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then(() => reject(new Error(`producer ${plan.clientId} exited before it was ready`)), reject);
  });
  return {
    ready,
    measure: async (window) => {
      child.stdin.end(`${JSON.stringify(window)}\n`);
      await exited;
      return JSON.parse(stdout.slice('ready\n'.length)) as ProducerReport;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function trial(kind: TrialKind): Promise<TrialResult> {
  const broker = await BrokerProcess.start({ kafka: true, env: { STRATA_LOG_LEVEL: 'warn' } });
  const producers: ProducerProcess[] = [];
  try {
    if (PIN) {
      // -a: every thread the broker has (libuv's pool, workers), and those it starts later inherit it.
      const pinned = spawnSync('taskset', ['-a', '-p', '-c', BROKER_CPU, String(broker.pid ?? -1)], { stdio: 'ignore' });
      if (pinned.status !== 0) throw new Error(`taskset could not pin the broker (pid ${broker.pid}) to CPU ${BROKER_CPU}`);
    }
    for (const name of ['free', 'throttled']) {
      const created = await broker.http.post('/v1/topics', { name, partitions: PARTITIONS });
      if (created.status !== 201) throw new Error(`create topic ${name}: ${created.status}`);
    }
    const quota = await broker.http.post('/v1/quotas', { changes: [{ entity: { clientId: 'throttled' }, set: { producer_byte_rate: QUOTA_BYTES_PER_SECOND } }] });
    if (quota.status !== 200) throw new Error(`set the quota: ${quota.status}`);

    const common = { port: broker.kafkaPort!, partitions: PARTITIONS, recordBytes: RECORD_BYTES, bucketMs: BUCKET_MS };
    producers.push(startProducer({ ...common, client: 'raw', clientId: 'free', topic: 'free', concurrency: 8, recordsPerSend: 64, readyAfterBytes: 0 }));
    if (kind !== 'alone') {
      const burstBytes = QUOTA_BYTES_PER_SECOND * FIRST_BURST_SECONDS;
      producers.push(startProducer({ ...common, client: kind, clientId: 'throttled', topic: 'throttled', concurrency: 4, recordsPerSend: 16, readyAfterBytes: burstBytes }));
    }
    // The warm-up starts once every producer is sending, the throttled one past its first burst.
    await Promise.all(producers.map((p) => p.ready));
    const measureFromMs = Date.now() + WARMUP_MS;
    const stopAtMs = measureFromMs + MEASURE_MS;
    const reports = Promise.all(producers.map((p) => p.measure({ measureFromMs, stopAtMs })));
    await until(measureFromMs);
    const cpuFrom = cpuSeconds(broker.pid!);
    await until(stopAtMs);
    const brokerCpuSeconds = cpuSeconds(broker.pid!) - cpuFrom;
    const [free, throttled] = await reports;
    return { free: free!, throttled: throttled ?? null, brokerCpuSeconds };
  } finally {
    for (const p of producers) p.kill();
    await broker.stop(10_000);
    // A trial writes gigabytes: gone now, not when the whole bench exits.
    rmSync(broker.dataDir, { recursive: true, force: true });
  }
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const bytesPerSecond = (report: ProducerReport): number => sum(report.bucketBytes) / (MEASURE_MS / 1000);


export async function runQuotasBench(): Promise<Row[]> {
  const results = new Map<TrialKind, TrialResult[]>(KINDS.map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < KINDS.length; i++) {
      const kind = KINDS[(i + r) % KINDS.length]!;
      results.get(kind)!.push(await trial(kind));
    }
  }
  const alone = results.get('alone')!;
  const rows: Row[] = [];
  for (const kind of KINDS) {
    const trials = results.get(kind)!;
    const row: Row = {
      name: KIND_NAME[kind],
      'free MB/s': spread(trials.map((t) => bytesPerSecond(t.free) / 1e6), 1),
      'free p99 ms': spread(trials.map((t) => t.free.p99Ms), 1),
      'broker CPU share': spread(trials.map((t) => t.brokerCpuSeconds / (MEASURE_MS / 1000)), 2),
    };
    if (kind !== 'alone') {
      // Paired by round: each shared trial against the "alone" trial of its own round.
      row['free MB/s shared/alone'] = spread(trials.map((t, r) => bytesPerSecond(t.free) / bytesPerSecond(alone[r]!.free)), 3);
      row['free p99 shared/alone'] = spread(trials.map((t, r) => t.free.p99Ms / alone[r]!.free.p99Ms), 3);
      // The free producer's bytes per second of broker CPU: what the throttled one costs the broker,
      // whatever share of a core the (shared, noisy) machine gave the broker in each trial.
      const perCpu = (t: TrialResult): number => sum(t.free.bucketBytes) / t.brokerCpuSeconds;
      row['free MB per broker CPU-s shared/alone'] = spread(trials.map((t, r) => perCpu(t) / perCpu(alone[r]!)), 3);
      row['throttled / quota'] = spread(trials.map((t) => bytesPerSecond(t.throttled!) / QUOTA_BYTES_PER_SECOND), 3);
      const buckets = trials.flatMap((t) => t.throttled!.bucketBytes.map((b) => b / (BUCKET_MS / 1000) / QUOTA_BYTES_PER_SECOND));
      row[`throttled per ${BUCKET_MS / 1000} s / quota, min–max`] = `${round(Math.min(...buckets), 3)}–${round(Math.max(...buckets), 3)}`;
    }
    rows.push(row);
  }
  for (const kind of KINDS.filter((k) => k !== 'alone')) {
    results.get(kind)!.forEach((t, r) => {
      rows.push({
        name: `round ${r + 1}, throttled ${kind} per ${BUCKET_MS / 1000} s / quota`,
        series: t.throttled!.bucketBytes.map((b) => round(b / (BUCKET_MS / 1000) / QUOTA_BYTES_PER_SECOND, 3)).join(' '),
        'throttled answers': kind === 'raw' ? t.throttled!.throttledAnswers : 'not seen (kafkajs keeps them)',
      });
    });
  }
  rows.push({ name: `settings: ${ROUNDS} rounds, ${MEASURE_MS / 1000} s measured after ${WARMUP_MS / 1000} s warm-up, quota ${QUOTA_BYTES_PER_SECOND} B/s, ${PIN ? `broker on CPU ${BROKER_CPU}, producers on CPU ${PRODUCER_CPU} (taskset)` : 'no CPU pinning'}` });
  return rows;
}

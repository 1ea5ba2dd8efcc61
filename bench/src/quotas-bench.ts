/**
 * `pnpm bench quotas`: two kafkajs producers share one broker; one (client id `throttled`) is over
 * its producer_byte_rate, the other (`free`) has no quota. Reported, per round and as the median
 * of STRATA_BENCH_ROUNDS (3) rounds:
 * - the throttled producer's acknowledged bytes per second over the measured window, as a ratio of
 *   its quota (1.0 = held exactly to it);
 * - the free producer's throughput and p99 send latency while the throttled one runs, as ratios of
 *   the same producer running alone on the same broker in the same round.
 * Each round starts a fresh broker. The measured window (STRATA_BENCH_QUOTA_SECONDS, 30 s) starts
 * after one whole quota span (11 s) of warm-up: a client's first burst is measured over the full
 * span, so what it sends in the first seconds is not its steady rate. Not a test: nothing here
 * asserts a time; the machine this runs on is shared and noisy.
 */
import kafkajs from 'kafkajs';
import { BrokerProcess } from '@strata/test';
import { round } from './broker-bench.js';

const RECORD_BYTES = 1024;
const RECORDS_PER_SEND = 16;
const PARTITIONS = 4;
/** The throttled producer's quota: far below what it would send unthrottled. */
const QUOTA_BYTES_PER_SECOND = 1024 * 1024;
/** One quota span with Kafka's default windows (11 x 1 s): the warm-up before measuring. */
const WARMUP_MS = 11_000;
const ROUNDS = intFromEnv('STRATA_BENCH_ROUNDS', 3, 1, 50);
const MEASURE_MS = intFromEnv('STRATA_BENCH_QUOTA_SECONDS', 30, 5, 600) * 1000;

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, not ${process.env[name]}`);
  return value;
}

interface Run {
  /** Acknowledged value bytes per second within the measured window. */
  bytesPerSecond: number;
  p99Ms: number;
}

/** A producer sending `concurrency` batches at a time from `startMs` until `stopMs` (performance.now()), measuring what is acknowledged in [measureFromMs, stopMs). */
async function produce(bootstrap: string, clientId: string, topic: string, concurrency: number, measureFromMs: number, stopMs: number): Promise<Run> {
  const client = new kafkajs.Kafka({ clientId, brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = Buffer.alloc(RECORD_BYTES, 0x61);
  const messages = Array.from({ length: RECORDS_PER_SEND }, () => ({ value }));
  let bytes = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let n = 0; performance.now() < stopMs; n++) {
        const sentAt = performance.now();
        await producer.send({ topic, acks: 1, messages: messages.map((m) => ({ ...m, partition: (worker + n) % PARTITIONS })) });
        const doneAt = performance.now();
        if (sentAt >= measureFromMs && doneAt <= stopMs) {
          bytes += RECORD_BYTES * RECORDS_PER_SEND;
          latencies.push(doneAt - sentAt);
        }
      }
    }),
  );
  await producer.disconnect();
  latencies.sort((a, b) => a - b);
  const p99Ms = latencies.length === 0 ? Number.NaN : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!;
  return { bytesPerSecond: bytes / ((stopMs - measureFromMs) / 1000), p99Ms };
}

async function oneRound(index: number): Promise<{ throttledRatio: number; freeAlone: Run; freeShared: Run }> {
  const broker = await BrokerProcess.start({ kafka: true });
  try {
    const bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    for (const name of ['alone', 'shared-free', 'shared-throttled']) {
      const created = await broker.http.post('/v1/topics', { name, partitions: PARTITIONS });
      if (created.status !== 201) throw new Error(`create topic ${name}: ${created.status}`);
    }
    const quota = await broker.http.post('/v1/quotas', { changes: [{ entity: { clientId: 'throttled' }, set: { producer_byte_rate: QUOTA_BYTES_PER_SECOND } }] });
    if (quota.status !== 200) throw new Error(`set the quota: ${quota.status}`);

    const alone = async (): Promise<Run> => {
      const now = performance.now();
      return produce(bootstrap, 'free', 'alone', 4, now + WARMUP_MS, now + WARMUP_MS + MEASURE_MS);
    };
    const shared = async (): Promise<[Run, Run]> => {
      const now = performance.now();
      return Promise.all([
        produce(bootstrap, 'free', 'shared-free', 4, now + WARMUP_MS, now + WARMUP_MS + MEASURE_MS),
        produce(bootstrap, 'throttled', 'shared-throttled', 4, now + WARMUP_MS, now + WARMUP_MS + MEASURE_MS),
      ]);
    };
    // The phases take turns going first (a young broker process is slower), so the order weighs on neither.
    let freeAlone: Run;
    let both: [Run, Run];
    if (index % 2 === 0) {
      freeAlone = await alone();
      both = await shared();
    } else {
      both = await shared();
      freeAlone = await alone();
    }
    const [freeShared, throttled] = both;
    return { throttledRatio: throttled.bytesPerSecond / QUOTA_BYTES_PER_SECOND, freeAlone, freeShared };
  } finally {
    await broker.stop(10_000);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runQuotasBench(): Promise<Record<string, string | number>[]> {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await oneRound(i));
  const rows: Record<string, string | number>[] = rounds.map((r, i) => ({
    round: i + 1,
    'throttled / quota': round(r.throttledRatio, 3),
    'free alone MB/s': round(r.freeAlone.bytesPerSecond / 1e6, 2),
    'free shared MB/s': round(r.freeShared.bytesPerSecond / 1e6, 2),
    'free throughput shared/alone': round(r.freeShared.bytesPerSecond / r.freeAlone.bytesPerSecond, 3),
    'free p99 ms alone/shared': `${round(r.freeAlone.p99Ms)}/${round(r.freeShared.p99Ms)}`,
    'free p99 shared/alone': round(r.freeShared.p99Ms / r.freeAlone.p99Ms, 3),
  }));
  rows.push({
    round: 'median',
    'throttled / quota': round(median(rounds.map((r) => r.throttledRatio)), 3),
    'free alone MB/s': round(median(rounds.map((r) => r.freeAlone.bytesPerSecond)) / 1e6, 2),
    'free shared MB/s': round(median(rounds.map((r) => r.freeShared.bytesPerSecond)) / 1e6, 2),
    'free throughput shared/alone': round(median(rounds.map((r) => r.freeShared.bytesPerSecond / r.freeAlone.bytesPerSecond)), 3),
    'free p99 ms alone/shared': '',
    'free p99 shared/alone': round(median(rounds.map((r) => r.freeShared.p99Ms / r.freeAlone.p99Ms)), 3),
  });
  return rows;
}

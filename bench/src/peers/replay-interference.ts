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
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { BrokerProcess, S3Server } from '@strata/test';
import { createTopic, produceBytes, produceLatency, waitSettled } from '../tier-bench.js';
import { allCores, canPin, pin } from './processes.js';

const MiB = 1024 * 1024;
const BACKLOG_BYTES = 160 * MiB;
const BACKLOG_PARTITIONS = 4;
const WINDOW_MS = 4_000;
const BROKER_CORE = '1';
const OTHERS_CORE = '0';
const READER_SCRIPT = fileURLToPath(new URL('./replay-reader.js', import.meta.url));

export interface InterferenceTrial {
  pinned: boolean;
  aloneP99Ms: number;
  busyP99Ms: number;
  aloneP50Ms: number;
  busyP50Ms: number;
  /** The replay's rate while it ran beside produce. */
  replayMbPerS: number;
}

export async function runReplayInterference(rounds: number): Promise<InterferenceTrial[]> {
  const s3 = await S3Server.start();
  const broker = await BrokerProcess.start({
    env: { ...s3.brokerEnv('bench'), STRATA_LOG_LEVEL: 'warn', STRATA_TIER_INTERVAL_MS: '100', STRATA_REMOTE_CACHE_BYTES: String(32 * MiB) },
  });
  const pinning = canPin() ? [false, true] : [false];
  if (pinning.length === 1) console.log('replay interference: taskset or a second core is missing, so unpinned only');
  const trials: InterferenceTrial[] = [];
  try {
    await createTopic(broker.url, 'backlog', BACKLOG_PARTITIONS, { 'segment.bytes': 8 * MiB, 'local.retention.bytes': 0 });
    await produceBytes(broker.url, 'backlog', BACKLOG_PARTITIONS, BACKLOG_BYTES);
    const ends = (await waitSettled(broker.url, 'backlog')).partitions.map((p) => p.remoteLogEndOffset);
    await createTopic(broker.url, 'live', 2);
    await produceLatency(broker.url, 'live', 1000); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const pinned of r % 2 === 0 ? pinning : [...pinning].reverse()) {
        const placement = pinned ? { broker: BROKER_CORE, others: OTHERS_CORE } : { broker: allCores(), others: allCores() };
        pin(broker.pid!, placement.broker);
        pin(s3.pid!, placement.others);
        pin(process.pid, placement.others);
        // Alternated within the pair too, so that drift does not always favour the same side.
        let alone = null;
        let busy = null;
        for (const mode of r % 2 === 0 ? ['alone', 'busy'] : ['busy', 'alone']) {
          if (mode === 'alone') alone = await produceLatency(broker.url, 'live', WINDOW_MS);
          else busy = await duringReplay(broker.url, ends, placement.others, () => produceLatency(broker.url, 'live', WINDOW_MS));
        }
        trials.push({
          pinned,
          aloneP99Ms: alone!.p99Ms,
          aloneP50Ms: alone!.p50Ms,
          busyP99Ms: busy!.result.p99Ms,
          busyP50Ms: busy!.result.p50Ms,
          replayMbPerS: busy!.replayMbPerS,
        });
      }
    }
  } finally {
    pin(process.pid, allCores());
    await broker.stop();
    await s3.stop();
  }
  return trials;
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

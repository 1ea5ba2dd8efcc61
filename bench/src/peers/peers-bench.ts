/**
 * `pnpm bench peers`: Strata beside NATS JetStream and Redis Streams on the same workloads, same run
 * (issue #16). A peer is measured only when its server binary (`nats-server`, `redis-server`) is
 * installed; a missing one is skipped and said so. Every trial on a fresh server process, the systems
 * alternated round by round, median (min-max) of max(3, STRATA_BENCH_ROUNDS) rounds; ratios are of
 * the medians. One stream / partition, loopback, one client process (this one).
 *
 * Persistence, made as comparable as the three allow, and what each loses on a crash:
 * - Strata, acks=1 (raw) / acks 'all' on one broker (Producer): acknowledged once written to the
 *   segment file (page cache), no fsync per request (flush.messages/flush.ms off, as Kafka's
 *   defaults). A broker process crash loses nothing acknowledged; a machine crash loses what the
 *   kernel had not written back (segments are fsynced when sealed).
 * - NATS JetStream, file storage, one replica: acknowledged once the stream's file store has the
 *   message (written to its block file, page cache); the server fsyncs on its sync interval (2 min
 *   by default). A process crash loses nothing acknowledged; a machine crash up to that interval.
 * - Redis, appendonly yes + appendfsync everysec: the AOF is written (page cache) before the reply;
 *   fsync once a second. A process crash loses nothing acknowledged; a machine crash about 1-2 s.
 * So all three survive a process crash and none fsyncs per request: the comparison is like for like.
 */
import { join } from 'node:path';
import { quantile } from '../load.js';
import { round, type Row } from '../broker-bench.js';
import { cpuSeconds, installed } from './processes.js';
import { startServer, type Peer } from './servers.js';
import { runThroughput, type Workload } from './workloads.js';
import { PACED_RATE_PER_SEC, runPaced, type LatencyPath } from './latency.js';
import { runReplayInterference, type InterferenceTrial } from './replay-interference.js';
import { median, spread } from '../stats.js';

const ROUNDS = Math.max(3, Number(process.env.STRATA_BENCH_ROUNDS ?? 3));
/** Length of one throughput trial's measured window (ms). */
const THROUGHPUT_MS = Number(process.env.STRATA_BENCH_PEERS_MS ?? 3_000);
const PACED_SECONDS = 4;

const PATHS: Record<Workload, Record<Peer, string>> = {
  client: { strata: 'Producer.send', nats: 'js.publish (PubAck)', redis: 'ioredis XADD pipelined' },
  fastest: { strata: 'raw RecordBatch POST, 64 KiB, 8 in flight', nats: 'core publish into the stream subject', redis: 'XADD pipelined over raw RESP' },
};

interface Trial {
  recordsPerSec: number;
  mbPerS: number;
  cpuSecondsPerGb: number;
  /** Server CPU seconds per second of the trial: on a loaded machine, the share of the cores it got. */
  cores: number;
}



/** Round r's order: rotated, so that each system goes first in some round and drift hits all alike. */
function rotated<T>(items: readonly T[], r: number): T[] {
  return items.map((_, k) => items[(k + r) % items.length]!);
}

async function throughputTrial(peer: Peer, workload: Workload, recordBytes: number): Promise<Trial> {
  const server = await startServer(peer);
  try {
    const cpuBefore = cpuSeconds(server.pid);
    const { records, seconds } = await runThroughput(workload, server, recordBytes, THROUGHPUT_MS);
    const cpu = cpuSeconds(server.pid) - cpuBefore;
    const bytes = records * recordBytes;
    return { recordsPerSec: records / seconds, mbPerS: bytes / seconds / 1e6, cpuSecondsPerGb: cpu / (bytes / 1e9), cores: cpu / seconds };
  } finally {
    await server.stop();
  }
}

function availablePeers(): Peer[] {
  const peers: Peer[] = ['strata'];
  for (const [peer, binary] of [['nats', 'nats-server'], ['redis', 'redis-server']] as const) {
    if (installed(binary)) peers.push(peer);
    else console.log(`peers: ${binary} is not installed: ${peer} skipped (apt-get install ${binary})`);
  }
  return peers;
}

/** The tables STRATA_BENCH_PEERS_SECTIONS names (comma-separated; all three by default). */
const SECTIONS = new Set((process.env.STRATA_BENCH_PEERS_SECTIONS ?? 'throughput,latency,replay').split(','));

/** Three tables (their columns differ), by title. */
export async function runPeersBench(): Promise<Record<string, Row[]>> {
  const peers = availablePeers();
  const tables: Record<string, Row[]> = {};
  if (SECTIONS.has('throughput')) tables[`throughput, one stream / partition, ${THROUGHPUT_MS} ms per trial; strata/peer = ratio of median records/s`] = await throughputRows(peers);
  if (SECTIONS.has('latency')) {
    tables[`latency at ${PACED_RATE_PER_SEC} records/s of 1 KiB, open loop (timed from when each send was due), ${PACED_SECONDS} s per trial`] = await latencyRows(peers);
  }
  if (SECTIONS.has('replay')) tables['produce p99 alone and during a full-speed replay from the bucket (target: busy/alone <= 1.1)'] = interferenceRows(await runReplayInterference(ROUNDS));
  return tables;
}

async function throughputRows(peers: Peer[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const workload of ['client', 'fastest'] as const) {
    for (const recordBytes of [100, 1024]) {
      const trials = new Map<Peer, Trial[]>(peers.map((p) => [p, []]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const peer of rotated(peers, r)) trials.get(peer)!.push(await throughputTrial(peer, workload, recordBytes));
      }
      const row: Row = { name: `${workload} ${recordBytes} B: ${peers.map((p) => `${p} ${PATHS[workload][p]}`).join('; ')}` };
      const strata = trials.get('strata')!;
      for (const peer of peers) {
        const ts = trials.get(peer)!;
        row[`${peer} krec/s`] = spread(ts.map((t) => t.recordsPerSec / 1000), 0);
        row[`${peer} MB/s`] = spread(ts.map((t) => t.mbPerS));
        row[`${peer} CPU-s/GB`] = spread(ts.map((t) => t.cpuSecondsPerGb), 2);
        row[`${peer} cores`] = spread(ts.map((t) => t.cores), 2);
        if (peer !== 'strata') row[`strata/${peer}`] = round(median(strata.map((t) => t.recordsPerSec)) / median(ts.map((t) => t.recordsPerSec)), 2);
      }
      rows.push(row);
      console.error(JSON.stringify(row));
    }
  }
  return rows;
}

async function latencyRows(peers: Peer[]): Promise<Row[]> {
  // With STRATA_BENCH_BEFORE (a built checkout), raw produce against that build too, in the same rotation.
  const before = process.env.STRATA_BENCH_BEFORE;
  const beforeCli = before === undefined ? undefined : join(before, 'services', 'cli', 'dist', 'main.js');
  const paths: LatencyPath[] = [
    'strata-raw',
    ...(beforeCli === undefined ? [] : (['strata-raw-before'] as const)),
    'strata-producer',
    ...peers.filter((p): p is 'nats' | 'redis' => p !== 'strata'),
  ];
  const samples = new Map<LatencyPath, number[][]>(paths.map((p) => [p, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const path of rotated(paths, r)) {
      const server = await startServer(path.startsWith('strata') ? 'strata' : (path as Peer), path === 'strata-raw-before' ? beforeCli : undefined);
      try {
        samples.get(path)!.push(await runPaced(path, server, PACED_SECONDS));
      } finally {
        await server.stop();
      }
    }
  }
  return paths.map((path) => {
    const runs = samples.get(path)!;
    const row: Row = {
      name: path,
      'p50 ms': spread(runs.map((s) => quantile(s, 0.5)), 2),
      'p99 ms': spread(runs.map((s) => quantile(s, 0.99)), 2),
      'p999 ms': spread(runs.map((s) => quantile(s, 0.999)), 2),
      'max ms': spread(runs.map((s) => s.at(-1)!), 1),
    };
    console.error(JSON.stringify(row));
    return row;
  });
}

function interferenceRows(trials: InterferenceTrial[]): Row[] {
  const groups = (['this', 'before'] as const).flatMap((build) => [false, true].map((pinned) => trials.filter((t) => t.build === build && t.pinned === pinned)));
  return groups
    .filter((ts) => ts.length > 0)
    .map((ts) => ({
      name: `${ts[0]!.build === 'before' ? 'before (STRATA_BENCH_BEFORE): ' : ''}16 KiB batches, 2 in flight, s3rver; ${ts[0]!.pinned ? 'pinned: broker core 1, s3rver + loads core 0' : 'unpinned'}`,
      'alone p50/p99 ms': `${spread(ts.map((t) => t.aloneP50Ms), 2)} / ${spread(ts.map((t) => t.aloneP99Ms), 2)}`,
      'busy p50/p99 ms': `${spread(ts.map((t) => t.busyP50Ms), 2)} / ${spread(ts.map((t) => t.busyP99Ms), 2)}`,
      'p99 busy/alone': `${round(median(ts.map((t) => t.busyP99Ms)) / median(ts.map((t) => t.aloneP99Ms)), 2)} (per round ${ts.map((t) => round(t.busyP99Ms / t.aloneP99Ms, 2)).join(', ')})`,
      'replay MB/s': spread(ts.map((t) => t.replayMbPerS)),
      // The broker's own view of the busy window: loop delay p99/max, GC ms, CPU in cores.
      'broker busy: loop p99/max ms': `${spread(ts.map((t) => t.busy.loopDelayP99Ms))} / ${spread(ts.map((t) => t.busy.loopDelayMaxMs))}`,
      'broker busy: GC ms, cores, bucket B per served B': `${spread(ts.map((t) => t.busy.gcMs), 0)}, ${spread(ts.map((t) => t.busy.cores), 2)}, ${spread(ts.map((t) => t.busy.bucketBytesPerServedByte), 2)}`,
      'load generator busy/alone: loop p99 ms': `${spread(ts.map((t) => t.busy.clientLoopDelayP99Ms))} / ${spread(ts.map((t) => t.alone.clientLoopDelayP99Ms))}`,
      'broker main thread busy: ran / waited for a core': `${spread(ts.map((t) => t.busy.mainThreadRunShare), 2)} / ${spread(ts.map((t) => t.busy.mainThreadWaitShare), 2)}`,
      'broker alone: loop p99 ms, cores': `${spread(ts.map((t) => t.alone.loopDelayP99Ms))}, ${spread(ts.map((t) => t.alone.cores), 2)}`,
    }));
}

/**
 * Raw produce against the raw-append baseline, measured honestly (issue #16): every trial on a
 * fresh server process (a broker never tiers the previous trial's segments under the next one:
 * it is stopped in between), the systems alternated round by round, medians of `rounds` with
 * min-max, one partition and four, 100 B and 1 KiB records in 64 KiB batches, acks=1. Beside
 * MB/s, the CPU seconds per GB of the server process, from its own process.cpuUsage(): the
 * broker's process_cpu_seconds_total metric, the baseline's /cpu. With STRATA_BENCH_BEFORE set to
 * another checkout (built), its broker runs in the same rounds: before/after ratios from one run.
 */
import { join } from 'node:path';
import { BrokerProcess } from '@strata/test';
import { runLoad, type LoadResult } from './load.js';
import { batchOfSize, round, startBaseline, type Row } from './broker-bench.js';
import { median, spread } from './stats.js';

const BATCH_BYTES = 64 * 1024;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

export interface MatrixSettings {
  durationMs: number;
  concurrency: number;
  rounds: number;
  /** A checkout whose built broker is measured too ("before"); null: only this build. */
  beforeCheckout: string | null;
}

interface Trial {
  mbPerS: number;
  cpuSecondsPerGb: number;
  p99Ms: number;
}

interface Server {
  origin: string;
  path: (i: number) => string;
  cpuSeconds: () => Promise<number>;
  stop: () => Promise<void>;
}

type System = 'baseline' | 'strata' | 'before';

async function startSystem(system: System, partitions: number, settings: MatrixSettings): Promise<Server> {
  if (system === 'baseline') {
    const baseline = await startBaseline();
    return {
      origin: baseline.origin,
      path: (i) => (partitions === 1 ? '/append' : `/append?p=${i % partitions}`),
      cpuSeconds: async () => {
        const { user, system: sys } = (await (await fetch(`${baseline.origin}/cpu`)).json()) as { user: number; system: number };
        return (user + sys) / 1e6;
      },
      stop: baseline.stop,
    };
  }
  const cliMain = system === 'before' ? join(settings.beforeCheckout!, 'services', 'cli', 'dist', 'main.js') : undefined;
  const broker = await BrokerProcess.start({ env: { STRATA_LOG_LEVEL: 'warn' }, ...(cliMain === undefined ? {} : { cliMain }) });
  const topic = 'bench';
  const created = await fetch(`${broker.url}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: topic, partitions }),
  });
  if (created.status !== 201) throw new Error(`create topic: ${created.status} ${await created.text()}`);
  return {
    origin: broker.url,
    path: (i) => `/v1/topics/${topic}/partitions/${i % partitions}/batches?acks=1`,
    cpuSeconds: async () => {
      const text = await (await fetch(`${broker.url}/metrics`)).text();
      const line = /^process_cpu_seconds_total (\S+)$/m.exec(text);
      if (line === null) throw new Error('the broker reports no process_cpu_seconds_total');
      return Number(line[1]);
    },
    // Stopped after every trial: its background tiering never overlaps the next trial.
    stop: async () => {
      await broker.stop();
    },
  };
}

async function trial(system: System, partitions: number, recordBytes: number, settings: MatrixSettings): Promise<Trial> {
  const server = await startSystem(system, partitions, settings);
  try {
    const { body, records } = batchOfSize(recordBytes, BATCH_BYTES);
    const cpuBefore = await server.cpuSeconds();
    const result: LoadResult = await runLoad({
      origin: server.origin,
      method: 'POST',
      concurrency: settings.concurrency,
      durationMs: settings.durationMs,
      request: (i) => ({ path: server.path(i), body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
      account: () => ({ bytes: body.length, records }),
    });
    const cpu = (await server.cpuSeconds()) - cpuBefore;
    if (result.errors > 0) throw new Error(`${system}: ${result.errors} failed requests`);
    return { mbPerS: result.bytes / result.seconds / 1e6, cpuSecondsPerGb: cpu / (result.bytes / 1e9), p99Ms: result.p99Ms };
  } finally {
    await server.stop();
  }
}


export async function runProduceMatrix(settings: MatrixSettings): Promise<Row[]> {
  const systems: System[] = settings.beforeCheckout === null ? ['baseline', 'strata'] : ['baseline', 'before', 'strata'];
  const rows: Row[] = [];
  for (const partitions of [1, 4]) {
    for (const recordBytes of [100, 1024]) {
      const trials = new Map<System, Trial[]>(systems.map((s) => [s, []]));
      for (let r = 0; r < settings.rounds; r++) {
        // Alternated: each system goes first in some round, so drift on the machine hits all alike.
        const order = systems.map((_, k) => systems[(k + r) % systems.length]!);
        for (const system of order) trials.get(system)!.push(await trial(system, partitions, recordBytes, settings));
      }
      const baseline = trials.get('baseline')!;
      const row: Row = { name: `produce ${recordBytes} B records, 64 KiB batches, acks=1, ${partitions} partition(s), ${settings.concurrency} in flight` };
      row['baseline MB/s'] = spread(baseline.map((t) => t.mbPerS));
      row['baseline CPU-s/GB'] = spread(baseline.map((t) => t.cpuSecondsPerGb), 2);
      for (const system of systems.slice(1)) {
        const ts = trials.get(system)!;
        row[`${system} MB/s`] = spread(ts.map((t) => t.mbPerS));
        row[`${system} CPU-s/GB`] = spread(ts.map((t) => t.cpuSecondsPerGb), 2);
        row[`${system} p99 ms`] = spread(ts.map((t) => t.p99Ms));
        // Ratios of the medians, and per round (each round's trials ran back to back).
        row[`${system}/baseline MB/s`] = round(median(ts.map((t) => t.mbPerS)) / median(baseline.map((t) => t.mbPerS)), 2);
        row[`${system}/baseline CPU/GB`] = round(median(ts.map((t) => t.cpuSecondsPerGb)) / median(baseline.map((t) => t.cpuSecondsPerGb)), 2);
      }
      if (settings.beforeCheckout !== null) {
        const before = trials.get('before')!;
        const after = trials.get('strata')!;
        row['after/before MB/s'] = round(median(after.map((t) => t.mbPerS)) / median(before.map((t) => t.mbPerS)), 2);
        row['after/before CPU/GB'] = round(median(after.map((t) => t.cpuSecondsPerGb)) / median(before.map((t) => t.cpuSecondsPerGb)), 2);
      }
      rows.push(row);
      console.error(JSON.stringify(row));
    }
  }
  return rows;
}

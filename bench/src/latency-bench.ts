/**
 * `pnpm bench latency`: the fixed cost of one produce (issue #11's last item). Sequential
 * single-record produces over one keep-alive connection, acks=1, on a fresh broker process per
 * trial; p50 and p99 of every answer's round trip. With STRATA_BENCH_BEFORE=<a built checkout> its
 * broker runs in the same rounds, alternated with this build (each goes first in turn), and the
 * row gives medians (min-max) over the rounds and the after/before ratio of the p50 medians.
 *
 * Scenarios: the raw endpoint (one 1 KiB record in a RecordBatch), the JSON endpoint (one small
 * record), and the raw endpoint with the ACL authorizer on (a topic open to everyone by ACL: the
 * per-request authorization cost shows there, as it would on a secured broker).
 *
 * Knobs (environment): STRATA_BENCH_LATENCY_REQUESTS (20000 per trial), STRATA_BENCH_ROUNDS (3),
 * STRATA_BENCH_LATENCY_SCENARIOS (comma-separated names: raw, json, raw-acl; default all),
 * STRATA_BENCH_LATENCY_PAIRED=1 (with STRATA_BENCH_BEFORE: both builds' brokers up at once in each
 * round, answering alternate blocks of 1000 requests: the steadier comparison on a busy machine).
 */
import { join } from 'node:path';
import { Pool } from 'undici';
import { BrokerProcess } from '@strata/test';
import { batchOfSize, round, type Row } from './broker-bench.js';
import { quantile } from './load.js';
import { median, spread } from './stats.js';

const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';
/** Requests sent before measuring: JIT warm-up, the topic's first segment and index opened. */
const WARMUP_REQUESTS = 2_000;
/** STRATA_BENCH_LATENCY_PAIRED: requests to one build before the other takes its turn. */
const PAIRED_BLOCK_REQUESTS = 1_000;

interface Scenario {
  name: string;
  env: Record<string, string>;
  /** After the topic exists (ACLs, ...). */
  prepare?: (url: string, topic: string) => Promise<void>;
  request: { path: (topic: string) => string; body: Buffer; contentType: string };
}

const single = batchOfSize(1024, 1).body;
const SCENARIOS: readonly Scenario[] = [
  {
    name: 'raw',
    env: {},
    request: { path: (t) => `/v1/topics/${t}/partitions/0/batches?acks=1`, body: single, contentType: RECORD_BATCH_TYPE },
  },
  {
    name: 'json',
    env: {},
    request: {
      path: (t) => `/v1/topics/${t}/records?acks=1`,
      body: Buffer.from(JSON.stringify({ records: [{ key: 'k', value: 'v'.repeat(100), partition: 0 }] })),
      contentType: 'application/json',
    },
  },
  {
    name: 'raw-acl',
    // The bench's requests are anonymous (STRATA_AUTH defaults to none): an ACL allows User:ANONYMOUS to write.
    env: { STRATA_AUTHORIZER: 'acl', STRATA_SUPER_USERS: 'User:admin', STRATA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true' },
    prepare: async (url, topic) => {
      const answer = await fetch(`${url}/v1/acls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ acls: [{ resourceType: 'topic', resourceName: topic, patternType: 'literal', principal: 'User:ANONYMOUS', host: '*', operation: 'write', permission: 'allow' }] }),
      });
      if (answer.status >= 300) throw new Error(`create ACL: ${answer.status} ${await answer.text()}`);
    },
    request: { path: (t) => `/v1/topics/${t}/partitions/0/batches?acks=1`, body: single, contentType: RECORD_BATCH_TYPE },
  },
];

type System = 'before' | 'after';

interface Trial {
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** The broker process's CPU time per measured request (its process_cpu_seconds_total): steadier than wall time on a shared machine. */
  cpuUs: number;
}

async function cpuSeconds(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = /^process_cpu_seconds_total (\S+)$/m.exec(text);
  if (line === null) throw new Error('the broker reports no process_cpu_seconds_total');
  return Number(line[1]);
}

/** A fresh broker of one build with the scenario's topic, answering one produce at a time. */
interface Target {
  send(): Promise<void>;
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

async function startTarget(system: System, scenario: Scenario, beforeCheckout: string | null): Promise<Target> {
  const cliMain = system === 'before' ? join(beforeCheckout!, 'services', 'cli', 'dist', 'main.js') : undefined;
  const broker = await BrokerProcess.start({ env: { STRATA_LOG_LEVEL: 'warn', ...scenario.env }, ...(cliMain === undefined ? {} : { cliMain }) });
  const pool = new Pool(broker.url, { connections: 1, pipelining: 1 });
  const stop = async (): Promise<void> => {
    await pool.close();
    await broker.stop();
  };
  try {
    const topic = 'latency';
    const created = await fetch(`${broker.url}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: topic, partitions: 1 }) });
    if (created.status !== 201) throw new Error(`create topic: ${created.status} ${await created.text()}`);
    await scenario.prepare?.(broker.url, topic);
  } catch (e) {
    await stop();
    throw e;
  }
  const path = scenario.request.path('latency');
  const send = async (): Promise<void> => {
    const response = await pool.request({ method: 'POST', path, body: scenario.request.body, headers: { 'content-type': scenario.request.contentType } });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${system} ${scenario.name}: ${response.statusCode} ${text.slice(0, 200)}`);
  };
  for (let i = 0; i < WARMUP_REQUESTS; i++) await send();
  return { send, cpuSeconds: () => cpuSeconds(broker.url), stop };
}

/** `count` sequential produces into `latencies` from `at`. */
async function measure(target: Target, latencies: Float64Array, at: number, count: number): Promise<void> {
  for (let i = at; i < at + count; i++) {
    const t0 = performance.now();
    await target.send();
    latencies[i] = performance.now() - t0;
  }
}

function summary(latencies: Float64Array, cpuSecondsSpent: number): Trial {
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const meanMs = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return { p50Us: quantile(sorted, 0.5) * 1000, p99Us: quantile(sorted, 0.99) * 1000, meanUs: meanMs * 1000, cpuUs: (cpuSecondsSpent * 1e6) / sorted.length };
}

/** One build alone on a fresh broker. */
async function trial(system: System, scenario: Scenario, requests: number, beforeCheckout: string | null): Promise<Trial> {
  const target = await startTarget(system, scenario, beforeCheckout);
  try {
    const latencies = new Float64Array(requests);
    const cpuBefore = await target.cpuSeconds();
    await measure(target, latencies, 0, requests);
    return summary(latencies, (await target.cpuSeconds()) - cpuBefore);
  } finally {
    await target.stop();
  }
}

/**
 * Both builds at once on fresh brokers, in alternating blocks of PAIRED_BLOCK_REQUESTS: each
 * block of one is next to a block of the other in time, so the machine's drift (other
 * processes on a shared host) hits both alike, which fresh processes one after the other cannot do.
 */
async function pairedTrial(scenario: Scenario, requests: number, beforeCheckout: string, round: number): Promise<Record<System, Trial>> {
  const systems: System[] = round % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
  const targets = new Map<System, Target>();
  try {
    for (const system of systems) targets.set(system, await startTarget(system, scenario, beforeCheckout));
    const latencies = new Map(systems.map((s) => [s, new Float64Array(requests)]));
    const cpu = new Map(systems.map((s) => [s, 0]));
    for (let at = 0; at < requests; at += PAIRED_BLOCK_REQUESTS) {
      const count = Math.min(PAIRED_BLOCK_REQUESTS, requests - at);
      for (const system of systems) {
        const target = targets.get(system)!;
        const cpuBefore = await target.cpuSeconds();
        await measure(target, latencies.get(system)!, at, count);
        cpu.set(system, cpu.get(system)! + (await target.cpuSeconds()) - cpuBefore);
      }
    }
    return { before: summary(latencies.get('before')!, cpu.get('before')!), after: summary(latencies.get('after')!, cpu.get('after')!) };
  } finally {
    for (const target of targets.values()) await target.stop();
  }
}

export async function runLatencyBench(): Promise<Row[]> {
  const requests = Number(process.env.STRATA_BENCH_LATENCY_REQUESTS ?? 20_000);
  const rounds = Number(process.env.STRATA_BENCH_ROUNDS ?? 3);
  const beforeCheckout = process.env.STRATA_BENCH_BEFORE ?? null;
  const wanted = process.env.STRATA_BENCH_LATENCY_SCENARIOS?.split(',');
  const paired = process.env.STRATA_BENCH_LATENCY_PAIRED === '1';
  const systems: System[] = beforeCheckout === null ? ['after'] : ['before', 'after'];
  const rows: Row[] = [];
  for (const scenario of SCENARIOS.filter((s) => wanted === undefined || wanted.includes(s.name))) {
    const trials = new Map<System, Trial[]>(systems.map((s) => [s, []]));
    for (let r = 0; r < rounds; r++) {
      if (paired && beforeCheckout !== null) {
        const both = await pairedTrial(scenario, requests, beforeCheckout, r);
        for (const system of systems) trials.get(system)!.push(both[system]);
        continue;
      }
      // Alternated: each build goes first in some round, so drift on the machine hits both alike.
      const order = systems.map((_, k) => systems[(k + r) % systems.length]!);
      for (const system of order) trials.get(system)!.push(await trial(system, scenario, requests, beforeCheckout));
    }
    const row: Row = { name: `${scenario.name}: 1 record per request, acks=1, 1 in flight, ${requests} requests x ${rounds} rounds${paired ? ', paired' : ''}` };
    for (const system of systems) {
      const ts = trials.get(system)!;
      const label = beforeCheckout === null ? 'strata' : system;
      row[`${label} p50 us`] = spread(ts.map((t) => t.p50Us), 0);
      row[`${label} p99 us`] = spread(ts.map((t) => t.p99Us), 0);
      row[`${label} mean us`] = spread(ts.map((t) => t.meanUs), 0);
      row[`${label} CPU us/req`] = spread(ts.map((t) => t.cpuUs), 1);
    }
    if (beforeCheckout !== null) {
      const p50 = (s: System): number => median(trials.get(s)!.map((t) => t.p50Us));
      const p99 = (s: System): number => median(trials.get(s)!.map((t) => t.p99Us));
      row['after/before p50'] = round(p50('after') / p50('before'), 2);
      row['after/before p99'] = round(p99('after') / p99('before'), 2);
      row['after/before CPU'] = round(median(trials.get('after')!.map((t) => t.cpuUs)) / median(trials.get('before')!.map((t) => t.cpuUs)), 2);
    }
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  return rows;
}

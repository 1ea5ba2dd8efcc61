/**
 * Kafka consumer groups (kafkajs, the classic protocol) beside the HTTP consumer of groups-bench.ts,
 * against one broker process: produce -> consume latency (p50/p99), group throughput with 1, 2 and
 * 4 members over 12 partitions (members in this process, as the HTTP rows), and the time from a
 * member's death (SIGKILL of its process: no LeaveGroup) until a survivor consumes a record
 * produced to each of its partitions after the kill. Not a test: nothing here asserts a time.
 *
 * With STRATA_BENCH_BEFORE=<a built checkout>, then the two latencies that offset commits decide,
 * that checkout's broker against this one's in the same run: the produce -> consume latency above,
 * and N serial commits of one kafkajs member (`consumer.commitOffsets`, one OffsetCommit each, as
 * kafkajs sends after each partition's batch); a fresh broker per system per round, the systems in
 * turn (the first alternates), STRATA_BENCH_ROUNDS (3) rounds, median (min-max) of each p50/p99.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { BrokerProcess, tempDir } from '@strata/test';
import { quantile } from './load.js';
import type { Row } from './groups-bench.js';
import { median, spread } from './stats.js';

const PARTITIONS = 12;
const LATENCY_SAMPLES = 1_000;
const THROUGHPUT_RECORDS = 120_000;
const VALUE = 'x'.repeat(100);
/** The dying member's session: Kafka's minimum (group.min.session.timeout.ms) by default. */
const SESSION_TIMEOUT_MS = 6_000;
/** How long any one phase may take before the bench gives up on it. */
const PHASE_TIMEOUT_MS = 120_000;
/** Serial offset commits timed per trial of the before/after comparison. */
const SERIAL_COMMITS = 300;
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

function client(bootstrap: string): kafkajs.Kafka {
  return new kafkajs.Kafka({ brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING, clientId: 'strata-bench' });
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = performance.now() + PHASE_TIMEOUT_MS;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`kafka groups bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function latency(kafka: kafkajs.Kafka, admin: kafkajs.Admin, topic = 'kbench-latency'): Promise<Row> {
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: topic, maxWaitTimeInMs: 5_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let assigned = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (assigned = true));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const t = sentAt.get(message.value!.toString());
      if (t !== undefined) samples.push(performance.now() - t);
    },
  });
  await until('the latency member to join', () => assigned);
  await new Promise((r) => setTimeout(r, 1_000)); // every partition's first fetch is in place
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const value = `lat-${i}`;
    sentAt.set(value, performance.now());
    await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value }] });
  }
  await until('every latency sample', () => samples.length >= LATENCY_SAMPLES);
  await consumer.disconnect();
  await producer.disconnect();
  samples.sort((a, b) => a - b);
  return { name: 'kafkajs produce->consume latency (acks=all)', samples: samples.length, p50_ms: round(quantile(samples, 0.5)), p99_ms: round(quantile(samples, 0.99)), max_ms: round(samples.at(-1)!) };
}

async function throughput(kafka: kafkajs.Kafka, admin: kafkajs.Admin): Promise<Row[]> {
  const topic = 'kbench-groups';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < THROUGHPUT_RECORDS; i += 5_000) {
    await producer.send({ topic, acks: 1, messages: Array.from({ length: 5_000 }, (_, j) => ({ key: `k${i + j}`, value: VALUE })) });
  }
  await producer.disconnect();
  const rows: Row[] = [];
  let base = 0;
  // The first pass (1 member) only warms the page cache and the JIT: it is not reported.
  for (const [pass, members] of [1, 1, 2, 4].entries()) {
    const groupId = `kbench-groups-${pass}-${members}`;
    let consumed = 0;
    const consumers = Array.from({ length: members }, () => kafka.consumer({ groupId, maxWaitTimeInMs: 500, maxBytesPerPartition: 1024 * 1024 }));
    const started = performance.now();
    for (const c of consumers) {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachBatch: async ({ batch }) => void (consumed += batch.messages.length) });
    }
    await until(`${members} member(s) to consume the topic`, () => consumed >= THROUGHPUT_RECORDS);
    const seconds = (performance.now() - started) / 1_000;
    await Promise.all(consumers.map((c) => c.disconnect()));
    const rate = THROUGHPUT_RECORDS / seconds;
    if (pass === 0) continue;
    if (pass === 1) base = rate;
    rows.push({
      name: `kafkajs group throughput, ${members} member${members === 1 ? '' : 's'} / ${PARTITIONS} partitions (join included)`,
      records: THROUGHPUT_RECORDS,
      seconds: round(seconds),
      records_per_s: Math.round(rate),
      MB_per_s: round((rate * VALUE.length) / 1e6),
      scaling_vs_1: round(rate / base),
    });
  }
  return rows;
}

/** A kafkajs member in its own process (so it can die without a LeaveGroup); prints its partitions as JSON lines. */
const MEMBER_SCRIPT = `
const { Kafka, logLevel } = require(process.env.KAFKAJS);
const kafka = new Kafka({ brokers: [process.env.BOOTSTRAP], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: process.env.GROUP, sessionTimeout: Number(process.env.SESSION_MS), heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
consumer.on(consumer.events.GROUP_JOIN, (e) => console.log(JSON.stringify(e.payload.memberAssignment[process.env.TOPIC] ?? [])));
(async () => {
  await consumer.connect();
  await consumer.subscribe({ topic: process.env.TOPIC, fromBeginning: false });
  await consumer.run({ eachMessage: async () => {} });
})();
`;

async function failover(kafka: kafkajs.Kafka, admin: kafkajs.Admin, bootstrap: string): Promise<Row> {
  const topic = 'kbench-failover';
  const groupId = 'kbench-failover';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  const script = join(tempDir('strata-kbench-'), 'member.cjs');
  writeFileSync(script, MEMBER_SCRIPT);
  const kafkajsPath = createRequire(import.meta.url).resolve('kafkajs');
  const env = { ...process.env, KAFKAJS: kafkajsPath, BOOTSTRAP: bootstrap, GROUP: groupId, TOPIC: topic, SESSION_MS: String(SESSION_TIMEOUT_MS) };
  const doomed = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let doomedPartitions: number[] = [];
  doomed.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.trim().split('\n')) doomedPartitions = JSON.parse(line) as number[];
  });
  const survivor = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
  let survivorPartitions: number[] = [];
  const consumedAfterKill = new Set<number>();
  let killedAt = 0;
  survivor.on(survivor.events.GROUP_JOIN, (e) => (survivorPartitions = e.payload.memberAssignment[topic] ?? []));
  await survivor.connect();
  // The topic holds only the records produced after the kill, and the dead member committed nothing:
  // from the beginning, so the survivor reads them once it owns their partitions (latest would skip them).
  await survivor.subscribe({ topic, fromBeginning: true });
  await survivor.run({
    eachMessage: async ({ partition, message }) => {
      if (killedAt > 0 && message.value!.toString() === 'after-kill') consumedAfterKill.add(partition);
    },
  });
  try {
    await until('two members to split the topic', () => doomedPartitions.length > 0 && survivorPartitions.length > 0 && doomedPartitions.length + survivorPartitions.length === PARTITIONS);
    const lost = [...doomedPartitions];
    doomed.kill('SIGKILL');
    killedAt = performance.now();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: lost.map((partition) => ({ partition, value: 'after-kill' })) });
    await producer.disconnect();
    await until("the survivor to consume the dead member's partitions", () => lost.every((p) => consumedAfterKill.has(p)));
    const seconds = (performance.now() - killedAt) / 1_000;
    return { name: `kafkajs member killed (session ${SESSION_TIMEOUT_MS} ms): its ${lost.length} partitions consumed again after`, seconds: round(seconds) };
  } finally {
    if (doomed.exitCode === null && doomed.signalCode === null) {
      doomed.kill('SIGKILL');
      await once(doomed, 'exit');
    }
    await survivor.disconnect();
  }
}

/** One member commits SERIAL_COMMITS times, one partition per OffsetCommit, each awaited: their p50/p99. */
async function serialCommits(kafka: kafkajs.Kafka, admin: kafkajs.Admin): Promise<Row> {
  const topic = 'kbench-commits';
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  // Every committed offset within its partition's log: a consumer fetching past the end would reset.
  const perPartition = Math.ceil(SERIAL_COMMITS / PARTITIONS);
  const producer = kafka.producer();
  await producer.connect();
  for (let p = 0; p < PARTITIONS; p++) await producer.send({ topic, acks: 1, messages: Array.from({ length: perPartition }, () => ({ partition: p, value: VALUE })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: topic, maxWaitTimeInMs: 5_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  let fetching = false;
  // kafkajs ignores commitOffsets until its runner runs: the first fetch says it does.
  consumer.on(consumer.events.FETCH_START, () => (fetching = true));
  await consumer.run({ autoCommit: false, eachMessage: async () => {} });
  await until('the committing member to fetch', () => fetching);
  const samples: number[] = [];
  for (let i = 0; i < SERIAL_COMMITS; i++) {
    const started = performance.now();
    await consumer.commitOffsets([{ topic, partition: i % PARTITIONS, offset: String(Math.floor(i / PARTITIONS) + 1) }]);
    samples.push(performance.now() - started);
  }
  await consumer.disconnect();
  samples.sort((a, b) => a - b);
  return { name: 'kafkajs serial OffsetCommit (one partition each)', samples: samples.length, p50_ms: round(quantile(samples, 0.5)), p99_ms: round(quantile(samples, 0.99)), max_ms: round(samples.at(-1)!) };
}

type System = 'before' | 'after';

/** A fresh broker of `system`'s build: the latency and serial-commit rows, then it stops. */
async function comparisonTrial(system: System, beforeCheckout: string): Promise<Row[]> {
  const cliMain = system === 'before' ? join(beforeCheckout, 'services', 'cli', 'dist', 'main.js') : undefined;
  const env = { STRATA_LOG_LEVEL: 'warn', STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' };
  const broker = await BrokerProcess.start({ kafka: true, env, ...(cliMain === undefined ? {} : { cliMain }) });
  const kafka = client(`127.0.0.1:${broker.kafkaPort!}`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    return [await latency(kafka, admin), await serialCommits(kafka, admin)];
  } finally {
    await admin.disconnect();
    await broker.stop();
  }
}

/**
 * STRATA_BENCH_BEFORE's broker against this checkout's, same rounds: per scenario and system the
 * median (min-max) over rounds of each trial's p50 and p99, and after/before of the p50 medians.
 */
export async function runKafkaGroupsComparison(beforeCheckout: string, rounds: number): Promise<Row[]> {
  const trials = new Map<string, Row[]>();
  const loadAtStart = loadavg()[0]!;
  for (let r = 0; r < rounds; r++) {
    const order: System[] = r % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const system of order) {
      for (const row of await comparisonTrial(system, beforeCheckout)) {
        const key = `${row.name}\u0000${system}`;
        trials.set(key, [...(trials.get(key) ?? []), row]);
      }
    }
  }
  const loadAtEnd = loadavg()[0]!;
  const rows: Row[] = [];
  for (const name of new Set([...trials.keys()].map((k) => k.split('\u0000')[0]!))) {
    const p50 = (system: System): number[] => trials.get(`${name}\u0000${system}`)!.map((t) => Number(t.p50_ms));
    const p99 = (system: System): number[] => trials.get(`${name}\u0000${system}`)!.map((t) => Number(t.p99_ms));
    for (const system of ['before', 'after'] as const) {
      rows.push({ name: `${name}: ${system}`, rounds, p50_ms: spread(p50(system), 2), p99_ms: spread(p99(system), 2) });
    }
    rows.push({ name: `${name}: after / before (p50 medians)`, rounds, ratio: round(median(p50('after')) / median(p50('before')), 3), load_1m: `${round(loadAtStart, 2)} -> ${round(loadAtEnd, 2)}` });
  }
  return rows;
}

/** This checkout's broker alone: latency, throughput by member count, a member killed. */
async function currentBuildRows(): Promise<Row[]> {
  const broker = await BrokerProcess.start({ kafka: true, env: { STRATA_LOG_LEVEL: 'warn', STRATA_KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0' } });
  const bootstrap = `127.0.0.1:${broker.kafkaPort!}`;
  const kafka = client(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  try {
    return [await latency(kafka, admin), ...(await throughput(kafka, admin)), await failover(kafka, admin, bootstrap)];
  } finally {
    await admin.disconnect();
    await broker.stop();
  }
}

/** This checkout's rows, then with STRATA_BENCH_BEFORE the before/after comparison. */
export async function runKafkaGroupsBench(): Promise<Row[]> {
  const rows = await currentBuildRows();
  const before = process.env.STRATA_BENCH_BEFORE;
  if (before === undefined || before === '') return rows;
  const rounds = Number(process.env.STRATA_BENCH_ROUNDS ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`STRATA_BENCH_ROUNDS must be an integer from 1 to 50, not ${process.env.STRATA_BENCH_ROUNDS}`);
  return [...rows, ...(await runKafkaGroupsComparison(before, rounds))];
}

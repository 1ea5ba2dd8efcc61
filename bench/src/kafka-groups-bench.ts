/**
 * Kafka consumer groups (kafkajs, the classic protocol) beside the HTTP consumer of groups-bench.ts,
 * against one broker process: produce -> consume latency (p50/p99), group throughput with 1, 2 and
 * 4 members over 12 partitions (members in this process, as the HTTP rows), and the time from a
 * member's death (SIGKILL of its process: no LeaveGroup) until a survivor consumes a record
 * produced to each of its partitions after the kill. Not a test: nothing here asserts a time.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { BrokerProcess, tempDir } from '@strata/test';
import { quantile } from './load.js';
import type { Row } from './groups-bench.js';

const PARTITIONS = 12;
const LATENCY_SAMPLES = 1_000;
const THROUGHPUT_RECORDS = 120_000;
const VALUE = 'x'.repeat(100);
/** The dying member's session: Kafka's minimum (group.min.session.timeout.ms) by default. */
const SESSION_TIMEOUT_MS = 6_000;
/** How long any one phase may take before the bench gives up on it. */
const PHASE_TIMEOUT_MS = 120_000;
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

async function latency(kafka: kafkajs.Kafka, admin: kafkajs.Admin): Promise<Row> {
  const topic = 'kbench-latency';
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

export async function runKafkaGroupsBench(): Promise<Row[]> {
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

/**
 * Consumer groups through the client, against one broker process: end-to-end latency
 * produce -> consume (p50/p99, a Producer with lingerMs 0 and one group member), and group
 * throughput with 1, 2 and 4 members over 12 partitions (members run in this process, so the
 * scaling ratio is bounded by one client process's CPU as well as by the broker).
 */
import { Consumer, Producer, Admin } from '@strata/client';
import { BrokerProcess } from '@strata/test';
import { quantile } from './load.js';

export interface Row {
  name: string;
  [column: string]: string | number;
}

const PARTITIONS = 12;
const LATENCY_SAMPLES = 1_000;
const THROUGHPUT_RECORDS = 120_000;
const VALUE = 'x'.repeat(100);
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

async function latency(url: string, admin: Admin): Promise<Row> {
  await admin.createTopic({ name: 'bench-latency', partitions: PARTITIONS });
  const producer = new Producer({ brokers: url, lingerMs: 0 });
  const consumer = new Consumer({ brokers: url, groupId: 'bench-latency', topics: ['bench-latency'], autoOffsetReset: 'latest', maxWaitMs: 5_000 });
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const running = consumer.run({
    eachRecord: (r) => {
      const t = sentAt.get(r.value!.toString());
      if (t !== undefined) samples.push(performance.now() - t);
      if (samples.length === LATENCY_SAMPLES) done();
    },
  });
  while (consumer.assignment().length < PARTITIONS) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300)); // every partition's first long-poll is in place
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const value = `lat-${i}`;
    sentAt.set(value, performance.now());
    await producer.send({ topic: 'bench-latency', key: `k${i}`, value });
  }
  await finished;
  await consumer.close();
  await running;
  await producer.close();
  samples.sort((a, b) => a - b);
  return { name: 'produce->consume latency (acks=all, lingerMs 0)', samples: samples.length, p50_ms: round(quantile(samples, 0.5)), p99_ms: round(quantile(samples, 0.99)), max_ms: round(samples.at(-1)!) };
}

async function throughput(url: string, admin: Admin): Promise<Row[]> {
  await admin.createTopic({ name: 'bench-groups', partitions: PARTITIONS });
  const producer = new Producer({ brokers: url, lingerMs: 5, batchBytes: 256 * 1024 });
  for (let i = 0; i < THROUGHPUT_RECORDS; i += 5_000) {
    await Promise.all(Array.from({ length: 5_000 }, (_, j) => producer.send({ topic: 'bench-groups', key: `k${i + j}`, value: VALUE })));
  }
  await producer.close();
  const rows: Row[] = [];
  let base = 0;
  // The first pass (1 member) only warms the page cache and the JIT: it is not reported.
  for (const [pass, members] of [1, 1, 2, 4].entries()) {
    const group = `bench-groups-${pass}-${members}`;
    let consumed = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const consumers = Array.from({ length: members }, () => new Consumer({ brokers: url, groupId: group, topics: ['bench-groups'], autoOffsetReset: 'earliest', maxQueuedBatches: 64 }));
    const started = performance.now();
    const runs = consumers.map((c) =>
      c.run({
        eachBatch: (b) => {
          consumed += b.records.length;
          if (consumed >= THROUGHPUT_RECORDS) done();
        },
      }),
    );
    await finished;
    const seconds = (performance.now() - started) / 1_000;
    await Promise.all(consumers.map((c) => c.close()));
    await Promise.all(runs);
    const rate = THROUGHPUT_RECORDS / seconds;
    if (pass === 0) continue;
    if (pass === 1) base = rate;
    rows.push({
      name: `group throughput, ${members} member${members === 1 ? '' : 's'} / ${PARTITIONS} partitions`,
      records: THROUGHPUT_RECORDS,
      seconds: round(seconds),
      records_per_s: Math.round(rate),
      MB_per_s: round((rate * VALUE.length) / 1e6),
      scaling_vs_1: round(rate / base),
    });
  }
  return rows;
}

export async function runGroupsBench(): Promise<Row[]> {
  const broker = await BrokerProcess.start({ env: { STRATA_LOG_LEVEL: 'warn' } });
  const admin = new Admin({ brokers: broker.url });
  try {
    return [await latency(broker.url, admin), ...(await throughput(broker.url, admin))];
  } finally {
    await admin.close();
    await broker.stop();
  }
}

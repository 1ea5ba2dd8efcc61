/**
 * `pnpm bench kafka`: produce and consume through the Kafka listener with real clients (kafkajs;
 * librdkafka through kcat), beside HTTP binary produce and fetch and the raw-append baseline
 * (baseline-server.ts), same run, same 1 KiB records, acks=1 everywhere.
 *
 * Fair by construction: every trial starts its own process (a fresh broker, or the baseline) and
 * stops it before the next starts, so nothing uploads, compacts or holds a page cache for another;
 * the broker uses its local object store (no S3 traffic). Systems take turns in a rotated order each
 * round, so drift hits them alike; each row is the median of ROUNDS with its lowest and highest.
 * Records per second is the figure to compare (each path frames the same records differently).
 * Not a test: nothing here asserts a time. kcat rows are left out when kcat is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import kafkajs from 'kafkajs';
import { ApiKey, decodeResponse, encodeRequest } from '@strata/kafka-protocol';
import { Pool } from 'undici';
import { BrokerProcess, tempDir } from '@strata/test';
import { batchOfSize, round, startBaseline, type Row } from './broker-bench.js';
import { runLoad } from './load.js';

const RECORD_BYTES = 1024;
const BATCH_BYTES = 64 * 1024;
const PARTITIONS = 4;
/** Records kcat produces per trial, and records each consume trial reads (its topic is filled first). */
const KCAT_RECORDS = 100_000;
const CONSUME_RECORDS = 100_000;
/** Bytes per fetch request (and per partition), every reader alike. */
const FETCH_BYTES = 1024 * 1024;
/** Trials per system; the median is reported with the lowest and highest. */
const ROUNDS = roundsFromEnv(process.env.STRATA_BENCH_ROUNDS);

function roundsFromEnv(value: string | undefined): number {
  const rounds = Number(value ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`STRATA_BENCH_ROUNDS must be an integer from 1 to 50, not ${value}`);
  return rounds;
}
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

interface Settings {
  /** Time of one timed produce trial (kcat's trials are a record count instead). */
  durationMs: number;
  /** Requests (or sends) in flight. */
  concurrency: number;
  rounds: number;
}

interface Trial {
  records: number;
  seconds: number;
}

/** One system under measurement: each trial starts and stops what it measures. */
interface System {
  name: string;
  trial: () => Promise<Trial>;
}

async function createTopic(origin: string, name: string): Promise<void> {
  const response = await fetch(`${origin}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions: PARTITIONS }) });
  if (response.status !== 201) throw new Error(`create topic ${name}: ${response.status} ${await response.text()}`);
}


/** kafkajs: `concurrency` sends in flight, each a batch of ~64 KiB of 1 KiB records, acks=1. */
async function kafkajsProduce(bootstrap: string, topic: string, settings: Settings): Promise<{ records: number; seconds: number }> {
  const client = new kafkajs.Kafka({ brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const value = Buffer.alloc(RECORD_BYTES, 0x61);
  const perBatch = Math.floor(BATCH_BYTES / (RECORD_BYTES + 20));
  let records = 0;
  const started = performance.now();
  const deadline = started + settings.durationMs;
  await Promise.all(
    Array.from({ length: settings.concurrency }, async (_, worker) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const partition = (worker + n) % PARTITIONS;
        await producer.send({ topic, acks: 1, messages: Array.from({ length: perBatch }, (_, i) => ({ key: `key-${i}`, value, partition })) });
        records += perBatch;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return { records, seconds };
}

/**
 * The broker's Kafka path alone, as the HTTP rows measure the HTTP path: Produce v7 requests encoded
 * once, sent over one connection with `concurrency` in flight (answered in order), acks=1.
 */
async function rawKafkaProduce(port: number, topic: string, batch: Buffer, perBatch: number, settings: Settings): Promise<{ records: number; seconds: number }> {
  const requests = Array.from({ length: PARTITIONS }, (_, partition) =>
    Buffer.concat(encodeRequest(ApiKey.Produce, 7, 0, 'bench', { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] })),
  );
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let inFlight = 0;
  let sent = 0;
  let answered = 0;
  let pending: Buffer = Buffer.alloc(0);
  const started = performance.now();
  const deadline = started + settings.durationMs;
  await new Promise<void>((resolve, reject) => {
    const fill = (): void => {
      while (inFlight < settings.concurrency && performance.now() < deadline) {
        socket.write(requests[sent++ % PARTITIONS]!);
        inFlight++;
      }
      if (inFlight === 0) resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        pending = pending.subarray(4 + pending.readInt32BE(0));
        inFlight--;
        answered++;
      }
      fill();
    });
    socket.once('error', reject);
    fill();
  });
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return { records: answered * perBatch, seconds };
}

/**
 * The broker's Kafka fetch path alone, as `httpReadAll` measures the HTTP one: Fetch v11 of each
 * partition on its own connection from offset 0 to the high watermark, 1 MiB per request (the
 * same bound as the HTTP reader), maxWait 0. The next offset comes from the last batch's header.
 */
async function rawKafkaReadAll(port: number, topic: string): Promise<{ seconds: number }> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const frames = frameReader(socket);
      try {
        for (let offset = 0, correlationId = 0; ; correlationId++) {
          const request = encodeRequest(ApiKey.Fetch, 11, correlationId, 'bench', {
            replicaId: -1,
            maxWaitMs: 0,
            minBytes: 1,
            maxBytes: FETCH_BYTES,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: FETCH_BYTES }] }],
            forgottenTopicsData: [],
            rackId: '',
          });
          for (const part of request) socket.write(part);
          const answer = decodeResponse(ApiKey.Fetch, 11, await frames.next()).body.responses[0]!.partitions[0]!;
          if (answer.errorCode !== 0) throw new Error(`Kafka fetch of partition ${partition}: error ${answer.errorCode}`);
          const next = nextOffsetAfter(answer.records);
          if (next === undefined || next >= Number(answer.highWatermark)) break;
          offset = next;
        }
      } finally {
        socket.destroy();
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000 };
}

/** The offset after the last whole RecordBatch in `records` (baseOffset + lastOffsetDelta + 1). */
function nextOffsetAfter(records: Buffer | null): number | undefined {
  let next: number | undefined;
  for (let at = 0; records !== null && at + 61 <= records.length; ) {
    const size = 12 + records.readInt32BE(at + 8);
    if (at + size > records.length) break;
    next = Number(records.readBigInt64BE(at)) + records.readInt32BE(at + 23) + 1;
    at += size;
  }
  return next;
}

/**
 * Whole response frames (size prefix removed) from a socket, one `next()` at a time. Chunks are
 * kept in a list and joined once a frame is whole (joining at every chunk would copy a 1 MiB answer
 * about sixteen times).
 */
function frameReader(socket: Socket): { next: () => Promise<Buffer> } {
  const chunks: Buffer[] = [];
  let buffered = 0;
  let waiter: ((frame: Buffer) => void) | undefined;
  let failed: Error | undefined;
  const frameSize = (): number | undefined => {
    if (buffered < 4) return undefined;
    if (chunks[0]!.length < 4) chunks.splice(0, chunks.length, Buffer.concat(chunks));
    return 4 + chunks[0]!.readInt32BE(0);
  };
  const deliver = (): void => {
    const size = frameSize();
    if (waiter === undefined || size === undefined || buffered < size) return;
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    chunks.length = 0;
    const rest = all.subarray(size);
    if (rest.length > 0) chunks.push(rest);
    buffered = rest.length;
    const resolve = waiter;
    waiter = undefined;
    resolve(all.subarray(4, size));
  };
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    deliver();
  });
  socket.once('error', (e) => (failed = e));
  return {
    next: () =>
      new Promise<Buffer>((resolve, reject) => {
        if (failed !== undefined) return reject(failed);
        waiter = resolve;
        deliver();
      }),
  };
}

/**
 * kafkajs's group consumer (its only consumer) reading the topic from the beginning with
 * `eachBatch`, until it has seen `records`. Timed from its first batch: the join before it waits
 * the group's initial rebalance delay (3 s, as Kafka's), which is not read speed.
 */
async function kafkajsReadAll(bootstrap: string, topic: string, records: number): Promise<{ seconds: number }> {
  const client = new kafkajs.Kafka({ brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const consumer = client.consumer({ groupId: `bench-${process.pid}-${Date.now()}`, maxBytes: FETCH_BYTES * PARTITIONS, maxBytesPerPartition: FETCH_BYTES });
  let started = 0;
  /** Records after the first batch (the timed ones), and all records. */
  let seen = 0;
  let total = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (started === 0) started = performance.now();
            else seen += batch.messages.length;
            total += batch.messages.length;
            if (total >= records) resolve();
          },
        })
        .catch(reject);
    });
    // The time `records` take at the rate of the timed ones.
    return { seconds: ((performance.now() - started) / 1000) * (records / Math.max(seen, 1)) };
  } finally {
    await consumer.disconnect();
  }
}

/** A child process run to its end; its wall time (process start included: small beside the run). */
async function timed(command: string, args: string[], stdinFile?: string): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { stdio: [stdinFile === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  if (stdinFile !== undefined) {
    const { createReadStream } = await import('node:fs');
    createReadStream(stdinFile).pipe(child.stdin!);
  }
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`);
  return (performance.now() - started) / 1000;
}

/** HTTP raw fetch of every partition from offset 0 to the high watermark, 1 MiB per request. */
async function httpReadAll(origin: string, topic: string): Promise<{ bytes: number; seconds: number }> {
  const pool = new Pool(origin, { connections: PARTITIONS });
  let bytes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PARTITIONS }, async (_, partition) => {
      let offset = 0;
      for (;;) {
        const response = await pool.request({ method: 'GET', path: `/v1/topics/${topic}/partitions/${partition}/batches?offset=${offset}&maxBytes=${FETCH_BYTES}` });
        const body = Buffer.from(await response.body.arrayBuffer());
        if (response.statusCode !== 200) throw new Error(`fetch: ${response.statusCode}`);
        bytes += body.length;
        const next = Number(response.headers['strata-next-offset']);
        if (!(next > offset) || next >= Number(response.headers['strata-high-watermark'])) break;
        offset = next;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { bytes, seconds };
}

/** A fresh single broker with the Kafka listener (local object store), stopped after `body`. */
async function withBroker<T>(body: (broker: BrokerProcess) => Promise<T>): Promise<T> {
  const broker = await BrokerProcess.start({ kafka: true, env: { STRATA_LOG_LEVEL: 'warn' } });
  try {
    return await body(broker);
  } finally {
    await broker.stop();
  }
}

/** Runs every system `rounds` times, in a rotated order each round; its trials' rates, by system. */
async function rotate(systems: System[], rounds: number): Promise<Map<string, number[]>> {
  const rates = new Map<string, number[]>(systems.map((s) => [s.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(i + r) % systems.length]!;
      const { records, seconds } = await system.trial();
      rates.get(system.name)!.push(records / seconds);
    }
  }
  return rates;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rows of median rates with their spread, each compared with the `reference` system's median (an HTTP path, in both tables). */
function rowsOf(rates: Map<string, number[]>, reference: string): Row[] {
  const referenceRate = median(rates.get(reference)!);
  return [...rates].map(([name, values]) => {
    const rate = median(values);
    return {
      name,
      'rec/s median': Math.round(rate),
      'rec/s min-max': `${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`,
      'record MB/s': round((rate * RECORD_BYTES) / 1e6),
      'vs HTTP': round(rate / referenceRate, 2),
    };
  });
}

export async function runKafkaBench(settings: Settings = { durationMs: 3000, concurrency: 8, rounds: ROUNDS }): Promise<Row[]> {
  const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
  const { body, records } = batchOfSize(RECORD_BYTES, BATCH_BYTES);
  const httpLoad = (origin: string, path: (i: number) => string): Promise<Trial> =>
    runLoad({
      origin,
      method: 'POST',
      concurrency: settings.concurrency,
      durationMs: settings.durationMs,
      request: (i) => ({ path: path(i), body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
      account: () => ({ bytes: body.length, records }),
    });
  const kcatFile = join(tempDir('strata-kafka-bench-'), 'records.txt');
  if (hasKcat) writeFileSync(kcatFile, Array.from({ length: KCAT_RECORDS }, (_, i) => `key-${i}:${'a'.repeat(RECORD_BYTES)}\n`).join(''));

  const HTTP = `HTTP binary produce (${body.length} B batches, ${settings.concurrency} in flight)`;
  const produce: System[] = [
    {
      name: `baseline: raw append (${body.length} B batches, ${settings.concurrency} in flight)`,
      trial: async () => {
        const baseline = await startBaseline();
        try {
          return await httpLoad(baseline.origin, () => '/append');
        } finally {
          await baseline.stop();
        }
      },
    },
    {
      name: HTTP,
      trial: () =>
        withBroker(async (broker) => {
          await createTopic(broker.url, 't');
          return httpLoad(broker.url, (i) => `/v1/topics/t/partitions/${i % PARTITIONS}/batches?acks=1`);
        }),
    },
    {
      name: `Kafka, pre-encoded Produce v7 (${body.length} B batches, ${settings.concurrency} in flight, 1 connection)`,
      trial: () =>
        withBroker(async (broker) => {
          await createTopic(broker.url, 't');
          return rawKafkaProduce(broker.kafkaPort!, 't', body, records, settings);
        }),
    },
    {
      name: `Kafka, kafkajs 2.2.4 (${settings.concurrency} sends in flight)`,
      trial: () =>
        withBroker(async (broker) => {
          await createTopic(broker.url, 't');
          return kafkajsProduce(`127.0.0.1:${broker.kafkaPort}`, 't', settings);
        }),
    },
  ];
  if (hasKcat) {
    produce.push({
      name: `Kafka, kcat -P (librdkafka 2.0.2), ${KCAT_RECORDS} records, process start included`,
      trial: () =>
        withBroker(async (broker) => {
          await createTopic(broker.url, 't');
          const seconds = await timed('kcat', ['-b', `127.0.0.1:${broker.kafkaPort}`, '-P', '-t', 't', '-K:', '-X', 'acks=1', '-X', 'linger.ms=5', '-X', 'batch.size=1000000'], kcatFile);
          return { records: KCAT_RECORDS, seconds };
        }),
    });
  }
  const rows: Row[] = rowsOf(await rotate(produce, settings.rounds), HTTP).map((r) => ({ ...r, name: `produce ${r.name}` }));

  // Consume: each round a fresh broker filled over HTTP, then each reader in a rotated order.
  const HTTP_READ = `HTTP raw batches (${FETCH_BYTES >> 20} MiB per request, a connection per partition)`;
  const readers: Array<[string, (broker: BrokerProcess, filled: number) => Promise<number>]> = [
    [HTTP_READ, async (broker) => (await httpReadAll(broker.url, 't')).seconds],
    [`Kafka, pre-encoded Fetch v11 (${FETCH_BYTES >> 20} MiB per request, a connection per partition)`, async (broker) => (await rawKafkaReadAll(broker.kafkaPort!, 't')).seconds],
    ['Kafka, kafkajs 2.2.4 group consumer (eachBatch, timed from its first batch)', async (broker, filled) => (await kafkajsReadAll(`127.0.0.1:${broker.kafkaPort}`, 't', filled)).seconds],
  ];
  if (hasKcat) readers.push(['Kafka, kcat -C -e (librdkafka 2.0.2), process start included', (broker) => timed('kcat', ['-b', `127.0.0.1:${broker.kafkaPort}`, '-C', '-t', 't', '-o', 'beginning', '-e', '-q', '-f', '%o\n'])]);
  const rates = new Map<string, number[]>(readers.map(([name]) => [name, []]));
  const batches = Math.ceil(CONSUME_RECORDS / records);
  for (let r = 0; r < settings.rounds; r++) {
    await withBroker(async (broker) => {
      await createTopic(broker.url, 't');
      const fill = await runLoad({
        origin: broker.url,
        method: 'POST',
        concurrency: settings.concurrency,
        durationMs: 120_000,
        maxRequests: batches,
        request: (i) => ({ path: `/v1/topics/t/partitions/${i % PARTITIONS}/batches?acks=1`, body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
      });
      const filled = (fill.requests - fill.errors) * records;
      for (let i = 0; i < readers.length; i++) {
        const [name, read] = readers[(i + r) % readers.length]!;
        rates.get(name)!.push(filled / (await read(broker, filled)));
      }
    });
  }
  rows.push(...rowsOf(rates, HTTP_READ).map((row) => ({ ...row, name: `consume ${row.name}` })));
  if (!hasKcat) rows.push({ name: 'kcat rows skipped: kcat is not installed' });
  return rows;
}

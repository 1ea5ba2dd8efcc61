/**
 * `pnpm bench kafka`: produce and consume through the Kafka listener with real clients (kafkajs;
 * librdkafka through kcat), beside HTTP binary produce and fetch and the raw-append baseline
 * (baseline-server.ts), same broker, same run, same record size. Records per second is the figure
 * to compare (each path frames the same records differently); the machine is shared and noisy.
 * Not a test: nothing here asserts a time. kcat rows are left out when kcat is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { once } from 'node:events';
import kafkajs from 'kafkajs';
import { ApiKey, encodeRequest } from '@strata/kafka-protocol';
import { Pool } from 'undici';
import { BrokerProcess, tempDir } from '@strata/test';
import { batchOfSize, best, round, startBaseline, type Row } from './broker-bench.js';
import { runLoad, type LoadResult } from './load.js';

const RECORD_BYTES = 1024;
const BATCH_BYTES = 64 * 1024;
const PARTITIONS = 4;
const KCAT_RECORDS = 100_000;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

interface Settings {
  durationMs: number;
  concurrency: number;
  repeats: number;
}

async function createTopic(origin: string, name: string): Promise<void> {
  const response = await fetch(`${origin}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions: PARTITIONS }) });
  if (response.status !== 201) throw new Error(`create topic ${name}: ${response.status} ${await response.text()}`);
}

function row(name: string, records: number, seconds: number, extra: Record<string, string | number> = {}): Row {
  return { name, 'rec/s': Math.round(records / seconds), 'record MB/s': round((records * RECORD_BYTES) / seconds / 1e6), ...extra };
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
        const response = await pool.request({ method: 'GET', path: `/v1/topics/${topic}/partitions/${partition}/batches?offset=${offset}&maxBytes=1048576` });
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

export async function runKafkaBench(settings: Settings = { durationMs: 4000, concurrency: 8, repeats: 2 }): Promise<Row[]> {
  const broker = await BrokerProcess.start({ kafka: true, env: { STRATA_LOG_LEVEL: 'warn' } });
  const baseline = await startBaseline();
  const bootstrap = `127.0.0.1:${broker.kafkaPort}`;
  const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
  const rows: Row[] = [];
  try {
    const { body, records } = batchOfSize(RECORD_BYTES, BATCH_BYTES);
    await createTopic(broker.url, 'via-http');
    await createTopic(broker.url, 'via-kafkajs');
    const load = (origin: string, path: () => string): Promise<LoadResult> =>
      runLoad({
        origin,
        method: 'POST',
        concurrency: settings.concurrency,
        durationMs: settings.durationMs,
        request: () => ({ path: path(), body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
        account: () => ({ bytes: body.length, records }),
      });
    const baselineRuns: LoadResult[] = [];
    const httpRuns: LoadResult[] = [];
    const kafkajsRuns: Array<{ records: number; seconds: number }> = [];
    const rawRuns: Array<{ records: number; seconds: number }> = [];
    await createTopic(broker.url, 'via-kafka-raw');
    let n = 0;
    for (let r = 0; r < settings.repeats; r++) {
      baselineRuns.push(await load(baseline.origin, () => '/append'));
      httpRuns.push(await load(broker.url, () => `/v1/topics/via-http/partitions/${n++ % PARTITIONS}/batches?acks=1`));
      kafkajsRuns.push(await kafkajsProduce(bootstrap, 'via-kafkajs', settings));
      rawRuns.push(await rawKafkaProduce(broker.kafkaPort!, 'via-kafka-raw', body, records, settings));
    }
    const b = best(baselineRuns);
    const h = best(httpRuns);
    const faster = (x: { records: number; seconds: number }, y: { records: number; seconds: number }) => (y.records / y.seconds > x.records / x.seconds ? y : x);
    const k = kafkajsRuns.reduce(faster);
    const raw = rawRuns.reduce(faster);
    const baselineRate = b.records / b.seconds;
    rows.push(row(`produce baseline: raw append of ${body.length} B batches, ${settings.concurrency} in flight`, b.records, b.seconds, { 'vs baseline': 1 }));
    rows.push(row(`produce HTTP binary, acks=1, ${settings.concurrency} in flight`, h.records, h.seconds, { 'vs baseline': round(h.records / h.seconds / baselineRate, 2) }));
    rows.push(row(`produce Kafka, pre-encoded Produce v7 (${body.length} B batches), acks=1, ${settings.concurrency} in flight on 1 connection`, raw.records, raw.seconds, { 'vs baseline': round(raw.records / raw.seconds / baselineRate, 2) }));
    rows.push(row(`produce Kafka, kafkajs 2.2.4, acks=1, ${settings.concurrency} sends in flight`, k.records, k.seconds, { 'vs baseline': round(k.records / k.seconds / baselineRate, 2) }));

    if (hasKcat) {
      await createTopic(broker.url, 'via-kcat');
      const file = join(tempDir('strata-kafka-bench-'), 'records.txt');
      const value = 'a'.repeat(RECORD_BYTES);
      writeFileSync(file, Array.from({ length: KCAT_RECORDS }, (_, i) => `key-${i}:${value}\n`).join(''));
      const produceSeconds = await timed('kcat', ['-b', bootstrap, '-P', '-t', 'via-kcat', '-K:', '-X', 'acks=1', '-X', 'linger.ms=5', '-X', 'batch.size=1000000'], file);
      rows.push(row(`produce Kafka, kcat (librdkafka 2.0.2), acks=1, ${KCAT_RECORDS} records`, KCAT_RECORDS, produceSeconds, { 'vs baseline': round(KCAT_RECORDS / produceSeconds / baselineRate, 2) }));
      const consumeSeconds = await timed('kcat', ['-b', bootstrap, '-C', '-t', 'via-kcat', '-o', 'beginning', '-e', '-q', '-f', '%o\n']);
      rows.push(row(`consume Kafka, kcat -C -e, ${KCAT_RECORDS} records, ${PARTITIONS} partitions`, KCAT_RECORDS, consumeSeconds));
      const http = await httpReadAll(broker.url, 'via-kcat');
      rows.push(row(`consume HTTP raw batches, same topic, 1 MiB per request`, KCAT_RECORDS, http.seconds, { 'bytes MB/s': round(http.bytes / http.seconds / 1e6) }));
    } else {
      rows.push({ name: 'kcat rows skipped: kcat is not installed' });
    }
  } finally {
    await baseline.stop();
    await broker.stop();
  }
  return rows;
}

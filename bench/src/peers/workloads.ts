/**
 * The throughput workloads of `pnpm bench peers`, one partition / stream, closed loop for a bounded
 * time. Two kinds, each against every system:
 * - `client`: each system's standard Node client, a record per call, acknowledged: Strata's
 *   Producer.send(), nats' JetStream js.publish() (waits for the stream's PubAck), ioredis XADD in
 *   pipelines. Each keeps two windows of calls outstanding.
 * - `fastest`: the fastest way in each offers: Strata raw RecordBatch produce (64 KiB batches over
 *   HTTP, acks=1, 8 in flight); NATS core publish into the stream's subject (no acks: the clock stops
 *   when the stream holds every record); Redis XADD pipelined over raw RESP on one socket.
 * Bytes counted are record values only (the same for every system), not framing.
 */
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { connect, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { Producer, type RecordMetadata } from '@strata/client';
import { runLoad } from '../load.js';
import { batchOfSize } from '../broker-bench.js';
import { STREAM, SUBJECT, type Server } from './servers.js';

export type Workload = 'client' | 'fastest';

export interface Throughput {
  records: number;
  seconds: number;
}

/** Calls issued before a loop awaits the window before the previous one (two windows in flight). */
const WINDOW_RECORDS = 10_000;
/**
 * js.publish() times an ack out after 5 s (the client's default): windows of 10,000 did here, as
 * JetStream acks came back at a few thousand a second. 2,000 keeps every ack inside its timeout.
 */
const NATS_WINDOW_RECORDS = 2_000;
const RAW_BATCH_BYTES = 64 * 1024;
const RAW_IN_FLIGHT = 8;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';
/** How long core publishes may take to land in the stream after the last one (they are not acknowledged). */
const STORED_TIMEOUT_MS = 60_000;
const STORED_POLL_MS = 10;

export async function runThroughput(workload: Workload, server: Server, recordBytes: number, durationMs: number): Promise<Throughput> {
  const value = Buffer.alloc(recordBytes, 0x61);
  switch (server.peer) {
    case 'strata':
      return workload === 'client' ? strataProducer(server, value, durationMs) : strataRaw(server, recordBytes, durationMs);
    case 'nats':
      return workload === 'client' ? natsJetStream(server, value, durationMs) : natsCore(server, value, durationMs);
    case 'redis':
      return workload === 'client' ? redisPipelined(server, value, durationMs) : redisRaw(server, value, durationMs);
  }
}

/** Two windows outstanding: issue one, await the one before, until the time is up. */
async function windows(durationMs: number, windowRecords: number, sendWindow: () => Promise<unknown>): Promise<Throughput> {
  const started = performance.now();
  const deadline = started + durationMs;
  let previous: Promise<unknown> | null = null;
  let records = 0;
  while (performance.now() < deadline) {
    const window = sendWindow();
    if (previous !== null) await previous;
    previous = window;
    records += windowRecords;
  }
  await previous;
  return { records, seconds: (performance.now() - started) / 1000 };
}

async function strataProducer(server: Server, value: Buffer, durationMs: number): Promise<Throughput> {
  const producer = new Producer({ brokers: server.url });
  try {
    await producer.send({ topic: STREAM, value });
    return await windows(durationMs, WINDOW_RECORDS, () => {
      const sends: Array<Promise<RecordMetadata>> = [];
      for (let i = 0; i < WINDOW_RECORDS; i++) sends.push(producer.send({ topic: STREAM, value }));
      return Promise.all(sends);
    });
  } finally {
    await producer.close();
  }
}

async function strataRaw(server: Server, recordBytes: number, durationMs: number): Promise<Throughput> {
  const { body, records } = batchOfSize(recordBytes, RAW_BATCH_BYTES);
  const result = await runLoad({
    origin: server.url,
    method: 'POST',
    concurrency: RAW_IN_FLIGHT,
    durationMs,
    request: () => ({ path: `/v1/topics/${STREAM}/partitions/0/batches?acks=1`, body, headers: { 'content-type': RECORD_BATCH_TYPE } }),
    account: () => ({ bytes: body.length, records }),
  });
  if (result.errors > 0) throw new Error(`strata raw produce: ${result.errors} failed requests`);
  return { records: result.records, seconds: result.seconds };
}

/** A connection and the bench stream (file storage, one replica), created before the clock starts. */
export async function natsWithStream(server: Server): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({ servers: server.url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], storage: StorageType.File, num_replicas: 1 });
  return { nc, jsm };
}

async function natsJetStream(server: Server, value: Buffer, durationMs: number): Promise<Throughput> {
  const { nc } = await natsWithStream(server);
  try {
    const js = nc.jetstream();
    await js.publish(SUBJECT, value);
    return await windows(durationMs, NATS_WINDOW_RECORDS, () => {
      const acks: Array<Promise<unknown>> = [];
      for (let i = 0; i < NATS_WINDOW_RECORDS; i++) acks.push(js.publish(SUBJECT, value));
      return Promise.all(acks);
    });
  } finally {
    await nc.close();
  }
}

/**
 * Core publishes carry no acknowledgement: a flush (PING/PONG) per window bounds what is in flight,
 * and the clock stops when the stream holds every record published. Records the server dropped
 * would never arrive: that throws rather than count them.
 */
async function natsCore(server: Server, value: Buffer, durationMs: number): Promise<Throughput> {
  const { nc, jsm } = await natsWithStream(server);
  try {
    const started = performance.now();
    const sent = await windows(durationMs, WINDOW_RECORDS, () => {
      for (let i = 0; i < WINDOW_RECORDS; i++) nc.publish(SUBJECT, value);
      return nc.flush();
    });
    const deadline = performance.now() + STORED_TIMEOUT_MS;
    for (;;) {
      const stored = (await jsm.streams.info(STREAM)).state.messages;
      if (stored >= sent.records) break;
      if (performance.now() > deadline) throw new Error(`nats core publish: the stream holds ${stored} of ${sent.records} records published`);
      await sleep(STORED_POLL_MS);
    }
    return { records: sent.records, seconds: (performance.now() - started) / 1000 };
  } finally {
    await nc.close();
  }
}

async function redisPipelined(server: Server, value: Buffer, durationMs: number): Promise<Throughput> {
  const redis = new Redis(server.port, '127.0.0.1');
  try {
    await redis.xadd(STREAM, '*', 'v', value);
    return await windows(durationMs, WINDOW_RECORDS, async () => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < WINDOW_RECORDS; i++) pipeline.xadd(STREAM, '*', 'v', value);
      const replies = (await pipeline.exec()) ?? [];
      const failed = replies.find(([error]) => error !== null);
      if (failed) throw failed[0]!;
    });
  } finally {
    redis.disconnect();
  }
}

/** WINDOW_RECORDS `XADD bench * v <value>` commands, RESP-encoded once and written as one buffer per window. */
function xaddWindow(value: Buffer): Buffer {
  const head = Buffer.from(`*5\r\n$4\r\nXADD\r\n$${STREAM.length}\r\n${STREAM}\r\n$1\r\n*\r\n$1\r\nv\r\n$${value.length}\r\n`);
  const command = Buffer.concat([head, value, Buffer.from('\r\n')]);
  return Buffer.concat(Array.from({ length: WINDOW_RECORDS }, () => command));
}

async function redisRaw(server: Server, value: Buffer, durationMs: number): Promise<Throughput> {
  const socket = createConnection({ host: '127.0.0.1', port: server.port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const replies = new ReplyCounter(socket);
  const window = xaddWindow(value);
  let issued = 0;
  try {
    return await windows(durationMs, WINDOW_RECORDS, () => {
      issued += WINDOW_RECORDS;
      socket.write(window);
      return replies.until(issued);
    });
  } finally {
    socket.destroy();
  }
}

/**
 * Counts RESP replies to XADD as they stream in: a bulk string (`$<n>\r\n<id>\r\n`) each, or an error
 * line (`-...\r\n`), which fails the run. Replies split anywhere across chunks.
 */
class ReplyCounter {
  private count = 0;
  private pending = Buffer.alloc(0);
  /** In target order: windows are issued in order, each waiting for a higher count. */
  private readonly waiters: Array<{ target: number; resolve: () => void; reject: (error: Error) => void }> = [];
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.consume(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('redis closed the connection')));
  }

  until(target: number): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.count >= target) return Promise.resolve();
    return new Promise((resolve, reject) => void this.waiters.push({ target, resolve, reject }));
  }

  private consume(chunk: Buffer): void {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd < 0) break;
      if (data[at] === 0x2d /* '-' */) return this.fail(new Error(`redis: ${data.toString('utf8', at + 1, lineEnd)}`));
      if (data[at] !== 0x24 /* '$' */) return this.fail(new Error(`redis: unexpected reply ${data.toString('utf8', at, lineEnd)}`));
      const next = lineEnd + 2 + Number(data.toString('latin1', at + 1, lineEnd)) + 2;
      if (next > data.length) break;
      at = next;
      this.count++;
    }
    data = data.subarray(at);
    this.pending = Buffer.from(data);
    while (this.waiters.length > 0 && this.count >= this.waiters[0]!.target) this.waiters.shift()!.resolve();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}

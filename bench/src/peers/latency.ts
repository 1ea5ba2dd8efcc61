/**
 * Latency at a steady 5,000 records/s of 1 KiB, open loop: a send is due every 1/rate s whether or not
 * earlier ones were answered (in bursts when the timer is late), and each is timed from when it was
 * due, so a stall shows as latency rather than as fewer sends. One record per call, each system's
 * acknowledged path: Strata raw produce (one RecordBatch of one record per HTTP request, acks=1),
 * Strata's Producer with default settings, nats JetStream js.publish (PubAck), ioredis XADD.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { Redis } from 'ioredis';
import { Producer } from '@strata/client';
import { batchOfSize } from '../broker-bench.js';
import { natsWithStream } from './workloads.js';
import { STREAM, SUBJECT, type Server } from './servers.js';

/** 'strata-raw-before': raw produce against STRATA_BENCH_BEFORE's build of the broker. */
export type LatencyPath = 'strata-raw' | 'strata-raw-before' | 'strata-producer' | 'nats' | 'redis';

export const PACED_RATE_PER_SEC = 5_000;
export const PACED_RECORD_BYTES = 1024;
const WARMUP_SECONDS = 0.5;
/** Connections of the raw-produce pool: enough that the open loop never queues behind busy ones at this rate. */
const RAW_CONNECTIONS = 32;
const RECORD_BATCH_TYPE = 'application/vnd.kafka.record-batch';

/** Sorted latencies (ms) of `seconds` of sends at `rate`, after a warm-up at the same rate. */
export async function runPaced(path: LatencyPath, server: Server, seconds: number): Promise<number[]> {
  const sender = await senderFor(path, server);
  try {
    await paced(sender.send, WARMUP_SECONDS);
    return await paced(sender.send, seconds);
  } finally {
    await sender.close();
  }
}

interface Sender {
  send: () => Promise<unknown>;
  close: () => Promise<void>;
}

async function senderFor(path: LatencyPath, server: Server): Promise<Sender> {
  const value = Buffer.alloc(PACED_RECORD_BYTES, 0x63);
  switch (path) {
    case 'strata-raw':
    case 'strata-raw-before': {
      const pool = new Pool(server.url, { connections: RAW_CONNECTIONS, pipelining: 1 });
      const { body } = batchOfSize(PACED_RECORD_BYTES, 1);
      const requestPath = `/v1/topics/${STREAM}/partitions/0/batches?acks=1`;
      return {
        send: async () => {
          const response = await pool.request({ method: 'POST', path: requestPath, body, headers: { 'content-type': RECORD_BATCH_TYPE } });
          const text = await response.body.text();
          if (response.statusCode !== 200) throw new Error(`strata raw produce: ${response.statusCode} ${text.slice(0, 200)}`);
        },
        close: () => pool.close(),
      };
    }
    case 'strata-producer': {
      const producer = new Producer({ brokers: server.url });
      return { send: () => producer.send({ topic: STREAM, value }), close: () => producer.close() };
    }
    case 'nats': {
      const { nc } = await natsWithStream(server);
      const js = nc.jetstream();
      return { send: () => js.publish(SUBJECT, value), close: () => nc.close() };
    }
    case 'redis': {
      const redis = new Redis(server.port, '127.0.0.1');
      return { send: () => redis.xadd(STREAM, '*', 'v', value), close: async () => void redis.disconnect() };
    }
  }
}

/**
 * The open loop. The generator shares the machine with the server it measures, so it keeps nothing
 * per send once answered: latencies go into one preallocated array and completion is a count, not
 * a promise kept per send (22,500 of them, promoted by the generator's own scavenges, whose pauses
 * would be charged to the server measured).
 */
async function paced(send: () => Promise<unknown>, seconds: number): Promise<number[]> {
  const intervalMs = 1000 / PACED_RATE_PER_SEC;
  const total = Math.round(PACED_RATE_PER_SEC * seconds);
  const latencies = new Float64Array(total);
  let answered = 0;
  let inFlight = 0;
  let failure: unknown = null;
  let drained: (() => void) | null = null;
  const started = performance.now();
  const settled = (): void => {
    if (--inFlight === 0) drained?.();
  };
  const sendAt = (scheduled: number): void => {
    inFlight++;
    send().then(
      () => {
        latencies[answered++] = performance.now() - scheduled;
        settled();
      },
      (e: unknown) => {
        failure ??= e;
        settled();
      },
    );
  };
  for (let i = 0; i < total; ) {
    const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
    for (; i < due; i++) sendAt(started + i * intervalMs);
    await sleep(1);
  }
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  if (failure !== null) throw failure;
  return Array.from(latencies.subarray(0, answered)).sort((a, b) => a - b);
}

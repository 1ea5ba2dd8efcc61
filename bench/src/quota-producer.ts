/**
 * One producer of `pnpm bench quotas` (quotas-bench.ts), run as its own process so that neither
 * producer shares an event loop, a heap or a CPU share with the other or with the bench: its one
 * argument is a JSON `ProducerPlan`. It starts producing at once, prints `ready` once
 * `readyAfterBytes` are answered (at least one send), then reads its measured window (a JSON `MeasureWindow` line) on stdin: the bench
 * starts the warm-up only when every producer is really sending, and the throttled one has taken
 * its first burst (a client's start, kafkajs's metadata retries, and kafkajs short of CPU took more
 * than the warm-up on a busy machine and let the burst into the window). It prints one JSON `ProducerReport` line when done.
 *
 * Two clients:
 * - `kafkajs`: the real client, which honours throttle_time_ms itself (KIP-219: it delays its own
 *   next request), `concurrency` sends in flight. Its answered Produce requests are counted from its
 *   request events (whose `size` is the answer's, not the request's), each as the size of the same
 *   request encoded here: `recordsPerSend` keyless records in one batch (a few bytes of timestamp
 *   varints apart, the bytes kafkajs sends).
 * - `raw`: Produce v7 requests encoded once (as `pnpm bench kafka`), `concurrency` in flight on one
 *   connection, answers read in order. It never waits out a throttle time it is told: only the
 *   broker's muted connection holds it back, so it shows that a client ignoring quotas is held too.
 *
 * Counted: the request bytes of each acknowledged Produce (what the broker's producer_byte_rate
 * measures: the request after its 4-byte size prefix), by the time its answer came, into buckets of
 * `bucketMs` over [measureFromMs, stopAtMs); the latency of each send both started and answered in
 * that window. Clocks are wall-clock ms (Date.now), one machine, so the bench sets one window for
 * both producers. Any error in an answer ends the run with a non-zero exit: a figure from failing
 * sends would not mean anything.
 */
import { connect } from 'node:net';
import { once } from 'node:events';
import kafkajs from 'kafkajs';
import { ApiKey, decodeResponse, encodeRequest } from '@strata/kafka-protocol';
import { encodeRecordBatch } from '@strata/protocol';

export interface ProducerPlan {
  client: 'kafkajs' | 'raw';
  port: number;
  clientId: string;
  topic: string;
  partitions: number;
  /** Sends in flight. */
  concurrency: number;
  recordBytes: number;
  recordsPerSend: number;
  bucketMs: number;
  /** Request bytes answered before it says `ready` (a throttled producer: its first burst; else 0, the first answer). */
  readyAfterBytes: number;
}

export interface MeasureWindow {
  /** Wall-clock ms: the start of the measured window. */
  measureFromMs: number;
  /** Wall-clock ms: the end of the measured window; the producer stops sending then. */
  stopAtMs: number;
}

export interface ProducerReport {
  /** Acknowledged Produce request bytes per bucket of the measured window. */
  bucketBytes: number[];
  /** Sends both started and answered in the window. */
  sends: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers with a throttle time > 0 in the window, and their throttle times' sum (ms). */
  throttledAnswers: number;
  throttleMsTotal: number;
}

class Tally {
  bucketBytes: number[] = [];
  readonly latencies: number[] = [];
  throttledAnswers = 0;
  throttleMsTotal = 0;
  /** The measured window: unknown (nothing counted, no end) until the bench sends it. */
  window: MeasureWindow = { measureFromMs: Infinity, stopAtMs: Infinity };
  #ready = false;
  #answeredBytes = 0;

  constructor(private readonly plan: ProducerPlan) {}

  setWindow(window: MeasureWindow): void {
    this.window = window;
    this.bucketBytes = new Array<number>(Math.ceil((window.stopAtMs - window.measureFromMs) / this.plan.bucketMs)).fill(0);
  }

  /** One acknowledged send: `bytes` of request, sent at `sentMs`, answered at `doneMs` (wall clock). */
  add(bytes: number, sentMs: number, doneMs: number, throttleMs: number): void {
    this.#answeredBytes += bytes;
    if (!this.#ready && this.#answeredBytes >= this.plan.readyAfterBytes) {
      this.#ready = true;
      process.stdout.write('ready\n');
    }
    const { measureFromMs, stopAtMs } = this.window;
    if (doneMs < measureFromMs || doneMs >= stopAtMs) return;
    this.bucketBytes[Math.floor((doneMs - measureFromMs) / this.plan.bucketMs)]! += bytes;
    if (throttleMs > 0) {
      this.throttledAnswers++;
      this.throttleMsTotal += throttleMs;
    }
    if (sentMs >= measureFromMs) this.latencies.push(doneMs - sentMs);
  }

  report(): ProducerReport {
    const sorted = this.latencies.sort((a, b) => a - b);
    const at = (q: number): number => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!);
    return { bucketBytes: this.bucketBytes, sends: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), throttledAnswers: this.throttledAnswers, throttleMsTotal: this.throttleMsTotal };
  }
}

/** One Produce v7 request per partition, each of one batch of `recordsPerSend` keyless records (without the size prefix's 4 bytes, kept in front). */
function produceRequests(plan: ProducerPlan): Buffer[] {
  const value = Buffer.alloc(plan.recordBytes, 0x61);
  const batch = encodeRecordBatch(Array.from({ length: plan.recordsPerSend }, () => ({ value })));
  return Array.from({ length: plan.partitions }, (_, partition) =>
    Buffer.concat(encodeRequest(ApiKey.Produce, 7, 0, plan.clientId, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: plan.topic, partitionData: [{ index: partition, records: batch }] }] })),
  );
}

async function kafkajsProducer(plan: ProducerPlan, tally: Tally): Promise<void> {
  const requestBytes = produceRequests(plan)[0]!.length - 4;
  const client = new kafkajs.Kafka({ clientId: plan.clientId, brokers: [`127.0.0.1:${plan.port}`], logLevel: kafkajs.logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  // kafkajs reports each request once answered, with how long it took.
  producer.on(producer.events.REQUEST, ({ payload }) => {
    if (payload.apiName !== 'Produce') return;
    const doneMs = Date.now();
    tally.add(requestBytes, doneMs - payload.duration, doneMs, 0);
  });
  await producer.connect();
  const value = Buffer.alloc(plan.recordBytes, 0x61);
  await Promise.all(
    Array.from({ length: plan.concurrency }, async (_, worker) => {
      for (let n = 0; Date.now() < tally.window.stopAtMs; n++) {
        const partition = (worker + n) % plan.partitions;
        await producer.send({ topic: plan.topic, acks: 1, messages: Array.from({ length: plan.recordsPerSend }, () => ({ value, partition })) });
      }
    }),
  );
  await producer.disconnect();
}

async function rawProducer(plan: ProducerPlan, tally: Tally): Promise<void> {
  const requests = produceRequests(plan);
  const socket = connect(plan.port, '127.0.0.1');
  await once(socket, 'connect');
  /** Send times of the requests in flight, oldest first (answers come in order on one connection). */
  const sentAt: number[] = [];
  let sent = 0;
  let pending: Buffer = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const fill = (): void => {
      while (sentAt.length < plan.concurrency && Date.now() < tally.window.stopAtMs) {
        sentAt.push(Date.now());
        socket.write(requests[sent++ % plan.partitions]!);
      }
      if (sentAt.length === 0) resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        const answer = decodeResponse(ApiKey.Produce, 7, frame).body;
        const code = answer.responses[0]?.partitionResponses[0]?.errorCode;
        if (code !== 0) return reject(new Error(`${plan.clientId}: Produce answered error ${code}`));
        // Every request is the same size; the one answered is the oldest in flight.
        tally.add(requests[0]!.length - 4, sentAt.shift()!, Date.now(), answer.throttleTimeMs);
      }
      fill();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`${plan.clientId}: the broker closed the connection`)));
    fill();
  });
  socket.destroy();
}

const plan = JSON.parse(process.argv[2] ?? '') as ProducerPlan;
const tally = new Tally(plan);
let input = '';
process.stdin.on('data', (chunk: Buffer) => {
  input += chunk.toString();
  if (input.includes('\n')) tally.setWindow(JSON.parse(input) as MeasureWindow);
});
await (plan.client === 'kafkajs' ? kafkajsProducer(plan, tally) : rawProducer(plan, tally));
process.stdout.write(`${JSON.stringify(tally.report())}\n`);

// The producer: records are partitioned as Kafka's default partitioner does,
// written as they arrive into one open batch per partition (batch-builder.ts:
// a buffered record is bytes, not an object), closed when full (batchBytes),
// when the partition has nothing in flight (at the end of the event-loop turn),
// or after lingerMs while a request is in flight, and POSTed as RecordBatch v2
// to the raw batches endpoint. The moving parts:
//
//   send() -> fast path: straight into the partition's open batch
//          -> else intake (FIFO; waits for metadata and buffer space)
//          -> ready queue -> up to maxInFlightRequestsPerPartition requests pipelined on the partition's lane
//
// One promise per record is what send() returns: a reaction on its batch's one outcome promise
// (producer-state.ts Batch), settled together with the batch, one RecordMetadata each.
//
// Ordering per partition (Kafka's max.in.flight.requests.per.connection, 5): a
// partition's requests go pipelined, in order, on one HTTP/1.1 connection (its
// lane, which up to 8 partitions per broker may share: connection.ts LanePool);
// the broker reads and hands them to its handler in order. Several connections
// would race; one request at a time left the broker idle a round trip per batch.
// Requests settle oldest first. A failed one is sent again alone, and nothing
// new goes until it is through; those behind it (refused as out of order, or cut
// with the connection) follow it, one at a time, as Kafka retries.
//
// Idempotence (the default with acks 'all', as Kafka's enable.idempotence): the
// producer takes a producer id once (POST /v1/producers) and stamps it, epoch 0
// and a per-partition sequence into each batch when the batch is sent; a retry
// resends the same bytes, so a request whose answer was lost (the connection
// broke after the append) is answered with the first write's offsets, never
// written twice. One batch per request then, as Kafka sends: a retry is wholly a
// duplicate or wholly new. A batch that fails for good leaves its sequence used
// or not, nobody knows: the producer takes a new id (Kafka bumps the epoch), and
// every partition's sequences start again at 0. Without idempotence a retry of a
// request that reached the broker duplicates it, as in Kafka.
//
// Memory: every record reserves its size estimate from `bufferBytes` and one of `bufferRecords`
// when it enters a batch and gives them back when its batch settles; send() waits (FIFO) while
// either is used up, at most maxBlockMs.
// Callers that keep awaiting `enqueue` (or bound their unawaited sends) hold at
// most one waiting record.

import { isStrataError, StrataError } from '@strata/protocol';
import { StrataApi, type ProduceAnswer } from './api.js';
import { Idempotence, type StampedIdentity } from './idempotence.js';
import { connectionFor, LanePool, type Connection, type ConnectWith } from './connection.js';
import { Batch, bufferWaitTimedOut, Fifo, Flight, PartitionState, recordTooLarge, Waiting, deferred, failDelivery, isUnknownTopic, type Enqueued, type ProducerStats, type SendCallback, type TopicMetadata } from './producer-state.js';

export type { Enqueued, ProducerStats, SendCallback } from './producer-state.js';
import { ProducerTopics } from './producer-topics.js';
import { Partitioner } from './partitioner.js';
import { RequestFailure } from './failure.js';
import { retryChannel, type RetryEvent } from './retry.js';
import { PRODUCER_CONNECTIONS_PER_BROKER_MAX, resolveProducerTuning, type ProducerTuning, type ResolvedProducerTuning } from './options.js';
import { BATCH_OVERHEAD_BYTES, emptyRecordParts, measureRecord, type ProducerRecord, type RecordMetadata, type RecordParts } from './records.js';

/** Brokers and connection settings (or `{connection}` to share another client's pools), and the producer's tuning. */
export type ProducerOptions = ConnectWith & ProducerTuning;

export class Producer {
  readonly options: Readonly<ResolvedProducerTuning>;
  readonly #api: StrataApi;
  readonly #ownsConnection: boolean;
  readonly #topics: ProducerTopics;
  readonly #partitioner: Partitioner;
  readonly #partitions: PartitionState[] = [];
  readonly #lanes: LanePool;
  readonly #intake = new Fifo<Waiting>();
  readonly #batches = new Set<Batch>();
  #pumping: Promise<void> | null = null;
  #bufferedBytes = 0;
  #bufferedRecords = 0;
  #inFlightRequests = 0;
  /** Wakes the intake when a batch settles and frees buffer space. */
  #spaceFreed: (() => void) | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Idempotent: the producer id batches are stamped with, and each partition's sequences (idempotence.ts). */
  readonly #idempotence: Idempotence;
  /** send()'s scratch: each record is measured into it, then written into its batch (no object per record). */
  readonly #parts: RecordParts = emptyRecordParts();
  /** The buffer of the last acknowledged batch, for the next one (one at most: at most batchBytes held). */
  #spareBuffer: Buffer | null = null;

  constructor(options: ProducerOptions) {
    const { connection, owned } = connectionFor(options);
    this.#ownsConnection = owned;
    this.#api = new StrataApi(connection);
    this.options = Object.freeze(resolveProducerTuning(options));
    this.#topics = new ProducerTopics(this.#api, this.options.metadataMaxAgeMs, this.options.maxRequestBytes);
    this.#partitioner = new Partitioner(this.#topics);
    this.#idempotence = new Idempotence(this.#api);
    this.#lanes = new LanePool(connection, this.options.maxInFlightRequestsPerPartition, PRODUCER_CONNECTIONS_PER_BROKER_MAX);
  }

  /** The connection this producer sends on (share it: `new Admin({ connection: producer.connection })`). */
  get connection(): Connection {
    return this.#api.connection;
  }

  /**
   * Sends a record; resolves with its partition and offset once acknowledged (per `acks`). With a
   * callback (Kafka's send(record, Callback)), returns nothing and calls it instead: no promise.
   */
  send(record: ProducerRecord, callback: SendCallback): void;
  // Last: what ReturnType<Producer['send']> reads.
  send(record: ProducerRecord): Promise<RecordMetadata>;
  send(record: ProducerRecord, callback?: SendCallback): Promise<RecordMetadata> | void {
    if (callback !== undefined) return this.#sendWithCallback(record, callback);
    try {
      return this.#submit(record, false).delivery();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #sendWithCallback(record: ProducerRecord, callback: SendCallback): void {
    let target: Batch | Waiting;
    try {
      target = this.#submit(record, false);
    } catch (e) {
      queueMicrotask(() => callback(e));
      return;
    }
    target.join(callback, null);
  }

  /**
   * Resolves once the record is in the buffer (waiting while it is full: backpressure for loops
   * that `await producer.enqueue(r)`), with the promise of its delivery. Rejects as send() would
   * when the record cannot be accepted. The caller must handle `delivered`.
   */
  async enqueue(record: ProducerRecord): Promise<Enqueued> {
    const target = this.#submit(record, true);
    const delivered = target.delivery();
    if (target instanceof Batch) return { delivered };
    try {
      await target.accepted!.promise;
    } catch (e) {
      delivered.catch(() => undefined);
      throw e;
    }
    return { delivered };
  }

  /** Makes every buffered record ready at once (ignoring lingerMs) and waits until all records sent before it settled. */
  async flush(): Promise<void> {
    this.#closeAllOpen();
    while (this.#pumping !== null) await this.#pumping;
    this.#closeAllOpen();
    await Promise.all([...this.#batches].map((b) => b.settled.promise));
  }

  /** Refuses new sends, flushes, then closes the connection's pools (unless shared). Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.flush();
      await this.#lanes.close();
      if (this.#ownsConnection) await this.#api.connection.close();
    })();
    return this.#closing;
  }

  stats(): ProducerStats {
    return {
      bufferedBytes: this.#bufferedBytes,
      bufferBytes: this.options.bufferBytes,
      bufferedRecords: this.#bufferedRecords,
      bufferRecords: this.options.bufferRecords,
      waitingSends: this.#intake.length,
      batches: this.#batches.size,
      inFlightRequests: this.#inFlightRequests,
    };
  }

  // --- intake ---------------------------------------------------------------------------------

  /**
   * Measures the record (throws for a bad one: it fails alone) and, on the fast path (nothing waits
   * ahead, the metadata is known and the buffer has room), writes it into its partition's batch and
   * returns that batch. Otherwise it queues a Waiting for the pump, and returns it.
   */
  #submit(input: ProducerRecord, wantAccepted: boolean): Batch | Waiting {
    if (this.#closed) throw new StrataError('INVALID_REQUEST', 'send after close(): the producer is closed');
    const parts = this.#parts;
    measureRecord(input, parts);
    this.#checkSize(parts.sizeBytes, null);
    const now = Date.now();
    if (this.#intake.length === 0) {
      const metadata = this.#topics.known(parts.topic, now);
      if (metadata !== null && this.#hasSpace(parts.sizeBytes)) return this.#admit(parts, parts.timestamp ?? now, metadata, now);
    }
    const waiting = new Waiting(parts, now);
    if (wantAccepted) waiting.accepted = deferred<void>();
    this.#intake.push(waiting);
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = null;
    });
    return waiting;
  }

  #hasSpace(bytes: number): boolean {
    return this.#bufferedBytes + bytes <= this.options.bufferBytes && this.#bufferedRecords < this.options.bufferRecords;
  }

  /** Admits waiting sends one at a time, in order; one that cannot be admitted fails alone. */
  async #pump(): Promise<void> {
    while (this.#intake.length > 0) {
      const waiting = this.#intake.first()!;
      try {
        const deadline = waiting.enqueuedAt + this.options.maxBlockMs;
        const metadata = this.#topics.known(waiting.topic, Date.now()) ?? (await this.#topics.load(waiting.topic, deadline));
        if (!this.#hasSpace(waiting.sizeBytes)) await this.#waitForSpace(waiting.sizeBytes, deadline); // no await per record otherwise
        const batch = this.#admit(waiting, waiting.timestamp, metadata, Date.now());
        batch.join(waiting.resolve, waiting.reject);
        waiting.accepted?.resolve();
      } catch (e) {
        failDelivery(waiting.resolve, waiting.reject, e);
        waiting.accepted?.reject(e);
      }
      this.#intake.removeFirst();
    }
  }

  async #waitForSpace(bytes: number, deadline: number): Promise<void> {
    while (!this.#hasSpace(bytes)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw bufferWaitTimedOut(this.options.maxBlockMs, this.stats());
      }
      // As Kafka's accumulator when its memory is exhausted: lingering batches go now, so the
      // space they hold comes back without waiting for lingerMs. Not those of a partition with a
      // request in flight: its answer frees space anyway, and closing its open batch each time the
      // buffer fills cut every batch down to what the last answer freed (a batch closed early by
      // its linger made every later one as small: 100 B records at full speed went in 465-record
      // requests, never full ones).
      for (const tp of this.#partitions) if (tp.open !== null && !tp.inFlight) this.#closeOpen(tp);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#spaceFreed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#spaceFreed = null;
    }
  }

  #checkSize(sizeBytes: number, metadata: TopicMetadata | null): void {
    const limit = Math.min(this.options.maxRequestBytes, this.options.bufferBytes, metadata?.maxMessageBytes ?? Infinity);
    if (sizeBytes + BATCH_OVERHEAD_BYTES > limit) {
      throw recordTooLarge(sizeBytes + BATCH_OVERHEAD_BYTES, limit);
    }
  }

  // --- batching -------------------------------------------------------------------------------

  #partitionState(topic: string, partition: number): PartitionState {
    const byPartition = this.#topics.topic(topic).partitions;
    let tp = byPartition[partition];
    if (tp === undefined) {
      tp = new PartitionState(topic, partition);
      byPartition[partition] = tp;
      this.#partitions.push(tp);
    }
    return tp;
  }

  /** Writes the record into its partition's open batch (opening one if needed) and returns the batch. */
  #admit(record: RecordParts, timestamp: number, metadata: TopicMetadata, now: number): Batch {
    this.#checkSize(record.sizeBytes, metadata);
    const partition = this.#partitioner.choose(record, metadata);
    const tp = this.#partitionState(record.topic, partition);
    const { batchBytes } = this.options;
    // Full is measured in the bytes written (builder.bytes) plus this record's worst case: the
    // reserved estimates overstate a 100 B record by a third, and closed batches at 3/4 of batchBytes.
    if (tp.open !== null && tp.open.builder.bytes + record.sizeBytes > batchBytes) this.#closeOpen(tp);
    let batch = tp.open;
    if (batch === null) {
      const capacityBytes = Math.max(Math.min(batchBytes, tp.lastBatchBytes), BATCH_OVERHEAD_BYTES + record.sizeBytes);
      batch = new Batch(now, capacityBytes, this.#spareBuffer);
      this.#spareBuffer = null;
      tp.open = batch;
      this.#batches.add(batch);
      this.#scheduleClose(tp);
    }
    batch.builder.append(record, timestamp);
    batch.bytes += record.sizeBytes;
    this.#bufferedBytes += record.sizeBytes;
    this.#bufferedRecords++;
    if (this.#bufferedBytes > this.options.bufferBytes || this.#bufferedRecords > this.options.bufferRecords) {
      throw new StrataError('INTERNAL_ERROR', 'assertion failed: the buffer exceeds bufferBytes or bufferRecords');
    }
    // Another record like this one would not fit: the batch goes now rather than on the next send.
    if (batch.builder.bytes + record.sizeBytes > batchBytes) this.#closeOpen(tp);
    return batch;
  }

  /**
   * When the open batch goes. A partition with nothing in flight and nothing ready sends it at the
   * end of this event-loop turn (the sends of one turn share it; a lone record does not wait
   * lingerMs), as Kafka's p50 is not its linger: batch what is waiting, send at once when nothing
   * is in flight. While a request is in flight, records gather for up to lingerMs (or until the
   * batch is full), and the batch goes as soon as the partition is idle again (#afterRequest).
   */
  #scheduleClose(tp: PartitionState): void {
    if (tp.open === null || tp.turnEnd !== null) return;
    if (!tp.inFlight && tp.ready.length === 0) {
      if (tp.lingerTimer !== null) clearTimeout(tp.lingerTimer);
      tp.lingerTimer = null;
      tp.turnEnd = setImmediate(() => {
        tp.turnEnd = null;
        this.#closeOpen(tp);
      });
    } else if (tp.lingerTimer === null) {
      tp.lingerTimer = setTimeout(() => this.#closeOpen(tp), this.options.lingerMs);
    }
  }

  #closeOpen(tp: PartitionState): void {
    if (tp.lingerTimer !== null) clearTimeout(tp.lingerTimer);
    tp.lingerTimer = null;
    if (tp.turnEnd !== null) clearImmediate(tp.turnEnd);
    tp.turnEnd = null;
    const batch = tp.open;
    if (batch === null) return;
    tp.open = null;
    tp.lastBatchBytes = batch.builder.bytes;
    tp.ready.push(batch);
    this.#partitioner.onBatchClosed(tp.topic, tp.partition);
    this.#drain(tp);
  }

  #closeAllOpen(): void {
    for (const tp of this.#partitions) if (tp.open !== null) this.#closeOpen(tp);
  }

  /**
   * Sends the partition's next requests (the ready batches that fit one; one when idempotent) while
   * fewer than maxInFlightRequestsPerPartition are unsettled, pipelined on its lane (connection.ts).
   * After a failure, Kafka's rule: failed requests go again one at a time, oldest first, and nothing
   * new goes until they are through, nor while a batch stamped with a forgotten producer id is
   * unsettled. Idempotent: stamps each batch's sequence when it is encoded, before its first send.
   */
  #drain(tp: PartitionState): void {
    const current = this.#idempotence.current;
    for (const flight of tp.flights) {
      if (flight.status === 'retry') {
        if (tp.sending === 0) this.#send(tp, flight, true);
        return;
      }
      if (flight.status === 'done' && flight.error !== null) return; // settles once those before it have
      if (flight.stampedWith !== null && flight.stampedWith.generation !== current?.generation) return;
    }
    while (tp.flights.length < this.options.maxInFlightRequestsPerPartition && tp.ready.length > 0) {
      const identity = this.options.idempotent ? this.#idempotence.current : null;
      if (this.options.idempotent && identity === null) {
        this.#loadIdentity();
        return;
      }
      // The broker takes any sequence from a producer id it does not know (KIP-360): had a second
      // batch landed while the first was refused (a 503, a 429), the first's retry would come after
      // it. So a producer id's first batch on a partition goes alone; once the broker knows the id,
      // it refuses any gap, and pipelined batches cannot overtake one another.
      if (identity !== null && tp.acknowledgedGeneration !== identity.generation && tp.flights.length > 0) return;
      const batches = this.#takeReady(tp, identity);
      if (batches.length === 0) continue;
      const flight = new Flight(batches, identity, this.options.deliveryTimeoutMs);
      tp.flights.push(flight);
      this.#send(tp, flight, false);
    }
  }

  /** The ready batches of the partition's next request: as many as fit one request, one when idempotent. */
  #takeReady(tp: PartitionState, identity: StampedIdentity | null): Batch[] {
    const metadata = this.#topics.get(tp.topic)?.metadata;
    const limit = Math.min(this.options.maxRequestBytes, metadata?.maxMessageBytes ?? Infinity);
    const batches: Batch[] = [];
    let bytes = 0;
    while (tp.ready.length > 0) {
      const batch = tp.ready[0]!;
      if (batches.length > 0 && identity !== null) break;
      if (batch.encoded === null) {
        try {
          batch.encoded = batch.builder.finish(this.options.compression, identity === null ? null : this.#idempotence.stamp(tp, identity, batch.count));
        } catch (e) {
          tp.ready.shift();
          this.#settle(batch, e);
          continue;
        }
      }
      if (batches.length > 0 && (tp.oneBatchPerRequest || bytes + batch.encoded.length > limit)) break;
      batches.push(batch);
      bytes += batch.encoded.length;
      tp.ready.shift();
    }
    return batches;
  }

  /** Takes a producer id, then sends what waited for it; a failure fails the batches that waited. */
  #loadIdentity(): void {
    this.#idempotence.load(Date.now() + this.options.deliveryTimeoutMs, (error) => {
      if (error !== null) {
        for (const tp of this.#partitions) if (!tp.inFlight) for (const batch of tp.ready.splice(0)) this.#settle(batch, error);
      }
      for (const tp of this.#partitions) this.#drain(tp);
    });
  }

  /**
   * One attempt of a flight on the partition's lane. Pipelined (`alone` false) it is tried once: a
   * failure may only echo an earlier one, and is sent again alone (#failed). Alone, it is retried
   * (backoff) until its delivery deadline, as a request was before pipelining.
   */
  #send(tp: PartitionState, flight: Flight, alone: boolean): void {
    flight.status = 'sending';
    tp.sending++;
    this.#inFlightRequests++;
    tp.lane ??= this.#lanes.take();
    const options = { deadline: flight.deadline, lane: tp.lane, ...(alone ? {} : { attemptsMax: 1, throwRetriable: true }) };
    const request =
      Date.now() >= flight.deadline
        ? Promise.reject(flight.expired(tp, this.options.deliveryTimeoutMs))
        : this.#api.produceBatches(tp.topic, tp.partition, flight.body(), this.options.acks, options);
    request.then(
      (answer) => this.#answered(tp, flight, alone, answer, null),
      (e: unknown) => this.#answered(tp, flight, alone, null, e),
    );
  }

  /**
   * A flight's attempt ended. Flights settle oldest first; the partition's next request goes out
   * before the settled records' deliveries run, so the broker is not idle while callers react.
   */
  #answered(tp: PartitionState, flight: Flight, alone: boolean, answer: ProduceAnswer | null, error: unknown): void {
    tp.sending--;
    this.#inFlightRequests--;
    if (answer !== null && this.options.acks !== 0 && answer.lastOffset - answer.baseOffset + 1 !== flight.records) error = flight.miscounted(tp, answer);
    if (answer !== null && error === null) {
      flight.succeed(this.options.acks === 0 ? -1 : answer.baseOffset);
      if (flight.stampedWith !== null) tp.acknowledgedGeneration = flight.stampedWith.generation;
    } else this.#failed(tp, flight, alone, error);
    const settled: Flight[] = [];
    while (tp.flights.length > 0 && tp.flights[0]!.status === 'done') settled.push(tp.flights.shift()!);
    this.#drain(tp);
    for (const done of settled) {
      let offset = done.baseOffset;
      for (const b of done.batches) {
        this.#settle(b, done.error, offset, tp);
        if (offset >= 0) offset += b.count;
      }
    }
    // Idle again with a batch gathering: it need not wait out its linger.
    if (!tp.inFlight) this.#scheduleClose(tp);
  }

  /**
   * A pipelined attempt that failed is sent again alone (status 'retry') when trying again can help,
   * including OUT_OF_ORDER_SEQUENCE_NUMBER: behind a failed request every later one is refused as
   * out of order (nothing of it was written), and the broker may take two pipelined bodies out of
   * order (compressed ones are checked off its event loop). Alone, the answer is final.
   */
  #failed(tp: PartitionState, flight: Flight, alone: boolean, e: unknown): void {
    if (isStrataError(e) && e.code === 'MESSAGE_TOO_LARGE' && flight.batches.length > 1) {
      // The topic's max.message.bytes shrank since the metadata was read: resend one batch at a time.
      tp.oneBatchPerRequest = true;
      this.#topics.forget(tp.topic);
      const singles = flight.batches.map((b) => new Flight([b], null, this.options.deliveryTimeoutMs));
      for (const single of singles) single.status = 'retry';
      tp.flights.splice(tp.flights.indexOf(flight), 1, ...singles);
      return;
    }
    const failure = e instanceof RequestFailure ? e : null;
    if (!alone && (failure !== null || (isStrataError(e) && e.code === 'OUT_OF_ORDER_SEQUENCE_NUMBER')) && Date.now() < flight.deadline) {
      flight.status = 'retry';
      if (failure !== null && retryChannel.hasSubscribers) {
        retryChannel.publish({ what: `produce to ${tp.topic}/${tp.partition}`, attempt: 1, backoffMs: 0, failure } satisfies RetryEvent);
      }
      return;
    }
    if (failure !== null) e = failure.error;
    if (isUnknownTopic(e) || (isStrataError(e) && e.code === 'UNKNOWN_PARTITION')) this.#topics.forget(tp.topic);
    if (flight.stampedWith !== null) this.#idempotence.forget(flight.stampedWith);
    flight.fail(e);
  }

  /** Resolves (error null) or rejects every record of a batch, and frees its buffer space. */
  #settle(batch: Batch, error: unknown, baseOffset = -1, tp?: PartitionState): void {
    if (error === null) batch.deliver(tp!.topic, tp!.partition, baseOffset);
    else batch.fail(error);
    this.#batches.delete(batch);
    this.#bufferedBytes -= batch.bytes;
    this.#bufferedRecords -= batch.count;
    batch.bytes = 0;
    // An acknowledged batch's bytes were read by the broker: its buffer can take the next batch.
    if (error === null && this.options.acks !== 0) this.#spareBuffer = batch.builder.releaseBuffer();
    batch.encoded = null;
    batch.settled.resolve();
    this.#spaceFreed?.();
  }
}

// What the producer (producer.ts) keeps per send, per topic and per partition: a waiting send, a
// topic's metadata, a batch being gathered or in flight, and a partition's batches.

import { isStrataError, StrataError, type RecordHeader } from '@strata/protocol';
import { BatchBuilder } from './batch-builder.js';
import type { Lane } from './connection.js';
import type { StampedIdentity } from './idempotence.js';
import { BATCH_OVERHEAD_BYTES, type RecordMetadata, type RecordParts } from './records.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A Waiting's resolve and reject until send() sets them: one function, not two closures per waiting send. */
const settleNothing = (): void => undefined;

/**
 * send()'s callback form (Kafka's send(record, Callback)): `error` is null and `metadata` set once
 * the record is acknowledged, or `error` says why it was not. Called once, never synchronously
 * from send(). No promise per record: a loop that passes one shared callback allocates nothing
 * per record besides the record it hands over.
 */
export type SendCallback = (error: unknown, metadata?: RecordMetadata) => void;

/** A record's delivery: its promise's resolve, or its SendCallback (then its Rejecter is null). */
export type Resolver = ((metadata: RecordMetadata) => void) | SendCallback;
export type Rejecter = ((error: unknown) => void) | null;

/** Fails one delivery; an exception thrown by a callback is rethrown on its own stack, never swallowed. */
export function failDelivery(resolve: Resolver, reject: Rejecter, error: unknown): void {
  if (reject !== null) return reject(error);
  try {
    (resolve as SendCallback)(error);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}

function succeedDelivery(resolve: Resolver, reject: Rejecter, metadata: RecordMetadata): void {
  if (reject !== null) return (resolve as (metadata: RecordMetadata) => void)(metadata);
  try {
    (resolve as SendCallback)(null, metadata);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}

/**
 * A send that could not go into a batch at once (no metadata yet, the buffer full, or sends ahead
 * of it waiting): the slow path, so it may be an object. Its parts are copied from the measured
 * record; its timestamp is the one send() read (Kafka stamps a record when send() is called).
 */
export class Waiting implements RecordParts {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly keyBytes: number;
  readonly value: Buffer | string | null;
  readonly valueBytes: number;
  readonly headers: RecordHeader[] | undefined;
  readonly partition: number | undefined;
  readonly timestamp: number;
  readonly sizeBytes: number;
  readonly enqueuedAt: number;
  resolve: Resolver = settleNothing;
  reject: Rejecter = settleNothing;
  /** enqueue() only: settles when the record is in a batch (or cannot be). */
  accepted: Deferred<void> | null = null;

  constructor(parts: RecordParts, now: number) {
    this.topic = parts.topic;
    this.key = parts.key;
    this.keyBytes = parts.keyBytes;
    this.value = parts.value;
    this.valueBytes = parts.valueBytes;
    this.headers = parts.headers;
    this.partition = parts.partition;
    this.timestamp = parts.timestamp ?? now;
    this.sizeBytes = parts.sizeBytes;
    this.enqueuedAt = now;
  }

  join(resolve: Resolver, reject: Rejecter): void {
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Its delivery as a promise (the slow path: a closure per waiting send is fine here). */
  delivery(): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => this.join(resolve, reject));
  }
}

/**
 * A FIFO whose removals are O(1): Array#shift copies the array, and the intake can hold tens of
 * thousands of sends (a quadratic pump took 25% of the producer's CPU at 100 B records).
 */
export class Fifo<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  first(): T | undefined {
    return this.#items[this.#head];
  }

  removeFirst(): void {
    if (this.length === 0) return;
    this.#items[this.#head++] = undefined;
    // Compact once the removed prefix is most of the array: amortised O(1) per item.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
  }
}

export function isUnknownTopic(e: unknown): boolean {
  return isStrataError(e) && e.code === 'UNKNOWN_TOPIC';
}

export interface TopicMetadata {
  partitions: number;
  /** The topic's max.message.bytes: a request body may not be larger. */
  maxMessageBytes: number;
  fetchedAt: number;
}

export interface TopicState {
  metadata: TopicMetadata | null;
  loading: Promise<TopicMetadata> | null;
  /** A failed lookup, reused for retryBackoffMs so a burst of sends to a missing topic asks once. */
  failure: { error: unknown; until: number } | null;
  /** The partition for keyless records, or -1 before the first one. */
  sticky: number;
  /** This producer's state of each partition it sent to, by partition number (no string key per send). */
  partitions: Array<PartitionState | undefined>;
}

/**
 * A batch: its records are bytes in `builder`. A send() on the fast path gets `delivery()`: a
 * reaction on the batch's one outcome promise, not a `new Promise` of its own. A `new Promise` per
 * record made V8 build two resolving functions and a context per record, all kept alive for the
 * round trip and copied by every scavenge: the promise machinery was over half of the client's CPU
 * at 100 B records. A `.then` keeps one promise and one reaction per record. Reactions run in the
 * order they were added, so one handler per batch numbers the records it resolves.
 * Callbacks and sends that waited (the slow path) are explicit deliveries: their functions in two
 * arrays, with the index of their record in the batch.
 */
export class Batch {
  readonly createdAt: number;
  readonly builder: BatchBuilder;
  readonly resolvers: Resolver[] = [];
  readonly rejecters: Rejecter[] = [];
  /** The record index of each explicit delivery. */
  readonly #explicitIndexes: number[] = [];
  /** The batch's outcome, made at the first delivery() (never without a reaction: no unhandled rejection). */
  #outcome: Deferred<void> | null = null;
  /** Reactions handed out, and the one the handler numbers next. */
  #reactions = 0;
  #nextReaction = 0;
  /** The record index of each reaction, kept once an explicit delivery is among them (else reaction n is record n). */
  #reactionIndexes: number[] | null = null;
  /** Set by deliver(), read by the reactions' handler. */
  #topic = '';
  #partition = -1;
  #baseOffset = -1;
  readonly #metadataOfNext = (): RecordMetadata => {
    const n = this.#nextReaction++;
    const index = this.#reactionIndexes === null ? n : this.#reactionIndexes[n]!;
    return { topic: this.#topic, partition: this.#partition, offset: this.#baseOffset < 0 ? -1 : this.#baseOffset + index };
  };
  /** Reserved from the buffer (the sum of the records' size estimates). */
  bytes = 0;
  encoded: Buffer | null = null;
  readonly settled = deferred<void>();

  constructor(createdAt: number, capacityBytes: number, spare: Buffer | null = null) {
    this.createdAt = createdAt;
    this.builder = new BatchBuilder(capacityBytes, spare);
  }

  get count(): number {
    return this.builder.count;
  }

  /** The delivery of the record just appended, as a promise (send()'s fast path). */
  delivery(): Promise<RecordMetadata> {
    if (this.#reactionIndexes !== null) this.#reactionIndexes.push(this.count - 1);
    this.#reactions++;
    this.#outcome ??= deferred<void>();
    return this.#outcome.promise.then(this.#metadataOfNext);
  }

  /** Adds the explicit delivery of the record just appended. */
  join(resolve: Resolver, reject: Rejecter): void {
    if (this.#reactionIndexes === null) {
      // The reactions so far were records 0 .. #reactions - 1; from now on they need their index.
      this.#reactionIndexes = [];
      for (let i = 0; i < this.#reactions; i++) this.#reactionIndexes.push(i);
    }
    this.resolvers.push(resolve);
    this.rejecters.push(reject);
    this.#explicitIndexes.push(this.count - 1);
  }

  /** Resolves every record, each with its own RecordMetadata (offset -1 when baseOffset is: acks 0). */
  deliver(topic: string, partition: number, baseOffset: number): void {
    this.#topic = topic;
    this.#partition = partition;
    this.#baseOffset = baseOffset;
    this.#outcome?.resolve();
    const { resolvers, rejecters } = this;
    const indexes = this.#explicitIndexes;
    for (let i = 0; i < resolvers.length; i++) {
      succeedDelivery(resolvers[i]!, rejecters[i]!, { topic, partition, offset: baseOffset < 0 ? -1 : baseOffset + indexes[i]! });
    }
  }

  fail(error: unknown): void {
    this.#outcome?.reject(error);
    for (let i = 0; i < this.resolvers.length; i++) failDelivery(this.resolvers[i]!, this.rejecters[i]!, error);
  }
}

/**
 * One produce request of a partition, from its first send until its batches are settled: 'sending'
 * while an attempt is on the wire, 'retry' when it failed and must be sent again (alone, in order),
 * 'done' with its outcome. A partition settles its flights oldest first, so records are acknowledged
 * in the order they were sent whatever order the answers take.
 */
export class Flight {
  readonly batches: Batch[];
  readonly stampedWith: StampedIdentity | null;
  /** Epoch ms: the oldest batch's delivery deadline; no attempt starts after it. */
  readonly deadline: number;
  readonly records: number;
  status: 'sending' | 'retry' | 'done' = 'sending';
  /** done: the error that failed it, or null with `baseOffset` (-1 with acks 0). */
  error: unknown = null;
  baseOffset = -1;

  constructor(batches: Batch[], stampedWith: StampedIdentity | null, deliveryTimeoutMs: number) {
    this.batches = batches;
    this.stampedWith = stampedWith;
    let oldest = Number.POSITIVE_INFINITY;
    let records = 0;
    for (const b of batches) {
      oldest = Math.min(oldest, b.createdAt);
      records += b.count;
    }
    this.deadline = oldest + deliveryTimeoutMs;
    this.records = records;
  }

  /** The request body: the batches' encoded bytes, one after another. */
  body(): Buffer {
    const { batches } = this;
    return batches.length === 1 ? batches[0]!.encoded! : Buffer.concat(batches.map((b) => b.encoded!));
  }

  succeed(baseOffset: number): void {
    this.status = 'done';
    this.baseOffset = baseOffset;
  }

  fail(error: unknown): void {
    this.status = 'done';
    this.error = error;
  }

  /** Its delivery deadline passed before an attempt could start (final: not retriable). */
  expired(tp: PartitionState, deliveryTimeoutMs: number): StrataError {
    const details = { topic: tp.topic, partition: tp.partition, records: this.records };
    const message = `${this.records} records for ${tp.topic}/${tp.partition} expired before they could be sent: deliveryTimeoutMs (${deliveryTimeoutMs}) passed`;
    return new StrataError('REQUEST_TIMED_OUT', message, { details, retriable: false });
  }

  /** The broker answered another number of offsets than the flight has records. */
  miscounted(tp: PartitionState, answer: { baseOffset: number; lastOffset: number }): StrataError {
    const message = `produce to ${tp.topic}/${tp.partition}: the broker answered offsets [${answer.baseOffset}, ${answer.lastOffset}] for ${this.records} records`;
    return new StrataError('INTERNAL_ERROR', message);
  }
}

export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  open: Batch | null = null;
  /** Closes the open batch: lingerMs while a request is in flight, at the end of the event-loop turn when none is. */
  lingerTimer: NodeJS.Timeout | null = null;
  turnEnd: NodeJS.Immediate | null = null;
  /** The size of this partition's last batch: the next batch's buffer starts there (no regrowth under steady load). */
  lastBatchBytes = 0;
  readonly ready: Batch[] = [];
  /** Requests sent and not settled, oldest (lowest sequence) first; at most maxInFlightRequestsPerPartition. */
  readonly flights: Flight[] = [];
  /** Flights with an attempt on the wire now. */
  sending = 0;
  /** The identity generation under which a batch of this partition was last acknowledged (-1: none). */
  acknowledgedGeneration = -1;
  /** The partition's pipelined connection per broker, taken at its first request. */
  lane: Lane | null = null;
  /** Set after a multi-batch request was too large for the topic: one batch per request from then on. */
  oneBatchPerRequest = false;
  /** Idempotent: the next batch's baseSequence, under the producer identity of `sequenceGeneration`. */
  nextSequence = 0;
  sequenceGeneration = -1;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  /** Whether a request is sent and not settled (then records linger; else the batch goes at once). */
  get inFlight(): boolean {
    return this.flights.length > 0;
  }
}

export interface ProducerStats {
  /** Bytes reserved by records in batches (open, queued or in flight); never above bufferBytes. */
  bufferedBytes: number;
  bufferBytes: number;
  /** Records in batches not settled yet; never above bufferRecords. */
  bufferedRecords: number;
  bufferRecords: number;
  /** Sends waiting for metadata or buffer space. */
  waitingSends: number;
  /** Batches not settled yet. */
  batches: number;
  /** Produce requests on the wire now (at most maxInFlightRequestsPerPartition per partition). */
  inFlightRequests: number;
}

/** A send waited maxBlockMs for buffer space. */
export function bufferWaitTimedOut(maxBlockMs: number, stats: ProducerStats): StrataError {
  const { bufferedBytes, bufferBytes, bufferedRecords, bufferRecords } = stats;
  return new StrataError(
    'REQUEST_TIMED_OUT',
    `send waited maxBlockMs (${maxBlockMs}) for buffer space: ${bufferedBytes} of bufferBytes ${bufferBytes} and ${bufferedRecords} of bufferRecords ${bufferRecords} are in use ` +
      '(the brokers are slower than the sends, or down)',
    { details: { bufferedBytes, bufferBytes, bufferedRecords, bufferRecords } },
  );
}

/** A record whose worst case in a batch exceeds what a request may carry. */
export function recordTooLarge(batchedBytes: number, limit: number): StrataError {
  return new StrataError(
    'MESSAGE_TOO_LARGE',
    `the record takes up to ${batchedBytes} bytes in a batch, more than ${limit} (the least of maxRequestBytes, bufferBytes and the topic's max.message.bytes)`,
    { details: { sizeBytes: batchedBytes - BATCH_OVERHEAD_BYTES, limit } },
  );
}

/** The delivery of an accepted record. */
export interface Enqueued {
  delivered: Promise<RecordMetadata>;
}

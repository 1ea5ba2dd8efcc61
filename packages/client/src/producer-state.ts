// What the producer (producer.ts) keeps per send, per topic and per partition: a waiting send, a
// topic's metadata, a batch being gathered or in flight, and a partition's batches.

import { isStrataError } from '@strata/protocol';
import type { NormalizedRecord, RecordMetadata } from './records.js';

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

export interface Waiting {
  record: NormalizedRecord;
  enqueuedAt: number;
  accepted: Deferred<void>;
  delivered: Deferred<RecordMetadata>;
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
}

export class Batch {
  readonly createdAt: number;
  records: Array<{ key: Buffer | null; value: Buffer | null; headers?: NormalizedRecord['headers']; timestamp: number }> = [];
  readonly deliveries: Deferred<RecordMetadata>[] = [];
  /** Reserved from the buffer (the sum of the records' size estimates). */
  bytes = 0;
  encoded: Buffer | null = null;
  readonly settled = deferred<void>();

  constructor(createdAt: number) {
    this.createdAt = createdAt;
  }

  get count(): number {
    return this.deliveries.length;
  }
}

export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  open: Batch | null = null;
  lingerTimer: NodeJS.Timeout | null = null;
  readonly ready: Batch[] = [];
  inFlight = false;
  /** Set after a multi-batch request was too large for the topic: one batch per request from then on. */
  oneBatchPerRequest = false;
  /** Idempotent: the next batch's baseSequence, under the producer identity of `sequenceGeneration`. */
  nextSequence = 0;
  sequenceGeneration = -1;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }
}

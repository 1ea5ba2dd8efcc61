// Dead letters: a record whose handler keeps failing is produced to `<topic>.dlq` (created if
// missing) with headers that say why, and consumption moves on. Use it around any record handler
// (`withDeadLetter(handler, {producer})`) or through `consumer.run({eachRecord, deadLetter})`.
//
// Delivery stays at-least-once: the record's offset counts as processed only after the dead
// letter was acknowledged; a failure to produce it fails the handler (and the consumer).

import { KAFKA_JITTER, backoffMs, isStrataError, StrataError, type RecordHeader } from '@strata/protocol';
import { Admin } from './admin.js';
import type { Producer } from './producer.js';
import type { ConsumerRecord } from './records.js';

export const DEAD_LETTER_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  /** Wait between attempts (ms): doubled each time, capped at DEAD_LETTER_BACKOFF_CAP_FACTOR times, ±20%. */
  retryBackoffMs: 100,
  suffix: '.dlq',
});

/** The longest wait between attempts of a handler, as a multiple of retryBackoffMs. */
const DEAD_LETTER_BACKOFF_CAP_FACTOR = 10;

/** Headers added to a dead letter (besides the original record's own). */
export const DEAD_LETTER_HEADERS = Object.freeze({
  topic: 'strata.dlq.topic',
  partition: 'strata.dlq.partition',
  offset: 'strata.dlq.offset',
  timestamp: 'strata.dlq.timestamp',
  error: 'strata.dlq.error',
  errorCode: 'strata.dlq.error.code',
  attempts: 'strata.dlq.attempts',
});

export interface DeadLetterOptions {
  producer: Producer;
  /** Attempts of the handler before the record goes to the dead-letter topic (default 3). */
  maxAttempts?: number;
  retryBackoffMs?: number;
  /** The dead-letter topic of a record's topic (default `<topic>.dlq`). */
  topicFor?: (topic: string) => string;
  /** Creates missing dead-letter topics (default: an Admin on the producer's connection). */
  admin?: Admin;
  /** Partitions of a dead-letter topic it creates (default 1). */
  partitions?: number;
  /** Told about each dead letter (for logs and metrics). */
  onDeadLetter?: (record: ConsumerRecord, error: unknown, attempts: number) => void;
}

export type RecordHandler = (record: ConsumerRecord) => Promise<void> | void;

/** The handler, retried up to maxAttempts per record, then the record goes to the dead-letter topic. */
export function withDeadLetter(handler: RecordHandler, options: DeadLetterOptions): RecordHandler {
  const maxAttempts = options.maxAttempts ?? DEAD_LETTER_DEFAULTS.maxAttempts;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new StrataError('INVALID_CONFIG', `deadLetter.maxAttempts must be an integer >= 1, got ${String(maxAttempts)}`);
  const backoff = options.retryBackoffMs ?? DEAD_LETTER_DEFAULTS.retryBackoffMs;
  const topicFor = options.topicFor ?? ((topic: string) => `${topic}${DEAD_LETTER_DEFAULTS.suffix}`);
  const admin = options.admin ?? new Admin({ connection: options.producer.connection });
  const ensured = new Map<string, Promise<void>>();

  const ensureTopic = (topic: string): Promise<void> => {
    let p = ensured.get(topic);
    if (p === undefined) {
      p = admin.createTopic({ name: topic, partitions: options.partitions ?? 1 }).then(
        () => undefined,
        (e: unknown) => {
          if (isStrataError(e) && e.code === 'TOPIC_ALREADY_EXISTS') return;
          ensured.delete(topic); // try again with the next dead letter
          throw e;
        },
      );
      ensured.set(topic, p);
    }
    return p;
  };

  return async (record) => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        await handler(record);
        return;
      } catch (e) {
        lastError = e;
        if (attempt < maxAttempts) await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, { baseMs: backoff, maxMs: backoff * DEAD_LETTER_BACKOFF_CAP_FACTOR, jitter: KAFKA_JITTER })));
      }
    }
    const dlq = topicFor(record.topic);
    await ensureTopic(dlq);
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    const headers: RecordHeader[] = [
      ...record.headers,
      { key: DEAD_LETTER_HEADERS.topic, value: Buffer.from(record.topic) },
      { key: DEAD_LETTER_HEADERS.partition, value: Buffer.from(String(record.partition)) },
      { key: DEAD_LETTER_HEADERS.offset, value: Buffer.from(String(record.offset)) },
      { key: DEAD_LETTER_HEADERS.timestamp, value: Buffer.from(String(record.timestamp)) },
      { key: DEAD_LETTER_HEADERS.error, value: Buffer.from(message.slice(0, 4096)) },
      ...(isStrataError(lastError) ? [{ key: DEAD_LETTER_HEADERS.errorCode, value: Buffer.from(lastError.code) }] : []),
      { key: DEAD_LETTER_HEADERS.attempts, value: Buffer.from(String(maxAttempts)) },
    ];
    await options.producer.send({ topic: dlq, key: record.key, value: record.value, headers, timestamp: record.timestamp });
    options.onDeadLetter?.(record, lastError, maxAttempts);
  };
}

// The consumer's public settings and shapes (consumer.ts is the Consumer; it re-exports these):
// its defaults, options (and their checks), the batch a handler gets, run()'s options and the
// events it publishes.

import type { StrataError } from '@strata/protocol';
import type { ConnectWith } from './connection.js';
import type { DeadLetterOptions } from './dead-letter.js';
import { Problems, READER_DEFAULTS, type AutoOffsetReset } from './options.js';
import type { ConsumerRecord } from './records.js';

export const CONSUMER_DEFAULTS = Object.freeze({
  /** Shorter than Kafka's 45 s: a member that died is noticed within this. */
  sessionTimeoutMs: 10_000,
  /** How long a member may take to give up a partition (Kafka's max.poll.interval.ms). */
  rebalanceTimeoutMs: 60_000,
  autoCommit: true,
  autoCommitIntervalMs: 5_000,
  /** Batches fetched ahead of the handler, across partitions. */
  maxQueuedBatches: 32,
  /** Long-poll of one partition's fetch; revocation aborts it. */
  maxWaitMs: 1_000,
});

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerGroupOptions {
  groupId: string;
  topics: readonly string[];
  /** Where a partition without a committed offset (or one that left retention) starts (default 'latest'). */
  autoOffsetReset?: AutoOffsetReset;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  /** Commit processed offsets every autoCommitIntervalMs, on revoke and on close (default true). */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  maxQueuedBatches?: number;
  /** Bytes per fetch of one partition (default 1 MiB). */
  maxBytes?: number;
  maxWaitMs?: number;
  clientId?: string;
  /** After the partitions were added, before their records are delivered. */
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** After fetching stopped and (with autoCommit) the processed offsets were committed; before the broker hears they are released. */
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** The member was fenced or expired: the partitions were dropped without a commit. Default: nothing. */
  onPartitionsLost?: (partitions: TopicPartition[]) => void | Promise<void>;
}

export type ConsumerOptions = ConnectWith & ConsumerGroupOptions;

/** What eachBatch gets: the records of one partition, in offset order. */
export interface ConsumerBatch {
  topic: string;
  partition: number;
  records: ConsumerRecord[];
  /** The partition's high watermark as of this fetch (lag = highWatermark - last offset - 1). */
  highWatermark: number | null;
}

export interface RunOptions {
  eachBatch?: (batch: ConsumerBatch) => Promise<void> | void;
  eachRecord?: (record: ConsumerRecord) => Promise<void> | void;
  /** With eachRecord: retry a failing record, then produce it to `<topic>.dlq` and move on (dead-letter.ts). */
  deadLetter?: DeadLetterOptions;
}

/** Published on membership changes (diagnostics_channel 'strata:client:consumer'). */
export type ConsumerEvent =
  | { type: 'joined'; group: string; memberId: string; memberEpoch: number }
  | { type: 'assigned'; group: string; partitions: TopicPartition[] }
  | { type: 'revoked'; group: string; partitions: TopicPartition[] }
  | { type: 'lost'; group: string; partitions: TopicPartition[]; reason: string }
  | { type: 'committed'; group: string; offsets: Array<TopicPartition & { offset: number }> }
  | { type: 'retry'; group: string; what: string; error: StrataError };

/** The options a Consumer runs with: every bound checked, defaults filled in. */
export type ConsumerSettings = Required<Omit<ConsumerGroupOptions, 'clientId' | 'onPartitionsAssigned' | 'onPartitionsRevoked' | 'onPartitionsLost' | 'topics' | 'groupId'>> &
  Pick<ConsumerGroupOptions, 'clientId' | 'onPartitionsAssigned' | 'onPartitionsRevoked' | 'onPartitionsLost'>;

/** Checks a consumer's options (every problem in one INVALID_CONFIG) and fills in the defaults. */
export function consumerSettings(options: ConsumerGroupOptions): ConsumerSettings {
  const problems = new Problems();
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) problems.add('groupId must be a non-empty string');
  if (!Array.isArray(options.topics) || options.topics.length === 0 || !options.topics.every((t) => typeof t === 'string' && t.length > 0)) {
    problems.add('topics must be a non-empty array of topic names');
  }
  const reset = options.autoOffsetReset ?? READER_DEFAULTS.autoOffsetReset;
  if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') problems.add(`autoOffsetReset must be 'earliest', 'latest' or 'none', got ${String(reset)}`);
  const d = CONSUMER_DEFAULTS;
  const settings: ConsumerSettings = {
    autoOffsetReset: reset,
    sessionTimeoutMs: problems.int('sessionTimeoutMs', options.sessionTimeoutMs, d.sessionTimeoutMs, 100, 1_800_000),
    rebalanceTimeoutMs: problems.int('rebalanceTimeoutMs', options.rebalanceTimeoutMs, d.rebalanceTimeoutMs, 100, 1_800_000),
    autoCommit: options.autoCommit ?? d.autoCommit,
    autoCommitIntervalMs: problems.int('autoCommitIntervalMs', options.autoCommitIntervalMs, d.autoCommitIntervalMs, 1, 24 * 3_600_000),
    maxQueuedBatches: problems.int('maxQueuedBatches', options.maxQueuedBatches, d.maxQueuedBatches, 1, 100_000),
    maxBytes: problems.int('maxBytes', options.maxBytes, READER_DEFAULTS.maxBytes, 1, 2 ** 31 - 1),
    maxWaitMs: problems.int('maxWaitMs', options.maxWaitMs, d.maxWaitMs, 0, 3_600_000),
    clientId: options.clientId,
    onPartitionsAssigned: options.onPartitionsAssigned,
    onPartitionsRevoked: options.onPartitionsRevoked,
    onPartitionsLost: options.onPartitionsLost,
  };
  problems.throwIfAny('consumer');
  return settings;
}

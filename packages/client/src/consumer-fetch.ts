// The consumer's fetching (consumer.ts is the Consumer): the state of each owned partition, one
// fetch loop per partition with at most one long-poll in flight, and the one bounded queue of
// batches they feed (backpressure: a slow handler slows the fetches).

import { setTimeout as sleep } from 'node:timers/promises';
import { KAFKA_JITTER, backoffMs, isStrataError, type BackoffPolicy, type StrataError } from '@strata/protocol';
import type { TopicPartitions } from './api.js';
import type { PartitionReader } from './partition-reader.js';
import type { ConsumerRecord } from './records.js';

/** Between failed joins, heartbeats and fetches of the consumer's loops: 100 ms doubling to 2 s, ±20%. */
export const LOOP_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 100, maxMs: 2_000, jitter: KAFKA_JITTER });

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  reader: PartitionReader;
  /** The offset after the last record the handler finished with (what a commit sends). */
  processed: number | null;
  committed: number | null;
  paused: boolean;
  /** Set when revoked or lost: its loop stops and its queued batches are dropped. */
  gone: boolean;
  /** Resolves when the handler is done with the batch of this partition it holds (if any). */
  busy: Promise<void> | null;
  highWatermark: number | null;
  resumed: (() => void) | null;
  /** Bumped by seek(): the rest of a batch in hand is skipped, and its processed offset is not set. */
  seeks: number;
}

export interface QueuedBatch {
  state: PartitionState;
  records: ConsumerRecord[];
  highWatermark: number | null;
}

/** The batches fetched ahead of the handler, across partitions: at most `capacity`. */
export class BatchQueue {
  readonly #batches: QueuedBatch[] = [];
  #takers: Array<() => void> = [];
  #spaceWaiters: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  /** Returns once there is room, or once `stopped()` holds after a wakeAll(). */
  async waitForSpace(stopped: () => boolean): Promise<void> {
    while (this.#batches.length >= this.capacity && !stopped()) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
  }

  push(batch: QueuedBatch): void {
    this.#batches.push(batch);
    this.#takers.shift()?.();
  }

  /** The oldest batch (its room goes to a waiting fetch loop), or undefined when there is none. */
  shift(): QueuedBatch | undefined {
    const batch = this.#batches.shift();
    if (batch !== undefined) this.#spaceWaiters.shift()?.();
    return batch;
  }

  /** Resolves when a batch is pushed, or at wakeAll(). */
  nextPush(): Promise<void> {
    return new Promise<void>((resolve) => this.#takers.push(resolve));
  }

  /** Removes the queued batches of a partition; returns the first offset removed (or null). */
  drop(state: PartitionState): number | null {
    let first: number | null = null;
    for (let i = this.#batches.length - 1; i >= 0; i--) {
      if (this.#batches[i]!.state !== state) continue;
      first = this.#batches[i]!.records[0]!.offset;
      this.#batches.splice(i, 1);
      this.#spaceWaiters.shift()?.();
    }
    return first;
  }

  /** Wakes everyone waiting (closing or failed: they look at why). */
  wakeAll(): void {
    for (const wake of this.#takers.splice(0)) wake();
    for (const wake of this.#spaceWaiters.splice(0)) wake();
  }
}

export interface FetchLoopContext {
  readonly queue: BatchQueue;
  /** Aborted when the consumer stops: a backoff in progress ends at once. */
  readonly stop: AbortSignal;
  closed(): boolean;
  /** A retriable failure, published (never retried silently). */
  onRetry(what: string, error: StrataError): void;
}

/** Polls one owned partition into the queue until it is revoked or lost, or the consumer closes; throws a non-retriable failure. */
export async function fetchLoop(state: PartitionState, c: FetchLoopContext): Promise<void> {
  let failures = 0;
  while (!state.gone && !c.closed()) {
    if (state.paused) {
      await new Promise<void>((resolve) => (state.resumed = resolve));
      state.resumed = null;
      continue;
    }
    let records: ConsumerRecord[];
    try {
      records = await state.reader.poll();
      failures = 0;
    } catch (e) {
      if (state.gone || c.closed()) return;
      if (isStrataError(e) && e.retriable) {
        // A broker restarting or a leader moving: keep trying (and say so), never silently.
        failures++;
        c.onRetry(`fetch ${state.topic}/${state.partition}`, e);
        await sleep(backoffMs(failures, LOOP_BACKOFF), undefined, { signal: c.stop }).catch(() => undefined);
        continue;
      }
      throw e;
    }
    state.highWatermark = state.reader.highWatermark;
    if (records.length === 0) continue;
    if (state.gone || c.closed()) return;
    if (state.paused) {
      state.reader.seek(records[0]!.offset); // fetched while pausing: read again after resume
      continue;
    }
    await c.queue.waitForSpace(c.closed);
    if (state.gone || c.closed()) return;
    if (state.paused) {
      state.reader.seek(records[0]!.offset);
      continue;
    }
    c.queue.push({ state, records, highWatermark: state.highWatermark });
  }
}

/** The partitions of these states as a heartbeat reports them: by topic, sorted. */
export function ownedAsTopics(states: Iterable<PartitionState>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const s of states) {
    const list = byTopic.get(s.topic) ?? [];
    list.push(s.partition);
    byTopic.set(s.topic, list);
  }
  return [...byTopic.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

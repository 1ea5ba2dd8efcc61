// Consumer: a member of a consumer group (docs/architecture.md#groups; the protocol is KIP-848's, server side).
//
// The broker computes the assignment; this class follows it:
// - a heartbeat loop at the interval the broker gives, reporting the partitions owned now;
// - revoke = stop fetching, wait for the batch in the handler, commit what was processed,
//   call onPartitionsRevoked, then report the partition as no longer owned (only then may the
//   broker hand it to another member);
// - assign = start from the committed offset, else autoOffsetReset (also when the committed
//   offset has left retention: Kafka's semantics, applied by PartitionReader);
// - FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: every partition is dropped without a commit
//   (another member may own it already), onPartitionsLost is called, and the consumer joins again.
//
// Delivery is at-least-once: offsets are committed only after a record was handed out and the
// handler returned (or the iterator asked for the next record), every autoCommitIntervalMs, on
// revoke and on close(); or by commit(). One fetch loop per owned partition, each with at most one
// long-poll in flight, feeding one bounded queue of batches (backpressure: a slow handler slows
// the fetches). A non-retriable failure ends the consumer loudly: run() and the iterator reject.

import { AsyncLocalStorage } from 'node:async_hooks';
import { channel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { KAFKA_JITTER, backoffMs, isStrataError, StrataError, type BackoffPolicy } from '@strata/protocol';
import { StrataApi, type CallOptions, type GroupHeartbeatAnswer, type TopicPartitions } from './api.js';
import { connectionFor } from './connection.js';
import { withDeadLetter } from './dead-letter.js';
import { Fetcher } from './fetcher.js';
import { Problems, READER_DEFAULTS } from './options.js';
import type { PartitionReader } from './partition-reader.js';
import type { ConsumerRecord } from './records.js';

export {
  CONSUMER_DEFAULTS,
  type ConsumerBatch,
  type ConsumerEvent,
  type ConsumerGroupOptions,
  type ConsumerOptions,
  type RunOptions,
  type TopicPartition,
} from './consumer-options.js';
import {
  CONSUMER_DEFAULTS,
  type ConsumerEvent,
  type ConsumerGroupOptions,
  type ConsumerOptions,
  type RunOptions,
  type TopicPartition,
} from './consumer-options.js';

export const consumerChannel = channel('strata:client:consumer');

interface PartitionState {
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

interface QueuedBatch {
  state: PartitionState;
  records: ConsumerRecord[];
  highWatermark: number | null;
}

/** Between failed joins, heartbeats and fetches of the consumer's loops: 100 ms doubling to 2 s, ±20%. */
const LOOP_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 100, maxMs: 2_000, jitter: KAFKA_JITTER });

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** Set while run()'s handler runs: a close() from inside it must not wait for that same handler. */
const inHandler = new AsyncLocalStorage<Consumer>();

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly groupId: string;
  readonly #api: StrataApi;
  readonly #fetcher: Fetcher;
  readonly #ownsConnection: boolean;
  readonly #o: Required<Omit<ConsumerGroupOptions, 'clientId' | 'onPartitionsAssigned' | 'onPartitionsRevoked' | 'onPartitionsLost' | 'topics' | 'groupId'>> &
    Pick<ConsumerGroupOptions, 'clientId' | 'onPartitionsAssigned' | 'onPartitionsRevoked' | 'onPartitionsLost'>;
  #topics: string[];
  #member: { memberId: string; memberEpoch: number } | null = null;
  #heartbeatIntervalMs = 1_000;
  readonly #owned = new Map<string, PartitionState>();
  /** The assignment the broker last gave (what reconcile moves towards). */
  #target: TopicPartitions[] = [];
  #reconciling: Promise<void> | null = null;
  #reconcileAgain = false;
  readonly #queue: QueuedBatch[] = [];
  #queueWaiters: Array<() => void> = [];
  #spaceWaiters: Array<() => void> = [];
  #wakeHeartbeat: (() => void) | null = null;
  #heartbeatNow = false;
  #started = false;
  #closing: Promise<void> | null = null;
  #closed = false;
  #failure: unknown = null;
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #commitChain: Promise<void> = Promise.resolve();
  #lastAutoCommit = Date.now();
  #delivering = false;
  #iterating = false;
  /** Bumped when the membership is lost: work begun for the old membership stops. */
  #generation = 0;

  constructor(options: ConsumerOptions) {
    const problems = new Problems();
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) problems.add('groupId must be a non-empty string');
    if (!Array.isArray(options.topics) || options.topics.length === 0 || !options.topics.every((t) => typeof t === 'string' && t.length > 0)) {
      problems.add('topics must be a non-empty array of topic names');
    }
    const reset = options.autoOffsetReset ?? READER_DEFAULTS.autoOffsetReset;
    if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') problems.add(`autoOffsetReset must be 'earliest', 'latest' or 'none', got ${String(reset)}`);
    const d = CONSUMER_DEFAULTS;
    this.#o = {
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
    const { connection, owned } = connectionFor(options);
    this.#ownsConnection = owned;
    this.#api = new StrataApi(connection);
    this.#fetcher = new Fetcher({ connection });
    this.groupId = options.groupId;
    this.#topics = [...new Set(options.topics)];
  }

  /** The member id and epoch while joined (null before the first join and after a fence, until the rejoin). */
  get member(): { memberId: string; memberEpoch: number } | null {
    return this.#member === null ? null : { ...this.#member };
  }

  /** The partitions owned now, sorted. */
  assignment(): TopicPartition[] {
    return sortPartitions([...this.#owned.values()].map(({ topic, partition }) => ({ topic, partition })));
  }

  /** Joins the group and starts heartbeating (run() and iteration call it). Resolves after the first join. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#join();
    this.#loop = this.#heartbeatLoop().catch((e: unknown) => this.#fail(e));
  }

  /**
   * Records one at a time. A record counts as processed (committable) when the next one is asked
   * for, or when the loop breaks out (also by a throw in its body: use run() when a failing
   * handler must not commit its record).
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    await this.start();
    this.#claimDelivery();
    this.#iterating = true;
    try {
      for (;;) {
        const batch = await this.#take();
        if (batch === null) return;
        const { state } = batch;
        let release!: () => void;
        state.busy = new Promise((resolve) => (release = resolve));
        let inHand: ConsumerRecord | null = null;
        const seeks = state.seeks;
        const current = (): boolean => this.#owned.get(state.key) === state && state.seeks === seeks;
        try {
          for (const record of batch.records) {
            if (state.gone || !current() || this.#closed) break;
            inHand = record;
            yield record;
            inHand = null;
            if (current()) state.processed = record.offset + 1;
          }
        } finally {
          // Breaking out of the loop counts the record in hand as processed (as PartitionReader does).
          if (inHand !== null && current()) state.processed = inHand.offset + 1;
          state.busy = null;
          release();
        }
        await this.#maybeAutoCommit();
      }
    } finally {
      this.#delivering = false;
      this.#iterating = false;
    }
  }

  /** Calls the handler for every batch (or record) until close(); rejects on a failure of the consumer or of the handler. */
  async run(options: RunOptions): Promise<void> {
    if ((options.eachBatch === undefined) === (options.eachRecord === undefined)) {
      throw new StrataError('INVALID_REQUEST', 'run: give exactly one of eachBatch and eachRecord');
    }
    if (options.deadLetter !== undefined) {
      if (options.eachRecord === undefined) throw new StrataError('INVALID_REQUEST', 'run: deadLetter works with eachRecord');
      options = { eachRecord: withDeadLetter(options.eachRecord, options.deadLetter) };
    }
    await this.start();
    this.#claimDelivery();
    try {
      for (;;) {
        const batch = await this.#take();
        if (batch === null) return;
        const { state } = batch;
        let release!: () => void;
        state.busy = new Promise((resolve) => (release = resolve));
        try {
          const seeks = state.seeks;
          const current = (): boolean => this.#owned.get(state.key) === state && state.seeks === seeks;
          await inHandler.run(this, async () => {
            if (options.eachBatch !== undefined) {
              await options.eachBatch({ topic: state.topic, partition: state.partition, records: batch.records, highWatermark: batch.highWatermark });
              if (current()) state.processed = batch.records.at(-1)!.offset + 1;
            } else {
              for (const record of batch.records) {
                if (state.gone || !current() || this.#closed) break;
                await options.eachRecord!(record);
                if (current()) state.processed = record.offset + 1;
              }
            }
          });
        } catch (e) {
          // The handler failed: what it finished is committed on close, the failed record is not.
          this.#fail(e);
          throw e;
        } finally {
          state.busy = null;
          release();
        }
        await this.#maybeAutoCommit();
      }
    } finally {
      this.#delivering = false;
    }
  }

  /**
   * Commits the processed offsets of the owned partitions (or the given ones: the next offset to
   * read). Fenced: a member that lost its partitions gets FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID.
   */
  commit(offsets?: ReadonlyArray<TopicPartition & { offset: number }>): Promise<void> {
    const run = this.#commitChain.then(() => this.#commitNow(offsets));
    this.#commitChain = run.catch(() => undefined);
    return run;
  }

  /** The next record of an owned partition will be `offset`; queued records of it are dropped. */
  seek(topic: string, partition: number, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new StrataError('INVALID_REQUEST', `seek: offset must be a non-negative integer, got ${String(offset)}`);
    const state = this.#owned.get(key(topic, partition));
    if (state === undefined) throw new StrataError('INVALID_REQUEST', `seek: ${topic}/${partition} is not assigned to this consumer`);
    this.#dropQueued(state);
    state.reader.seek(offset);
    state.processed = offset;
    state.seeks++;
  }

  /** Stops fetching these partitions (kept in the assignment); records already queued for them are put back. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const state = this.#owned.get(key(tp.topic, tp.partition));
      if (state === undefined || state.paused) continue;
      state.paused = true;
      const first = this.#dropQueued(state);
      if (first !== null) state.reader.seek(first);
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const state = this.#owned.get(key(tp.topic, tp.partition));
      if (state === undefined || !state.paused) continue;
      state.paused = false;
      state.resumed?.();
    }
  }

  paused(): TopicPartition[] {
    return sortPartitions([...this.#owned.values()].filter((s) => s.paused).map(({ topic, partition }) => ({ topic, partition })));
  }

  /**
   * Graceful: stops fetching, waits for the batch in the handler, commits (autoCommit), calls
   * onPartitionsRevoked, leaves the group (its partitions move at once), closes the connection.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  // ---- membership ------------------------------------------------------------------------------

  async #join(): Promise<void> {
    // Closed while still retrying: the caller hears why it never joined, not that it was closed.
    let lastFailure: unknown = null;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await this.#api.joinGroup(
          this.groupId,
          {
            topics: this.#topics,
            sessionTimeoutMs: this.#o.sessionTimeoutMs,
            rebalanceTimeoutMs: this.#o.rebalanceTimeoutMs,
            ...(this.#o.clientId !== undefined ? { clientId: this.#o.clientId } : {}),
          },
          this.#call(),
        );
        this.#member = { memberId: answer.memberId, memberEpoch: answer.memberEpoch };
        this.#publish({ type: 'joined', group: this.groupId, memberId: answer.memberId, memberEpoch: answer.memberEpoch });
        this.#onAnswer(answer);
        return;
      } catch (e) {
        if (this.#stop.signal.aborted) throw lastFailure ?? e;
        if (!(isStrataError(e) && e.retriable)) throw e;
        lastFailure = e;
        this.#publish({ type: 'retry', group: this.groupId, what: 'join', error: e });
        await sleep(backoffMs(attempt, LOOP_BACKOFF), undefined, { signal: this.#stop.signal }).catch(() => undefined);
      }
    }
  }

  async #heartbeatLoop(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      await this.#waitForHeartbeat();
      if (this.#stop.signal.aborted) return;
      try {
        if (this.#member === null) {
          await this.#join();
        } else {
          const answer = await this.#api.groupHeartbeat(
            this.groupId,
            this.#member.memberId,
            {
              memberEpoch: this.#member.memberEpoch,
              ownedPartitions: this.#ownedAsTopics(),
              sessionTimeoutMs: this.#o.sessionTimeoutMs,
              rebalanceTimeoutMs: this.#o.rebalanceTimeoutMs,
            },
            // A heartbeat must come back well within the session.
            this.#call(Math.max(1_000, Math.floor(this.#o.sessionTimeoutMs / 2))),
          );
          if (this.#member === null || answer.memberId !== this.#member.memberId) continue; // fenced meanwhile
          this.#member.memberEpoch = answer.memberEpoch;
          this.#onAnswer(answer);
        }
        failures = 0;
      } catch (e) {
        if (this.#stop.signal.aborted) return;
        if (isStrataError(e) && (e.code === 'FENCED_MEMBER_EPOCH' || e.code === 'UNKNOWN_MEMBER_ID')) {
          await this.#lose(e.code);
          this.#heartbeatNow = true;
          continue;
        }
        if (isStrataError(e) && e.retriable) {
          failures++;
          this.#publish({ type: 'retry', group: this.groupId, what: 'heartbeat', error: e });
          await sleep(backoffMs(failures, { ...LOOP_BACKOFF, maxMs: this.#heartbeatIntervalMs }), undefined, { signal: this.#stop.signal }).catch(() => undefined);
          this.#heartbeatNow = true;
          continue;
        }
        throw e;
      }
    }
  }

  async #waitForHeartbeat(): Promise<void> {
    if (this.#heartbeatNow) {
      this.#heartbeatNow = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#heartbeatIntervalMs);
      const onAbort = (): void => done();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeHeartbeat = () => {
        this.#wakeHeartbeat = null;
        this.#stop.signal.removeEventListener('abort', onAbort);
        done();
      };
      this.#stop.signal.addEventListener('abort', onAbort, { once: true });
    });
    this.#wakeHeartbeat = null;
    this.#heartbeatNow = false;
  }

  #heartbeatSoon(): void {
    this.#heartbeatNow = true;
    this.#wakeHeartbeat?.();
  }

  #onAnswer(answer: GroupHeartbeatAnswer): void {
    this.#heartbeatIntervalMs = Math.max(50, answer.heartbeatIntervalMs);
    this.#target = answer.assignment;
    this.#reconcile();
  }

  /** Moves the owned set towards the target: revocations first, then the new partitions. One at a time. */
  #reconcile(): void {
    if (this.#reconciling !== null) {
      this.#reconcileAgain = true;
      return;
    }
    this.#reconciling = (async () => {
      do {
        this.#reconcileAgain = false;
        const target = new Set(this.#target.flatMap((tp) => tp.partitions.map((p) => key(tp.topic, p))));
        const revoked = [...this.#owned.values()].filter((s) => !target.has(s.key));
        if (revoked.length > 0) {
          await this.#revoke(revoked);
          this.#heartbeatSoon(); // tell the broker at once: their new owners are waiting
        }
        const added = this.#target.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))).filter((tp) => !this.#owned.has(key(tp.topic, tp.partition)));
        if (added.length > 0 && !this.#closed && this.#member !== null) await this.#assign(added, this.#generation);
      } while (this.#reconcileAgain && !this.#closed);
    })()
      .catch((e: unknown) => this.#fail(e))
      .finally(() => {
        this.#reconciling = null;
      });
  }

  async #assign(partitions: TopicPartition[], generation: number): Promise<void> {
    const committed = new Map<string, number>();
    for (const topic of new Set(partitions.map((p) => p.topic))) {
      for (const o of await this.#api.groupOffsets(this.groupId, topic, this.#call())) {
        if (o.offset !== null) committed.set(key(o.topic, o.partition), o.offset);
      }
    }
    // Fenced (or closing) while the offsets were read: this assignment is not ours any more.
    if (generation !== this.#generation || this.#closed) return;
    for (const { topic, partition } of partitions) {
      const k = key(topic, partition);
      const from = committed.get(k);
      if (from === undefined && this.#o.autoOffsetReset === 'none') {
        throw new StrataError('OFFSET_OUT_OF_RANGE', `group ${this.groupId} has no committed offset for ${topic}/${partition} and autoOffsetReset is 'none'`, {
          details: { topic, partition, group: this.groupId },
        });
      }
      const reader = this.#fetcher.reader(topic, partition, {
        from: from ?? (this.#o.autoOffsetReset as 'earliest' | 'latest'),
        autoOffsetReset: this.#o.autoOffsetReset,
        maxBytes: this.#o.maxBytes,
        maxWaitMs: this.#o.maxWaitMs,
      });
      const state: PartitionState = { topic, partition, key: k, reader, processed: null, committed: from ?? null, paused: false, gone: false, busy: null, highWatermark: null, resumed: null, seeks: 0 };
      this.#owned.set(k, state);
      void this.#fetchLoop(state).catch((e: unknown) => this.#fail(e));
    }
    const list = sortPartitions(partitions);
    this.#publish({ type: 'assigned', group: this.groupId, partitions: list });
    await this.#o.onPartitionsAssigned?.(list);
  }

  async #revoke(states: PartitionState[], waitForHandler = true): Promise<void> {
    for (const s of states) this.#stopPartition(s);
    // The handler may hold a batch of one of them: let it finish (bounded by the rebalance timeout).
    const busy = waitForHandler ? states.map((s) => s.busy).filter((b): b is Promise<void> => b !== null) : [];
    if (busy.length > 0) await Promise.race([Promise.all(busy), sleep(this.#o.rebalanceTimeoutMs, undefined, { ref: false })]);
    if (this.#o.autoCommit && this.#member !== null) {
      await this.commit(states.filter((s) => s.processed !== null && s.processed !== s.committed).map((s) => ({ topic: s.topic, partition: s.partition, offset: s.processed! }))).catch(
        (e: unknown) => {
          // Fenced meanwhile: the offsets are not ours to commit any more; the heartbeat loop rejoins.
          // Unreachable: the records are delivered again to the next owner (at-least-once).
          if (isStrataError(e) && (e.code === 'FENCED_MEMBER_EPOCH' || e.code === 'UNKNOWN_MEMBER_ID' || e.retriable)) {
            this.#publish({ type: 'retry', group: this.groupId, what: 'commit on revoke (given up)', error: e });
            return;
          }
          throw e;
        },
      );
    }
    const list = sortPartitions(states.map(({ topic, partition }) => ({ topic, partition })));
    try {
      await this.#o.onPartitionsRevoked?.(list);
    } finally {
      for (const s of states) if (this.#owned.get(s.key) === s) this.#owned.delete(s.key);
      this.#publish({ type: 'revoked', group: this.groupId, partitions: list });
    }
  }

  /** Fenced or expired: drop everything without committing, then join again. */
  async #lose(reason: string): Promise<void> {
    const states = [...this.#owned.values()];
    for (const s of states) this.#stopPartition(s);
    this.#owned.clear();
    this.#member = null;
    this.#target = [];
    this.#generation++;
    const list = sortPartitions(states.map(({ topic, partition }) => ({ topic, partition })));
    this.#publish({ type: 'lost', group: this.groupId, partitions: list, reason });
    if (list.length > 0) await this.#o.onPartitionsLost?.(list);
  }

  #stopPartition(state: PartitionState): void {
    state.gone = true;
    state.reader.close();
    state.resumed?.();
    this.#dropQueued(state);
  }

  // ---- fetching and delivery ---------------------------------------------------------------------

  async #fetchLoop(state: PartitionState): Promise<void> {
    let failures = 0;
    while (!state.gone && !this.#closed) {
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
        if (state.gone || this.#closed) return;
        if (isStrataError(e) && e.retriable) {
          // A broker restarting or a leader moving: keep trying (and say so), never silently.
          failures++;
          this.#publish({ type: 'retry', group: this.groupId, what: `fetch ${state.topic}/${state.partition}`, error: e });
          await sleep(backoffMs(failures, LOOP_BACKOFF), undefined, { signal: this.#stop.signal }).catch(() => undefined);
          continue;
        }
        throw e;
      }
      state.highWatermark = state.reader.highWatermark;
      if (records.length === 0) continue;
      if (state.gone || this.#closed) return;
      if (state.paused) {
        state.reader.seek(records[0]!.offset); // fetched while pausing: read again after resume
        continue;
      }
      await this.#waitForSpace();
      if (state.gone || this.#closed) return;
      if (state.paused) {
        state.reader.seek(records[0]!.offset);
        continue;
      }
      this.#queue.push({ state, records, highWatermark: state.highWatermark });
      this.#queueWaiters.shift()?.();
    }
  }

  async #waitForSpace(): Promise<void> {
    while (this.#queue.length >= this.#o.maxQueuedBatches && !this.#closed) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
  }

  /** The next batch of a partition still owned, or null once closed. */
  async #take(): Promise<QueuedBatch | null> {
    for (;;) {
      if (this.#failure !== null) throw this.#failure;
      if (this.#closed || this.#stop.signal.aborted) return null;
      const batch = this.#queue.shift();
      if (batch !== undefined) {
        this.#spaceWaiters.shift()?.();
        if (batch.state.gone || this.#owned.get(batch.state.key) !== batch.state) continue;
        return batch;
      }
      await new Promise<void>((resolve) => this.#queueWaiters.push(resolve));
    }
  }

  /** Removes the queued batches of a partition; returns the first offset removed (or null). */
  #dropQueued(state: PartitionState): number | null {
    let first: number | null = null;
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (this.#queue[i]!.state !== state) continue;
      first = this.#queue[i]!.records[0]!.offset;
      this.#queue.splice(i, 1);
      this.#spaceWaiters.shift()?.();
    }
    return first;
  }

  #claimDelivery(): void {
    if (this.#delivering) throw new StrataError('INVALID_REQUEST', 'consumer: already being iterated or run');
    this.#delivering = true;
  }

  // ---- commits ---------------------------------------------------------------------------------

  async #maybeAutoCommit(): Promise<void> {
    if (!this.#o.autoCommit || Date.now() - this.#lastAutoCommit < this.#o.autoCommitIntervalMs) return;
    this.#lastAutoCommit = Date.now();
    await this.commit().catch((e: unknown) => {
      if (isStrataError(e) && (e.code === 'FENCED_MEMBER_EPOCH' || e.code === 'UNKNOWN_MEMBER_ID')) {
        this.#heartbeatSoon(); // the heartbeat hears the same and rejoins
        return;
      }
      if (isStrataError(e) && e.retriable) return; // the next interval tries again
      throw e;
    });
  }

  async #commitNow(explicit?: ReadonlyArray<TopicPartition & { offset: number }>): Promise<void> {
    const member = this.#member;
    if (member === null) throw new StrataError('UNKNOWN_MEMBER_ID', `consumer of group ${this.groupId} is not a member now (it is rejoining): nothing committed`);
    const offsets =
      explicit ??
      [...this.#owned.values()]
        .filter((s) => s.processed !== null && s.processed !== s.committed)
        .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.processed! }));
    if (offsets.length === 0) return;
    await this.#api.commitOffsets(this.groupId, { ...member }, offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })), this.#call());
    for (const o of offsets) {
      const state = this.#owned.get(key(o.topic, o.partition));
      if (state === undefined) continue;
      state.committed = o.offset;
      // An explicit commit says "processed up to here": a later automatic one must not move it back.
      if (explicit !== undefined) state.processed = o.offset;
    }
    this.#publish({ type: 'committed', group: this.groupId, offsets: [...offsets] });
  }

  // ---- shutdown and failure ----------------------------------------------------------------------

  async #close(): Promise<void> {
    this.#generation++; // an assignment being set up now is dropped
    try {
      // From inside run()'s handler (or an iterator's loop body) the handler cannot finish first:
      // then what it finished is committed, the record in hand is not (it comes again).
      const insideHandler = inHandler.getStore() === this || this.#iterating;
      if (this.#started && this.#member !== null && this.#failure === null) {
        // Wait for a reconcile in flight, then give everything up as a revocation would.
        if (!insideHandler) await this.#reconciling;
        this.#target = [];
        await this.#revoke([...this.#owned.values()], !insideHandler);
      } else if (this.#started && this.#member !== null && this.#o.autoCommit) {
        // Failed (a handler threw): what was processed before is still committed.
        await this.commit().catch(() => undefined);
      }
    } finally {
      this.#closed = true;
      for (const s of this.#owned.values()) this.#stopPartition(s);
      this.#owned.clear();
      this.#stop.abort();
      for (const wake of this.#queueWaiters.splice(0)) wake();
      for (const wake of this.#spaceWaiters.splice(0)) wake();
      await this.#loop?.catch(() => undefined);
      const member = this.#member;
      this.#member = null;
      if (member !== null) await this.#api.leaveGroup(this.groupId, member.memberId, this.#call(5_000)).catch(() => undefined);
      if (this.#ownsConnection) await this.#fetcher.connection.close();
    }
  }

  #fail(e: unknown): void {
    if (this.#failure !== null || this.#closed) return;
    this.#failure = e;
    for (const wake of this.#queueWaiters.splice(0)) wake();
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    // Stop heartbeating: the partitions go to the other members after the session.
    this.#stop.abort();
    for (const s of this.#owned.values()) this.#stopPartition(s);
  }

  #ownedAsTopics(): TopicPartitions[] {
    const byTopic = new Map<string, number[]>();
    for (const s of this.#owned.values()) {
      const list = byTopic.get(s.topic) ?? [];
      list.push(s.partition);
      byTopic.set(s.topic, list);
    }
    return [...byTopic.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
  }

  #call(timeoutMs = this.#api.connection.options.requestTimeoutMs): CallOptions {
    return { deadline: Date.now() + timeoutMs };
  }

  #publish(event: ConsumerEvent): void {
    if (consumerChannel.hasSubscribers) consumerChannel.publish(event);
  }
}

function sortPartitions(list: TopicPartition[]): TopicPartition[] {
  return list.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

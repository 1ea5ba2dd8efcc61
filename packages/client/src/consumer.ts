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
//
// By concern: consumer-membership.ts (join, heartbeats, fences), consumer-fetch.ts (the owned
// partitions' state, their fetch loops, the queue); here the assignment (reconcile, assign,
// revoke, seek, pause), delivery (iterator, run), commits and shutdown.

import { AsyncLocalStorage } from 'node:async_hooks';
import { channel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import { isStrataError, StrataError } from '@strata/protocol';
import { StrataApi, type CallOptions, type GroupHeartbeatAnswer, type TopicPartitions } from './api.js';
import { connectionFor } from './connection.js';
import { withDeadLetter } from './dead-letter.js';
import { Fetcher } from './fetcher.js';
import { BatchQueue, fetchLoop, ownedAsTopics, partitionKey as key, type FetchLoopContext, type PartitionState, type QueuedBatch } from './consumer-fetch.js';
import { Membership } from './consumer-membership.js';
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
import { consumerSettings, type ConsumerEvent, type ConsumerOptions, type ConsumerSettings, type RunOptions, type TopicPartition } from './consumer-options.js';

export const consumerChannel = channel('strata:client:consumer');

/** Set while run()'s handler runs: a close() from inside it must not wait for that same handler. */
const inHandler = new AsyncLocalStorage<Consumer>();

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly groupId: string;
  readonly #api: StrataApi;
  readonly #fetcher: Fetcher;
  readonly #ownsConnection: boolean;
  readonly #o: ConsumerSettings;
  readonly #membership: Membership;
  readonly #owned = new Map<string, PartitionState>();
  /** The assignment the broker last gave (what reconcile moves towards). */
  #target: TopicPartitions[] = [];
  #reconciling: Promise<void> | null = null;
  #reconcileAgain = false;
  readonly #queue: BatchQueue;
  readonly #fetchContext: FetchLoopContext;
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
    this.#o = consumerSettings(options);
    const { connection, owned } = connectionFor(options);
    this.#ownsConnection = owned;
    this.#api = new StrataApi(connection);
    this.#fetcher = new Fetcher({ connection });
    this.groupId = options.groupId;
    this.#queue = new BatchQueue(this.#o.maxQueuedBatches);
    this.#fetchContext = {
      queue: this.#queue,
      stop: this.#stop.signal,
      closed: () => this.#closed,
      onRetry: (what, error) => this.#publish({ type: 'retry', group: this.groupId, what, error }),
    };
    const o = this.#o;
    this.#membership = new Membership(
      this.#api,
      { groupId: this.groupId, topics: [...new Set(options.topics)], sessionTimeoutMs: o.sessionTimeoutMs, rebalanceTimeoutMs: o.rebalanceTimeoutMs, clientId: o.clientId },
      this.#stop.signal,
      {
        assigned: (answer) => this.#onAnswer(answer),
        lost: (reason) => this.#lose(reason),
        owned: () => ownedAsTopics(this.#owned.values()),
        publish: (event) => this.#publish(event),
      },
    );
  }

  /** The member id and epoch while joined (null before the first join and after a fence, until the rejoin). */
  get member(): { memberId: string; memberEpoch: number } | null {
    const member = this.#membership.current;
    return member === null ? null : { ...member };
  }

  /** The partitions owned now, sorted. */
  assignment(): TopicPartition[] {
    return sortPartitions([...this.#owned.values()].map(({ topic, partition }) => ({ topic, partition })));
  }

  /** Joins the group and starts heartbeating (run() and iteration call it). Resolves after the first join. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#membership.join();
    this.#loop = this.#membership.heartbeatLoop().catch((e: unknown) => this.#fail(e));
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
    this.#queue.drop(state);
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
      const first = this.#queue.drop(state);
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

  // ---- assignment ------------------------------------------------------------------------------

  #onAnswer(answer: GroupHeartbeatAnswer): void {
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
          this.#membership.heartbeatSoon(); // tell the broker at once: their new owners are waiting
        }
        const added = this.#target.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))).filter((tp) => !this.#owned.has(key(tp.topic, tp.partition)));
        if (added.length > 0 && !this.#closed && this.#membership.current !== null) await this.#assign(added, this.#generation);
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
      void fetchLoop(state, this.#fetchContext).catch((e: unknown) => this.#fail(e));
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
    if (this.#o.autoCommit && this.#membership.current !== null) {
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
    this.#membership.forget();
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
    this.#queue.drop(state);
  }

  // ---- delivery ------------------------------------------------------------------------------

  /** The next batch of a partition still owned, or null once closed. */
  async #take(): Promise<QueuedBatch | null> {
    for (;;) {
      if (this.#failure !== null) throw this.#failure;
      if (this.#closed || this.#stop.signal.aborted) return null;
      const batch = this.#queue.shift();
      if (batch !== undefined) {
        if (batch.state.gone || this.#owned.get(batch.state.key) !== batch.state) continue;
        return batch;
      }
      await this.#queue.nextPush();
    }
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
        this.#membership.heartbeatSoon(); // the heartbeat hears the same and rejoins
        return;
      }
      if (isStrataError(e) && e.retriable) return; // the next interval tries again
      throw e;
    });
  }

  async #commitNow(explicit?: ReadonlyArray<TopicPartition & { offset: number }>): Promise<void> {
    const member = this.#membership.current;
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
      if (this.#started && this.#membership.current !== null && this.#failure === null) {
        // Wait for a reconcile in flight, then give everything up as a revocation would.
        if (!insideHandler) await this.#reconciling;
        this.#target = [];
        await this.#revoke([...this.#owned.values()], !insideHandler);
      } else if (this.#started && this.#membership.current !== null && this.#o.autoCommit) {
        // Failed (a handler threw): what was processed before is still committed.
        await this.commit().catch(() => undefined);
      }
    } finally {
      this.#closed = true;
      for (const s of this.#owned.values()) this.#stopPartition(s);
      this.#owned.clear();
      this.#stop.abort();
      this.#queue.wakeAll();
      await this.#loop?.catch(() => undefined);
      await this.#membership.leave(5_000);
      if (this.#ownsConnection) await this.#fetcher.connection.close();
    }
  }

  #fail(e: unknown): void {
    if (this.#failure !== null || this.#closed) return;
    this.#failure = e;
    this.#queue.wakeAll();
    // Stop heartbeating: the partitions go to the other members after the session.
    this.#stop.abort();
    for (const s of this.#owned.values()) this.#stopPartition(s);
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

// The leader of one partition in one reign (one leader epoch), and the one owner of its append
// protocol: epoch check, append, lease check, wake followers and consumers, ISR wait. A produce is
// one call, `append()`, from the produce code; nothing on the way bounces back through a router.
//
// A cluster node creates one per partition it acquires (replicas: its followers, ISR and high
// watermark) and ends it when the reign ends (lost, fenced, handed over, stopped). A single node is
// a cluster of one: it holds its leases like any broker, and with no followers its ISR is itself
// and its high watermark its log end (docs/architecture.md, "produce").

import type { BatchFrame, StrataError } from '@strata/protocol';
import type { AppendResult } from '@strata/log';
import type { AbortSource } from '../abort-source.js';
import type { PartitionWaiters } from '../partition-waiters.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import type { LeaderReplicas } from './leader-replicas.js';

export const ACKS = ['0', '1', 'all', '-1'] as const;
export type Acks = (typeof ACKS)[number];

/** Follower fetches wait on these keys (the log end), consumers on the partition key (the HW). */
export function replicaWaitKey(handle: PartitionHandle): string {
  return `replica:${handle.key}`;
}

export interface AppendOptions {
  acks: Acks;
  /** acks=all: the topic's min.insync.replicas. */
  minInsync: number;
  /**
   * Called once the records are in the log under a live lease, before any wait for the ISR (the
   * caller counts them here: they are appended whatever the wait's outcome).
   */
  onAppended?: (result: AppendResult) => void;
}

/** What a leader needs from the broker around it. */
export interface LeaderEnvironment {
  waiters: PartitionWaiters;
  /** A storage failure of the append, as the user should read it (the topic may have been deleted meanwhile). */
  explainFailure(handle: PartitionHandle, error: unknown): unknown;
  /** The retriable NOT_LEADER answer for this partition, naming where its writes go now. */
  notLeader(handle: PartitionHandle, why: string): StrataError;
  /** An append finished after the reign could write: answered NOT_LEADER, not acknowledged. */
  onUnacknowledged(): void;
  /** acks=all: how long to wait for the ISR (ms). */
  replicaAckTimeoutMs: number;
}

export type LeaderStatus = 'leading' | 'draining' | 'ended';

export class PartitionLeader {
  readonly handle: PartitionHandle;
  readonly epoch: number;
  /** Followers, ISR and high watermark (a single node's ISR is itself: its HW is its log end). */
  readonly replicas: LeaderReplicas;
  readonly #env: LeaderEnvironment;
  /** performance.now() after which this leader must not write (lease send time + TTL - margin). */
  #deadline: number;
  #status: LeaderStatus = 'leading';

  constructor(options: { handle: PartitionHandle; epoch: number; deadline: number; replicas: LeaderReplicas }, env: LeaderEnvironment) {
    this.handle = options.handle;
    this.epoch = options.epoch;
    this.#deadline = options.deadline;
    this.replicas = options.replicas;
    this.#env = env;
  }

  get status(): LeaderStatus {
    return this.#status;
  }

  get deadline(): number {
    return this.#deadline;
  }

  /** The lease is live (it may be draining): followers may fetch, views name this broker. */
  get leaseLive(): boolean {
    return this.#status !== 'ended' && performance.now() < this.#deadline;
  }

  /** Writes may be taken and acknowledged: leading (not handing over) under a live lease. */
  get writable(): boolean {
    return this.#status === 'leading' && performance.now() < this.#deadline;
  }

  /** Consumers read below this (docs/architecture.md, invariant 2): min log end over the ISR. */
  get highWatermark(): number {
    return this.replicas.highWatermark;
  }

  /** The lease was renewed: writes may go on until `deadline`. */
  extendLease(deadline: number): void {
    this.#deadline = deadline;
  }

  /** A hand-over started: no more writes are acknowledged; followers keep fetching. */
  drain(): void {
    if (this.#status === 'leading') this.#status = 'draining';
  }

  /** A hand-over that could not finish: lead on. */
  resume(): void {
    if (this.#status === 'draining') this.#status = 'leading';
  }

  /** The reign is over: nothing more is appended or acknowledged; acks=all waiters fail with `error`. */
  end(error: Error): void {
    this.#status = 'ended';
    this.replicas.failAll(error);
  }

  /**
   * The append protocol. acks=all is refused up front when the ISR is smaller than `minInsync`
   * (Kafka's NOT_ENOUGH_REPLICAS: nothing appended); the batches are appended under this epoch; an
   * append that finished after the lease could have run out (or once a hand-over started) is not
   * acknowledged (NOT_LEADER: a newer leader may own those offsets); followers and consumers are
   * woken; acks=all then waits until the HW covers the records (until `abort.signal`, read only then).
   */
  async append(batches: Buffer, frames: BatchFrame[], options: AppendOptions, abort: AbortSource): Promise<AppendResult> {
    const { handle } = this;
    const all = options.acks === 'all' || options.acks === '-1';
    const where = `${handle.topic}/${handle.partition}`;
    if (all) {
      if (this.#status === 'ended') throw this.#env.notLeader(handle, 'leadership changed');
      this.replicas.checkInSync(options.minInsync, where);
    }
    let result: AppendResult;
    try {
      result = await handle.log.append(batches, frames, { leaderEpoch: this.epoch });
    } catch (e) {
      throw this.#env.explainFailure(handle, e);
    }
    if (!this.writable) {
      this.#env.onUnacknowledged();
      throw this.#env.notLeader(handle, 'the lease ran out while appending: the records were not acknowledged');
    }
    options.onAppended?.(result);
    this.#env.waiters.notify(replicaWaitKey(handle), handle.log.logEndOffset);
    this.replicas.recompute();
    this.#env.waiters.notify(handle.key, this.highWatermark);
    if (all) {
      await this.replicas.awaitHighWatermark(result.lastOffset + 1, this.#env.replicaAckTimeoutMs, abort);
      // Kafka's NOT_ENOUGH_REPLICAS_AFTER_APPEND: committed, but by fewer replicas than asked.
      if (this.replicas.isr.length < options.minInsync) this.replicas.checkInSync(options.minInsync, `${where} (after the append: the records are committed, by fewer replicas)`);
    }
    return result;
  }
}


// The leader's side of replication for one partition in one reign (Kafka's Partition on the
// leader): what each follower has (its fetch offset is its log end), the in-sync replica set as
// the coordinator holds it, the high watermark (min log end over the ISR), and the acks=all
// produces waiting for it.
//
// The ISR used here is only ever the one persisted in the coordinator: a shrink is written before
// the HW may move with the smaller set (or a replica missing acknowledged records could be
// elected), an expansion is written before the new member counts.

import { StrataError } from '@strata/protocol';
import type { PartitionLog } from '@strata/log';
import type { AbortSource } from '../abort-source.js';

export interface FollowerState {
  /** The follower's log end: its last fetch offset. -1: not heard from in this reign. */
  logEndOffset: number;
  /** performance.now() of its last fetch. */
  lastFetchAt: number;
  /** The leader's log end at its last fetch (to tell when it had caught up). */
  leaderEndAtLastFetch: number;
  /** performance.now() when it last was caught up with the leader's log end (Kafka's lastCaughtUpTimeMs). */
  caughtUpAt: number;
}

interface AckWaiter {
  target: number;
  resolve(): void;
  reject(error: Error): void;
}

export interface IsrPlan {
  isr: string[];
  shrunk: string[];
  expanded: string[];
}

export class LeaderReplicas {
  readonly #me: string;
  readonly #log: PartitionLog;
  /** Where this reign's epoch starts: a follower below it has not caught up (Kafka: leaderEpochStartOffset). */
  readonly startOffset: number;
  #isr: string[];
  #hw: number;
  readonly followers = new Map<string, FollowerState>();
  #waiters: AckWaiter[] = [];
  /** An ISR change is being written. */
  isrUpdating = false;
  readonly #onAdvance: (hw: number) => void;

  constructor(options: { me: string; log: PartitionLog; isr: readonly string[]; highWatermark: number; onAdvance: (hw: number) => void }) {
    this.#me = options.me;
    this.#log = options.log;
    this.startOffset = options.log.logEndOffset;
    this.#isr = options.isr.includes(options.me) ? [...options.isr] : [options.me, ...options.isr];
    this.#hw = Math.max(options.log.logStartOffset, Math.min(options.highWatermark, options.log.logEndOffset));
    this.#onAdvance = options.onAdvance;
    const now = performance.now();
    // Every member of the ISR gets a full lag period from the start of the reign to show up.
    for (const id of this.#isr) {
      if (id !== this.#me) this.followers.set(id, { logEndOffset: -1, lastFetchAt: now, leaderEndAtLastFetch: this.startOffset, caughtUpAt: now });
    }
    this.recompute();
  }

  get highWatermark(): number {
    return this.#hw;
  }

  get isr(): readonly string[] {
    return this.#isr;
  }

  /** A follower's fetch at `offset` (its log end). */
  onFetch(replica: string, offset: number): void {
    const now = performance.now();
    const leaderEnd = this.#log.logEndOffset;
    let state = this.followers.get(replica);
    if (state === undefined) {
      state = { logEndOffset: offset, lastFetchAt: now, leaderEndAtLastFetch: leaderEnd, caughtUpAt: 0 };
      this.followers.set(replica, state);
    }
    if (offset >= leaderEnd) state.caughtUpAt = now;
    else if (offset >= state.leaderEndAtLastFetch) state.caughtUpAt = Math.max(state.caughtUpAt, state.lastFetchAt);
    state.logEndOffset = offset;
    state.lastFetchAt = now;
    state.leaderEndAtLastFetch = leaderEnd;
    this.recompute();
  }

  /** HW = min log end over the ISR; it never moves back. Wakes the acks=all waiters it passes. */
  recompute(): void {
    let low = this.#log.logEndOffset;
    for (const id of this.#isr) {
      if (id === this.#me) continue;
      const end = this.followers.get(id)?.logEndOffset ?? -1;
      if (end < low) low = end;
    }
    if (low <= this.#hw) return;
    this.#hw = low;
    if (this.#waiters.length > 0) {
      const due = this.#waiters.filter((w) => w.target <= low);
      if (due.length > 0) {
        this.#waiters = this.#waiters.filter((w) => w.target > low);
        for (const w of due) w.resolve();
      }
    }
    this.#onAdvance(low);
  }

  /**
   * The ISR as it should be: members not caught up for lagMs (or not live, or no longer replicas)
   * leave; replicas caught up to the HW and this epoch's start join. null: no change.
   */
  plan(options: { lagMs: number; live: (id: string) => boolean; replicas: readonly string[] }): IsrPlan | null {
    const now = performance.now();
    const shrunk: string[] = [];
    const expanded: string[] = [];
    const isr = this.#isr.filter((id) => {
      if (id === this.#me) return true;
      const f = this.followers.get(id);
      const keep = options.live(id) && options.replicas.includes(id) && f !== undefined && now - f.caughtUpAt <= options.lagMs;
      if (!keep) shrunk.push(id);
      return keep;
    });
    for (const [id, f] of this.followers) {
      if (isr.includes(id) || shrunk.includes(id) || !options.live(id) || !options.replicas.includes(id)) continue;
      if (f.logEndOffset >= Math.max(this.#hw, this.startOffset) && now - f.lastFetchAt <= options.lagMs) {
        isr.push(id);
        expanded.push(id);
      }
    }
    return shrunk.length > 0 || expanded.length > 0 ? { isr, shrunk, expanded } : null;
  }

  /** The coordinator holds `isr` now. */
  setIsr(isr: readonly string[]): void {
    this.#isr = [...isr];
    this.recompute();
  }

  /** Fails up front when the ISR is smaller than min.insync.replicas (Kafka: NOT_ENOUGH_REPLICAS). */
  checkInSync(minInsync: number, where: string): void {
    if (this.#isr.length < minInsync) {
      throw new StrataError('NOT_ENOUGH_REPLICAS', `${where} has ${this.#isr.length} in-sync replica(s) (${this.#isr.join(', ')}), fewer than min.insync.replicas=${minInsync}`, {
        details: { isr: [...this.#isr], minInsyncReplicas: minInsync },
      });
    }
  }

  /**
   * Kafka's KIP-207: until the HW reaches where this reign started, a new leader's latest offset
   * would go back below what the last leader answered (the HW it inherited can be stale), so offset
   * lookups answer OFFSET_NOT_AVAILABLE (retriable) until the in-sync followers have fetched.
   */
  checkOffsetsAvailable(where: string): void {
    if (this.#hw >= this.startOffset) return;
    throw new StrataError('OFFSET_NOT_AVAILABLE', `${where} has a new leader whose high watermark (${this.#hw}) has not yet reached the start of its reign (${this.startOffset}); retry shortly`, {
      details: { highWatermark: this.#hw, epochStartOffset: this.startOffset },
    });
  }

  /** Resolves once the HW reaches `target` (the offset after the batch), or rejects after timeoutMs or on `abort.signal` (read only when it waits). */
  awaitHighWatermark(target: number, timeoutMs: number, abort: AbortSource): Promise<void> {
    if (this.#hw >= target) return Promise.resolve();
    const { signal } = abort;
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        if (error) reject(error);
        else resolve();
      };
      const waiter: AckWaiter = { target, resolve: () => finish(), reject: (e) => finish(e) };
      const timer = setTimeout(
        () => finish(new StrataError('REQUEST_TIMED_OUT', `the in-sync replicas did not confirm offset ${target - 1} within ${timeoutMs} ms (the records may still be committed)`)),
        timeoutMs,
      );
      const onAbort = (): void => finish(new StrataError('REQUEST_TIMED_OUT', 'the client went away while waiting for the in-sync replicas'));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** The records below `offset` are safe another way (uploaded at a hand-over): their waiters are answered. */
  resolveUpTo(offset: number): void {
    const due = this.#waiters.filter((w) => w.target <= offset);
    this.#waiters = this.#waiters.filter((w) => w.target > offset);
    for (const w of due) w.resolve();
  }

  /** The reign ended: every waiter fails (retriable), its records neither acknowledged nor known lost. */
  failAll(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
  }

  get waiting(): number {
    return this.#waiters.length;
  }
}

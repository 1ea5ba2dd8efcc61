// Topic sync: picks up topics created, changed or deleted through other brokers from the
// coordinator's list, without ever dropping a topic on a hasty reading.

import { setTimeout as sleep } from 'node:timers/promises';
import type { TopicMetadata } from '../topics/metadata-store.js';
import type { ClusterState } from './cluster-state.js';
import { TOPIC_ABSENCE_BEFORE_DROP_MS, TOPIC_SYNC_MIN_INTERVAL_MS } from './timings.js';

export class TopicSync {
  readonly #s: ClusterState;
  /** Topics the coordinator no longer lists, since when (see #withoutHastyDrops). */
  readonly #absentSince = new Map<string, number>();
  /** The sync reading the coordinator now, if any. */
  #running: Promise<void> | null = null;
  /** A sync queued to start after the running one and the interval: every caller since the running one started waits for it. */
  #queued: Promise<void> | null = null;
  #lastStartedAt = -Infinity;

  constructor(state: ClusterState) {
    this.#s = state;
  }

  /**
   * Resolves once a sync that started after this call has finished, so a topic created anywhere
   * before the call is served here when it resolves. A sync already running may have read the
   * coordinator before that creation, so it does not count: the call waits for the next one.
   * Coalesced: the coordinator is read at most every TOPIC_SYNC_MIN_INTERVAL_MS, however many
   * requests name topics this broker does not know.
   */
  sync(): Promise<void> {
    if (this.#queued !== null) return this.#queued;
    const sinceLast = performance.now() - this.#lastStartedAt;
    if (this.#running === null && sinceLast >= TOPIC_SYNC_MIN_INTERVAL_MS) return this.#start();
    const running = this.#running;
    const queued = (async () => {
      await running?.catch(() => undefined);
      const wait = TOPIC_SYNC_MIN_INTERVAL_MS - (performance.now() - this.#lastStartedAt);
      if (wait > 0) await sleep(wait);
      this.#queued = null; // callers from now on need a sync that starts after them
      await this.#start();
    })();
    this.#queued = queued;
    return queued;
  }

  /** The loop's periodic sync: none when one ran within TOPIC_SYNC_MIN_INTERVAL_MS (a tick never waits for the interval). */
  syncIfDue(): Promise<void> {
    if (this.#running !== null) return this.#running;
    if (this.#queued !== null || performance.now() - this.#lastStartedAt < TOPIC_SYNC_MIN_INTERVAL_MS) return Promise.resolve();
    return this.#start();
  }

  #start(): Promise<void> {
    this.#lastStartedAt = performance.now();
    const running = (async () => {
      try {
        const changesSeen = this.#s.opts.registry.localChanges;
        const listed = await this.#s.coord.listTopics({ signal: AbortSignal.timeout(this.#s.opts.config.leaseTtlMs) });
        await this.#s.opts.registry.sync(this.#withoutHastyDrops(listed), changesSeen);
      } finally {
        this.#running = null;
      }
    })();
    this.#running = running;
    return running;
  }

  /**
   * Dropping a topic destroys its local logs, so absence must be real: a topic missing from the
   * coordinator is kept until it has been missing for TOPIC_ABSENCE_BEFORE_DROP_MS, and nothing is
   * dropped when every topic vanished at once (a Redis that lost its data, or a wrong key prefix).
   */
  #withoutHastyDrops(listed: TopicMetadata[]): TopicMetadata[] {
    const now = performance.now();
    const names = new Set(listed.map((t) => t.name));
    const known = this.#s.opts.registry.list();
    const missing = known.filter((t) => !names.has(t.name));
    for (const name of [...this.#absentSince.keys()]) if (names.has(name)) this.#absentSince.delete(name);
    if (missing.length === 0) return listed;
    if (listed.length === 0) {
      this.#s.opts.logger.error('the coordinator lists no topics at all while this broker serves some; keeping them (did Redis lose its data?)', {
        topics: missing.map((t) => t.name),
      });
      return known.map((t) => t.meta);
    }
    const kept = missing.filter((t) => {
      const since = this.#absentSince.get(t.name) ?? now;
      this.#absentSince.set(t.name, since);
      return now - since < TOPIC_ABSENCE_BEFORE_DROP_MS;
    });
    return [...listed, ...kept.map((t) => t.meta)];
  }
}

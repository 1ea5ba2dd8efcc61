// Topic sync: picks up topics created, changed or deleted through other brokers from the
// coordinator's list, without ever dropping a topic on a hasty reading.

import type { TopicMetadata } from '../topics/metadata-store.js';
import type { ClusterState } from './cluster-state.js';
import { TOPIC_ABSENCE_BEFORE_DROP_MS, TOPIC_SYNC_MIN_INTERVAL_MS } from './timings.js';

export class TopicSync {
  readonly #s: ClusterState;
  /** Topics the coordinator no longer lists, since when (see #withoutHastyDrops). */
  readonly #absentSince = new Map<string, number>();
  #syncing: Promise<void> | null = null;
  #lastSyncAt = 0;

  constructor(state: ClusterState) {
    this.#s = state;
  }

  /** Coalesced, at most every TOPIC_SYNC_MIN_INTERVAL_MS. */
  sync(): Promise<void> {
    if (this.#syncing !== null) return this.#syncing;
    if (performance.now() - this.#lastSyncAt < TOPIC_SYNC_MIN_INTERVAL_MS) return Promise.resolve();
    this.#syncing = (async () => {
      try {
        const changesSeen = this.#s.opts.registry.localChanges;
        const listed = await this.#s.coord.listTopics({ signal: AbortSignal.timeout(this.#s.opts.config.leaseTtlMs) });
        await this.#s.opts.registry.sync(this.#withoutHastyDrops(listed), changesSeen);
      } finally {
        this.#lastSyncAt = performance.now();
        this.#syncing = null;
      }
    })();
    return this.#syncing;
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

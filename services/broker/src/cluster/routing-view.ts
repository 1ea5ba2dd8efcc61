// The routing view: who leads what and at which URL, as this broker knows it (its own reigns,
// the partition states and live brokers last read). It answers the front doors' question
// "where does this partition's read or write go" and the metadata views; it decides nothing.

import type { PartitionHandle, Topic } from '../topics/topic-registry.js';
import type { ClusterState } from './cluster-state.js';
import type { PartitionRoute, PartitionRouter } from './routing.js';

export interface BrokerView {
  id: string;
  url: string;
  live: boolean;
  self: boolean;
  leaderOf: Array<{ topic: string; partitions: number[] }>;
}

export interface PartitionView {
  leader: string | null;
  leaderEpoch: number;
  replicas: string[];
  isr: string[];
  highWatermark: number;
}

export class RoutingView implements PartitionRouter {
  readonly #s: ClusterState;
  readonly #refreshing = new Map<string, Promise<void>>();

  constructor(state: ClusterState) {
    this.#s = state;
  }

  route(handle: PartitionHandle): PartitionRoute {
    const s = this.#s;
    const reign = s.reigns.get(handle.key);
    if (reign !== undefined && reign.leader.handle === handle) {
      const { leader } = reign;
      if (leader.writable) return { kind: 'local', leader };
      return { kind: 'unavailable', reason: leader.status === 'draining' ? 'its leader is handing it over' : 'its leader could not renew the lease in time' };
    }
    const state = s.states.get(handle.key);
    if (!state || state.leader === null) return { kind: 'unavailable', reason: 'no leader is elected yet' };
    if (state.leader === s.me) return { kind: 'unavailable', reason: 'this broker is taking over its leadership' };
    const broker = s.brokers.get(state.leader);
    if (broker === undefined) return { kind: 'unavailable', reason: `its leader ${state.leader} is not live` };
    return { kind: 'remote', leaderId: state.leader, url: broker.url };
  }

  leaderUnreachable(handle: PartitionHandle, leaderId: string): void {
    if (this.#s.states.get(handle.key)?.leader === leaderId) this.#s.states.delete(handle.key);
  }

  highWatermark(handle: PartitionHandle): number {
    const reign = this.#s.reigns.get(handle.key);
    if (reign !== undefined && reign.leader.handle === handle) return reign.leader.highWatermark;
    // Not led here: reads go to the leader or the bucket; what this broker's own log holds is not committed as far as it knows.
    return Math.min(handle.log.logEndOffset, Math.max(this.#s.states.get(handle.key)?.highWatermark ?? 0, handle.tier.remoteEndOffset));
  }

  partitionView(handle: PartitionHandle): PartitionView {
    const s = this.#s;
    const state = s.states.get(handle.key);
    // Only a live lease makes this broker the leader: one past its deadline writes nothing.
    const reign = s.reigns.get(handle.key);
    const leading = reign !== undefined && reign.leader.leaseLive;
    const other = state?.leader === s.me ? null : (state?.leader ?? null);
    const leader = leading ? s.me : other;
    return {
      leader,
      leaderEpoch: leading ? reign.leader.epoch : (state?.leaderEpoch ?? 0),
      replicas: state?.replicas ?? [],
      isr: leading ? [...reign.replicas.isr] : leader === null ? [] : (state?.isr ?? []),
      highWatermark: leading ? reign.replicas.highWatermark : (state?.highWatermark ?? 0),
    };
  }

  brokers(): BrokerView[] {
    const s = this.#s;
    const leaderOf = new Map<string, Map<string, number[]>>();
    for (const topic of s.opts.registry.list()) {
      for (const handle of topic.partitions) {
        const leader = this.partitionView(handle).leader;
        if (leader === null) continue;
        let byTopic = leaderOf.get(leader);
        if (!byTopic) leaderOf.set(leader, (byTopic = new Map()));
        let list = byTopic.get(topic.name);
        if (!list) byTopic.set(topic.name, (list = []));
        list.push(handle.partition);
      }
    }
    const ids = new Set([...s.brokers.keys(), ...leaderOf.keys()]);
    if (!s.leaving) ids.add(s.me);
    return [...ids].sort().map((id) => ({
      id,
      url: id === s.me ? s.opts.url() : (s.brokers.get(id)?.url ?? ''),
      live: s.brokers.has(id) || (id === s.me && !s.leaving),
      self: id === s.me,
      leaderOf: [...(leaderOf.get(id) ?? new Map<string, number[]>()).entries()].map(([topic, partitions]) => ({ topic, partitions })),
    }));
  }

  /** Waits until every partition of `topic` has a leader, or `timeoutMs` passed. */
  /** Every partition of `topic` has a leader, as this broker last saw. */
  led(topic: Topic): boolean {
    return topic.partitions.every((h) => this.partitionView(h).leader !== null);
  }

  /** Reads one partition's state now (a request for a partition this broker has not looked at yet). */
  refresh(handle: PartitionHandle): Promise<void> {
    let pending = this.#refreshing.get(handle.key);
    if (pending === undefined) {
      pending = this.#s.coord
        .getPartitionState(handle.topic, handle.partition, { signal: AbortSignal.timeout(this.#s.opts.config.leaseTtlMs) })
        .then(
          (state) => void this.#s.states.set(handle.key, state),
          () => undefined,
        )
        .finally(() => this.#refreshing.delete(handle.key));
      this.#refreshing.set(handle.key, pending);
    }
    return pending;
  }
}

// Replication (docs/architecture.md, "replication"): on the follower side, one fetcher per
// partition this broker is a replica of and another broker leads; on the leader side, the answers
// to followers' fetches, the ISR of each partition led here (shrunk and expanded, written under the
// epoch before it counts) and the high watermark published to the coordinator.

import { isStrataError } from '@strata/protocol';
import { Counter, Gauge } from 'prom-client';
import { replicaWaitKey } from '../partition/partition-leader.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import { gauge, type ClusterState, type Reign } from './cluster-state.js';
import { ReplicaClient, type EpochEndReply } from './replica-client.js';
import { ReplicaFetcher } from './replica-fetcher.js';

/** What the leader answers a follower's fetch (the internal server writes it). */
export type ReplicaFetchAnswer =
  | { kind: 'data'; data: Buffer; release: () => void; highWatermark: number; leaderEpoch: number; uploadedEnd: number }
  | { kind: 'fenced'; leaderEpoch: number | null }
  | { kind: 'reset'; to: number }
  | { kind: 'truncate'; to: number };

export interface ReplicationOptions {
  /** Leadership: the reign was fenced by the coordinator. */
  lose(key: string, reign: Reign, why: string): void;
}

export class Replication {
  readonly #s: ClusterState;
  readonly #o: ReplicationOptions;
  /** Follower fetchers, by handle key: one per partition this broker follows. */
  readonly #fetchers = new Map<string, ReplicaFetcher>();
  readonly #client: ReplicaClient;
  readonly #isrChanges: Counter<'change'>;

  constructor(state: ClusterState, options: ReplicationOptions) {
    this.#s = state;
    this.#o = options;
    this.#client = new ReplicaClient(state.opts.credentials, state.opts.tls ?? null);
    const { metrics: registry, registry: topics } = state.opts;
    const reigns = state.reigns;
    const fetchers = this.#fetchers;
    gauge(registry, 'strata_replication_under_replicated_partitions', "Partitions led here whose ISR is smaller than their topic's replication factor.", () => {
      let n = 0;
      for (const r of reigns.values()) {
        const { topic } = r.leader.handle;
        const rf = topics.has(topic) ? topics.get(topic).meta.replicationFactor : 1;
        if (r.replicas.isr.length < rf) n++;
      }
      return n;
    });
    gauge(registry, 'strata_replication_followed_partitions', 'Partitions this broker follows (fetches from their leader).', () => fetchers.size);
    new Gauge({
      name: 'strata_replication_isr_size',
      help: 'In-sync replicas of each partition led here.',
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of reigns.values()) this.set({ topic: r.leader.handle.topic, partition: String(r.leader.handle.partition) }, r.replicas.isr.length);
      },
    });
    new Gauge({
      name: 'strata_replication_lag_offsets',
      help: 'Per partition: on its leader, the furthest follower behind the leader log end; on a follower, how far behind the leader HW it last heard it is.',
      labelNames: ['topic', 'partition', 'role'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of reigns.values()) {
          const { handle } = r.leader;
          let lag = 0;
          for (const f of r.replicas.followers.values()) lag = Math.max(lag, handle.log.logEndOffset - Math.max(f.logEndOffset, 0));
          this.set({ topic: handle.topic, partition: String(handle.partition), role: 'leader' }, lag);
        }
        for (const f of fetchers.values()) this.set({ topic: f.handle.topic, partition: String(f.handle.partition), role: 'follower' }, f.lag);
      },
    });
    this.#isrChanges = new Counter({
      name: 'strata_replication_isr_changes_total',
      help: 'ISR changes written by this broker as leader: shrink (a follower fell behind or died), expand (caught up).',
      labelNames: ['change'],
      registers: [registry],
    });
  }

  // ---- follower side --------------------------------------------------------------------------------

  /** Runs a fetcher for the partition when this broker is a replica of it and another broker leads it, in the leader's current epoch. */
  follow(handle: PartitionHandle): void {
    const s = this.#s;
    const key = handle.key;
    const state = s.states.get(key);
    const existing = this.#fetchers.get(key);
    const topicId = s.topicIdOf(handle.topic);
    const leader = state?.leader ?? null;
    const leaderBroker = leader === null ? undefined : s.brokers.get(leader);
    const follow =
      state !== undefined &&
      state !== null &&
      !s.stopped &&
      !s.reigns.has(key) &&
      !s.busy.has(key) &&
      state.topicId === topicId &&
      leader !== null &&
      leader !== s.me &&
      state.replicas.includes(s.me) &&
      leaderBroker !== undefined &&
      leaderBroker.internalUrl !== '';
    if (existing !== undefined) {
      if (follow && existing.handle === handle && existing.leaderId === leader && existing.epoch === state.leaderEpoch && existing.leaderUrl === leaderBroker.internalUrl) return;
      void this.stopFollowing(key);
    }
    if (!follow) return;
    const { config, logger } = s.opts;
    this.#fetchers.set(
      key,
      new ReplicaFetcher({
        handle,
        me: s.me,
        leaderId: leader,
        leaderUrl: leaderBroker.internalUrl,
        epoch: state.leaderEpoch,
        client: this.#client,
        logger,
        maxBytes: config.replicaFetchMaxBytes,
        maxWaitMs: config.replicaFetchWaitMaxMs,
      }),
    );
  }

  stopFollowing(key: string): Promise<void> {
    const fetcher = this.#fetchers.get(key);
    if (fetcher === undefined) return Promise.resolve();
    this.#fetchers.delete(key);
    const stopping = fetcher.stop();
    this.#s.track(stopping);
    return stopping;
  }

  /** Stops the fetchers of partitions the registry no longer has (their topic was deleted or recreated). */
  stopStale(): void {
    for (const [key, fetcher] of this.#fetchers) {
      if (!this.#s.opts.registry.isCurrent(fetcher.handle)) void this.stopFollowing(key);
    }
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#fetchers.values()].map((f) => f.stop()));
    this.#fetchers.clear();
    await this.#client.close();
  }

  // ---- leader side ----------------------------------------------------------------------------------

  /** A follower's long-poll: its offset is its log end; answers batches from there, waiting up to maxWaitMs for some. */
  async replicaFetch(
    handle: PartitionHandle,
    request: { replica: string; epoch: number; offset: number; maxBytes: number; maxWaitMs: number },
    signal: AbortSignal,
  ): Promise<ReplicaFetchAnswer> {
    const s = this.#s;
    const reign = s.reigns.get(handle.key);
    // Followers fetch while a hand-over drains too: the successor catches up before it takes over.
    const leading = reign !== undefined && reign.leader.handle === handle && reign.leader.leaseLive;
    if (!leading || reign.leader.epoch !== request.epoch) return { kind: 'fenced', leaderEpoch: reign?.leader.epoch ?? null };
    const state = s.states.get(handle.key);
    if (state && !state.replicas.includes(request.replica)) return { kind: 'fenced', leaderEpoch: reign.leader.epoch };
    const log = handle.log;
    // Only the unuploaded tail is replicated: below the bucket's end a follower starts over at it.
    const uploadedEnd = handle.tier.remoteEndOffset;
    if (request.offset < Math.max(log.logStartOffset, uploadedEnd)) return { kind: 'reset', to: Math.max(log.logStartOffset, uploadedEnd) };
    if (request.offset > log.logEndOffset) return { kind: 'truncate', to: log.logEndOffset };
    reign.replicas.onFetch(request.replica, request.offset);
    if (request.offset === log.logEndOffset && request.maxWaitMs > 0) {
      await s.opts.waiters.wait(replicaWaitKey(handle), request.offset, () => handle.log.logEndOffset, request.maxWaitMs, signal);
      if (s.reigns.get(handle.key) !== reign) return { kind: 'fenced', leaderEpoch: null };
    }
    const result = await log.read(request.offset, { maxBytes: request.maxBytes });
    return {
      kind: 'data',
      data: result.data,
      release: result.release ?? (() => undefined),
      highWatermark: reign.replicas.highWatermark,
      leaderEpoch: reign.leader.epoch,
      uploadedEnd: handle.tier.deletableBelow(),
    };
  }

  /** OffsetForLeaderEpoch: where `epoch` (or the largest before it) ends in this leader's log. */
  epochEnd(handle: PartitionHandle, epoch: number, leaderEpoch: number): EpochEndReply | null {
    const reign = this.#s.reigns.get(handle.key);
    if (reign === undefined || reign.leader.handle !== handle || reign.leader.epoch !== leaderEpoch) return null;
    const end = handle.log.endOffsetForEpoch(epoch);
    return { epoch: end.epoch, endOffset: end.endOffset, logStartOffset: handle.log.logStartOffset };
  }

  /** Shrinks and expands the ISR of each partition led here, written under the epoch before it counts. */
  maintainIsr(): void {
    const s = this.#s;
    const { config, logger } = s.opts;
    for (const [key, reign] of s.reigns) {
      const { leader, replicas } = reign;
      if (leader.status !== 'leading' || replicas.isrUpdating || reign.publishing) continue;
      const state = s.states.get(key);
      if (!state) continue;
      const plan = replicas.plan({ lagMs: config.replicaLagTimeMaxMs, live: (id) => s.brokers.has(id), replicas: state.replicas });
      if (plan === null) continue;
      replicas.isrUpdating = true;
      const { handle, epoch } = leader;
      s.track(
        s.coord
          .updatePartitionState(handle.topic, handle.partition, epoch, { isr: plan.isr, highWatermark: replicas.highWatermark }, { signal: AbortSignal.timeout(config.leaseTtlMs) })
          .then(
            (written) => {
              if (s.reigns.get(key) !== reign) return;
              replicas.setIsr(written.isr);
              reign.publishedHighWatermark = written.highWatermark;
              const at = { topic: handle.topic, partition: handle.partition };
              if (plan.shrunk.length > 0) {
                this.#isrChanges.inc({ change: 'shrink' });
                s.opts.events.log.record({ kind: 'isr-shrink', ...at, message: `${plan.shrunk.join(', ')} left the ISR, now ${written.isr.join(', ')}` });
              }
              if (plan.expanded.length > 0) {
                this.#isrChanges.inc({ change: 'expand' });
                s.opts.events.log.record({ kind: 'isr-expand', ...at, message: `${plan.expanded.join(', ')} joined the ISR, now ${written.isr.join(', ')}` });
              }
              logger.info('ISR changed', { topic: handle.topic, partition: handle.partition, epoch, isr: written.isr, left: plan.shrunk, joined: plan.expanded, highWatermark: replicas.highWatermark });
            },
            (e: unknown) => {
              if (isStrataError(e) && e.code === 'FENCED_LEADER_EPOCH') this.#o.lose(key, reign, 'the ISR update was fenced');
              else logger.warn('ISR update failed; will retry', { topic: handle.topic, partition: handle.partition, err: e });
            },
          )
          .finally(() => {
            replicas.isrUpdating = false;
          }),
      );
    }
  }

  /** The high watermark in the coordinator, for brokers that serve this partition's metadata and lag. */
  publishHighWatermarks(): void {
    const s = this.#s;
    for (const reign of s.reigns.values()) {
      const { leader, replicas } = reign;
      const end = replicas.highWatermark;
      if (reign.publishing || replicas.isrUpdating || end === reign.publishedHighWatermark || leader.status !== 'leading') continue;
      reign.publishing = true;
      const { handle, epoch } = leader;
      s.track(
        s.coord
          .updatePartitionState(handle.topic, handle.partition, epoch, { highWatermark: Math.max(end, handle.tier.logStartOffset()) }, { signal: AbortSignal.timeout(s.opts.config.leaseTtlMs) })
          .then(
            () => void (reign.publishedHighWatermark = end),
            (e: unknown) => {
              if (isStrataError(e) && e.code === 'FENCED_LEADER_EPOCH') this.#o.lose(handle.key, reign, 'the high watermark update was fenced');
            },
          )
          .finally(() => {
            reign.publishing = false;
          }),
      );
    }
  }
}

// One broker's part in a cluster (DESIGN.md §5, §6): it registers and
// heartbeats; it may hold the controller lease and then assigns every
// partition's replicas to live brokers by rendezvous hashing; it acquires the
// lease of each partition assigned to it, renews it, and stops writing before
// the lease can have expired; it hands a partition over (uploads the tail,
// then releases the lease) when the assignment moves or the broker leaves.
//
// Everything runs from one loop of `tickMs`; renewals never wait on reads.
// Time for leases is this process's monotonic clock (performance.now), which
// keeps running while the process is paused: a leader woken from SIGSTOP finds
// its deadline passed before it can write.

import { setMaxListeners } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isStrataError } from '@strata/protocol';
import { manifestEndOffset, type Coordinator, type LeadershipTransferResult, type LiveBroker, type PartitionState } from '@strata/coord';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterConfig } from '../config.js';
import { writeFileAtomic } from '../fs-util.js';
import type { FetchResult } from '../fetch.js';
import type { Logger } from '../logger.js';
import type { TieredPartition } from '../tiering/tiered-partition.js';
import type { TopicMetadata } from '../topics/metadata-store.js';
import type { PartitionWaiters } from '../partition-waiters.js';
import type { PartitionHandle, Topic, TopicRegistry } from '../topics/topic-registry.js';
import { LeaderReplicas } from './leader-replicas.js';
import { rendezvousReplicas } from './rendezvous.js';
import { ReplicaClient, type EpochEndReply } from './replica-client.js';
import { ReplicaFetcher } from './replica-fetcher.js';
import { notLeader, type PartitionRoute, type PartitionRouter } from './routing.js';

/** Follower fetches wait on these keys (the log end), consumers on the partition key (the HW). */
export function replicaWaitKey(handle: PartitionHandle): string {
  return `replica:${handle.key}`;
}

/** What the leader answers a follower's fetch (the internal server writes it). */
export type ReplicaFetchAnswer =
  | { kind: 'data'; data: Buffer; release: () => void; highWatermark: number; leaderEpoch: number; uploadedEnd: number }
  | { kind: 'fenced'; leaderEpoch: number | null }
  | { kind: 'reset'; to: number }
  | { kind: 'truncate'; to: number };

/** Names the leader epoch this broker last took the partition in; its local tail is trusted only under it. */
const REIGN_FILE = 'leader-epoch';

export interface ClusterNodeOptions {
  brokerId: string;
  config: ClusterConfig;
  coordinator: Coordinator;
  registry: TopicRegistry;
  logger: Logger;
  metrics: Registry;
  /** This broker's client-facing URL (known once it listens). */
  url: () => string;
  /** This broker's internal (replication) URL (known once it listens). */
  internalUrl: () => string;
  /** Long-polls: consumers are woken when the HW moves, followers when the log end does. */
  waiters: PartitionWaiters;
  startedAtMs: number;
}

interface Reign {
  readonly handle: PartitionHandle;
  readonly epoch: number;
  /** performance.now() after which this broker must not write: lease send time + TTL - margin. */
  deadline: number;
  renewSentAt: number;
  renewing: boolean;
  status: 'leading' | 'draining';
  publishedHighWatermark: number;
  publishing: boolean;
  /** After a hand-over that could not upload the tail (the bucket down): when to try again. */
  handOverNotBefore: number;
  /** Followers, ISR and high watermark of this reign. */
  readonly replicas: LeaderReplicas;
}

interface ControllerReign {
  epoch: number;
  deadline: number;
  renewSentAt: number;
  renewing: boolean;
}

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

export class ClusterNode implements PartitionRouter {
  readonly clustered = true;
  readonly #opts: ClusterNodeOptions;
  readonly #coord: Coordinator;
  readonly #me: string;
  readonly #reigns = new Map<string, Reign>();
  /** The latest partition states read, by handle key. */
  readonly #states = new Map<string, PartitionState | null>();
  /** When a follower last loaded each partition's manifest (for reads from the bucket). */
  readonly #manifestReadAt = new Map<string, number>();
  readonly #refreshing = new Map<string, Promise<void>>();
  /** Topics the coordinator no longer lists, since when (see #withoutHastyDrops). */
  readonly #absentSince = new Map<string, number>();
  #brokers = new Map<string, LiveBroker>();
  readonly #busy = new Set<string>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #abort = new AbortController();
  #controller: ControllerReign | null = null;
  #controllerHolder: string | null = null;
  #controllerEpochSeen = 0;
  #heartbeatAt = 0;
  #ticks = 0;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #syncing: Promise<void> | null = null;
  #lastSyncAt = 0;
  #leaving = false;
  #leaveDeadline = Infinity;
  #stopped = false;
  #lastTickError = 0;
  readonly #marginMs: number;
  readonly #leadershipEvents: Counter<'event'>;
  readonly #unacknowledged: Counter;
  readonly #isrChanges: Counter<'change'>;
  /** Follower fetchers, by handle key: one per partition this broker follows. */
  readonly #fetchers = new Map<string, ReplicaFetcher>();
  readonly #replicaClient: ReplicaClient;
  /** Controller: since when each leaderless partition has waited for its named leader. */
  /** When a refused (not electable) acquisition was last logged, per partition. */
  readonly #refusedWarnedAt = new Map<string, number>();
  readonly #leaderless = new Map<string, { id: string; since: number; skipped: Set<string> }>();

  constructor(options: ClusterNodeOptions) {
    this.#opts = options;
    this.#coord = options.coordinator;
    this.#me = options.brokerId;
    // The lease in Redis runs from when Redis handled the call, which is after we sent it: counting
    // from the send time, minus a fifth for clock-rate drift and the time between check and write.
    this.#marginMs = Math.max(options.config.tickMs, Math.floor(options.config.leaseTtlMs / 5));
    const registers = [options.metrics];
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('strata_cluster_partitions_led', 'Partitions this broker leads now.', () => this.#reigns.size);
    gauge('strata_cluster_controller', '1 while this broker holds the controller lease.', () => (this.#controller !== null ? 1 : 0));
    gauge('strata_cluster_live_brokers', 'Live brokers as this broker last saw them.', () => this.#brokers.size);
    this.#leadershipEvents = new Counter({
      name: 'strata_cluster_leadership_events_total',
      help: 'Partition leadership changes on this broker: acquired, handed_over, lost (expired or fenced).',
      labelNames: ['event'],
      registers,
    });
    this.#replicaClient = new ReplicaClient(options.config.clusterSecret);
    gauge('strata_replication_under_replicated_partitions', "Partitions led here whose ISR is smaller than their topic's replication factor.", () => {
      let n = 0;
      for (const r of this.#reigns.values()) {
        const rf = options.registry.has(r.handle.topic) ? options.registry.get(r.handle.topic).meta.replicationFactor : 1;
        if (r.replicas.isr.length < rf) n++;
      }
      return n;
    });
    gauge('strata_replication_followed_partitions', 'Partitions this broker follows (fetches from their leader).', () => this.#fetchers.size);
    const reigns = this.#reigns;
    const fetchers = this.#fetchers;
    new Gauge({
      name: 'strata_replication_isr_size',
      help: 'In-sync replicas of each partition led here.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const r of reigns.values()) this.set({ topic: r.handle.topic, partition: String(r.handle.partition) }, r.replicas.isr.length);
      },
    });
    new Gauge({
      name: 'strata_replication_lag_offsets',
      help: 'Per partition: on its leader, the furthest follower behind the leader log end; on a follower, how far behind the leader HW it last heard it is.',
      labelNames: ['topic', 'partition', 'role'],
      registers,
      collect() {
        this.reset();
        for (const r of reigns.values()) {
          let lag = 0;
          for (const f of r.replicas.followers.values()) lag = Math.max(lag, r.handle.log.logEndOffset - Math.max(f.logEndOffset, 0));
          this.set({ topic: r.handle.topic, partition: String(r.handle.partition), role: 'leader' }, lag);
        }
        for (const f of fetchers.values()) this.set({ topic: f.handle.topic, partition: String(f.handle.partition), role: 'follower' }, f.lag);
      },
    });
    this.#isrChanges = new Counter({
      name: 'strata_replication_isr_changes_total',
      help: 'ISR changes written by this broker as leader: shrink (a follower fell behind or died), expand (caught up).',
      labelNames: ['change'],
      registers,
    });
    this.#unacknowledged = new Counter({
      name: 'strata_cluster_unacknowledged_appends_total',
      help: 'Appends that finished after the lease deadline or under a newer epoch, answered with NOT_LEADER instead of an ack.',
      registers,
    });
  }

  /** Registers this broker and starts the loop. */
  async start(): Promise<void> {
    await this.#register();
    this.#schedule(0);
  }

  // ---- routing (PartitionRouter) ------------------------------------------------------------------

  route(handle: PartitionHandle): PartitionRoute {
    const reign = this.#reigns.get(handle.key);
    if (reign !== undefined && reign.handle === handle) {
      if (reign.status === 'leading' && performance.now() < reign.deadline) return { kind: 'local', epoch: reign.epoch };
      return { kind: 'unavailable', reason: reign.status === 'draining' ? 'its leader is handing it over' : 'its leader could not renew the lease in time' };
    }
    const state = this.#states.get(handle.key);
    if (!state || state.leader === null) return { kind: 'unavailable', reason: 'no leader is elected yet' };
    if (state.leader === this.#me) return { kind: 'unavailable', reason: 'this broker is taking over its leadership' };
    const broker = this.#brokers.get(state.leader);
    if (broker === undefined) return { kind: 'unavailable', reason: `its leader ${state.leader} is not live` };
    return { kind: 'remote', leaderId: state.leader, url: broker.url };
  }

  confirm(handle: PartitionHandle, epoch: number): boolean {
    const reign = this.#reigns.get(handle.key);
    // Not while handing over: an append that lands after the drain's last upload would be acknowledged
    // and then dropped by the successor, which continues from the bucket's end.
    const ok = reign !== undefined && reign.handle === handle && reign.epoch === epoch && reign.status === 'leading' && performance.now() < reign.deadline;
    if (!ok) this.#unacknowledged.inc();
    return ok;
  }

  leaderUnreachable(handle: PartitionHandle, leaderId: string): void {
    if (this.#states.get(handle.key)?.leader === leaderId) this.#states.delete(handle.key);
  }

  highWatermark(handle: PartitionHandle): number {
    const reign = this.#reigns.get(handle.key);
    if (reign !== undefined && reign.handle === handle) return reign.replicas.highWatermark;
    // Not led here: reads go to the leader or the bucket; what this broker's own log holds is not committed as far as it knows.
    return Math.min(handle.log.logEndOffset, Math.max(this.#states.get(handle.key)?.highWatermark ?? 0, handle.tier.remoteEndOffset));
  }

  checkInSync(handle: PartitionHandle, epoch: number, minInsync: number): void {
    const reign = this.#reigns.get(handle.key);
    if (reign === undefined || reign.epoch !== epoch) throw notLeader(handle, this.route(handle), 'leadership changed');
    reign.replicas.checkInSync(minInsync, `${handle.topic}/${handle.partition}`);
  }

  appended(handle: PartitionHandle, epoch: number): void {
    const reign = this.#reigns.get(handle.key);
    this.#opts.waiters.notify(replicaWaitKey(handle), handle.log.logEndOffset);
    if (reign !== undefined && reign.epoch === epoch) reign.replicas.recompute();
  }

  async awaitReplicated(handle: PartitionHandle, epoch: number, endOffset: number, minInsync: number, signal: AbortSignal): Promise<void> {
    const reign = this.#reigns.get(handle.key);
    if (reign === undefined || reign.epoch !== epoch) throw notLeader(handle, this.route(handle), 'leadership changed before the in-sync replicas confirmed the records');
    await reign.replicas.awaitHighWatermark(endOffset, this.#opts.config.replicaAckTimeoutMs, signal);
    // Kafka's NOT_ENOUGH_REPLICAS_AFTER_APPEND: committed, but by fewer replicas than asked.
    if (reign.replicas.isr.length < minInsync) reign.replicas.checkInSync(minInsync, `${handle.topic}/${handle.partition} (after the append: the records are committed, by fewer replicas)`);
  }

  // ---- replication, leader side (the internal server calls these) ----------------------------------

  /** A follower's long-poll: its offset is its log end; answers batches from there, waiting up to maxWaitMs for some. */
  async replicaFetch(
    handle: PartitionHandle,
    request: { replica: string; epoch: number; offset: number; maxBytes: number; maxWaitMs: number },
    signal: AbortSignal,
  ): Promise<ReplicaFetchAnswer> {
    const reign = this.#reigns.get(handle.key);
    // Followers fetch while a hand-over drains too: the successor catches up before it takes over.
    const leading = reign !== undefined && reign.handle === handle && performance.now() < reign.deadline;
    if (!leading || reign.epoch !== request.epoch) return { kind: 'fenced', leaderEpoch: reign?.epoch ?? null };
    const state = this.#states.get(handle.key);
    if (state && !state.replicas.includes(request.replica)) return { kind: 'fenced', leaderEpoch: reign.epoch };
    const log = handle.log;
    // Only the unuploaded tail is replicated: below the bucket's end a follower starts over at it.
    const uploadedEnd = handle.tier.remoteEndOffset;
    if (request.offset < Math.max(log.logStartOffset, uploadedEnd)) return { kind: 'reset', to: Math.max(log.logStartOffset, uploadedEnd) };
    if (request.offset > log.logEndOffset) return { kind: 'truncate', to: log.logEndOffset };
    reign.replicas.onFetch(request.replica, request.offset);
    if (request.offset === log.logEndOffset && request.maxWaitMs > 0) {
      await this.#opts.waiters.wait(replicaWaitKey(handle), request.offset, () => handle.log.logEndOffset, request.maxWaitMs, signal);
      if (this.#reigns.get(handle.key) !== reign) return { kind: 'fenced', leaderEpoch: null };
    }
    const result = await log.read(request.offset, { maxBytes: request.maxBytes });
    return {
      kind: 'data',
      data: result.data,
      release: result.release ?? (() => undefined),
      highWatermark: reign.replicas.highWatermark,
      leaderEpoch: reign.epoch,
      uploadedEnd: handle.tier.deletableBelow(),
    };
  }

  /** OffsetForLeaderEpoch: where `epoch` (or the largest before it) ends in this leader's log. */
  epochEnd(handle: PartitionHandle, epoch: number, leaderEpoch: number): EpochEndReply | null {
    const reign = this.#reigns.get(handle.key);
    if (reign === undefined || reign.handle !== handle || reign.epoch !== leaderEpoch) return null;
    const end = handle.log.endOffsetForEpoch(epoch);
    return { epoch: end.epoch, endOffset: end.endOffset, logStartOffset: handle.log.logStartOffset };
  }

  /**
   * A read of a partition led elsewhere, served from the bucket when it holds the offset: any broker
   * serves history, so replays spread over the cluster. null: not in the bucket (ask the leader).
   */
  async readFromBucket(handle: PartitionHandle, offset: number, maxBytes: number, signal: AbortSignal): Promise<FetchResult | null> {
    const tier = handle.tier;
    if (tier.leading) return null;
    const fresh = this.#manifestReadAt.get(handle.key) ?? -Infinity;
    if (offset >= tier.remoteEndOffset ? performance.now() - fresh > 100 : performance.now() - fresh > 1_000) {
      tier.refresh(await this.#coord.loadManifest(handle.topic, handle.partition, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.#opts.config.leaseTtlMs)]) }));
      this.#manifestReadAt.set(handle.key, performance.now());
    }
    const manifest = tier.manifest;
    const first = manifest.segments[0];
    if (first === undefined) return null;
    const logStartOffset = Math.max(manifest.logStartOffset, first.baseOffset);
    const end = tier.remoteEndOffset;
    if (offset < logStartOffset || offset >= end) return null;
    const result = await tier.read(offset, maxBytes, signal);
    return {
      data: result.data,
      release: () => undefined,
      batchCount: result.batchCount,
      nextOffset: result.nextOffset,
      highWatermark: Math.max(end, this.#states.get(handle.key)?.highWatermark ?? 0),
      logStartOffset,
    };
  }

  // ---- views ----------------------------------------------------------------------------------------

  get controller(): string | null {
    return this.#controller !== null ? this.#me : this.#controllerHolder;
  }

  partitionView(handle: PartitionHandle): PartitionView {
    const state = this.#states.get(handle.key);
    // Only a live lease makes this broker the leader: one past its deadline writes nothing.
    const reign = this.#reigns.get(handle.key);
    const leading = reign !== undefined && performance.now() < reign.deadline;
    const other = state?.leader === this.#me ? null : (state?.leader ?? null);
    const leader = leading ? this.#me : other;
    return {
      leader,
      leaderEpoch: leading ? reign.epoch : (state?.leaderEpoch ?? 0),
      replicas: state?.replicas ?? [],
      isr: leading ? [...reign.replicas.isr] : leader === null ? [] : (state?.isr ?? []),
      highWatermark: leading ? reign.replicas.highWatermark : (state?.highWatermark ?? 0),
    };
  }

  brokers(): BrokerView[] {
    const leaderOf = new Map<string, Map<string, number[]>>();
    for (const topic of this.#opts.registry.list()) {
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
    const ids = new Set([...this.#brokers.keys(), ...leaderOf.keys()]);
    if (!this.#leaving) ids.add(this.#me);
    return [...ids].sort().map((id) => ({
      id,
      url: id === this.#me ? this.#opts.url() : (this.#brokers.get(id)?.url ?? ''),
      live: this.#brokers.has(id) || (id === this.#me && !this.#leaving),
      self: id === this.#me,
      leaderOf: [...(leaderOf.get(id) ?? new Map<string, number[]>()).entries()].map(([topic, partitions]) => ({ topic, partitions })),
    }));
  }

  liveBrokerCount(): number {
    return Math.max(1, this.#brokers.size);
  }

  /** Waits until every partition of `topic` has a leader, or `timeoutMs` passed. */
  async awaitLeaders(topic: Topic, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (topic.partitions.every((h) => this.partitionView(h).leader !== null)) return true;
      if (performance.now() >= deadline || this.#stopped) return false;
      await sleep(this.#opts.config.tickMs, undefined, { ref: false });
    }
  }

  /** Picks up topics created, changed or deleted through other brokers; coalesced, at most every 100 ms. */
  syncTopics(): Promise<void> {
    if (this.#syncing !== null) return this.#syncing;
    if (performance.now() - this.#lastSyncAt < 100) return Promise.resolve();
    this.#syncing = (async () => {
      try {
        const listed = await this.#coord.listTopics({ signal: AbortSignal.timeout(this.#opts.config.leaseTtlMs) });
        await this.#opts.registry.sync(this.#withoutHastyDrops(listed));
      } finally {
        this.#lastSyncAt = performance.now();
        this.#syncing = null;
      }
    })();
    return this.#syncing;
  }

  /**
   * Dropping a topic destroys its local logs, so absence must be real: a topic missing from the
   * coordinator is kept until it has been missing for two seconds, and nothing is dropped when
   * every topic vanished at once (a Redis that lost its data, or a wrong key prefix).
   */
  #withoutHastyDrops(listed: TopicMetadata[]): TopicMetadata[] {
    const now = performance.now();
    const names = new Set(listed.map((t) => t.name));
    const known = this.#opts.registry.list();
    const missing = known.filter((t) => !names.has(t.name));
    for (const name of [...this.#absentSince.keys()]) if (names.has(name)) this.#absentSince.delete(name);
    if (missing.length === 0) return listed;
    if (listed.length === 0) {
      this.#opts.logger.error('the coordinator lists no topics at all while this broker serves some; keeping them (did Redis lose its data?)', {
        topics: missing.map((t) => t.name),
      });
      return known.map((t) => t.meta);
    }
    const kept = missing.filter((t) => {
      const since = this.#absentSince.get(t.name) ?? now;
      this.#absentSince.set(t.name, since);
      return now - since < 2_000;
    });
    return [...listed, ...kept.map((t) => t.meta)];
  }

  /** Reads one partition's state now (a request for a partition this broker has not looked at yet). */
  refresh(handle: PartitionHandle): Promise<void> {
    let pending = this.#refreshing.get(handle.key);
    if (pending === undefined) {
      pending = this.#coord
        .getPartitionState(handle.topic, handle.partition, { signal: AbortSignal.timeout(this.#opts.config.leaseTtlMs) })
        .then(
          (state) => void this.#states.set(handle.key, state),
          () => undefined,
        )
        .finally(() => this.#refreshing.delete(handle.key));
      this.#refreshing.set(handle.key, pending);
    }
    return pending;
  }

  /** The registry dropped a partition (its topic was deleted): forget its leadership. */
  forget(handle: PartitionHandle): void {
    const reign = this.#reigns.get(handle.key);
    if (reign?.handle === handle) {
      this.#reigns.delete(handle.key);
      void this.#coord.releaseLeadership(handle.topic, handle.partition, this.#me, reign.epoch).catch(() => undefined);
    }
    this.#states.delete(handle.key);
    this.#manifestReadAt.delete(handle.key);
  }

  /** The tier's manifest write was fenced: a newer leader exists (this incarnation's tier only). */
  fenced(tier: TieredPartition): void {
    for (const [key, reign] of this.#reigns) {
      if (reign.handle.tier === tier) this.#lose(key, reign, 'a manifest write was fenced');
    }
  }

  // ---- leaving --------------------------------------------------------------------------------------

  /**
   * Graceful exit (SIGTERM): leave the live set so the controller reassigns this broker's
   * partitions, hand each over (upload its tail, release its lease), then give up the controller.
   */
  async leave(timeoutMs: number): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    const started = performance.now();
    this.#leaveDeadline = started + timeoutMs;
    await this.#coord.deregisterBroker(this.#me, { signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => {
      this.#opts.logger.warn('could not deregister; the registration will expire by itself', { err: e });
    });
    // The controller (this broker, perhaps) now reassigns every partition led here; the loop hands
    // each over as its assignment moves, straight to its new leader.
    while (this.#reigns.size > 0 && performance.now() < this.#leaveDeadline) await sleep(20, undefined, { ref: false });
    await Promise.allSettled([...this.#background]);
    if (this.#reigns.size > 0) this.#opts.logger.error('leaving with partitions not handed over', { partitions: [...this.#reigns.keys()] });
    if (this.#controller !== null) {
      const epoch = this.#controller.epoch;
      this.#controller = null;
      await this.#coord.releaseController(this.#me, epoch).catch(() => undefined);
    }
    this.#opts.logger.info('left the cluster', { ms: Math.round(performance.now() - started) });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking?.catch(() => undefined);
    this.#abort.abort(new Error('broker stopping'));
    await Promise.allSettled([...this.#background]);
    await Promise.allSettled([...this.#fetchers.values()].map((f) => f.stop()));
    this.#fetchers.clear();
    for (const [key, reign] of this.#reigns) {
      this.#reigns.delete(key);
      reign.replicas.failAll(notLeader(reign.handle, { kind: 'unavailable', reason: 'the broker is stopping' }));
      reign.handle.tier.follow();
    }
    await this.#replicaClient.close();
  }

  // ---- the loop -------------------------------------------------------------------------------------

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#tickNow().finally(() => this.#schedule(this.#opts.config.tickMs));
    }, delayMs);
  }

  #tickNow(): Promise<void> {
    this.#ticking ??= this.#tick()
      .catch((e: unknown) => {
        // Redis down: logged at most every 5 s; leases lapse by their deadlines meanwhile.
        if (performance.now() - this.#lastTickError > 5_000) {
          this.#lastTickError = performance.now();
          this.#opts.logger.warn('cluster loop failed; retrying', { err: e });
        }
      })
      .finally(() => {
        this.#ticking = null;
      });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    this.#ticks++;
    const { config } = this.#opts;
    this.#renewDue();
    if (!this.#leaving && performance.now() - this.#heartbeatAt >= config.sessionTtlMs / 3) await this.#heartbeat();
    if (this.#ticks % 4 === 1) await this.syncTopics();

    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(config.leaseTtlMs)]);
    // One signal for every partition's read of this tick: many listeners on it are expected.
    setMaxListeners(0, signal);
    const handles = [...this.#opts.registry.allPartitions()];
    const [brokers, states] = await Promise.all([
      this.#coord.listBrokers({ signal }),
      Promise.all(handles.map((h) => this.#coord.getPartitionState(h.topic, h.partition, { signal }).catch(() => undefined))),
    ]);
    this.#brokers = new Map(brokers.map((b) => [b.id, b]));
    handles.forEach((h, i) => {
      const state = states[i];
      if (state !== undefined) this.#states.set(h.key, state);
    });

    await this.#actAsController(signal);
    for (const handle of handles) this.#lead(handle);
    for (const handle of handles) this.#follow(handle);
    for (const [key, fetcher] of this.#fetchers) {
      if (!this.#opts.registry.isCurrent(fetcher.handle)) this.#stopFollowing(key);
    }
    this.#maintainIsr();
    this.#publishHighWatermarks();
  }

  // ---- membership -------------------------------------------------------------------------------------

  async #register(): Promise<void> {
    const registration = {
      id: this.#me,
      url: this.#opts.url(),
      internalUrl: this.#opts.internalUrl(),
      rack: null,
      startedAtMs: this.#opts.startedAtMs,
    };
    await this.#coord.registerBroker(registration, this.#opts.config.sessionTtlMs, { signal: AbortSignal.timeout(this.#opts.config.leaseTtlMs) });
    this.#heartbeatAt = performance.now();
  }

  async #heartbeat(): Promise<void> {
    const sentAt = performance.now();
    const alive = await this.#coord.heartbeatBroker(this.#me, this.#opts.config.sessionTtlMs, { signal: AbortSignal.timeout(this.#opts.config.leaseTtlMs) });
    if (!alive) {
      this.#opts.logger.warn('the broker registration had expired; registering again');
      await this.#register();
    }
    this.#heartbeatAt = sentAt;
  }

  // ---- controller -------------------------------------------------------------------------------------

  async #actAsController(signal: AbortSignal): Promise<void> {
    const { config } = this.#opts;
    if (this.#controller !== null && performance.now() >= this.#controller.deadline) {
      this.#opts.logger.warn('controller lease lapsed', { epoch: this.#controller.epoch });
      this.#controller = null;
    }
    if (this.#controller === null) {
      if (this.#leaving || this.#ticks % 2 !== 0) {
        const lease = await this.#coord.getController({ signal });
        this.#controllerHolder = lease.holder;
        this.#controllerEpochSeen = Math.max(this.#controllerEpochSeen, lease.epoch);
        return;
      }
      const sentAt = performance.now();
      const result = await this.#coord.acquireController({ brokerId: this.#me, ttlMs: config.leaseTtlMs, knownEpoch: this.#controllerEpochSeen }, { signal });
      this.#controllerEpochSeen = Math.max(this.#controllerEpochSeen, result.epoch);
      if (!result.acquired) {
        this.#controllerHolder = result.holder;
        return;
      }
      this.#controller = { epoch: result.epoch, deadline: sentAt + config.leaseTtlMs - this.#marginMs, renewSentAt: sentAt, renewing: false };
      this.#controllerHolder = this.#me;
      this.#opts.logger.info('became the controller', { epoch: result.epoch });
    }
    await this.#assign(this.#controller.epoch, signal);
  }

  /**
   * Every partition's replicas: the live brokers ranked by rendezvous hashing; replicas[0] leads,
   * and is the best-ranked live member of the ISR (only the ISR can lead without losing
   * acknowledged records), unless the topic allows unclean election or the ISR is empty (new).
   */
  async #assign(controllerEpoch: number, signal: AbortSignal): Promise<void> {
    const live = [...this.#brokers.keys()].sort();
    if (live.length === 0) return;
    const writes: Promise<void>[] = [];
    for (const topic of this.#opts.registry.list()) {
      const count = Math.min(topic.meta.replicationFactor, live.length);
      for (const handle of topic.partitions) {
        const state = this.#states.get(handle.key);
        if (state === undefined) continue; // not read yet
        const ranked = rendezvousReplicas(topic.meta.topicId, handle.partition, live, live.length);
        const isr = state !== null && state.topicId === topic.meta.topicId ? state.isr : [];
        const unclean = topic.configs['unclean.leader.election.enable'] === 'true';
        const eligible = unclean || isr.length === 0 ? ranked : ranked.filter((id) => isr.includes(id));
        // A named leader that has not taken the lease for two lease periods (a restarted member of the ISR
        // whose disk was wiped is refused: its log ends below the HW) makes way for the next member.
        const skipped = this.#passedOver(handle.key, state, eligible);
        // No live ISR member: the best-ranked broker is named, and the lease stays refused until an ISR member returns.
        const leader = eligible.find((id) => !skipped.has(id)) ?? eligible[0] ?? ranked[0]!;
        const replicas = [leader, ...ranked.filter((id) => id !== leader)].slice(0, count);
        if (state !== null && state.topicId === topic.meta.topicId && sameList(state.replicas, replicas)) continue;
        writes.push(
          this.#coord.setReplicas(handle.topic, handle.partition, { topicId: topic.meta.topicId, replicas, controllerEpoch }, { signal }).then(() => {
            this.#opts.logger.info('partition assigned', { topic: handle.topic, partition: handle.partition, replicas, from: state?.replicas ?? [] });
          }),
        );
      }
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (isStrataError(r.reason) && r.reason.code === 'FENCED_LEADER_EPOCH') {
        this.#opts.logger.warn('a newer controller exists; stepping down', { epoch: controllerEpoch });
        this.#controller = null;
        return;
      }
      throw r.reason;
    }
  }

  /**
   * Named leaders passed over for a leaderless partition: one that has not taken the lease for two
   * lease periods joins the set, until the partition has a leader again.
   */
  #passedOver(key: string, state: PartitionState | null, eligible: readonly string[]): ReadonlySet<string> {
    const named = state?.replicas[0];
    if (state === null || state.leader !== null || named === undefined) {
      this.#leaderless.delete(key);
      return new Set();
    }
    let entry = this.#leaderless.get(key);
    if (entry === undefined) this.#leaderless.set(key, (entry = { id: named, since: performance.now(), skipped: new Set() }));
    if (entry.id !== named) {
      entry.id = named;
      entry.since = performance.now();
    } else if (performance.now() - entry.since > 2 * this.#opts.config.leaseTtlMs) {
      entry.skipped.add(named);
      entry.since = performance.now();
      // Everyone had a turn: start over.
      if (eligible.every((id) => entry.skipped.has(id))) entry.skipped.clear();
    }
    return entry.skipped;
  }

  // ---- partition leadership ---------------------------------------------------------------------------

  #lead(handle: PartitionHandle): void {
    const key = handle.key;
    const state = this.#states.get(key);
    const reign = this.#reigns.get(key);
    const topicId = this.#opts.registry.has(handle.topic) ? this.#opts.registry.get(handle.topic).meta.topicId : null;
    if (reign !== undefined) {
      if (state && (state.leaderEpoch !== reign.epoch || (state.leader !== null && state.leader !== this.#me))) {
        this.#lose(key, reign, `epoch ${state.leaderEpoch} of ${state.leader ?? 'nobody'} replaced it`);
      } else if (performance.now() >= reign.deadline && reign.status === 'leading' && state?.leader !== this.#me) {
        this.#lose(key, reign, 'the lease expired');
      } else if (reign.status === 'leading' && !this.#busy.has(key)) {
        const moved = !state || state.replicas[0] !== this.#me || state.topicId !== topicId;
        // Leaving: wait for the controller to name a successor, unless nobody else is live or time runs short.
        const leaveNow = this.#leaving && (this.#brokers.size === 0 || performance.now() > this.#leaveDeadline - this.#opts.config.handoverTimeoutMs / 2);
        if ((moved && performance.now() >= reign.handOverNotBefore) || leaveNow) {
          this.#track(this.#handOver(reign, moved ? `reassigned to ${state?.replicas[0] ?? 'nobody'}` : 'broker leaving'));
        }
      }
      return;
    }
    if (this.#leaving && state?.leader === this.#me && !this.#busy.has(key)) {
      // A lease handed to this broker as it leaves: give it back at once rather than let it lapse.
      this.#track(this.#coord.releaseLeadership(handle.topic, handle.partition, this.#me, state.leaderEpoch).catch(() => undefined));
      return;
    }
    if (this.#leaving || this.#busy.has(key) || !state || state.replicas[0] !== this.#me || state.topicId !== topicId) return;
    if (state.leader === null || state.leader === this.#me) this.#track(this.#acquire(handle, state));
  }

  async #acquire(handle: PartitionHandle, seen: PartitionState): Promise<void> {
    const key = handle.key;
    const { config, logger } = this.#opts;
    this.#busy.add(key);
    try {
      const log = handle.log;
      // No replica append may land while this broker takes over: stop following first.
      await this.#stopFollowing(key);
      // An upload of an earlier reign may still be in flight: let it finish (or be fenced) first.
      await handle.tier.idle();
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(config.leaseTtlMs)]);
      const manifest = await this.#coord.loadManifest(handle.topic, handle.partition, { signal });
      const remoteEnd = manifestEndOffset(manifest);
      const reignEpoch = await readReign(log.dir);
      const history = seen.epochHistory;
      const unclean = this.#opts.registry.has(handle.topic) && this.#opts.registry.get(handle.topic).configs['unclean.leader.election.enable'] === 'true';
      const covers = log.logStartOffset <= remoteEnd && remoteEnd <= log.logEndOffset;
      // The local tail was written in reignEpoch. It is ours to keep if every reign since was this
      // broker's own (an epoch granted to us and never used cannot conflict with our records) and the
      // log still joins the bucket, or if we are in the ISR (a follower that has every acknowledged
      // record: that is what replication is for; the clean grant below checks it against the HW
      // atomically). Otherwise what is newer than the bucket may conflict with another leader's records.
      const ours = reignEpoch !== null && history.some((e) => e.epoch === reignEpoch && e.leader === this.#me);
      const onlyOursSince = history.every((e) => reignEpoch === null || e.epoch <= reignEpoch || e.leader === this.#me);
      const ownReign = ours && onlyOursSince && seen.leaderEpoch === history.at(-1)?.epoch && covers;
      const inSync = !unclean && seen.isr.includes(this.#me) && covers;
      const keep = ownReign || inSync;
      if (!keep) {
        await rm(join(log.dir, REIGN_FILE), { force: true });
        await log.resetTo(remoteEnd);
      }
      const knownEpoch = Math.max(seen.leaderEpoch, manifest.epoch, reignEpoch ?? 0, log.latestEpoch ?? 0);
      const sentAt = performance.now();
      const grant = await this.#coord.acquireLeadership(
        handle.topic,
        handle.partition,
        { topicId: seen.topicId, brokerId: this.#me, ttlMs: config.leaseTtlMs, startOffset: log.logEndOffset, knownEpoch, clean: !unclean },
        { signal },
      );
      if (!grant.acquired) {
        if (grant.reason === 'not-in-isr' && performance.now() - (this.#refusedWarnedAt.get(key) ?? -Infinity) > 5_000) {
          this.#refusedWarnedAt.set(key, performance.now());
          logger.warn('not electable: outside the ISR or behind the high watermark (unclean.leader.election.enable is false)', {
            topic: handle.topic,
            partition: handle.partition,
            isr: seen.isr,
            highWatermark: seen.highWatermark,
            logEnd: log.logEndOffset,
          });
        } else if (grant.reason !== 'held') logger.debug('partition lease not granted', { topic: handle.topic, partition: handle.partition, reason: grant.reason });
        return;
      }
      // Recorded before anything else can fail: a retry after a failure below must still know this
      // log is the one of our reigns, or it would throw away the acknowledged tail.
      await writeFileAtomic(join(log.dir, REIGN_FILE), `${grant.epoch}\n`);
      // The lease is ours now: nobody else can commit. If another reign came between our read and
      // the grant (its epoch would lie between), or the bucket moved meanwhile, a tail kept only
      // because we led last is not to be trusted: continue from the bucket's end instead. A tail
      // kept as an ISR member stays (the grant checked the ISR and HW), unless the bucket passed it.
      const after = await this.#coord.getPartitionState(handle.topic, handle.partition, { signal });
      const current = await this.#coord.loadManifest(handle.topic, handle.partition, { signal });
      const intervening =
        grant.epoch !== knownEpoch + 1 || (after?.epochHistory ?? []).some((e) => e.epoch > seen.leaderEpoch && e.epoch < grant.epoch && e.leader !== this.#me);
      const currentEnd = manifestEndOffset(current);
      const distrust = !inSync && ((keep && intervening) || currentEnd !== remoteEnd);
      if (distrust || log.logEndOffset < currentEnd || log.logStartOffset > currentEnd) {
        await rm(join(log.dir, REIGN_FILE), { force: true });
        await log.resetTo(currentEnd);
        logger.warn('leadership or the bucket moved while taking the partition; continuing from the bucket end', {
          topic: handle.topic,
          partition: handle.partition,
          remoteEnd: currentEnd,
        });
      }
      if (after === null || after.leaderEpoch !== grant.epoch) {
        // Granted and already superseded (expired while we worked): the next tick looks again.
        return;
      }
      await writeFileAtomic(join(log.dir, REIGN_FILE), `${grant.epoch}\n`);
      if (!this.#opts.registry.isCurrent(handle) || this.#stopped) {
        await this.#coord.releaseLeadership(handle.topic, handle.partition, this.#me, grant.epoch).catch(() => undefined);
        return;
      }
      handle.tier.lead(grant.epoch, current);
      const replicas = new LeaderReplicas({
        me: this.#me,
        log,
        isr: after.isr,
        highWatermark: after.highWatermark,
        onAdvance: (hw) => this.#opts.waiters.notify(key, hw),
      });
      this.#reigns.set(key, {
        handle,
        epoch: grant.epoch,
        deadline: sentAt + config.leaseTtlMs - this.#marginMs,
        renewSentAt: sentAt,
        renewing: false,
        status: 'leading',
        publishedHighWatermark: -1,
        publishing: false,
        handOverNotBefore: 0,
        replicas,
      });
      this.#states.set(key, after);
      this.#leadershipEvents.inc({ event: 'acquired' });
      logger.info('partition leadership acquired', {
        topic: handle.topic,
        partition: handle.partition,
        epoch: grant.epoch,
        startOffset: log.logEndOffset,
        remoteEnd,
        keptLocalTail: keep,
        isr: after.isr,
        highWatermark: replicas.highWatermark,
      });
    } catch (e) {
      logger.warn('taking partition leadership failed; will retry', { topic: handle.topic, partition: handle.partition, err: e });
    } finally {
      this.#busy.delete(key);
    }
  }

  /**
   * Stops writes and hands the lease to the assigned successor. When the successor is an in-sync
   * follower, it is given the time to fetch the last records and then the lease, with no upload
   * (it continues with the tail it has); otherwise the tail is uploaded first and the next leader
   * continues from the bucket.
   */
  async #handOver(reign: Reign, why: string): Promise<void> {
    const { handle } = reign;
    const key = handle.key;
    if (this.#busy.has(key) && reign.status === 'draining') return;
    this.#busy.add(key);
    reign.status = 'draining';
    const started = performance.now();
    const deadline = started + this.#opts.config.handoverTimeoutMs;
    const { logger } = this.#opts;
    let successor: string | null = null;
    let keepReign = false;
    const transferTo = (startOffset: number, expected?: string): Promise<LeadershipTransferResult | null> =>
      this.#coord
        .transferLeadership(
          handle.topic,
          handle.partition,
          { brokerId: this.#me, leaderEpoch: reign.epoch, ttlMs: this.#opts.config.leaseTtlMs, startOffset, ...(expected !== undefined ? { successor: expected } : {}) },
          { signal: AbortSignal.timeout(5_000) },
        )
        .catch((e: unknown) => {
          logger.warn('transferring the partition lease failed; releasing it', { topic: handle.topic, partition: handle.partition, err: e });
          return null;
        });
    try {
      // An in-sync successor with every record takes over without an upload.
      const caughtUp = await this.#successorCaughtUp(reign, Math.min(5_000, this.#opts.config.handoverTimeoutMs / 2));
      let transfer = caughtUp !== null ? await transferTo(handle.log.logEndOffset, caughtUp) : null;
      const uploaded = transfer?.transferred !== true && (caughtUp === null || (transfer !== null && transfer.reason === 'successor-moved'));
      if (transfer?.transferred === true) reign.replicas.resolveUpTo(handle.log.logEndOffset); // on the successor's disk and ours
      for (let attempt = 0; uploaded; attempt++) {
        if (this.#reigns.get(key) !== reign) return; // lost meanwhile
        try {
          await handle.tier.drain(this.#abort.signal);
          // Everything appended is in the bucket now: acks=all produces still waiting are safe.
          reign.replicas.resolveUpTo(handle.tier.remoteEndOffset);
          break;
        } catch (e) {
          if (!handle.tier.leading || this.#abort.signal.aborted) return;
          if (performance.now() >= deadline && !this.#leaving) {
            // Reassigned, not leaving: keep leading (and the tail) rather than lose acknowledged records; try again later.
            logger.warn('hand-over could not upload the partition tail in time; leading on and trying again later', {
              topic: handle.topic,
              partition: handle.partition,
              err: e,
            });
            reign.status = 'leading';
            reign.handOverNotBefore = performance.now() + this.#opts.config.handoverTimeoutMs;
            keepReign = true;
            return;
          }
          if (performance.now() >= deadline) {
            logger.error('hand-over could not upload the partition tail in time; releasing anyway, records not uploaded are lost', {
              topic: handle.topic,
              partition: handle.partition,
              remoteEnd: handle.tier.remoteEndOffset,
              logEnd: handle.log.logEndOffset,
              err: e,
            });
            break;
          }
          await sleep(Math.min(2_000, 100 * 2 ** attempt), undefined, { ref: false });
        }
      }
      // Straight to the assigned leader when there is one (the partition never lacks a lease holder), else released.
      if (uploaded) {
        // Only to a live successor: a lease handed to a broker that is gone blocks the partition for a TTL.
        const assigned = this.#states.get(key)?.replicas[0];
        const successorLive = assigned !== undefined && assigned !== this.#me && this.#brokers.has(assigned);
        transfer = successorLive ? await transferTo(handle.tier.remoteEndOffset) : null;
      }
      if (transfer?.transferred !== true) {
        await this.#coord.releaseLeadership(handle.topic, handle.partition, this.#me, reign.epoch, { signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => {
          logger.warn('releasing the partition lease failed; it expires by itself', { topic: handle.topic, partition: handle.partition, err: e });
        });
      }
      successor = transfer?.transferred === true ? transfer.successor : null;
      this.#leadershipEvents.inc({ event: 'handed_over' });
      logger.info('partition handed over', {
        topic: handle.topic,
        partition: handle.partition,
        epoch: reign.epoch,
        why,
        successor,
        tail: uploaded ? 'uploaded' : 'replicated',
        uploadedTo: handle.tier.remoteEndOffset,
        logEnd: handle.log.logEndOffset,
        ms: Math.round(performance.now() - started),
      });
    } finally {
      if (this.#reigns.get(key) === reign && !keepReign) {
        this.#reigns.delete(key);
        handle.tier.follow();
      }
      reign.replicas.failAll(notLeader(handle, { kind: 'unavailable', reason: 'its leader handed it over' }, 'the records were not confirmed by the in-sync replicas'));
      this.#busy.delete(key);
    }
  }

  /**
   * With writes stopped: the assigned successor, once it is an in-sync follower with every record
   * of this log (within timeoutMs), else null. Clean election only: then the successor is also what
   * the transfer names (or the transfer is refused), and every record it lacks would be lost.
   */
  async #successorCaughtUp(reign: Reign, timeoutMs: number): Promise<string | null> {
    const { handle } = reign;
    const topic = this.#opts.registry.has(handle.topic) ? this.#opts.registry.get(handle.topic) : null;
    if (topic === null || topic.configs['unclean.leader.election.enable'] === 'true') return null;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const successor = this.#states.get(handle.key)?.replicas[0];
      if (this.#reigns.get(handle.key) !== reign || successor === undefined || successor === this.#me || !reign.replicas.isr.includes(successor)) return null;
      const end = reign.replicas.followers.get(successor)?.logEndOffset ?? -1;
      if (end === handle.log.logEndOffset) return successor;
      if (performance.now() >= deadline || this.#abort.signal.aborted) return null;
      await sleep(5, undefined, { ref: false });
    }
  }

  #lose(key: string, reign: Reign, why: string): void {
    if (this.#reigns.get(key) !== reign) return;
    this.#reigns.delete(key);
    reign.handle.tier.follow();
    reign.replicas.failAll(notLeader(reign.handle, { kind: 'unavailable', reason: why }, 'leadership was lost before the in-sync replicas confirmed the records'));
    this.#leadershipEvents.inc({ event: 'lost' });
    this.#opts.logger.warn('partition leadership lost', { topic: reign.handle.topic, partition: reign.handle.partition, epoch: reign.epoch, why });
  }

  /** Renewals every TTL/3, each on its own: a slow read never delays one. */
  #renewDue(): void {
    const { config, logger } = this.#opts;
    const now = performance.now();
    const every = Math.floor(config.leaseTtlMs / 3);
    for (const [key, reign] of this.#reigns) {
      if (reign.renewing || now - reign.renewSentAt < every) continue;
      reign.renewing = true;
      const sentAt = performance.now();
      const { handle } = reign;
      this.#track(
        this.#coord
          .renewLeadership(handle.topic, handle.partition, this.#me, reign.epoch, config.leaseTtlMs, { signal: AbortSignal.timeout(every) })
          .then(
            (ok) => {
              if (this.#reigns.get(key) !== reign) return;
              if (!ok) return this.#lose(key, reign, 'the lease could not be renewed');
              reign.renewSentAt = sentAt;
              reign.deadline = sentAt + config.leaseTtlMs - this.#marginMs;
            },
            (e: unknown) => logger.debug('lease renewal failed; retrying', { topic: handle.topic, partition: handle.partition, err: e }),
          )
          .finally(() => {
            reign.renewing = false;
          }),
      );
    }
    const controller = this.#controller;
    if (controller !== null && !controller.renewing && now - controller.renewSentAt >= every) {
      controller.renewing = true;
      const sentAt = performance.now();
      this.#track(
        this.#coord
          .renewController(this.#me, controller.epoch, config.leaseTtlMs, { signal: AbortSignal.timeout(every) })
          .then(
            (ok) => {
              if (this.#controller !== controller) return;
              if (!ok) {
                logger.warn('controller lease lost', { epoch: controller.epoch });
                this.#controller = null;
                return;
              }
              controller.renewSentAt = sentAt;
              controller.deadline = sentAt + config.leaseTtlMs - this.#marginMs;
            },
            () => undefined,
          )
          .finally(() => {
            controller.renewing = false;
          }),
      );
    }
  }

  /** The high watermark in the coordinator, for brokers that serve this partition's metadata and lag. */
  #publishHighWatermarks(): void {
    for (const reign of this.#reigns.values()) {
      const end = reign.replicas.highWatermark;
      if (reign.publishing || reign.replicas.isrUpdating || end === reign.publishedHighWatermark || reign.status !== 'leading') continue;
      reign.publishing = true;
      const { handle } = reign;
      this.#track(
        this.#coord
          .updatePartitionState(handle.topic, handle.partition, reign.epoch, { highWatermark: Math.max(end, handle.tier.logStartOffset()) }, { signal: AbortSignal.timeout(this.#opts.config.leaseTtlMs) })
          .then(
            () => void (reign.publishedHighWatermark = end),
            (e: unknown) => {
              if (isStrataError(e) && e.code === 'FENCED_LEADER_EPOCH') this.#lose(handle.key, reign, 'the high watermark update was fenced');
            },
          )
          .finally(() => {
            reign.publishing = false;
          }),
      );
    }
  }

  // ---- replication: following, and the ISR of partitions led here ----------------------------------

  /** Runs a fetcher for each partition this broker is a replica of and another broker leads, in the leader's current epoch. */
  #follow(handle: PartitionHandle): void {
    const key = handle.key;
    const state = this.#states.get(key);
    const existing = this.#fetchers.get(key);
    const topicId = this.#opts.registry.has(handle.topic) ? this.#opts.registry.get(handle.topic).meta.topicId : null;
    const leader = state?.leader ?? null;
    const leaderBroker = leader === null ? undefined : this.#brokers.get(leader);
    const follow =
      state !== undefined &&
      state !== null &&
      !this.#stopped &&
      !this.#reigns.has(key) &&
      !this.#busy.has(key) &&
      state.topicId === topicId &&
      leader !== null &&
      leader !== this.#me &&
      state.replicas.includes(this.#me) &&
      leaderBroker !== undefined &&
      leaderBroker.internalUrl !== '';
    if (existing !== undefined) {
      if (follow && existing.handle === handle && existing.leaderId === leader && existing.epoch === state.leaderEpoch && existing.leaderUrl === leaderBroker.internalUrl) return;
      this.#stopFollowing(key);
    }
    if (!follow) return;
    const { config } = this.#opts;
    this.#fetchers.set(
      key,
      new ReplicaFetcher({
        handle,
        me: this.#me,
        leaderId: leader,
        leaderUrl: leaderBroker.internalUrl,
        epoch: state.leaderEpoch,
        client: this.#replicaClient,
        logger: this.#opts.logger,
        maxBytes: config.replicaFetchMaxBytes,
        maxWaitMs: config.replicaFetchWaitMaxMs,
      }),
    );
  }

  #stopFollowing(key: string): Promise<void> {
    const fetcher = this.#fetchers.get(key);
    if (fetcher === undefined) return Promise.resolve();
    this.#fetchers.delete(key);
    const stopping = fetcher.stop();
    this.#track(stopping);
    return stopping;
  }

  /** Shrinks and expands the ISR of each partition led here, written under the epoch before it counts. */
  #maintainIsr(): void {
    const { config, logger } = this.#opts;
    for (const [key, reign] of this.#reigns) {
      if (reign.status !== 'leading' || reign.replicas.isrUpdating || reign.publishing) continue;
      const state = this.#states.get(key);
      if (!state) continue;
      const plan = reign.replicas.plan({ lagMs: config.replicaLagTimeMaxMs, live: (id) => this.#brokers.has(id), replicas: state.replicas });
      if (plan === null) continue;
      reign.replicas.isrUpdating = true;
      const { handle } = reign;
      this.#track(
        this.#coord
          .updatePartitionState(handle.topic, handle.partition, reign.epoch, { isr: plan.isr, highWatermark: reign.replicas.highWatermark }, { signal: AbortSignal.timeout(config.leaseTtlMs) })
          .then(
            (written) => {
              if (this.#reigns.get(key) !== reign) return;
              reign.replicas.setIsr(written.isr);
              reign.publishedHighWatermark = written.highWatermark;
              if (plan.shrunk.length > 0) this.#isrChanges.inc({ change: 'shrink' });
              if (plan.expanded.length > 0) this.#isrChanges.inc({ change: 'expand' });
              logger.info('ISR changed', { topic: handle.topic, partition: handle.partition, epoch: reign.epoch, isr: written.isr, left: plan.shrunk, joined: plan.expanded, highWatermark: reign.replicas.highWatermark });
            },
            (e: unknown) => {
              if (isStrataError(e) && e.code === 'FENCED_LEADER_EPOCH') this.#lose(key, reign, 'the ISR update was fenced');
              else logger.warn('ISR update failed; will retry', { topic: handle.topic, partition: handle.partition, err: e });
            },
          )
          .finally(() => {
            reign.replicas.isrUpdating = false;
          }),
      );
    }
  }

  #track(work: Promise<unknown>): void {
    this.#background.add(work);
    const done = (): void => void this.#background.delete(work);
    work.then(done, done);
  }
}

async function readReign(dir: string): Promise<number | null> {
  const text = await readFile(join(dir, REIGN_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  const epoch = Number(text.trim());
  return Number.isSafeInteger(epoch) && epoch >= 0 ? epoch : null;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

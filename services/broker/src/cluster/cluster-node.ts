// One broker's part in a cluster (docs/architecture.md, "cluster"): the wiring of its roles and
// the broker's entry to them. Each role has its file:
//
//   membership.ts    registration, heartbeats, the live set
//   controller.ts    the controller lease; replica assignment by rendezvous hashing
//   leadership.ts    partition leases: acquire, renew, lose (fenced, expired), hand over
//   replication.ts   follower fetchers; the leader's ISR and published high watermark
//   routing-view.ts  who leads what, at which URL; the metadata views
//   topic-sync.ts    topics created, changed or deleted through other brokers
//   bucket-reads.ts  history served from the bucket by any broker
//
// A partition led here is a PartitionLeader (partition/partition-leader.ts), which owns its append
// protocol: the routing view hands it to the produce path, which appends with one call into it.
//
// Everything runs from one loop of `tickMs`; lease renewals never wait on reads.

import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterEvent, EventSource } from '@strata/api';
import { mergeEvents, type EventLog, type EventQuery } from '../events/event-log.js';
import { PeerEvents } from '../events/peer-events.js';
import type { FetchResult } from '../fetch.js';
import type { TieredPartition } from '../tiering/tiered-partition.js';
import type { PartitionHandle, Topic } from '../topics/topic-registry.js';
import { BucketReads } from './bucket-reads.js';
import { ClusterState, type ClusterNodeOptions } from './cluster-state.js';
import { Controller } from './controller.js';
import { Leadership } from './leadership.js';
import { Membership } from './membership.js';
import type { EpochEndReply } from './replica-client.js';
import { Replication, type ReplicaFetchAnswer } from './replication.js';
import type { PartitionRoute, PartitionRouter } from './routing.js';
import { RoutingView, type BrokerView, type PartitionView } from './routing-view.js';
import { AWAIT_LEADERS_RETICK_MS, LEAVE_POLL_MS, LOOP_ERROR_LOG_EVERY_MS, STARTUP_TICKS, TOPIC_SYNC_EVERY_TICKS } from './timings.js';
import { TopicSync } from './topic-sync.js';

export { replicaWaitKey } from '../partition/partition-leader.js';
export type { ClusterNodeOptions } from './cluster-state.js';
export type { ReplicaFetchAnswer } from './replication.js';
export type { BrokerView, PartitionView } from './routing-view.js';

export class ClusterNode implements PartitionRouter {
  readonly #s: ClusterState;
  readonly #membership: Membership;
  readonly #controller: Controller;
  readonly #leadership: Leadership;
  readonly #replication: Replication;
  readonly #view: RoutingView;
  readonly #topics: TopicSync;
  readonly #bucket: BucketReads;
  readonly #peerEvents: PeerEvents;
  #ticks = 0;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #lastTickError = 0;

  constructor(options: ClusterNodeOptions) {
    const s = (this.#s = new ClusterState(options));
    this.#view = new RoutingView(s);
    this.#membership = new Membership(s);
    this.#controller = new Controller(s);
    this.#leadership = new Leadership(s, { stopFollowing: (key) => this.#replication.stopFollowing(key), routeNow: (handle) => this.#view.route(handle) });
    this.#replication = new Replication(s, { lose: (key, reign, why) => this.#leadership.lose(key, reign, why) });
    this.#topics = new TopicSync(s);
    this.#bucket = new BucketReads(s);
    this.#peerEvents = new PeerEvents(options.credentials, options.tls ?? null, options.events.config);
  }

  /**
   * Registers this broker and runs the loop's first ticks before the broker answers: the first
   * reads who is live and what is assigned, the controller lease is tried on the next and the
   * controller assigns, and the broker takes the leases assigned to it. A restarted broker thus
   * leads its partitions again before it is ready (its own leases are granted to it at once: a
   * restarted process holds what it held) instead of answering NOT_LEADER for a few ticks.
   */
  async start(): Promise<void> {
    await this.#membership.register();
    for (let i = 0; i < STARTUP_TICKS; i++) await this.#settleTick();
    this.#schedule(this.#s.opts.config.tickMs);
  }

  // ---- routing (PartitionRouter) and views: the routing view ---------------------------------------

  route(handle: PartitionHandle): PartitionRoute {
    return this.#view.route(handle);
  }

  leaderUnreachable(handle: PartitionHandle, leaderId: string): void {
    this.#view.leaderUnreachable(handle, leaderId);
  }

  highWatermark(handle: PartitionHandle): number {
    return this.#view.highWatermark(handle);
  }

  partitionView(handle: PartitionHandle): PartitionView {
    return this.#view.partitionView(handle);
  }

  brokers(): BrokerView[] {
    return this.#view.brokers();
  }

  /** This broker's own events. */
  get events(): EventLog {
    return this.#s.opts.events.log;
  }

  /** Every live broker's events, merged by time: this broker's own, and each other's over the internal port (one that fails is reported). */
  async clusterEvents(q: EventQuery, signal: AbortSignal): Promise<{ events: ClusterEvent[]; brokers: EventSource[] }> {
    const s = this.#s;
    const peers = [...s.brokers.values()].filter((b) => b.id !== s.me).map((b) => ({ id: b.id, internalUrl: b.internalUrl }));
    const answers = await this.#peerEvents.ask(peers, q, signal);
    const events = mergeEvents([this.events.query(q), ...answers.lists], q);
    return { events, brokers: [{ broker: s.me, ok: true }, ...answers.sources] };
  }

  /**
   * Until every partition of `topic` has a leader, or `timeoutMs`, or the topic is deleted. When
   * the work is this broker's (it is the controller, or nobody is yet), the loop runs now rather
   * than at its next tick: a topic created on a single node is led within a few coordinator calls.
   */
  async awaitLeaders(topic: Topic, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (let round = 0; !this.#view.led(topic); round++) {
      if (performance.now() >= deadline || this.#s.stopped) return false;
      // Deleted meanwhile (or deleted and created again): no tick will ever lead these partitions.
      if (!topic.partitions.every((handle) => this.#s.opts.registry.isCurrent(handle))) return false;
      const holder = this.#controller.holder;
      if (holder !== this.#s.me && holder !== null) {
        await sleep(this.#s.opts.config.tickMs, undefined, { ref: false });
        continue;
      }
      // Between two ticks run here, a pause: on the in-process coordinator a tick that starts no
      // acquisition completes in microtasks alone, and ticks run back to back would keep the event
      // loop from every socket, timer and file callback until the deadline (the broker stalled for
      // the whole timeout, its idle keep-alive connections closed under requests in flight).
      if (round > 0) await sleep(Math.min(AWAIT_LEADERS_RETICK_MS, this.#s.opts.config.tickMs), undefined, { ref: false });
      await this.#settleTick();
    }
    return true;
  }

  refresh(handle: PartitionHandle): Promise<void> {
    return this.#view.refresh(handle);
  }

  /** The Kafka address of each live broker that has a Kafka listener (this one included), by broker id. */
  kafkaAddresses(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [id, broker] of this.#s.brokers) if (typeof broker.kafkaAddress === 'string') out.set(id, broker.kafkaAddress);
    const own = this.#s.opts.kafkaAddress?.() ?? null;
    if (own !== null && !this.#s.leaving) out.set(this.#s.me, own);
    return out;
  }

  get controller(): string | null {
    return this.#controller.holder;
  }

  liveBrokerCount(): number {
    return this.#membership.liveBrokerCount();
  }

  /** The live brokers counted again now (a topic's replicas are placed by it): a broker ready a moment ago counts. */
  async readLiveBrokerCount(): Promise<number> {
    await this.#membership.refresh(AbortSignal.timeout(this.#s.opts.config.leaseTtlMs)).catch(() => undefined);
    return this.#membership.liveBrokerCount();
  }

  // ---- replication, leader side (the internal server calls these) ----------------------------------

  replicaFetch(
    handle: PartitionHandle,
    request: { replica: string; epoch: number; offset: number; maxBytes: number; maxWaitMs: number },
    signal: AbortSignal,
  ): Promise<ReplicaFetchAnswer> {
    return this.#replication.replicaFetch(handle, request, signal);
  }

  epochEnd(handle: PartitionHandle, epoch: number, leaderEpoch: number): EpochEndReply | null {
    return this.#replication.epochEnd(handle, epoch, leaderEpoch);
  }

  // ---- bucket reads and topic sync ------------------------------------------------------------------

  readFromBucket(handle: PartitionHandle, offset: number, maxBytes: number, signal: AbortSignal): Promise<FetchResult | null> {
    return this.#bucket.read(handle, offset, maxBytes, signal);
  }

  syncTopics(): Promise<void> {
    return this.#topics.sync();
  }

  // ---- the registry and the tiering report ----------------------------------------------------------

  /** The registry dropped a partition (its topic was deleted): forget its leadership. */
  forget(handle: PartitionHandle): void {
    this.#leadership.forget(handle);
    this.#s.states.delete(handle.key);
    this.#bucket.forget(handle.key);
  }

  /** The tier's manifest write was fenced: a newer leader exists (this incarnation's tier only). */
  fenced(tier: TieredPartition): void {
    this.#leadership.fenced(tier);
  }

  // ---- leaving and stopping -------------------------------------------------------------------------

  /**
   * Graceful exit (SIGTERM): leave the live set so the controller reassigns this broker's
   * partitions, hand each over (upload its tail, release its lease), then give up the controller.
   */
  async leave(timeoutMs: number): Promise<void> {
    const s = this.#s;
    if (s.leaving) return;
    s.leaving = true;
    const started = performance.now();
    s.leaveDeadline = started + timeoutMs;
    await this.#membership.deregister();
    // The controller (this broker, perhaps) now reassigns every partition led here; the loop hands
    // each over as its assignment moves, straight to its new leader.
    while (s.reigns.size > 0 && performance.now() < s.leaveDeadline) await sleep(LEAVE_POLL_MS, undefined, { ref: false });
    await s.settled();
    if (s.reigns.size > 0) s.opts.logger.error('leaving with partitions not handed over', { partitions: [...s.reigns.keys()] });
    await this.#controller.release();
    s.opts.logger.info('left the cluster', { ms: Math.round(performance.now() - started) });
  }

  async stop(): Promise<void> {
    const s = this.#s;
    s.stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking?.catch(() => undefined);
    s.abort.abort(new Error('broker stopping'));
    await s.settled();
    await this.#replication.stopAll();
    this.#leadership.endAll();
    await this.#peerEvents.close();
  }

  // ---- the loop -------------------------------------------------------------------------------------

  #schedule(delayMs: number): void {
    if (this.#s.stopped) return;
    this.#timer = setTimeout(() => {
      void this.#tickNow().finally(() => this.#schedule(this.#s.opts.config.tickMs));
    }, delayMs);
  }

  /** One tick now (or the one running), then the leadership work it started. */
  async #settleTick(): Promise<void> {
    await this.#tickNow();
    await this.#s.settled();
  }

  #tickNow(): Promise<void> {
    this.#ticking ??= this.#tick()
      .catch((e: unknown) => {
        // Redis down: logged at most every LOOP_ERROR_LOG_EVERY_MS; leases lapse by their deadlines meanwhile.
        if (performance.now() - this.#lastTickError > LOOP_ERROR_LOG_EVERY_MS) {
          this.#lastTickError = performance.now();
          this.#s.opts.logger.warn('cluster loop failed; retrying', { err: e });
        }
      })
      .finally(() => {
        this.#ticking = null;
      });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    const s = this.#s;
    this.#ticks++;
    this.#leadership.renewDue();
    this.#controller.renewDue();
    await this.#membership.heartbeatIfDue();
    if (this.#ticks % TOPIC_SYNC_EVERY_TICKS === 1) await this.#topics.syncIfDue();

    const signal = AbortSignal.any([s.abort.signal, AbortSignal.timeout(s.opts.config.leaseTtlMs)]);
    // One signal for every partition's read of this tick: many listeners on it are expected.
    setMaxListeners(0, signal);
    const handles = [...s.opts.registry.allPartitions()];
    const [, states] = await Promise.all([
      this.#membership.refresh(signal),
      Promise.all(handles.map((h) => s.coord.getPartitionState(h.topic, h.partition, { signal }).catch(() => undefined))),
    ]);
    handles.forEach((h, i) => {
      const state = states[i];
      if (state !== undefined) s.states.set(h.key, state);
    });

    await this.#controller.act(this.#ticks, signal);
    for (const handle of handles) this.#leadership.lead(handle);
    for (const handle of handles) this.#replication.follow(handle);
    this.#replication.stopStale();
    this.#replication.maintainIsr();
    this.#replication.publishHighWatermarks();
  }
}

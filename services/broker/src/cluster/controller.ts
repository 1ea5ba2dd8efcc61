// The controller: one broker at a time holds the controller lease and assigns every partition's
// replicas to the live brokers by rendezvous hashing (docs/architecture.md, "cluster"). The
// others only read who holds it.

import { isStrataError } from '@strata/protocol';
import type { PartitionState } from '@strata/coord';
import { gauge, type ClusterState } from './cluster-state.js';
import { rendezvousReplicas } from './rendezvous.js';
import { CONTROLLER_ACQUIRE_EVERY_TICKS, NAMED_LEADER_PATIENCE_TTLS, LEASE_RENEWALS_PER_TTL } from './timings.js';

interface ControllerReign {
  epoch: number;
  deadline: number;
  renewSentAt: number;
  renewing: boolean;
}

export class Controller {
  readonly #s: ClusterState;
  #reign: ControllerReign | null = null;
  #holder: string | null = null;
  #epochSeen = 0;
  /** Since when each leaderless partition has waited for its named leader, and who was passed over. */
  readonly #leaderless = new Map<string, { id: string; since: number; skipped: Set<string> }>();
  /** The live brokers at the last assignment of this reign (null: none yet): joins and departures are told against it. */
  #liveSeen: ReadonlySet<string> | null = null;

  constructor(state: ClusterState) {
    this.#s = state;
    gauge(state.opts.metrics, 'strata_cluster_controller', '1 while this broker holds the controller lease.', () => (this.#reign !== null ? 1 : 0));
  }

  /** Who holds the controller lease, as this broker last saw it. */
  get holder(): string | null {
    return this.#reign !== null ? this.#s.me : this.#holder;
  }

  /** One tick: take the lease when free (every few ticks), and assign when holding it. */
  async act(tick: number, signal: AbortSignal): Promise<void> {
    const { config, logger } = this.#s.opts;
    const coord = this.#s.coord;
    if (this.#reign !== null && performance.now() >= this.#reign.deadline) {
      logger.warn('controller lease lapsed', { epoch: this.#reign.epoch });
      this.#stepDown(`the controller lease of epoch ${this.#reign.epoch} lapsed`);
    }
    if (this.#reign === null) {
      if (this.#s.leaving || tick % CONTROLLER_ACQUIRE_EVERY_TICKS !== 0) {
        const lease = await coord.getController({ signal });
        this.#holder = lease.holder;
        this.#epochSeen = Math.max(this.#epochSeen, lease.epoch);
        return;
      }
      const sentAt = performance.now();
      const result = await coord.acquireController({ brokerId: this.#s.me, ttlMs: config.leaseTtlMs, knownEpoch: this.#epochSeen }, { signal });
      this.#epochSeen = Math.max(this.#epochSeen, result.epoch);
      if (!result.acquired) {
        this.#holder = result.holder;
        return;
      }
      this.#reign = { epoch: result.epoch, deadline: sentAt + config.leaseTtlMs - this.#s.marginMs, renewSentAt: sentAt, renewing: false };
      this.#holder = this.#s.me;
      this.#liveSeen = null;
      logger.info('became the controller', { epoch: result.epoch });
      this.#s.opts.events.log.record({ kind: 'controller-elected', message: `${this.#s.me} became the controller (epoch ${result.epoch})` });
    }
    await this.#assign(this.#reign.epoch, signal);
  }

  /** Renews the controller lease when due, on its own: a slow read never delays it. */
  renewDue(): void {
    const { config, logger } = this.#s.opts;
    const every = Math.floor(config.leaseTtlMs / LEASE_RENEWALS_PER_TTL);
    const reign = this.#reign;
    if (reign === null || reign.renewing || performance.now() - reign.renewSentAt < every) return;
    reign.renewing = true;
    const sentAt = performance.now();
    this.#s.track(
      this.#s.coord
        .renewController(this.#s.me, reign.epoch, config.leaseTtlMs, { signal: AbortSignal.timeout(every) })
        .then(
          (ok) => {
            if (this.#reign !== reign) return;
            if (!ok) {
              logger.warn('controller lease lost', { epoch: reign.epoch });
              this.#stepDown(`the controller lease of epoch ${reign.epoch} could not be renewed`);
              return;
            }
            reign.renewSentAt = sentAt;
            reign.deadline = sentAt + config.leaseTtlMs - this.#s.marginMs;
          },
          () => undefined,
        )
        .finally(() => {
          reign.renewing = false;
        }),
    );
  }

  /** Gives the lease up (leaving). */
  async release(): Promise<void> {
    if (this.#reign === null) return;
    const epoch = this.#reign.epoch;
    this.#stepDown('it is leaving');
    await this.#s.coord.releaseController(this.#s.me, epoch).catch(() => undefined);
  }

  /**
   * Every partition's replicas: the live brokers ranked by rendezvous hashing; replicas[0] leads,
   * and is the best-ranked live member of the ISR (only the ISR can lead without losing
   * acknowledged records), unless the topic allows unclean election or the ISR is empty (new).
   */
  async #assign(controllerEpoch: number, signal: AbortSignal): Promise<void> {
    const { registry, logger } = this.#s.opts;
    const live = [...this.#s.brokers.keys()].sort();
    if (live.length === 0) return;
    this.#noteMembership(live);
    const writes: Promise<void>[] = [];
    for (const topic of registry.list()) {
      const count = Math.min(topic.meta.replicationFactor, live.length);
      for (const handle of topic.partitions) {
        const state = this.#s.states.get(handle.key);
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
          this.#s.coord.setReplicas(handle.topic, handle.partition, { topicId: topic.meta.topicId, replicas, controllerEpoch }, { signal }).then(() => {
            logger.info('partition assigned', { topic: handle.topic, partition: handle.partition, replicas, from: state?.replicas ?? [] });
            // A new partition's first assignment is not news; a move is.
            if (state !== null && state.topicId === topic.meta.topicId && state.replicas.length > 0) {
              this.#s.opts.events.log.record({ kind: 'partition-reassigned', topic: handle.topic, partition: handle.partition, message: `replicas ${state.replicas.join(', ')} → ${replicas.join(', ')}` });
            }
          }),
        );
      }
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (isStrataError(r.reason) && r.reason.code === 'FENCED_LEADER_EPOCH') {
        logger.warn('a newer controller exists; stepping down', { epoch: controllerEpoch });
        this.#stepDown('a newer controller exists');
        return;
      }
      throw r.reason;
    }
  }

  #stepDown(why: string): void {
    this.#reign = null;
    this.#liveSeen = null;
    this.#s.opts.events.log.record({ kind: 'controller-lost', message: `${this.#s.me} is no longer the controller: ${why}` });
  }

  /** Brokers that joined or left the live set since the last assignment of this reign (its first only sets the baseline). */
  #noteMembership(live: readonly string[]): void {
    const before = this.#liveSeen;
    const now = new Set(live);
    this.#liveSeen = now;
    if (before === null) return;
    const log = this.#s.opts.events.log;
    for (const id of live) if (!before.has(id)) log.record({ kind: 'broker-joined', message: `broker ${id} joined (${live.length} live)` });
    for (const id of before) if (!now.has(id)) log.record({ kind: 'broker-left', message: `broker ${id} left (${live.length} live)` });
  }

  /**
   * Named leaders passed over for a leaderless partition: one that has not taken the lease for
   * NAMED_LEADER_PATIENCE_TTLS lease periods joins the set, until the partition has a leader again.
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
    } else if (performance.now() - entry.since > NAMED_LEADER_PATIENCE_TTLS * this.#s.opts.config.leaseTtlMs) {
      entry.skipped.add(named);
      entry.since = performance.now();
      // Everyone had a turn: start over.
      if (eligible.every((id) => entry.skipped.has(id))) entry.skipped.clear();
    }
    return entry.skipped;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

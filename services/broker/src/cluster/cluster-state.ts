// What the roles of a cluster node share (docs/architecture.md, "cluster"): the options, the
// partition states and live brokers last read, the reigns (partitions led here), the partitions a
// role is busy with, the background work stop() waits for. Each role (membership, controller,
// leadership, replication, routing view, topic sync, bucket reads) reads these; the comments say
// which role writes what.

import type { TlsMaterial } from '../security/tls.js';
import type { BrokerCredentials } from '../security/broker-credentials.js';
import type { Coordinator, LiveBroker, PartitionState } from '@strata/coord';
import { Gauge, type Registry } from 'prom-client';
import type { ClusterConfig } from '../config.js';
import type { EventsConfig } from '../config/types.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import type { PartitionLeader } from '../partition/partition-leader.js';
import type { PartitionWaiters } from '../partition-waiters.js';
import type { TopicRegistry } from '../topics/topic-registry.js';
import type { LeaderReplicas } from '../partition/leader-replicas.js';
import { LEASE_SAFETY_MARGIN_TTL_DIVISOR } from './timings.js';

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
  /** host:port of this broker's Kafka listener, registered beside its URLs; null when it is off. */
  kafkaAddress?: () => string | null;
  /** Long-polls: consumers are woken when the HW moves, followers when the log end does. */
  waiters: PartitionWaiters;
  startedAtMs: number;
  /** The internal port speaks TLS (replica fetches connect with it); null or absent: plaintext. */
  tls?: TlsMaterial | null;
  /** This broker's credential on replica fetches (security/broker-credentials.ts). */
  credentials: BrokerCredentials;
  /** Where the roles record cluster events (GET /v1/events), and the bounds of asking the other brokers for theirs. */
  events: { log: EventLog; config: EventsConfig };
}

/** One partition led here: its leader object and the lease bookkeeping around it. */
export interface Reign {
  readonly leader: PartitionLeader;
  /** The leader's followers, ISR and high watermark (a single node's ISR is itself). */
  readonly replicas: LeaderReplicas;
  renewSentAt: number;
  renewing: boolean;
  publishedHighWatermark: number;
  publishing: boolean;
  /** After a hand-over that could not upload the tail (the bucket down): when to try again. */
  handOverNotBefore: number;
}

export class ClusterState {
  readonly opts: ClusterNodeOptions;
  readonly coord: Coordinator;
  readonly me: string;
  /** Partitions led here, by handle key (leadership writes). */
  readonly reigns = new Map<string, Reign>();
  /** The latest partition states read, by handle key (the loop and the routing view write). */
  readonly states = new Map<string, PartitionState | null>();
  /** The live brokers as last read (membership writes). */
  brokers = new Map<string, LiveBroker>();
  /** Partitions a leadership change is in progress for (acquiring, handing over). */
  readonly busy = new Set<string>();
  readonly #background = new Set<Promise<unknown>>();
  readonly abort = new AbortController();
  /** Writes stop this long (ms) before a lease could have expired. */
  readonly marginMs: number;
  leaving = false;
  /** performance.now() by which a leaving broker must be gone. */
  leaveDeadline = Infinity;
  stopped = false;

  constructor(options: ClusterNodeOptions) {
    this.opts = options;
    this.coord = options.coordinator;
    this.me = options.brokerId;
    this.marginMs = Math.max(options.config.tickMs, Math.floor(options.config.leaseTtlMs / LEASE_SAFETY_MARGIN_TTL_DIVISOR));
  }

  /** The topic id of `topic` as this broker knows it, null when it does not. */
  topicIdOf(topic: string): string | null {
    return this.opts.registry.has(topic) ? this.opts.registry.get(topic).meta.topicId : null;
  }

  /** Whether `topic` allows an out-of-sync replica to lead. */
  unclean(topic: string): boolean {
    return this.opts.registry.has(topic) && this.opts.registry.get(topic).configs['unclean.leader.election.enable'] === 'true';
  }

  /** Background work stop() and leave() wait for. */
  track(work: Promise<unknown>): void {
    this.#background.add(work);
    const done = (): void => void this.#background.delete(work);
    work.then(done, done);
  }

  settled(): Promise<unknown> {
    return Promise.allSettled([...this.#background]);
  }
}

/** A gauge of this broker's cluster state, read when scraped. */
export function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

import type { Coordinator } from '@strata/coord';
import type { Authenticator } from './auth/authenticator.js';
import type { Authorizer } from './auth/authorizer.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import type { Forwarder } from './cluster/forwarder.js';
import type { BrokerCredentials } from './security/broker-credentials.js';
import type { PartitionRouter } from './cluster/routing.js';
import type { BrokerConfig } from './config.js';
import type { DiskMonitor } from './disk-monitor.js';
import type { Logger } from './logger.js';
import type { BrokerMetrics } from './metrics.js';
import type { PartitionWaiters } from './partition-waiters.js';
import type { QuotaManager } from './quotas/quota-manager.js';
import type { TopicRegistry } from './topics/topic-registry.js';

export type BrokerState = 'starting' | 'ready' | 'closing' | 'closed';

/** What the HTTP handlers need from the broker. */
export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly registry: TopicRegistry;
  readonly waiters: PartitionWaiters;
  readonly metrics: BrokerMetrics;
  /** The data disk's free space: below the floor the broker is read-only and not ready. */
  readonly disk: DiskMonitor;
  readonly clusterId: string;
  /** The URL clients reach this broker at (advertised, or derived from the bound address). */
  url(): string;
  state(): BrokerState;
  now(): number;
  /** Registers background work (acks=0 appends) that close() must wait for. */
  track(work: Promise<unknown>): void;
  /** Topics, leases, manifests, groups: Redis, or the in-process engine under the data dir. */
  readonly coordinator: Coordinator;
  /** Where each partition's reads and writes go: the cluster node's answer from its leases. */
  readonly router: PartitionRouter;
  /** This broker's part in the cluster (a single node: a cluster of one), and the pool that forwards to leaders. */
  readonly cluster: { node: ClusterNode; forwarder: Forwarder; credentials: BrokerCredentials };
  /** Client quotas: the rates measured here and the throttle times they owe (every front door asks it). */
  readonly quotas: QuotaManager;
  /** Who a client is (auth/): credentials checked against the coordinator's users, for every front door. */
  readonly auth: Authenticator;
  /** Who may do what (Kafka's ACLs): the core checks every operation against it. */
  readonly authorizer: Authorizer;
}

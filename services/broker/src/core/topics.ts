// Topics without HTTP: list, create, describe, delete and update configs as typed calls. The
// domain rules (name rule, partition room, placeable replication factor, config values) are the
// registry's (topics/topic-registry.ts); a request's shape is its caller's (the HTTP schemas).

import type { TopicListing as TopicListingView, Topic as TopicView } from '@strata/api';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { BrokerContext } from '../context.js';
import type { Topic, TopicSpec } from '../topics/topic-registry.js';
import type { RequestOrigin } from './leader-client.js';
import { CLUSTER_RESOURCE_NAME, type AclOperation } from '@strata/protocol';

export type { TopicSpec, TopicView };

/** How long a create or a growth waits for every partition to have a leader, so a produce right after works. */
const CREATE_AWAIT_LEADERS_MS = 10_000;

export type TopicListing = TopicListingView;

export class TopicsCore {
  readonly #ctx: BrokerContext;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  /** The topics the principal may describe. */
  list(origin: RequestOrigin): TopicListing[] {
    return this.#ctx.registry.list().filter((t) => this.mayTopic(origin, 'describe', t.name)).map((t) => listTopic(t, this.#ctx.cluster.node));
  }

  /** Creates the topic (all or nothing); answers once every partition has a leader or after a bound. */
  async create(spec: TopicSpec, origin: RequestOrigin): Promise<TopicView> {
    this.checkCreate(origin, spec.name);
    const topic = await this.#ctx.registry.create(spec);
    await this.#ctx.cluster.node.awaitLeaders(topic, CREATE_AWAIT_LEADERS_MS);
    return this.#view(topic);
  }

  /** Checks a create as create() would (name, partitions, replication, configs, existence) and creates nothing. */
  async validate(spec: TopicSpec, origin: RequestOrigin): Promise<void> {
    this.checkCreate(origin, spec.name);
    await this.#ctx.registry.create({ ...spec, validateOnly: true });
  }

  /** UNKNOWN_TOPIC when there is none. */
  describe(name: string, origin: RequestOrigin): TopicView {
    this.checkTopic(origin, 'describe', name);
    return this.#view(this.#ctx.registry.get(name));
  }

  async delete(name: string, origin: RequestOrigin): Promise<void> {
    this.checkTopic(origin, 'delete', name);
    await this.#ctx.registry.delete(name);
  }

  /**
   * Grows the topic to `count` partitions (never shrinks: INVALID_PARTITIONS); validateOnly checks
   * and changes nothing. Answers once every partition has a leader, or after a bound.
   */
  async addPartitions(name: string, count: number, validateOnly: boolean, origin: RequestOrigin): Promise<TopicView> {
    this.checkTopic(origin, 'alter', name);
    const topic = await this.#ctx.registry.addPartitions(name, count, validateOnly);
    if (!validateOnly) await this.#ctx.cluster.node.awaitLeaders(topic, CREATE_AWAIT_LEADERS_MS);
    return this.#view(topic);
  }

  /**
   * `{key: value | null}`: a value sets the override, null resets the key to the broker default; all
   * validated first (validateOnly: and nothing changed).
   */
  async updateConfigs(name: string, changes: Readonly<Record<string, unknown>>, validateOnly: boolean, origin: RequestOrigin): Promise<TopicView> {
    this.checkTopic(origin, 'alter-configs', name);
    return this.#view(await this.#ctx.registry.updateConfigs(name, changes, validateOnly));
  }

  /** Throws TOPIC_AUTHORIZATION_FAILED unless the principal may do `operation` on the topic (checked before whether it exists, as Kafka does). */
  checkTopic(origin: RequestOrigin, operation: AclOperation, name: string): void {
    this.#ctx.authorizer.check(origin, operation, { type: 'topic', name });
  }

  mayTopic(origin: RequestOrigin, operation: AclOperation, name: string): boolean {
    return this.#ctx.authorizer.allows(origin, operation, { type: 'topic', name });
  }

  /** Kafka's CreateTopics rule: create on the cluster, or on the topic (a literal or a prefix that covers it). */
  checkCreate(origin: RequestOrigin, name: string): void {
    if (this.#ctx.authorizer.allows(origin, 'create', { type: 'cluster', name: CLUSTER_RESOURCE_NAME })) return;
    this.checkTopic(origin, 'create', name);
  }

  #view(topic: Topic): TopicView {
    return describeTopic(topic, this.#ctx.config.brokerId, this.#ctx.cluster.node);
  }
}

/** A topic's line in the list, with its health counts: O(partitions), no per-partition request for a client to make. */
export function listTopic(topic: Topic, cluster: Pick<ClusterNode, 'partitionView'>): TopicListing {
  const listing = { name: topic.name, partitions: topic.partitionCount, replicationFactor: topic.meta.replicationFactor, underReplicated: 0, leaderless: 0, offline: topic.offline.size, uploadLagSegments: 0, uploadLagBytes: 0 };
  for (const h of topic.partitions) {
    const view = cluster.partitionView(h);
    if (view.leader === null) listing.leaderless++;
    if (view.isr.length < view.replicas.length) listing.underReplicated++;
    const lag = h.tier.uploadLag();
    listing.uploadLagSegments += lag.segments;
    listing.uploadLagBytes += lag.bytes;
  }
  return listing;
}

export function describeTopic(topic: Topic, brokerId: string, cluster: Pick<ClusterNode, 'partitionView' | 'brokers'>): TopicView {
  // Once per describe: brokers() walks every partition of every topic, so once per partition was quadratic.
  const urls = new Map(cluster.brokers().map((b) => [b.id, b.url]));
  return {
    name: topic.name,
    topicId: topic.meta.topicId,
    replicationFactor: topic.meta.replicationFactor,
    configs: { ...topic.configs },
    configOverrides: { ...topic.meta.configs },
    partitions: [...topic.partitions.map((h) => {
      const stats = h.log.stats();
      const lag = h.tier.uploadLag();
      const view = cluster.partitionView(h);
      // A partition led elsewhere: the leader's figures as last published; this broker's disk holds none of its tail.
      const here = view.leader === brokerId;
      return {
        partition: h.partition,
        leader: view.leader,
        leaderUrl: view.leader === null ? null : (urls.get(view.leader) ?? null),
        leaderEpoch: view.leaderEpoch,
        replicas: view.replicas,
        isr: view.isr,
        logStartOffset: here ? h.tier.logStartOffset() : (h.tier.manifest.segments[0]?.baseOffset ?? h.tier.manifest.logStartOffset),
        logEndOffset: here ? stats.logEndOffset : view.highWatermark,
        highWatermark: view.highWatermark,
        localLogStartOffset: stats.logStartOffset,
        localBytes: stats.sizeBytes,
        remoteBytes: h.tier.remoteBytes(),
        remoteLogStartOffset: h.tier.manifest.segments[0]?.baseOffset ?? null,
        remoteLogEndOffset: h.tier.remoteEndOffset,
        remoteSegments: h.tier.manifest.segments.length,
        uploadLagSegments: lag.segments,
        uploadLagBytes: lag.bytes,
        lastUploadError: h.tier.lastError,
      };
    }), ...[...topic.offline.values()].map((o) => ({ partition: o.partition, offline: true as const, error: o.reason }))].sort((a, b) => a.partition - b.partition),
  };
}

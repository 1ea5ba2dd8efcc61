// Consumer groups without HTTP (docs/architecture.md#groups): membership and heartbeats, offset
// commits, lag, reset, describe, list, delete as typed calls. The protocol itself is the
// coordinator's (packages/coord: groupHeartbeat, commitOffsets, ...); this layer checks topics and
// partitions against the registry (a commit for an unknown partition changes nothing), passes the
// broker's topic catalogue as the partition counts, joins committed offsets with high watermarks,
// and asks a partition's leader for offsets through the data core (no broker-to-broker call here).

import { randomUUID } from 'node:crypto';
import { consumerAssignmentPartitions, consumerSubscriptionTopics } from '@strata/kafka-protocol';
import {
  type ClassicGroupState,
  type CommittedOffset,
  type GroupDescription,
  type GroupHeartbeatRequest,
  type GroupHeartbeatResponse,
  type GroupListing,
  type OffsetCommit,
} from '@strata/coord';
import { CLUSTER_RESOURCE_NAME, StrataError } from '@strata/protocol';
import type { BrokerContext } from '../context.js';
import type { PartitionHandle } from '../topics/topic-registry.js';
import type { DataCore } from './data.js';
import type { RequestOrigin } from './leader-client.js';

/** Deadline of one coordinator call made for a request. */
const COORDINATOR_CALL_MS = 10_000;
/** Partitions looked up at once on other brokers during a reset. */
const RESET_LOOKUP_CONCURRENCY = 16;

/** One committed offset with the partition's high watermark and lag (both null when the partition is unknown here). */
export interface GroupOffsetView {
  topic: string;
  partition: number;
  /** The committed "next offset to read", or null when nothing was committed. */
  offset: number | null;
  metadata: string;
  highWatermark: number | null;
  lag: number | null;
  committedAtMs: number | null;
}

/** The member's optional settings; an omitted one is the coordinator's default on a join and unchanged on a heartbeat (KIP-848). */
export interface MemberSettings {
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  clientId?: string;
}

export interface HeartbeatRequest extends MemberSettings {
  memberEpoch: number;
  topics?: readonly string[];
  ownedPartitions?: GroupHeartbeatRequest['ownedPartitions'];
}

/**
 * A subscription to a topic that does not exist: `refuse` (UNKNOWN_TOPIC: over HTTP a typo would
 * consume nothing, silently) or `wait` (Kafka's rule, which Kafka clients expect: the topic gets no
 * partitions until it is created, then the next heartbeat assigns them).
 */
export type UnknownTopics = 'refuse' | 'wait';

export interface JoinOptions {
  /** The member's id when the client chose it (KIP-848 v1); else a new UUID. */
  memberId?: string;
  unknownTopics?: UnknownTopics;
}

/** A classic (Kafka JoinGroup) group as describe shows it: its generation and members, their subscriptions and assignments decoded. */
export interface ClassicGroupView {
  generation: number;
  protocolType: string;
  protocol: string;
  leader: string;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    sessionTimeoutMs: number;
    subscribedTopics: string[];
    assigned: Array<{ topic: string; partitions: number[] }>;
  }>;
}

export type ResetTarget = { to: 'earliest' } | { to: 'latest' } | { to: 'timestamp'; value: number } | { to: 'offset'; value: number };

export class GroupsCore {
  readonly #ctx: BrokerContext;
  readonly #data: DataCore;

  constructor(ctx: BrokerContext, data: DataCore) {
    this.#ctx = ctx;
    this.#data = data;
  }

  /** The groups the principal may describe (all of them with describe on the cluster, as Kafka's ListGroups). */
  async list(origin: RequestOrigin, signal: AbortSignal): Promise<GroupListing[]> {
    const groups = await this.#ctx.coordinator.listGroups({ signal: deadline(signal) });
    const { authorizer } = this.#ctx;
    if (authorizer.allows(origin, 'describe', { type: 'cluster', name: CLUSTER_RESOURCE_NAME })) return groups;
    return groups.filter((g) => authorizer.allows(origin, 'describe', { type: 'group', name: g.group }));
  }

  /** Throws GROUP_AUTHORIZATION_FAILED unless the principal may do `operation` on the group. */
  checkGroup(origin: RequestOrigin, operation: 'read' | 'describe' | 'delete', group: string): void {
    this.#ctx.authorizer.check(origin, operation, { type: 'group', name: group });
  }

  /** Which of the topics the principal may `operation` (a request's per-partition answers; no audit line: the caller reports each refused one). */
  topicsAllowed(origin: RequestOrigin, operation: 'read' | 'describe', topics: Iterable<string>): Set<string> {
    const allowed = new Set<string>();
    for (const t of new Set(topics)) if (this.#ctx.authorizer.allows(origin, operation, { type: 'topic', name: t })) allowed.add(t);
    return allowed;
  }

  #checkTopics(origin: RequestOrigin, operation: 'read' | 'describe', topics: Iterable<string>): void {
    for (const t of new Set(topics)) this.#ctx.authorizer.check(origin, operation, { type: 'topic', name: t });
  }

  /** The group with, per partition of its topics, the committed offset, lag and owning member. NOT_FOUND when there is no such group. */
  async describe(group: string, origin: RequestOrigin, signal: AbortSignal): Promise<Omit<GroupDescription, 'classic'> & { classic?: ClassicGroupView; partitions: Array<GroupOffsetView & { owner: string | null }> }> {
    this.checkGroup(origin, 'describe', group);
    const coordSignal = deadline(signal);
    const description = await this.#ctx.coordinator.describeGroup(group, { signal: coordSignal });
    if (description === null) throw noSuchGroup(group);
    const committed = await this.#ctx.coordinator.fetchOffsets(group, { signal: coordSignal });
    const owners = new Map<string, string>();
    for (const m of description.members) for (const tp of m.assignment) for (const p of tp.partitions) owners.set(`${tp.topic}/${p}`, m.memberId);
    // A classic group's members and their assignments, as the leader gave them (Kafka's consumer protocol bytes, decoded to show).
    const classic = description.classic === undefined ? undefined : classicView(description.classic);
    for (const m of classic?.members ?? []) for (const tp of m.assigned) for (const p of tp.partitions) owners.set(`${tp.topic}/${p}`, m.memberId);
    const topics = new Set(Object.keys(description.topicPartitions));
    for (const m of classic?.members ?? []) for (const t of m.subscribedTopics) topics.add(t);
    await this.#syncUnknown([...topics]);
    const partitions = this.#partitionsView([...topics], committed).map((p) => ({ ...p, owner: owners.get(`${p.topic}/${p.partition}`) ?? null }));
    const { classic: _stored, ...rest } = description;
    return { ...rest, ...(classic === undefined ? {} : { classic }), partitions };
  }

  /** The group as the coordinator stores it (both protocols' members), without offsets; null when there is no such group. */
  summary(group: string, origin: RequestOrigin, signal: AbortSignal): Promise<GroupDescription | null> {
    this.checkGroup(origin, 'describe', group);
    return this.#ctx.coordinator.describeGroup(group, { signal: deadline(signal) });
  }

  /** Which of these partitions exist (a topic created through another broker is looked up first). */
  async existing(partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<boolean[]> {
    await this.#syncUnknown(partitions.map((p) => p.topic));
    const { registry } = this.#ctx;
    return partitions.map((p) => registry.has(p.topic) && p.partition >= 0 && p.partition < registry.get(p.topic).partitionCount);
  }

  /** Removes committed offsets (Kafka's OffsetDelete); answers how many existed. */
  async deleteOffsets(group: string, partitions: ReadonlyArray<{ topic: string; partition: number }>, origin: RequestOrigin, signal: AbortSignal): Promise<number> {
    this.checkGroup(origin, 'delete', group);
    this.#checkTopics(origin, 'read', partitions.map((p) => p.topic));
    return this.#ctx.coordinator.deleteOffsets(group, partitions, { signal: deadline(signal) });
  }

  /** The group's members and epochs, without offsets (KIP-848's ConsumerGroupDescribe). NOT_FOUND when there is no such group. */
  async members(group: string, origin: RequestOrigin, signal: AbortSignal): Promise<GroupDescription> {
    this.checkGroup(origin, 'describe', group);
    const description = await this.#ctx.coordinator.describeGroup(group, { signal: deadline(signal) });
    if (description === null) throw noSuchGroup(group);
    return description;
  }

  async delete(group: string, origin: RequestOrigin, signal: AbortSignal): Promise<void> {
    this.checkGroup(origin, 'delete', group);
    if (!(await this.#ctx.coordinator.deleteGroup(group, { signal: deadline(signal) }))) throw noSuchGroup(group);
  }

  /**
   * A new member (epoch 0). Subscribing to a topic that does not exist is refused (Kafka would wait
   * for it): a typo would otherwise consume nothing, silently.
   */
  async join(group: string, topics: readonly string[], settings: MemberSettings, origin: RequestOrigin, signal: AbortSignal, options: JoinOptions = {}): Promise<GroupHeartbeatResponse> {
    this.checkGroup(origin, 'read', group);
    const subscribed = [...new Set(topics)];
    this.#checkTopics(origin, 'describe', subscribed);
    await this.#checkSubscription(subscribed, options.unknownTopics ?? 'refuse');
    return this.#heartbeat(group, settings, { memberId: options.memberId ?? randomUUID(), memberEpoch: 0, subscribedTopics: subscribed }, signal);
  }

  async heartbeat(group: string, memberId: string, request: HeartbeatRequest, origin: RequestOrigin, signal: AbortSignal, unknownTopics: UnknownTopics = 'refuse'): Promise<GroupHeartbeatResponse> {
    this.checkGroup(origin, 'read', group);
    const topics = request.topics === undefined ? undefined : [...new Set(request.topics)];
    if (topics !== undefined) this.#checkTopics(origin, 'describe', topics);
    if (topics !== undefined) await this.#checkSubscription(topics, unknownTopics);
    return this.#heartbeat(group, request, {
      memberId,
      memberEpoch: request.memberEpoch,
      ...(topics !== undefined ? { subscribedTopics: topics } : {}),
      // The coordinator checks the limits of the owned partitions.
      ...(request.ownedPartitions !== undefined ? { ownedPartitions: request.ownedPartitions } : {}),
    }, signal);
  }

  async leave(group: string, memberId: string, origin: RequestOrigin, signal: AbortSignal): Promise<void> {
    this.checkGroup(origin, 'read', group);
    if (!(await this.#ctx.coordinator.leaveGroup(group, memberId, { signal: deadline(signal) }))) {
      throw new StrataError('UNKNOWN_MEMBER_ID', `member "${memberId}" is not in group "${group}"`, {
        details: { reason: 'UNKNOWN_MEMBER_ID', group, memberId },
      });
    }
  }

  /** Commits offsets (as a member, or standalone with member null). Every partition must exist here: a commit naming an unknown one changes nothing. */
  async commit(group: string, member: { memberId: string; memberEpoch: number } | { memberId: string; generationId: number } | null, offsets: OffsetCommit[], origin: RequestOrigin, signal: AbortSignal): Promise<number> {
    this.checkGroup(origin, 'read', group);
    this.#checkTopics(origin, 'read', offsets.map((o) => o.topic));
    await this.#syncUnknown(offsets.map((o) => o.topic));
    for (const o of offsets) this.#ctx.registry.partition(o.topic, o.partition);
    await this.#ctx.coordinator.commitOffsets(group, member, offsets, { signal: deadline(signal) });
    return offsets.length;
  }

  /** The group's committed offsets of the topics the principal may describe (Kafka's OffsetFetch leaves the others out). */
  async fetchOffsets(group: string, topic: string | null, origin: RequestOrigin, signal: AbortSignal): Promise<GroupOffsetView[]> {
    this.checkGroup(origin, 'describe', group);
    if (topic !== null && topic !== '') this.#checkTopics(origin, 'describe', [topic]);
    const all = await this.#ctx.coordinator.fetchOffsets(group, { signal: deadline(signal), ...(topic !== null && topic !== '' ? { topic } : {}) });
    const visible = this.topicsAllowed(origin, 'describe', all.map((o) => o.topic));
    const committed = all.filter((o) => visible.has(o.topic));
    await this.#syncUnknown(committed.map((o) => o.topic));
    return committed.map((c) => this.#withLag(c));
  }

  /** Moves an empty group's offsets of `topic` (all partitions, or those listed) to the target; answers the offsets it set. */
  async reset(group: string, topicName: string, partitions: readonly number[] | undefined, target: ResetTarget, origin: RequestOrigin, signal: AbortSignal): Promise<OffsetCommit[]> {
    this.checkGroup(origin, 'read', group);
    this.#checkTopics(origin, 'read', [topicName]);
    const { registry, coordinator } = this.#ctx;
    await this.#syncUnknown([topicName]);
    const topic = registry.get(topicName);
    const handles = partitions !== undefined ? [...new Set(partitions)].map((p) => registry.partition(topicName, p)) : topic.partitions;
    const coordSignal = deadline(signal);
    // Refuse early (and without lookups) while the group has members; resetOffsets checks it again atomically.
    const description = await coordinator.describeGroup(group, { signal: coordSignal });
    if (description !== null && description.members.length > 0) {
      throw new StrataError('NON_EMPTY_GROUP', `group "${group}" has ${description.members.length} member(s): reset offsets only while it has none`, {
        details: { reason: 'NON_EMPTY_GROUP', group, members: description.members.length },
      });
    }
    const lookup = (handle: PartitionHandle, at: 'earliest' | 'latest' | number): Promise<number> => this.#data.offsetAnywhere(handle, at, origin, coordSignal);
    const offsetFor = async (handle: PartitionHandle): Promise<number> => {
      if (target.to === 'earliest' || target.to === 'latest') return lookup(handle, target.to);
      if (target.to === 'timestamp') return lookup(handle, target.value);
      // An explicit offset is clamped into [log start, high watermark], as Kafka's tool does.
      const [start, end] = await Promise.all([lookup(handle, 'earliest'), lookup(handle, 'latest')]);
      return Math.min(Math.max(target.value, start), end);
    };
    const offsets: OffsetCommit[] = [];
    for (let i = 0; i < handles.length; i += RESET_LOOKUP_CONCURRENCY) {
      const slice = handles.slice(i, i + RESET_LOOKUP_CONCURRENCY);
      const found = await Promise.all(slice.map(offsetFor));
      slice.forEach((h, j) => offsets.push({ topic: h.topic, partition: h.partition, offset: found[j]! }));
    }
    await coordinator.resetOffsets(group, offsets, { signal: coordSignal });
    return offsets;
  }

  /** A join (epoch 0) or a heartbeat: the member's fields, plus the timeouts and client id given and the topic catalogue. */
  #heartbeat(
    group: string,
    settings: MemberSettings,
    member: Pick<GroupHeartbeatRequest, 'memberId' | 'memberEpoch' | 'subscribedTopics' | 'ownedPartitions'>,
    signal: AbortSignal,
  ): Promise<GroupHeartbeatResponse> {
    return this.#ctx.coordinator.groupHeartbeat(
      group,
      {
        ...member,
        // Omitted: the coordinator's default on a join, unchanged on a heartbeat (KIP-848).
        ...(settings.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: settings.sessionTimeoutMs } : {}),
        ...(settings.rebalanceTimeoutMs !== undefined ? { rebalanceTimeoutMs: settings.rebalanceTimeoutMs } : {}),
        ...(settings.clientId !== undefined ? { clientId: settings.clientId } : {}),
        topicPartitions: this.#topicCounts(),
      },
      { signal: deadline(signal) },
    );
  }

  /** A subscription's topics: known here after a sync, or refused (UNKNOWN_TOPIC) unless unknown ones may wait. */
  async #checkSubscription(topics: readonly string[], unknownTopics: UnknownTopics): Promise<void> {
    await this.#syncUnknown(topics);
    if (unknownTopics === 'refuse') for (const t of topics) this.#ctx.registry.get(t);
  }

  /** Clustered: a topic this broker has not seen yet may have been created through another broker. */
  async #syncUnknown(topics: readonly string[]): Promise<void> {
    const { registry, cluster } = this.#ctx;
    if (topics.some((t) => !registry.has(t))) await cluster.node.syncTopics().catch(() => undefined);
  }

  /** Partition counts of every topic this broker knows (the coordinator takes the whole catalogue). */
  #topicCounts(): Record<string, number> {
    // fromEntries defines own keys: a topic named `__proto__` is a key like any other (`counts[name] = n`
    // on `{}` would set the prototype instead, and the group would never be assigned that topic).
    return Object.fromEntries(this.#ctx.registry.list().map((topic) => [topic.name, topic.partitionCount]));
  }

  #withLag(committed: CommittedOffset): GroupOffsetView {
    const { registry } = this.#ctx;
    const handle = registry.has(committed.topic) && committed.partition < registry.get(committed.topic).partitionCount
      ? registry.partition(committed.topic, committed.partition)
      : null;
    const hw = handle === null ? null : this.#data.highWatermarkAnywhere(handle);
    return {
      topic: committed.topic,
      partition: committed.partition,
      offset: committed.offset,
      metadata: committed.metadata,
      highWatermark: hw,
      lag: hw === null ? null : Math.max(0, hw - committed.offset),
      committedAtMs: committed.committedAtMs,
    };
  }

  /** Every partition of the group's topics (and every committed one), with committed offset and lag. */
  #partitionsView(topics: readonly string[], committed: CommittedOffset[]): GroupOffsetView[] {
    const { registry } = this.#ctx;
    const byKey = new Map(committed.map((c) => [`${c.topic}/${c.partition}`, this.#withLag(c)]));
    for (const topic of topics) {
      if (!registry.has(topic)) continue;
      for (const handle of registry.get(topic).partitions) {
        const key = `${topic}/${handle.partition}`;
        if (byKey.has(key)) continue;
        byKey.set(key, { topic, partition: handle.partition, offset: null, metadata: '', highWatermark: this.#data.highWatermarkAnywhere(handle), lag: null, committedAtMs: null });
      }
    }
    return [...byKey.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }
}

/** The caller's signal, bounded by the deadline of one coordinator call. */
function deadline(signal: AbortSignal): AbortSignal {
  return AbortSignal.any([signal, AbortSignal.timeout(COORDINATOR_CALL_MS)]);
}

function noSuchGroup(group: string): StrataError {
  return new StrataError('NOT_FOUND', `group "${group}" does not exist`, { details: { reason: 'GROUP_ID_NOT_FOUND', group } });
}

/** The stored generation with the consumer protocol's bytes decoded (another protocol type shows no topics or partitions). */
function classicView(stored: ClassicGroupState): ClassicGroupView {
  const consumer = stored.protocolType === 'consumer';
  return {
    generation: stored.generation,
    protocolType: stored.protocolType,
    protocol: stored.protocol,
    leader: stored.leader,
    members: stored.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscribedTopics: consumer ? (consumerSubscriptionTopics(Buffer.from(m.metadata, 'base64')) ?? []) : [],
      assigned: consumer ? (consumerAssignmentPartitions(Buffer.from(m.assignment, 'base64')) ?? []) : [],
    })),
  };
}

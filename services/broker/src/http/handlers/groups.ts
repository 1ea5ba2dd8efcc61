// Consumer groups over HTTP (docs/architecture.md#groups, #http-api): membership and heartbeats, offset commits,
// lag, reset, describe, list, delete. The protocol itself is the coordinator's
// (packages/coord: groupHeartbeat, commitOffsets, ...); this file validates input at the edge
// (group ids before anything reaches the coordinator; topics and partitions against the
// registry, so a commit for an unknown partition changes nothing), passes the broker's topic
// catalogue as the partition counts, and joins committed offsets with high watermarks.

import { randomUUID } from 'node:crypto';
import {
  Checks,
  checkGroupId,
  type CommittedOffset,
  type GroupDescription,
  type GroupHeartbeatRequest,
  type GroupHeartbeatResponse,
  type OffsetCommit,
} from '@strata/coord';
import type { ReplyBody } from '@strata/api';
import { StrataError } from '@strata/protocol';
import type { BrokerContext } from '../../context.js';
import { DataCore, type OffsetAt } from '../../core/data.js';
import type { PartitionHandle } from '../../topics/topic-registry.js';
import { readRequestJson } from '../body.js';
import type { Handler, RequestContext } from '../router.js';

type GroupRoute =
  | 'listGroups'
  | 'describeGroup'
  | 'deleteGroup'
  | 'joinGroup'
  | 'groupHeartbeat'
  | 'leaveGroup'
  | 'commitGroupOffsets'
  | 'fetchGroupOffsets'
  | 'resetGroupOffsets';

/** Group request bodies are small: a commit of many partitions is a few hundred KiB at most. */
const GROUP_BODY_BYTES_MAX = 1024 * 1024;
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

export function groupHandlers(ctx: BrokerContext, data: DataCore = new DataCore(ctx)): Record<GroupRoute, Handler> {
  const { registry } = ctx;
  const coordSignal = (rc: RequestContext): AbortSignal => AbortSignal.any([rc.signal, AbortSignal.timeout(COORDINATOR_CALL_MS)]);

  /** The {group} path parameter, checked by coord's rule before anything reaches the coordinator. */
  const groupParam = (rc: RequestContext): string => {
    const c = new Checks('group');
    checkGroupId(c, 'group', rc.params.group);
    c.done();
    return rc.params.group!;
  };

  /** Clustered: a topic this broker has not seen yet may have been created through another broker. */
  const syncUnknown = async (topics: readonly string[]): Promise<void> => {
    if (ctx.cluster !== null && topics.some((t) => !registry.has(t))) await ctx.cluster.node.syncTopics().catch(() => undefined);
  };

  /** Partition counts of every topic this broker knows (the coordinator takes the whole catalogue). */
  const topicCounts = (): Record<string, number> =>
    // fromEntries defines own keys: a topic named `__proto__` is a key like any other (`counts[name] = n`
    // on `{}` would set the prototype instead, and the group would never be assigned that topic).
    Object.fromEntries(registry.list().map((topic) => [topic.name, topic.partitionCount]));

  /** A join (epoch 0) or a heartbeat: the member's fields, plus the timeouts and client id the body carries and the topic catalogue. */
  const heartbeat = (
    rc: RequestContext,
    group: string,
    body: { sessionTimeoutMs?: number; rebalanceTimeoutMs?: number; clientId?: string },
    member: Pick<GroupHeartbeatRequest, 'memberId' | 'memberEpoch' | 'subscribedTopics' | 'ownedPartitions'>,
  ): Promise<GroupHeartbeatResponse> =>
    ctx.coordinator.groupHeartbeat(
      group,
      {
        ...member,
        // Omitted: the coordinator's default on a join, unchanged on a heartbeat (KIP-848).
        ...(body.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: body.sessionTimeoutMs } : {}),
        ...(body.rebalanceTimeoutMs !== undefined ? { rebalanceTimeoutMs: body.rebalanceTimeoutMs } : {}),
        ...(body.clientId !== undefined ? { clientId: body.clientId } : {}),
        topicPartitions: topicCounts(),
      },
      { signal: coordSignal(rc) },
    );

  /** Offsets and high watermarks wherever a partition is led: the data core decides where to ask. */
  const hwOf = (handle: PartitionHandle): number => data.highWatermarkAnywhere(handle);
  const lookupAnywhere = (handle: PartitionHandle, at: OffsetAt, signal: AbortSignal): Promise<number> => data.offsetAnywhere(handle, at, signal);

  const withLag = (committed: CommittedOffset): GroupOffsetView => {
    const handle = registry.has(committed.topic) && committed.partition < registry.get(committed.topic).partitionCount
      ? registry.partition(committed.topic, committed.partition)
      : null;
    const hw = handle === null ? null : hwOf(handle);
    return {
      topic: committed.topic,
      partition: committed.partition,
      offset: committed.offset,
      metadata: committed.metadata,
      highWatermark: hw,
      lag: hw === null ? null : Math.max(0, hw - committed.offset),
      committedAtMs: committed.committedAtMs,
    };
  };

  /** Every partition of the group's topics (and every committed one), with committed offset and lag. */
  const partitionsView = (description: GroupDescription | null, committed: CommittedOffset[]): GroupOffsetView[] => {
    const byKey = new Map(committed.map((c) => [`${c.topic}/${c.partition}`, withLag(c)]));
    for (const topic of Object.keys(description?.topicPartitions ?? {})) {
      if (!registry.has(topic)) continue;
      for (const handle of registry.get(topic).partitions) {
        const key = `${topic}/${handle.partition}`;
        if (byKey.has(key)) continue;
        byKey.set(key, { topic, partition: handle.partition, offset: null, metadata: '', highWatermark: hwOf(handle), lag: null, committedAtMs: null });
      }
    }
    return [...byKey.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  };

  return {
    listGroups: async (rc) => ({ status: 200, json: { groups: await ctx.coordinator.listGroups({ signal: coordSignal(rc) }) } satisfies ReplyBody<'listGroups'> }),

    describeGroup: async (rc) => {
      const group = groupParam(rc);
      const signal = coordSignal(rc);
      const description = await ctx.coordinator.describeGroup(group, { signal });
      if (description === null) throw new StrataError('NOT_FOUND', `group "${group}" does not exist`, { details: { reason: 'GROUP_ID_NOT_FOUND', group } });
      await syncUnknown(Object.keys(description.topicPartitions));
      const committed = await ctx.coordinator.fetchOffsets(group, { signal });
      const owners = new Map<string, string>();
      for (const m of description.members) for (const tp of m.assignment) for (const p of tp.partitions) owners.set(`${tp.topic}/${p}`, m.memberId);
      const partitions = partitionsView(description, committed).map((p) => ({ ...p, owner: owners.get(`${p.topic}/${p.partition}`) ?? null }));
      return { status: 200, json: { ...description, partitions } satisfies ReplyBody<'describeGroup'> };
    },

    deleteGroup: async (rc) => {
      const group = groupParam(rc);
      const deleted = await ctx.coordinator.deleteGroup(group, { signal: coordSignal(rc) });
      if (!deleted) throw new StrataError('NOT_FOUND', `group "${group}" does not exist`, { details: { reason: 'GROUP_ID_NOT_FOUND', group } });
      return { status: 204 };
    },

    joinGroup: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'joinGroup', GROUP_BODY_BYTES_MAX);
      const subscribed = [...new Set(body.topics)];
      await syncUnknown(subscribed);
      // Subscribing to a topic that does not exist is refused (Kafka would wait for it): a typo
      // would otherwise consume nothing, silently.
      for (const t of subscribed) registry.get(t);
      const answer = await heartbeat(rc, group, body, { memberId: randomUUID(), memberEpoch: 0, subscribedTopics: subscribed });
      return { status: 200, json: answer satisfies ReplyBody<'joinGroup'> };
    },

    groupHeartbeat: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'groupHeartbeat', GROUP_BODY_BYTES_MAX);
      const topics = body.topics === undefined ? undefined : [...new Set(body.topics)];
      if (topics !== undefined) {
        await syncUnknown(topics);
        for (const t of topics) registry.get(t);
      }
      const answer = await heartbeat(rc, group, body, {
        memberId: rc.params.member!,
        memberEpoch: body.memberEpoch,
        ...(topics !== undefined ? { subscribedTopics: topics } : {}),
        // The coordinator checks the limits of the owned partitions.
        ...(body.ownedPartitions !== undefined ? { ownedPartitions: body.ownedPartitions } : {}),
      });
      return { status: 200, json: answer satisfies ReplyBody<'joinGroup'> };
    },

    leaveGroup: async (rc) => {
      const group = groupParam(rc);
      const left = await ctx.coordinator.leaveGroup(group, rc.params.member!, { signal: coordSignal(rc) });
      if (!left) {
        throw new StrataError('UNKNOWN_MEMBER_ID', `member "${rc.params.member!}" is not in group "${group}"`, {
          details: { reason: 'UNKNOWN_MEMBER_ID', group, memberId: rc.params.member! },
        });
      }
      return { status: 204 };
    },

    commitGroupOffsets: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'commitGroupOffsets', GROUP_BODY_BYTES_MAX);
      const standalone = body.memberId === undefined || body.memberId === null;
      if (!standalone && body.memberEpoch === undefined) {
        throw new StrataError('INVALID_REQUEST', 'commitGroupOffsets: a commit with memberId needs memberEpoch, a non-negative integer', {
          details: { problems: [{ code: 'INVALID_REQUEST', field: '/memberEpoch', message: 'memberEpoch is required with memberId' }] },
        });
      }
      const offsets: OffsetCommit[] = body.offsets;
      // Every partition must exist here: a commit naming an unknown one changes nothing.
      await syncUnknown(offsets.map((o) => o.topic));
      for (const o of offsets) registry.partition(o.topic, o.partition);
      const member = standalone ? null : { memberId: body.memberId!, memberEpoch: body.memberEpoch! };
      await ctx.coordinator.commitOffsets(group, member, offsets, { signal: coordSignal(rc) });
      return { status: 200, json: { committed: offsets.length } satisfies ReplyBody<'commitGroupOffsets'> };
    },

    fetchGroupOffsets: async (rc) => {
      const group = groupParam(rc);
      const topic = rc.query.get('topic');
      const committed = await ctx.coordinator.fetchOffsets(group, { signal: coordSignal(rc), ...(topic !== null && topic !== '' ? { topic } : {}) });
      await syncUnknown(committed.map((o) => o.topic));
      return { status: 200, json: { offsets: committed.map(withLag) } satisfies ReplyBody<'fetchGroupOffsets'> };
    },

    resetGroupOffsets: async (rc) => {
      const group = groupParam(rc);
      const body = await readRequestJson(rc.req, 'resetGroupOffsets', GROUP_BODY_BYTES_MAX);
      const to = body.to;
      if ((to === 'offset' || to === 'timestamp') && body.value === undefined) {
        throw new StrataError('INVALID_REQUEST', `resetGroupOffsets: to=${to} needs value, a non-negative integer`, {
          details: { problems: [{ code: 'INVALID_REQUEST', field: '/value', message: `value is required with to=${to}` }] },
        });
      }
      const topicName = body.topic;
      await syncUnknown([topicName]);
      const topic = registry.get(topicName);
      const handles = body.partitions !== undefined ? [...new Set(body.partitions)].map((p) => registry.partition(topicName, p)) : topic.partitions;
      const signal = coordSignal(rc);
      // Refuse early (and without lookups) while the group has members; resetOffsets checks it again atomically.
      const description = await ctx.coordinator.describeGroup(group, { signal });
      if (description !== null && description.members.length > 0) {
        throw new StrataError('NON_EMPTY_GROUP', `group "${group}" has ${description.members.length} member(s): reset offsets only while it has none`, {
          details: { reason: 'NON_EMPTY_GROUP', group, members: description.members.length },
        });
      }
      const value = body.value ?? 0;
      const target = async (handle: PartitionHandle): Promise<number> => {
        if (to === 'earliest' || to === 'latest') return lookupAnywhere(handle, to, signal);
        if (to === 'timestamp') return lookupAnywhere(handle, value, signal);
        // An explicit offset is clamped into [log start, high watermark], as Kafka's tool does.
        const [start, end] = await Promise.all([lookupAnywhere(handle, 'earliest', signal), lookupAnywhere(handle, 'latest', signal)]);
        return Math.min(Math.max(value, start), end);
      };
      const offsets: OffsetCommit[] = [];
      for (let i = 0; i < handles.length; i += RESET_LOOKUP_CONCURRENCY) {
        const slice = handles.slice(i, i + RESET_LOOKUP_CONCURRENCY);
        const found = await Promise.all(slice.map(target));
        slice.forEach((h, j) => offsets.push({ topic: h.topic, partition: h.partition, offset: found[j]! }));
      }
      await ctx.coordinator.resetOffsets(group, offsets, { signal });
      return { status: 200, json: { offsets: offsets.map(({ topic: t, partition, offset }) => ({ topic: t, partition, offset })) } satisfies ReplyBody<'resetGroupOffsets'> };
    },
  };
}

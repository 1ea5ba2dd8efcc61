// The Redis engine's groups and committed offsets: the member protocol runs in Lua
// (group-heartbeat.lua and its kin); this side encodes the requests, decodes the answers into the
// shapes ../groups.ts describes, and keeps the index of groups (admission, expiry passes).

import type {
  CallOptions,
  ClassicGroupMember,
  ClassicGroupState,
  CommittedOffset,
  GroupDescription,
  GroupExpiry,
  GroupExpiryRequest,
  GroupHeartbeatRequest,
  GroupHeartbeatResponse,
  GroupListing,
  GroupMember,
  OffsetCommit,
} from '../coordinator.js';
import { COORDINATOR_DEFAULTS } from '../defaults.js';
import { dict } from '../dict.js';
import { describeCore, heartbeatIntervalMs, toTopicPartitions, type GroupCore } from '../groups.js';
import { listGroupsBy, offsetField, sortOffsets, withClassic } from '../results.js';
import { Checks, LIMITS, checkGroupId } from '../validate.js';
import { decodeCounts, decodeMember, decodeOffset, decodePartitionMap, encodeOffset, int } from './codec.js';
import type { RedisConnection } from './connection.js';

export async function groupHeartbeat(c: RedisConnection, group: string, request: GroupHeartbeatRequest, options?: CallOptions): Promise<GroupHeartbeatResponse> {
  c.args.groupHeartbeat(group, request);
  const r = request;
  return c.call(`groupHeartbeat ${group}`, { group, memberId: r.memberId }, options, async () => {
    // The index first: it may name a group that does not exist (listGroups skips it), never miss one.
    if (r.memberEpoch === 0) await admitGroup(c, group);
    const reply = (await c.eval(
      'group-heartbeat',
      [c.keys.groupMeta(group), c.keys.groupMembers(group)],
      [
        r.memberId,
        r.memberEpoch,
        r.subscribedTopics === undefined ? '' : JSON.stringify(r.subscribedTopics),
        r.ownedPartitions === undefined || r.ownedPartitions === null
          ? ''
          : JSON.stringify(r.ownedPartitions.map((tp) => ({ topic: tp.topic, partitions: tp.partitions }))),
        r.sessionTimeoutMs ?? '',
        r.rebalanceTimeoutMs ?? '',
        r.clientId === undefined ? '0' : '1',
        r.clientId ?? '',
        JSON.stringify(r.topicPartitions),
        COORDINATOR_DEFAULTS.groupRebalanceTimeoutMs,
        c.groupLimits.groupMembersMax,
        LIMITS.groupPartitionsMax,
        COORDINATOR_DEFAULTS.groupSessionTimeoutMs,
      ],
    )) as unknown[];
    return {
      memberId: r.memberId,
      memberEpoch: int(reply[0], 'member epoch'),
      groupEpoch: int(reply[1], 'group epoch'),
      assignment: toTopicPartitions(decodePartitionMap(String(reply[2]))),
      // The member's stored timeout: the request may have left it out (unchanged).
      heartbeatIntervalMs: heartbeatIntervalMs(int(reply[3], 'session timeout'), r.memberEpoch === 0 || reply[4] === '1'),
    };
  });
}

export async function leaveGroup(c: RedisConnection, group: string, memberId: string, options?: CallOptions): Promise<boolean> {
  c.args.leaveGroup(group, memberId);
  return c.call(`leaveGroup ${group}`, { group, memberId }, options, async () => {
    return (await c.eval('group-leave', [c.keys.groupMeta(group), c.keys.groupMembers(group)], [memberId])) === 1;
  });
}

export async function describeGroup(c: RedisConnection, group: string, options?: CallOptions): Promise<GroupDescription | null> {
  c.args.describeGroup(group);
  return c.call(`describeGroup ${group}`, { group }, options, () => describe(c, group));
}

async function describe(c: RedisConnection, group: string): Promise<GroupDescription | null> {
  const keys = [c.keys.groupMeta(group), c.keys.groupMembers(group), c.keys.groupOffsets(group)];
  const reply = (await c.eval('group-describe', keys, [])) as unknown[];
  if (reply.length === 0) return null;
  const core: GroupCore = {
    groupEpoch: int(reply[0], 'group epoch'),
    assignmentEpoch: int(reply[1], 'assignment epoch'),
    topics: decodeCounts(String(reply[2])),
    members: dict(),
  };
  for (let i = 4; i + 1 < reply.length; i += 2) core.members[String(reply[i])] = decodeMember(String(reply[i + 1]));
  return withClassic(describeCore(group, core), decodeClassic(String(reply[3])) ?? undefined);
}

export async function listGroups(c: RedisConnection, options?: CallOptions): Promise<GroupListing[]> {
  return c.call('listGroups', {}, options, async () => {
    const names = await c.redis.smembers(c.keys.groups());
    // Names were validated when they were added; the index is ours, but check again before use.
    const valid = names.filter((g) => checkGroupId(new Checks('listGroups'), 'group', g));
    return listGroupsBy(valid, (group) => describe(c, group));
  });
}

export async function deleteGroup(c: RedisConnection, group: string, options?: CallOptions): Promise<boolean> {
  c.args.deleteGroup(group);
  return c.call(`deleteGroup ${group}`, { group }, options, async () => {
    const keys = [c.keys.groupMeta(group), c.keys.groupMembers(group), c.keys.groupOffsets(group)];
    const deleted = (await c.eval('group-delete', keys, [])) === 1;
    await c.redis.srem(c.keys.groups(), group);
    // A join that raced the delete may have re-created the group after its SADD: put it back.
    if ((await c.redis.exists(...keys)) > 0) await c.redis.sadd(c.keys.groups(), group);
    return deleted;
  });
}

export async function commitOffsets(c: RedisConnection, group: string, member: GroupMember | ClassicGroupMember | null, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
  c.args.commitOffsets(group, member, offsets);
  return c.call(`commitOffsets ${group}`, { group }, options, async () => {
    if (member === null) await admitGroup(c, group);
    await c.eval(
      'commit-offsets',
      [c.keys.groupMeta(group), c.keys.groupMembers(group), c.keys.groupOffsets(group)],
      [
        member?.memberId ?? '',
        member === null ? 0 : 'generationId' in member ? member.generationId : member.memberEpoch,
        member !== null && 'generationId' in member ? 'generation' : 'epoch',
        c.groupLimits.groupMetadataMaxBytes,
        ...offsetPairs(offsets),
      ],
    );
  });
}

export async function fetchOffsets(c: RedisConnection, group: string, options?: CallOptions & { topic?: string }): Promise<CommittedOffset[]> {
  c.args.fetchOffsets(group, options?.topic);
  return c.call(`fetchOffsets ${group}`, { group }, options, async () => {
    const h = await c.redis.hgetall(c.keys.groupOffsets(group));
    return sortOffsets(
      Object.entries(h)
        .map(([field, value]) => decodeOffset(field, value))
        .filter((o) => options?.topic === undefined || o.topic === options.topic),
    );
  });
}

export async function resetOffsets(c: RedisConnection, group: string, offsets: readonly OffsetCommit[], options?: CallOptions): Promise<void> {
  c.args.resetOffsets(group, offsets);
  return c.call(`resetOffsets ${group}`, { group }, options, async () => {
    await admitGroup(c, group);
    await c.eval(
      'reset-offsets',
      [c.keys.groupMeta(group), c.keys.groupMembers(group), c.keys.groupOffsets(group)],
      [c.groupLimits.groupMetadataMaxBytes, ...offsetPairs(offsets)],
    );
  });
}

/** Lists the group in the index unless that would pass groupsMax (GROUP_LIMIT_REACHED): before any script that may create it. */
async function admitGroup(c: RedisConnection, group: string): Promise<void> {
  await c.eval('group-admit', [c.keys.groups()], [group, c.groupLimits.groupsMax]);
}

export async function expireGroups(c: RedisConnection, request: GroupExpiryRequest, options?: CallOptions): Promise<GroupExpiry> {
  c.args.expireGroups(request);
  // The engine's own part: its cursor is a SCAN cursor.
  const checks = new Checks('expireGroups');
  if (request.cursor !== undefined && request.cursor !== '' && !/^\d{1,20}$/.test(request.cursor)) checks.add('INVALID_REQUEST', 'cursor', 'cursor must be the string a previous pass returned');
  checks.done();
  return c.call('expireGroups', {}, options, async () => {
    // SSCAN's COUNT is a hint: a small set (a listpack, up to 128 entries by default) comes back whole.
    const [next, names] = await c.redis.sscan(c.keys.groups(), request.cursor === undefined || request.cursor === '' ? '0' : request.cursor, 'COUNT', request.groupsMax);
    const out: GroupExpiry = { cursor: next === '0' ? '' : next, groupsVisited: 0, offsetsExpired: 0, groupsDeleted: 0 };
    for (const group of new Set(names)) {
      if (!checkGroupId(new Checks('expireGroups'), 'group', group)) continue;
      out.groupsVisited++;
      const keys = [c.keys.groupMeta(group), c.keys.groupMembers(group), c.keys.groupOffsets(group)];
      const reply = (await c.eval('group-expire', keys, [request.offsetsRetentionMs])) as unknown[];
      out.offsetsExpired += int(reply[1], 'offsets expired');
      if (int(reply[0], 'group deleted') !== 1) continue;
      out.groupsDeleted++;
      await c.redis.srem(c.keys.groups(), group);
      // A join that raced the pass may have re-created the group after its admission: put it back.
      if ((await c.redis.exists(...keys)) > 0) await c.redis.sadd(c.keys.groups(), group);
    }
    return out;
  });
}

function offsetPairs(offsets: readonly OffsetCommit[]): string[] {
  const out: string[] = [];
  for (const o of offsets) out.push(offsetField(o.topic, o.partition), encodeOffset(o.offset, o.metadata ?? ''));
  return out;
}

export async function deleteOffsets(c: RedisConnection, group: string, partitions: readonly { topic: string; partition: number }[], options?: CallOptions): Promise<number> {
  c.args.deleteOffsets(group, partitions);
  return c.call(`deleteOffsets ${group}`, { group }, options, async () => {
    if (partitions.length === 0) return 0;
    // One key: HDEL is atomic on its own; an emptied hash is gone, and the expiry pass drops the group.
    return c.redis.hdel(c.keys.groupOffsets(group), ...partitions.map((p) => offsetField(p.topic, p.partition)));
  });
}

export async function loadClassicGroup(c: RedisConnection, group: string, options?: CallOptions): Promise<ClassicGroupState | null> {
  c.args.loadClassicGroup(group);
  return c.call(`loadClassicGroup ${group}`, { group }, options, async () => decodeClassic((await c.redis.hget(c.keys.groupMeta(group), 'classic')) ?? ''));
}

export async function storeClassicGroup(c: RedisConnection, group: string, state: ClassicGroupState, options?: CallOptions): Promise<void> {
  c.args.storeClassicGroup(group, state);
  return c.call(`storeClassicGroup ${group}`, { group }, options, async () => {
    await admitGroup(c, group);
    await c.eval('classic-store', [c.keys.groupMeta(group), c.keys.groupMembers(group)], [JSON.stringify(state), state.generation, state.members.length]);
  });
}

/** A stored classic generation ("": none). It was checked before it was stored; a field that is not one is corruption. */
function decodeClassic(text: string): ClassicGroupState | null {
  if (text === '') return null;
  const parsed = JSON.parse(text) as ClassicGroupState;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.members) || typeof parsed.generation !== 'number') {
    throw new Error('corrupt coordinator field: group classic');
  }
  return parsed;
}

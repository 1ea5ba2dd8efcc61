// Input checks of the consumer-group calls (KIP-848 heartbeats, classic generations, offset
// commits, expiry), shared by both engines like the rest of validate.ts.

import { describeValue } from '@strata/protocol';
import type { GroupLimits } from './defaults.js';
import type { ClassicGroupMember, ClassicGroupState, GroupHeartbeatRequest, GroupMember, OffsetCommit } from './coordinator.js';
import { CONTROL_CHARS, Checks, LIMITS, checkEpoch, checkInt, checkMemberId, checkOffset, checkPartition, checkTopicName, isRecord } from './validate.js';

export function checkGroupMember(c: Checks, m: GroupMember | ClassicGroupMember | null, allowNull: boolean): void {
  if (m === null && allowNull) return;
  if (!isRecord(m)) {
    c.add('INVALID_REQUEST', 'member', `member must be {memberId, memberEpoch}${allowNull ? ' or null' : ''}, got ${describeValue(m)}`);
    return;
  }
  checkMemberId(c, 'member.memberId', m.memberId);
  if ('generationId' in m) {
    checkInt(c, 'member.generationId', m.generationId, 0, 0x7fffffff);
    return;
  }
  checkEpoch(c, 'member.memberEpoch', m.memberEpoch);
}

/** A classic generation: bounded ids and strings, members within groupMembersMax, base64 blobs within classicMemberBytesMax. */
export function checkClassicState(c: Checks, s: ClassicGroupState, membersMax: number): void {
  if (!isRecord(s) || !Array.isArray(s.members)) {
    c.add('INVALID_REQUEST', 'state', `state must be a classic group generation, got ${describeValue(s)}`);
    return;
  }
  checkInt(c, 'state.generation', s.generation, 0, 0x7fffffff);
  for (const [field, value] of [['state.protocolType', s.protocolType], ['state.protocol', s.protocol]] as const) {
    if (typeof value !== 'string' || value.length > LIMITS.classicProtocolNameLengthMax) c.add('INVALID_REQUEST', field, `${field} must be a string of at most ${LIMITS.classicProtocolNameLengthMax} characters`);
  }
  if (s.leader !== '') checkMemberId(c, 'state.leader', s.leader);
  if (!['empty', 'reconciling', 'stable'].includes(s.state)) c.add('INVALID_REQUEST', 'state.state', `state.state must be empty, reconciling or stable, got ${describeValue(s.state)}`);
  if (s.members.length > membersMax) c.add('GROUP_MAX_SIZE_REACHED', 'state.members', `a group has at most ${membersMax} members, got ${s.members.length}`);
  const seen = new Set<string>();
  s.members.forEach((m, i) => {
    const at = `state.members[${i}]`;
    if (!isRecord(m)) return c.add('INVALID_REQUEST', at, `${at} must be a member`);
    if (checkMemberId(c, `${at}.memberId`, m.memberId) && seen.has(m.memberId)) c.add('INVALID_REQUEST', `${at}.memberId`, `${at}.memberId repeats "${m.memberId}"`);
    seen.add(m.memberId);
    if (m.groupInstanceId !== null && (typeof m.groupInstanceId !== 'string' || m.groupInstanceId.length === 0 || m.groupInstanceId.length > LIMITS.groupIdLengthMax)) {
      c.add('INVALID_REQUEST', `${at}.groupInstanceId`, `${at}.groupInstanceId must be null or 1..${LIMITS.groupIdLengthMax} characters`);
    }
    for (const f of ['clientId', 'clientHost'] as const) {
      if (typeof m[f] !== 'string' || m[f].length > LIMITS.classicProtocolNameLengthMax) c.add('INVALID_REQUEST', `${at}.${f}`, `${at}.${f} must be a string of at most ${LIMITS.classicProtocolNameLengthMax} characters`);
    }
    checkInt(c, `${at}.sessionTimeoutMs`, m.sessionTimeoutMs, 1, 0x7fffffff);
    checkInt(c, `${at}.rebalanceTimeoutMs`, m.rebalanceTimeoutMs, 1, 0x7fffffff);
    if (typeof m.metadata !== 'string' || typeof m.assignment !== 'string' || m.metadata.length + m.assignment.length > LIMITS.classicMemberBytesMax) {
      c.add('INVALID_REQUEST', `${at}.metadata`, `${at}.metadata and assignment must be base64 strings of at most ${LIMITS.classicMemberBytesMax} characters together`);
    }
  });
}

/** UTF-8 bytes of an offset's metadata: what offsetMetadataMaxBytes and groupMetadataMaxBytes count. */
export function metadataBytes(metadata: string | undefined): number {
  return metadata === undefined ? 0 : Buffer.byteLength(metadata, 'utf8');
}

/**
 * A commit's or reset's offsets: 1..offsetsPerCommitMax distinct partitions, each metadata within
 * offsetMetadataMaxBytes, and all of them together within groupMetadataMaxBytes (the engine then
 * checks what the group would store in all).
 */
export function checkOffsetCommits(c: Checks, offsets: readonly OffsetCommit[], limits: GroupLimits): void {
  if (!Array.isArray(offsets) || offsets.length === 0) {
    c.add('INVALID_REQUEST', 'offsets', `offsets must be a non-empty array, got ${describeValue(offsets)}`);
    return;
  }
  if (offsets.length > limits.offsetsPerCommitMax) {
    c.add('INVALID_REQUEST', 'offsets', `offsets has ${offsets.length} entries, over the limit of ${limits.offsetsPerCommitMax} per commit`, 'TOO_MANY_OFFSETS');
    return;
  }
  const seen = new Set<string>();
  let totalBytes = 0;
  offsets.forEach((o, i) => {
    const f = `offsets[${i}]`;
    if (!isRecord(o)) {
      c.add('INVALID_REQUEST', f, `${f} must be {topic, partition, offset, metadata?}, got ${describeValue(o)}`);
      return;
    }
    const topicOk = checkTopicName(c, `${f}.topic`, o.topic);
    const partitionOk = checkPartition(c, `${f}.partition`, o.partition);
    checkOffset(c, `${f}.offset`, o.offset);
    if (o.metadata !== undefined && typeof o.metadata !== 'string') {
      c.add('INVALID_REQUEST', `${f}.metadata`, `${f}.metadata must be a string, got ${describeValue(o.metadata)}`);
    } else {
      const bytes = metadataBytes(o.metadata);
      totalBytes += bytes;
      if (bytes > limits.offsetMetadataMaxBytes) {
        c.add('OFFSET_METADATA_TOO_LARGE', `${f}.metadata`, `${f}.metadata is ${bytes} bytes, over the limit of ${limits.offsetMetadataMaxBytes} (offset.metadata.max.bytes)`, 'OFFSET_METADATA_TOO_LARGE');
      }
    }
    if (topicOk && partitionOk) {
      const id = `${o.topic}/${o.partition}`;
      if (seen.has(id)) c.add('INVALID_REQUEST', f, `${f}: ${id} appears twice`);
      seen.add(id);
    }
  });
  if (totalBytes > limits.groupMetadataMaxBytes) {
    c.add('OFFSET_METADATA_TOO_LARGE', 'offsets', `the metadata of these offsets is ${totalBytes} bytes in all, over the ${limits.groupMetadataMaxBytes} a group may store`, 'GROUP_METADATA_TOO_LARGE');
  }
}

/** An engine's group limits (options): each an integer from 1 to its ceiling in LIMITS. */
export function groupLimitsFrom(given: Partial<GroupLimits> | undefined, defaults: Readonly<GroupLimits>): GroupLimits {
  const limits: GroupLimits = { ...defaults, ...given };
  const c = new Checks('group limits');
  checkInt(c, 'groupsMax', limits.groupsMax, 1, LIMITS.groupsMax, 'INVALID_CONFIG');
  checkInt(c, 'groupMembersMax', limits.groupMembersMax, 1, LIMITS.groupMembersMax, 'INVALID_CONFIG');
  checkInt(c, 'offsetsPerCommitMax', limits.offsetsPerCommitMax, 1, LIMITS.offsetsPerCallMax, 'INVALID_CONFIG');
  checkInt(c, 'offsetMetadataMaxBytes', limits.offsetMetadataMaxBytes, 0, LIMITS.offsetMetadataLengthMax, 'INVALID_CONFIG');
  checkInt(c, 'groupMetadataMaxBytes', limits.groupMetadataMaxBytes, 0, LIMITS.groupMetadataBytesMax, 'INVALID_CONFIG');
  c.done();
  return limits;
}

/** An expiry pass's request: a retention of 1 ms .. ~290 million years, 1..expiryGroupsPerPassMax groups, a cursor from the last pass. */
export function checkExpiryRequest(c: Checks, r: { offsetsRetentionMs: unknown; groupsMax: unknown; cursor?: unknown }): void {
  if (!isRecord(r)) {
    c.add('INVALID_REQUEST', 'request', `request must be {offsetsRetentionMs, groupsMax, cursor?}, got ${describeValue(r)}`);
    return;
  }
  checkInt(c, 'offsetsRetentionMs', r.offsetsRetentionMs, 1, Number.MAX_SAFE_INTEGER);
  checkInt(c, 'groupsMax', r.groupsMax, 1, LIMITS.expiryGroupsPerPassMax);
  if (r.cursor !== undefined && (typeof r.cursor !== 'string' || r.cursor.length > 256 || CONTROL_CHARS.test(r.cursor))) {
    c.add('INVALID_REQUEST', 'cursor', `cursor must be the string a previous pass returned, got ${describeValue(r.cursor)}`);
  }
}

/** Distinct topics, each with distinct partitions; at most `partitionsMax` partitions in all. */
export function checkTopicPartitionsList(c: Checks, field: string, list: unknown, partitionsMax: number): void {
  if (!Array.isArray(list) || list.length > partitionsMax) {
    c.add('INVALID_REQUEST', field, `${field} must be an array of {topic, partitions}, at most ${partitionsMax}, got ${describeValue(list)}`);
    return;
  }
  const topics = new Set<string>();
  let total = 0;
  list.forEach((entry: unknown, i) => {
    const f = `${field}[${i}]`;
    if (!isRecord(entry) || !Array.isArray(entry['partitions'])) {
      c.add('INVALID_REQUEST', f, `${f} must be {topic, partitions: number[]}, got ${describeValue(entry)}`);
      return;
    }
    const topic = entry['topic'];
    if (checkTopicName(c, `${f}.topic`, topic)) {
      if (topics.has(topic)) c.add('INVALID_REQUEST', f, `${f}: topic "${topic}" appears twice`);
      topics.add(topic);
    }
    const partitions = entry['partitions'] as unknown[];
    total += partitions.length;
    if (total > partitionsMax) return;
    const seen = new Set<number>();
    partitions.forEach((p, j) => {
      if (!checkPartition(c, `${f}.partitions[${j}]`, p)) return;
      if (seen.has(p)) c.add('INVALID_REQUEST', `${f}.partitions`, `${f}: partition ${p} appears twice`);
      seen.add(p);
    });
  });
  if (total > partitionsMax) c.add('INVALID_REQUEST', field, `${field} lists ${total} partitions, over ${partitionsMax}`);
}

export function checkGroupTimeout(c: Checks, field: string, ms: unknown): ms is number {
  return checkInt(c, field, ms, LIMITS.groupTimeoutMinMs, LIMITS.groupTimeoutMaxMs);
}

export function checkHeartbeatRequest(c: Checks, r: GroupHeartbeatRequest): void {
  if (!isRecord(r)) {
    c.add('INVALID_REQUEST', 'request', `request must be an object, got ${describeValue(r)}`);
    return;
  }
  checkMemberId(c, 'request.memberId', r.memberId);
  checkEpoch(c, 'request.memberEpoch', r.memberEpoch);
  const subs = r.subscribedTopics;
  if (subs === undefined) {
    if (r.memberEpoch === 0) c.add('INVALID_REQUEST', 'request.subscribedTopics', 'request.subscribedTopics is required to join (memberEpoch 0)');
  } else if (!Array.isArray(subs) || subs.length === 0 || subs.length > LIMITS.groupSubscriptionMax) {
    c.add('INVALID_REQUEST', 'request.subscribedTopics', `request.subscribedTopics must be an array of 1..${LIMITS.groupSubscriptionMax} topic names, got ${describeValue(subs)}`);
  } else {
    subs.forEach((t, i) => checkTopicName(c, `request.subscribedTopics[${i}]`, t));
    if (new Set(subs).size !== subs.length) c.add('INVALID_REQUEST', 'request.subscribedTopics', 'request.subscribedTopics has a topic twice');
  }
  if (r.ownedPartitions !== undefined && r.ownedPartitions !== null) {
    checkTopicPartitionsList(c, 'request.ownedPartitions', r.ownedPartitions, LIMITS.groupPartitionsMax);
  }
  if (r.sessionTimeoutMs !== undefined) checkGroupTimeout(c, 'request.sessionTimeoutMs', r.sessionTimeoutMs);
  if (r.rebalanceTimeoutMs !== undefined) checkGroupTimeout(c, 'request.rebalanceTimeoutMs', r.rebalanceTimeoutMs);
  if (!isRecord(r.topicPartitions)) {
    c.add('INVALID_REQUEST', 'request.topicPartitions', `request.topicPartitions must be an object {topic: partitionCount}, got ${describeValue(r.topicPartitions)}`);
  } else {
    const entries = Object.entries(r.topicPartitions);
    if (entries.length > LIMITS.groupTopicCountsMax) {
      c.add('INVALID_REQUEST', 'request.topicPartitions', `request.topicPartitions has ${entries.length} topics, over ${LIMITS.groupTopicCountsMax}`);
    } else {
      for (const [topic, count] of entries) {
        if (checkTopicName(c, 'request.topicPartitions', topic)) checkInt(c, `request.topicPartitions.${topic}`, count, 0, LIMITS.partitionsMax, 'INVALID_PARTITIONS');
      }
    }
  }
  if (r.clientId !== undefined && (typeof r.clientId !== 'string' || r.clientId.length > LIMITS.clientIdLengthMax || CONTROL_CHARS.test(r.clientId))) {
    c.add('INVALID_REQUEST', 'request.clientId', `request.clientId must be at most ${LIMITS.clientIdLengthMax} characters without control characters, got ${describeValue(r.clientId)}`);
  }
}

// Input checks shared by both engines. Everything a caller passes is checked here, in the
// caller's process, BEFORE anything reaches the backend: a hostile topic name never becomes a
// Redis key, a malformed config never becomes a stored value. Each check collects every problem
// of a call, so a caller fixes a bad request in one round trip.

import { GROUP_ID_LENGTH_MAX, StrataError, TOPIC_NAME_LENGTH_MAX, collisionKey, describeValue, groupIdProblem, topicNameProblem, type ErrorCode } from '@strata/protocol';
import type { GroupLimits } from './defaults.js';
import type {
  BrokerRegistration,
  ClassicGroupMember,
  ClassicGroupState,
  GroupHeartbeatRequest,
  GroupMember,
  LeadershipRequest,
  OffsetCommit,
  PartitionAssignment,
  PartitionStateChange,
  RemoteSegment,
  TopicConfigChange,
  TopicMetadata,
} from './coordinator.js';

/** A limit on everything (TigerBeetle style): inputs past these are refused, not stored. */
export const LIMITS = Object.freeze({
  topicNameLengthMax: TOPIC_NAME_LENGTH_MAX,
  groupIdLengthMax: GROUP_ID_LENGTH_MAX,
  brokerIdLengthMax: 64,
  memberIdLengthMax: 128,
  /** Characters of a classic group's protocol type or name, and of a member's client id or host. */
  classicProtocolNameLengthMax: 256,
  /** Base64 characters of one classic member's metadata and assignment together (the broker's own bounds are lower). */
  classicMemberBytesMax: 4 * 1024 * 1024,
  topicIdLengthMax: 64,
  /** Partitions per topic (the broker's STRATA_MAX_PARTITIONS ceiling). */
  partitionsMax: 1_000_000,
  replicasMax: 64,
  configsMax: 256,
  configKeyLengthMax: 128,
  configValueLengthMax: 4096,
  urlLengthMax: 2048,
  segmentKeyLengthMax: 1024,
  /** Ceiling of GroupLimits.offsetMetadataMaxBytes (UTF-8 bytes; Kafka's offset.metadata.max.bytes defaults to 4096). */
  offsetMetadataLengthMax: 1024 * 1024,
  /** Ceiling of GroupLimits.groupMetadataMaxBytes. */
  groupMetadataBytesMax: 64 * 1024 * 1024,
  /** Ceiling of GroupLimits.offsetsPerCommitMax. */
  offsetsPerCallMax: 10_000,
  /** Ceiling of GroupLimits.groupsMax. */
  groupsMax: 1_000_000,
  /** Groups one expiry pass may visit. */
  expiryGroupsPerPassMax: 10_000,
  /** Leader and controller epochs are int32: they are stamped into RecordBatch headers. */
  epochMax: 2 ** 31 - 1,
  /** Entries kept in a partition's epoch history (the oldest are dropped past it). */
  epochHistoryMax: 1000,
  /** Producer ids one allocateProducerIds call may take (Kafka's KIP-730 blocks are 1000). */
  producerIdBlockMax: 1_000_000,
  /** Ceiling of GroupLimits.groupMembersMax (Kafka's group.consumer.max.size): the assignor runs inside Redis. */
  groupMembersMax: 1000,
  /** Partitions one consumer group assigns (the sum over its subscribed topics): the assignor runs inside Redis. */
  groupPartitionsMax: 10_000,
  /** Topics one member subscribes to. */
  groupSubscriptionMax: 1000,
  /** Entries of a heartbeat's topicPartitions (the caller may pass its whole catalogue). */
  groupTopicCountsMax: 10_000,
  /** Session and rebalance timeouts (Kafka bounds them by broker configs; the service may narrow these). */
  groupTimeoutMinMs: 100,
  groupTimeoutMaxMs: 1_800_000,
  clientIdLengthMax: 256,
  /** Ceiling of an engine's leaseTtlMaxMs option (ms): one day. */
  leaseTtlMaxMsCeiling: 24 * 3_600_000,
});

const NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;
const TOPIC_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
const CONFIG_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const SEGMENT_KEY_PATTERN = /^[A-Za-z0-9._/-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export interface Problem {
  code: ErrorCode;
  field: string;
  message: string;
  reason?: string;
}

/** Collects problems; done() throws the first one's code with all of them listed. */
export class Checks {
  readonly problems: Problem[] = [];
  constructor(readonly what: string) {}

  add(code: ErrorCode, field: string, message: string, reason?: string): void {
    this.problems.push(reason === undefined ? { code, field, message } : { code, field, message, reason });
  }

  done(): void {
    if (this.problems.length === 0) return;
    const shown = this.problems.slice(0, 20);
    const more = this.problems.length - shown.length;
    const first = this.problems[0]!;
    throw new StrataError(first.code, `${this.what}: ${shown.map((p) => p.message).join('; ')}${more > 0 ? `; and ${more} more` : ''}`, {
      details: { ...(first.reason === undefined ? {} : { reason: first.reason }), problems: shown },
    });
  }
}

export { collisionKey, describeValue };

/** Kafka's rule (topicNameProblem in @strata/protocol, the one copy): 1..249 of [a-zA-Z0-9._-], not "." or "..". */
export function checkTopicName(c: Checks, field: string, name: unknown): name is string {
  const problem = topicNameProblem(name);
  if (problem !== null) c.add('INVALID_TOPIC', field, `${field} ${problem}`);
  return problem === null;
}

/** Group ids: the same rule (groupIdProblem in @strata/protocol). */
export function checkGroupId(c: Checks, field: string, group: unknown): group is string {
  const problem = groupIdProblem(group);
  if (problem !== null) c.add('INVALID_GROUP_ID', field, `${field} ${problem}`, 'INVALID_GROUP_ID');
  return problem === null;
}

function checkIdLike(c: Checks, field: string, value: unknown, max: number, reason?: string): value is string {
  if (typeof value === 'string' && value.length >= 1 && value.length <= max && NAME_PATTERN.test(value)) return true;
  c.add('INVALID_REQUEST', field, `${field} must be 1..${max} of [A-Za-z0-9._-], got ${describeValue(value)}`, reason);
  return false;
}

export function checkBrokerId(c: Checks, field: string, id: unknown): id is string {
  return checkIdLike(c, field, id, LIMITS.brokerIdLengthMax);
}

export function checkMemberId(c: Checks, field: string, id: unknown): id is string {
  return checkIdLike(c, field, id, LIMITS.memberIdLengthMax, 'UNKNOWN_MEMBER_ID');
}

export function checkInt(c: Checks, field: string, value: unknown, min: number, max: number, code: ErrorCode = 'INVALID_REQUEST'): value is number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return true;
  c.add(code, field, `${field} must be an integer in [${min}, ${max}], got ${describeValue(value)}`);
  return false;
}

export function checkPartition(c: Checks, field: string, partition: unknown): partition is number {
  return checkInt(c, field, partition, 0, LIMITS.partitionsMax - 1);
}

export function checkEpoch(c: Checks, field: string, epoch: unknown, min = 0): epoch is number {
  return checkInt(c, field, epoch, min, LIMITS.epochMax);
}

export function checkOffset(c: Checks, field: string, offset: unknown): offset is number {
  return checkInt(c, field, offset, 0, Number.MAX_SAFE_INTEGER);
}

export function checkTtl(c: Checks, field: string, ttlMs: unknown, maxMs: number): ttlMs is number {
  return checkInt(c, field, ttlMs, 1, maxMs);
}

/** host:port (a name, an IPv4 address or a bracketed IPv6 one; a port 1..65535). */
function checkHostPort(c: Checks, field: string, value: unknown): void {
  const match = typeof value === 'string' && value.length <= 300 ? /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value) : null;
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65_535) c.add('INVALID_REQUEST', field, `${field} must be host:port, got ${describeValue(value)}`);
}

function checkUrl(c: Checks, field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length > LIMITS.urlLengthMax || CONTROL_CHARS.test(value)) {
    c.add('INVALID_REQUEST', field, `${field} must be a URL of at most ${LIMITS.urlLengthMax} characters, got ${describeValue(value)}`);
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    c.add('INVALID_REQUEST', field, `${field} is not a URL: ${describeValue(value)}`);
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') c.add('INVALID_REQUEST', field, `${field} must be http or https, got ${describeValue(value)}`);
}

export function checkBrokerRegistration(c: Checks, b: BrokerRegistration): void {
  if (!isRecord(b)) {
    c.add('INVALID_REQUEST', 'broker', `broker must be an object, got ${describeValue(b)}`);
    return;
  }
  checkBrokerId(c, 'broker.id', b.id);
  checkUrl(c, 'broker.url', b.url);
  checkUrl(c, 'broker.internalUrl', b.internalUrl);
  if (b.kafkaAddress !== undefined && b.kafkaAddress !== null) checkHostPort(c, 'broker.kafkaAddress', b.kafkaAddress);
  if (b.rack !== null) checkIdLike(c, 'broker.rack', b.rack, LIMITS.brokerIdLengthMax);
  checkInt(c, 'broker.startedAtMs', b.startedAtMs, 0, Number.MAX_SAFE_INTEGER);
}


export function checkConfigKey(c: Checks, field: string, key: unknown): key is string {
  if (typeof key === 'string' && key.length <= LIMITS.configKeyLengthMax && CONFIG_KEY_PATTERN.test(key)) return true;
  c.add('INVALID_CONFIG', field, `${field}: config name must be 1..${LIMITS.configKeyLengthMax} of [a-z0-9._-], got ${describeValue(key)}`);
  return false;
}

export function checkConfigValue(c: Checks, field: string, value: unknown): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) c.add('INVALID_CONFIG', field, `${field} must be a finite number, got ${describeValue(value)}`);
    else if (Number.isInteger(value) && !Number.isSafeInteger(value)) c.add('INVALID_CONFIG', field, `${field} must be a safe integer, got ${value}`);
    return;
  }
  if (typeof value !== 'string') {
    c.add('INVALID_CONFIG', field, `${field} must be a string or a number, got ${describeValue(value)}`);
    return;
  }
  if (value.length > LIMITS.configValueLengthMax) c.add('INVALID_CONFIG', field, `${field} is ${value.length} characters, over ${LIMITS.configValueLengthMax}`);
  else if (CONTROL_CHARS.test(value)) c.add('INVALID_CONFIG', field, `${field} must not contain control characters`);
}

export function checkConfigs(c: Checks, field: string, configs: unknown): void {
  if (!isRecord(configs)) {
    c.add('INVALID_CONFIG', field, `${field} must be an object of {"config.name": value}, got ${describeValue(configs)}`);
    return;
  }
  const entries = Object.entries(configs);
  if (entries.length > LIMITS.configsMax) c.add('INVALID_CONFIG', field, `${field} has ${entries.length} configs, over ${LIMITS.configsMax}`);
  for (const [key, value] of entries.slice(0, LIMITS.configsMax)) {
    if (checkConfigKey(c, `${field}`, key)) checkConfigValue(c, `${field}.${key}`, value);
  }
}

export function checkTopicMetadata(c: Checks, t: TopicMetadata): void {
  if (!isRecord(t)) {
    c.add('INVALID_REQUEST', 'topic', `topic must be an object, got ${describeValue(t)}`);
    return;
  }
  checkTopicName(c, 'topic.name', t.name);
  checkTopicId(c, 'topic.topicId', t.topicId);
  checkInt(c, 'topic.partitions', t.partitions, 1, LIMITS.partitionsMax, 'INVALID_PARTITIONS');
  checkInt(c, 'topic.replicationFactor', t.replicationFactor, 1, LIMITS.replicasMax, 'INVALID_CONFIG');
  checkConfigs(c, 'topic.configs', t.configs);
  checkInt(c, 'topic.createdAtMs', t.createdAtMs, 0, Number.MAX_SAFE_INTEGER);
}

export function checkTopicId(c: Checks, field: string, id: unknown): id is string {
  if (typeof id === 'string' && id.length >= 1 && id.length <= LIMITS.topicIdLengthMax && TOPIC_ID_PATTERN.test(id)) return true;
  c.add('INVALID_REQUEST', field, `${field} must be 1..${LIMITS.topicIdLengthMax} of [A-Za-z0-9_-], got ${describeValue(id)}`);
  return false;
}

export function checkConfigChange(c: Checks, change: TopicConfigChange): void {
  if (!isRecord(change)) {
    c.add('INVALID_CONFIG', 'change', `change must be {set?, remove?}, got ${describeValue(change)}`);
    return;
  }
  if (change.set !== undefined) checkConfigs(c, 'set', change.set);
  if (change.remove !== undefined) {
    if (!Array.isArray(change.remove) || change.remove.length > LIMITS.configsMax) {
      c.add('INVALID_CONFIG', 'remove', `remove must be an array of at most ${LIMITS.configsMax} config names`);
      return;
    }
    const set = isRecord(change.set) ? change.set : {};
    for (const key of change.remove) {
      if (!checkConfigKey(c, 'remove', key)) continue;
      if (Object.prototype.hasOwnProperty.call(set, key)) c.add('INVALID_CONFIG', 'remove', `"${key}" is both set and removed`);
    }
  }
}

/** Distinct broker ids, 1..replicasMax of them (or 0 when allowEmpty). */
export function checkBrokerList(c: Checks, field: string, list: unknown, allowEmpty = false): list is string[] {
  if (!Array.isArray(list) || list.length > LIMITS.replicasMax || (!allowEmpty && list.length === 0)) {
    c.add('INVALID_REQUEST', field, `${field} must be an array of ${allowEmpty ? 0 : 1}..${LIMITS.replicasMax} broker ids, got ${describeValue(list)}`);
    return false;
  }
  const before = c.problems.length;
  list.forEach((id, i) => checkBrokerId(c, `${field}[${i}]`, id));
  if (new Set(list).size !== list.length) c.add('INVALID_REQUEST', field, `${field} has a broker id twice: [${list.join(', ')}]`);
  return c.problems.length === before;
}

export function checkAssignment(c: Checks, a: PartitionAssignment): void {
  if (!isRecord(a)) {
    c.add('INVALID_REQUEST', 'assignment', `assignment must be an object, got ${describeValue(a)}`);
    return;
  }
  checkTopicId(c, 'assignment.topicId', a.topicId);
  checkBrokerList(c, 'assignment.replicas', a.replicas);
  checkEpoch(c, 'assignment.controllerEpoch', a.controllerEpoch, 1);
}

export function checkLeadershipRequest(c: Checks, r: LeadershipRequest, ttlMaxMs: number): void {
  if (!isRecord(r)) {
    c.add('INVALID_REQUEST', 'request', `request must be an object, got ${describeValue(r)}`);
    return;
  }
  checkTopicId(c, 'request.topicId', r.topicId);
  checkBrokerId(c, 'request.brokerId', r.brokerId);
  checkTtl(c, 'request.ttlMs', r.ttlMs, ttlMaxMs);
  checkOffset(c, 'request.startOffset', r.startOffset);
  checkEpoch(c, 'request.knownEpoch', r.knownEpoch);
  if (r.clean !== undefined && typeof r.clean !== 'boolean') c.add('INVALID_REQUEST', 'request.clean', `request.clean must be a boolean, got ${describeValue(r.clean)}`);
}

export function checkStateChange(c: Checks, change: PartitionStateChange): void {
  if (!isRecord(change)) {
    c.add('INVALID_REQUEST', 'change', `change must be {isr?, highWatermark?, logStartOffset?}, got ${describeValue(change)}`);
    return;
  }
  if (change.isr !== undefined) checkBrokerList(c, 'change.isr', change.isr);
  if (change.highWatermark !== undefined) checkOffset(c, 'change.highWatermark', change.highWatermark);
  if (change.logStartOffset !== undefined) checkOffset(c, 'change.logStartOffset', change.logStartOffset);
}

export function checkSegment(c: Checks, s: RemoteSegment): void {
  if (!isRecord(s)) {
    c.add('INVALID_REQUEST', 'segment', `segment must be an object, got ${describeValue(s)}`);
    return;
  }
  if (typeof s.key !== 'string' || s.key.length === 0 || s.key.length > LIMITS.segmentKeyLengthMax || !SEGMENT_KEY_PATTERN.test(s.key)) {
    c.add('INVALID_REQUEST', 'segment.key', `segment.key must be 1..${LIMITS.segmentKeyLengthMax} of [A-Za-z0-9._/-], got ${describeValue(s.key)}`);
  }
  const baseOk = checkOffset(c, 'segment.baseOffset', s.baseOffset);
  const lastOk = checkOffset(c, 'segment.lastOffset', s.lastOffset);
  if (baseOk && lastOk && s.lastOffset < s.baseOffset) {
    c.add('INVALID_REQUEST', 'segment.lastOffset', `segment.lastOffset ${s.lastOffset} is below its baseOffset ${s.baseOffset}`);
  }
  checkInt(c, 'segment.objectBytes', s.objectBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInt(c, 'segment.dataBytes', s.dataBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInt(c, 'segment.maxTimestamp', s.maxTimestamp, -1, Number.MAX_SAFE_INTEGER);
  checkEpoch(c, 'segment.epoch', s.epoch, 1);
  checkInt(c, 'segment.uploadedAtMs', s.uploadedAtMs, 0, Number.MAX_SAFE_INTEGER);
}

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a (topic, partition) address; the most common prologue. */
export function checkAddress(what: string, topic: unknown, partition: unknown): Checks {
  const c = new Checks(what);
  checkTopicName(c, 'topic', topic);
  checkPartition(c, 'partition', partition);
  return c;
}

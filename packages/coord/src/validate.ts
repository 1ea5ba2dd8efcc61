// Input checks shared by both engines. Everything a caller passes is checked here, in the
// caller's process, BEFORE anything reaches the backend: a hostile topic name never becomes a
// Redis key, a malformed config never becomes a stored value. Each check collects every problem
// of a call, so a caller fixes a bad request in one round trip.

import { GROUP_ID_LENGTH_MAX, StrataError, TOPIC_NAME_LENGTH_MAX, collisionKey, describeValue, groupIdProblem, topicNameProblem, type ErrorCode } from '@strata/protocol';
import type {
  BrokerRegistration,
  LeadershipRequest,
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
  /** Ceiling of the in-process engine's offsetsFlushIntervalMs option (ms). */
  offsetsFlushIntervalMsCeiling: 60_000,
  /** Floor and ceiling of the in-process engine's offsetsLogRollBytes option. */
  offsetsLogRollBytesFloor: 4 * 1024,
  offsetsLogRollBytesCeiling: 1024 * 1024 * 1024,
});

const NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;
const TOPIC_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
const CONFIG_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
const SEGMENT_KEY_PATTERN = /^[A-Za-z0-9._/-]+$/;
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a (topic, partition) address; the most common prologue. */
export function checkAddress(what: string, topic: unknown, partition: unknown): Checks {
  const c = new Checks(what);
  checkTopicName(c, 'topic', topic);
  checkPartition(c, 'partition', partition);
  return c;
}

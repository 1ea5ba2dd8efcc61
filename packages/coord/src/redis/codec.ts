// How the coordinator's values are stored in Redis, both ways. Every stored number is written
// from a safe integer and read back with a check: a corrupt field is INTERNAL_ERROR, never a NaN
// that travels on.

import type {
  CommittedOffset,
  EpochEntry,
  PartitionState,
  RemoteSegment,
  TopicConfigMap,
  TopicConfigValue,
  TopicMetadata,
} from '../coordinator.js';
import { assert } from '../assert.js';
import type { MemberDoc, PartitionMap } from '../groups.js';
import { dict } from '../dict.js';
import { parseOffsetField } from '../results.js';

export function int(text: unknown, what: string, fallback?: number): number {
  if ((text === undefined || text === null || text === '') && fallback !== undefined) return fallback;
  const n = typeof text === 'number' ? text : Number(text);
  assert(typeof (text as unknown) !== 'object' && Number.isSafeInteger(n), `stored ${what} is not an integer: ${String(text)}`);
  return n;
}

/** A flat [field, value, field, value, ...] reply as a record. */
export function pairs(reply: readonly unknown[], from = 0): Record<string, string> {
  const out = dict<string>();
  for (let i = from; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

export function list(text: string | undefined): string[] {
  return text === undefined || text === '' ? [] : text.split(',');
}

// ---- topics -----------------------------------------------------------------------------------

const CONFIG_FIELD = 'c:';

function encodeConfigValue(value: TopicConfigValue): string {
  return typeof value === 'number' ? `n:${String(value)}` : `s:${value}`;
}

function decodeConfigValue(text: string, key: string): TopicConfigValue {
  if (text.startsWith('s:')) return text.slice(2);
  assert(text.startsWith('n:'), `stored config ${key} has no type tag: ${text}`);
  const n = Number(text.slice(2));
  assert(Number.isFinite(n), `stored config ${key} is not a number: ${text}`);
  return n;
}

export function configFields(configs: TopicConfigMap): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(configs)) out.push(`${CONFIG_FIELD}${key}`, encodeConfigValue(value));
  return out;
}

export function configField(key: string): string {
  return `${CONFIG_FIELD}${key}`;
}

export function topicFields(t: TopicMetadata): string[] {
  return [
    'name',
    t.name,
    'id',
    t.topicId,
    'partitions',
    String(t.partitions),
    'rf',
    String(t.replicationFactor),
    'created',
    String(t.createdAtMs),
    ...configFields(t.configs),
  ];
}

export function decodeTopic(h: Record<string, string>): TopicMetadata {
  const configs = dict<TopicConfigValue>();
  for (const key of Object.keys(h).sort()) {
    if (key.startsWith(CONFIG_FIELD)) configs[key.slice(CONFIG_FIELD.length)] = decodeConfigValue(h[key]!, key);
  }
  assert(typeof h['name'] === 'string' && typeof h['id'] === 'string', 'stored topic lacks name or id');
  return {
    name: h['name'],
    topicId: h['id'],
    partitions: int(h['partitions'], 'partitions'),
    replicationFactor: int(h['rf'], 'replication factor'),
    configs,
    createdAtMs: int(h['created'], 'createdAtMs'),
  };
}

// ---- partitions ---------------------------------------------------------------------------------

export function decodeHistory(text: string | undefined): EpochEntry[] {
  if (text === undefined || text === '') return [];
  return text.split(',').map((entry) => {
    const m = /^(\d+):(\d+):(.*)$/.exec(entry);
    assert(m !== null, `stored epoch history entry is malformed: ${entry}`);
    return { epoch: int(m[1], 'history epoch'), startOffset: int(m[2], 'history start offset'), leader: m[3]! };
  });
}

/** read-partition-2.lua's reply; null when the partition has no state. */
export function decodePartitionState(topic: string, partition: number, reply: readonly unknown[]): PartitionState | null {
  const holder = String(reply[0]);
  const h = pairs(reply, 2);
  // No state, or the tombstone of a deleted topic (only its epoch counter is left).
  if (Object.keys(h).length === 0 || (h['tid'] ?? '') === '') return null;
  return {
    topic,
    partition,
    topicId: h['tid'] ?? '',
    replicas: list(h['replicas']),
    controllerEpoch: int(h['cepoch'], 'controller epoch', 0),
    leader: holder === '' ? null : holder,
    leaseRemainingMs: holder === '' ? 0 : int(reply[1], 'lease TTL'),
    leaderEpoch: int(h['epoch'], 'leader epoch', 0),
    isr: list(h['isr']),
    highWatermark: int(h['hw'], 'high watermark', 0),
    logStartOffset: int(h['lso'], 'log start offset', 0),
    epochHistory: decodeHistory(h['hist']),
  };
}

/** lastOffset first: the scripts read it with a pattern (lua/_prelude.lua segment_last_offset). */
export function encodeSegment(s: RemoteSegment): string {
  return JSON.stringify({
    lastOffset: s.lastOffset,
    baseOffset: s.baseOffset,
    key: s.key,
    objectBytes: s.objectBytes,
    dataBytes: s.dataBytes,
    maxTimestamp: s.maxTimestamp,
    epoch: s.epoch,
    uploadedAtMs: s.uploadedAtMs,
  });
}

export function decodeSegment(text: string): RemoteSegment {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    assert(false, `stored manifest segment is not JSON: ${text.slice(0, 80)}`);
  }
  return {
    key: String(v['key']),
    baseOffset: int(v['baseOffset'], 'segment baseOffset'),
    lastOffset: int(v['lastOffset'], 'segment lastOffset'),
    objectBytes: int(v['objectBytes'], 'segment objectBytes'),
    dataBytes: int(v['dataBytes'], 'segment dataBytes'),
    maxTimestamp: int(v['maxTimestamp'], 'segment maxTimestamp'),
    epoch: int(v['epoch'], 'segment epoch'),
    uploadedAtMs: int(v['uploadedAtMs'], 'segment uploadedAtMs'),
  };
}

// ---- group offsets --------------------------------------------------------------------------------

export function encodeOffset(offset: number, metadata: string): string {
  return JSON.stringify({ offset, metadata });
}

/** "<committedAtMs> <json>" under offsetField(topic, partition) (../results.ts). */
export function decodeOffset(field: string, value: string): CommittedOffset {
  const at = parseOffsetField(field);
  const space = value.indexOf(' ');
  assert(at !== null && space > 0, `stored offset ${field} is malformed`);
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(value.slice(space + 1)) as Record<string, unknown>;
  } catch {
    assert(false, `stored offset ${field} is not JSON`);
  }
  return {
    topic: at.topic,
    partition: int(at.partition, 'offset partition'),
    offset: int(v['offset'], 'committed offset'),
    metadata: typeof v['metadata'] === 'string' ? v['metadata'] : '',
    committedAtMs: int(value.slice(0, space), 'committedAtMs'),
  };
}

// ---- group members (lua/_group.lua group_encode_member) ----------------------------------------------

function partitionMap(v: unknown, what: string): PartitionMap {
  assert(typeof v === 'object' && v !== null && !Array.isArray(v), `stored ${what} is not an object`);
  const out: PartitionMap = dict();
  for (const [topic, list] of Object.entries(v as Record<string, unknown>)) {
    assert(Array.isArray(list), `stored ${what} of ${topic} is not a list`);
    out[topic] = list.map((p) => int(p, `${what} partition`));
  }
  return out;
}

export function decodeMember(text: string): MemberDoc {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    assert(false, `stored group member is not JSON: ${text.slice(0, 80)}`);
  }
  // cjson writes an empty list as {}: subscriptions are never empty, but read either.
  const subs = v['subscribedTopics'];
  return {
    clientId: typeof v['clientId'] === 'string' ? v['clientId'] : '',
    memberEpoch: int(v['memberEpoch'], 'member epoch'),
    previousMemberEpoch: int(v['previousMemberEpoch'], 'previous member epoch'),
    subscribedTopics: Array.isArray(subs) ? subs.map(String) : [],
    sessionTimeoutMs: int(v['sessionTimeoutMs'], 'session timeout'),
    rebalanceTimeoutMs: int(v['rebalanceTimeoutMs'], 'rebalance timeout'),
    lastHeartbeatAtMs: int(v['lastHeartbeatAtMs'], 'last heartbeat'),
    revokeDeadlineMs: int(v['revokeDeadlineMs'], 'revoke deadline'),
    assigned: partitionMap(v['assigned'], 'assignment'),
    revoking: partitionMap(v['revoking'], 'pending revocation'),
    target: partitionMap(v['target'], 'target'),
  };
}

/** An assignment as group_encode_map wrote it: {"topic":[0,1]}. */
export function decodePartitionMap(text: string): PartitionMap {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    assert(false, `group assignment is not JSON: ${text.slice(0, 80)}`);
  }
  return partitionMap(v, 'assignment');
}

export function decodeCounts(text: string): Record<string, number> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    assert(false, `stored group topics are not JSON: ${text.slice(0, 80)}`);
  }
  assert(typeof v === 'object' && v !== null && !Array.isArray(v), 'stored group topics are not an object');
  const out = dict<number>();
  for (const [topic, count] of Object.entries(v as Record<string, unknown>)) out[topic] = int(count, 'topic partition count');
  return out;
}

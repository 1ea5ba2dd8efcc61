// The documents of the in-process engine (memory-coordinator.ts): their shapes, their file names,
// their checks on load, and the pure rules that change them (the epoch history, the segment list).

import { StrataError, fileNameFor } from '@strata/protocol';
import type { ClassicGroupState, EpochEntry, RemoteSegment, TopicConfigValue, TopicMetadata } from '../coordinator.js';
import type { ApiTokenRecord, UserRecord } from '../users.js';
import { emptyGroupCore, type GroupCore } from '../groups.js';
import { dict } from '../dict.js';
import { LIMITS } from '../validate.js';

export const FORMAT_VERSION = 1;

export interface ControllerDoc {
  holder: string;
  epoch: number;
  expiresAtMs: number;
}

export interface ClusterDoc {
  version: number;
  bootId: string;
  topics: TopicMetadata[];
  controller: ControllerDoc;
  /** The first producer id not handed out yet (absent: none ever was). */
  nextProducerId?: number;
  /** Client quota values, field -> value as the Redis engine stores them (quotas.ts; absent: none). */
  quotas?: Record<string, string>;
  /** Users sorted by name (absent: none ever was). */
  users?: UserRecord[];
  /** API tokens sorted by id. */
  tokens?: ApiTokenRecord[];
  /** ACL bindings by key (@strata/protocol aclBindingKey), sorted; absent: none ever stored. */
  acls?: string[];
  /** Moves on every ACL change (absent: 0). */
  aclsVersion?: number;
}

export interface LeaseDoc {
  holder: string;
  expiresAtMs: number;
}

export interface PartitionDoc {
  version: number;
  topic: string;
  partition: number;
  topicId: string;
  replicas: string[];
  controllerEpoch: number;
  leaderEpoch: number;
  /** The leader of leaderEpoch; "" when none (never led, or an epoch remembered from a forgotten grant). */
  leader: string;
  lease: LeaseDoc | null;
  isr: string[];
  highWatermark: number;
  logStartOffset: number;
  epochHistory: EpochEntry[];
  manifestEpoch: number;
  segments: RemoteSegment[];
}

export interface StoredOffset {
  offset: number;
  metadata: string;
  committedAtMs: number;
}

/** Version 2: the group protocol. Version 1 (minimal membership) loads with its members dropped. */
export const GROUP_FORMAT_VERSION = 2;

export interface GroupDoc extends GroupCore {
  version: number;
  group: string;
  offsets: Record<string, StoredOffset>;
  /** When an expiry pass first saw the group without members (absent while it has members). */
  emptySinceMs?: number;
  /** The stored classic (Kafka JoinGroup) generation, if any. */
  classic?: ClassicGroupState;
  /** The last offsets log entry (offsets-log.ts) this document holds; later ones are replayed over it (absent: 0). */
  offsetsSeq?: number;
}

export function emptyGroup(group: string): GroupDoc {
  return { version: GROUP_FORMAT_VERSION, group, ...emptyGroupCore(), offsets: dict() };
}

/** What a change produced: the value to return or the error to throw, and the new document (undefined: unchanged). */
export interface Outcome<D, T> {
  next?: D | null;
  value?: T;
  error?: StrataError;
}

export function emptyPartition(topic: string, partition: number): PartitionDoc {
  return {
    version: FORMAT_VERSION,
    topic,
    partition,
    topicId: '',
    replicas: [],
    controllerEpoch: 0,
    leaderEpoch: 0,
    leader: '',
    lease: null,
    isr: [],
    highWatermark: 0,
    logStartOffset: 0,
    epochHistory: [],
    manifestEpoch: 0,
    segments: [],
  };
}

/**
 * What a deleted topic leaves of a partition: an empty document that keeps the epochs, so a
 * topic recreated under the same name continues the count (docs/architecture.md, invariant 6;
 * the Redis engine keeps the epoch counter likewise).
 */
export function partitionTombstone(doc: PartitionDoc): PartitionDoc {
  return { ...emptyPartition(doc.topic, doc.partition), controllerEpoch: doc.controllerEpoch, leaderEpoch: doc.leaderEpoch };
}

/** As lua/_prelude.lua history_with_reign: entries at or past the new reign's start go, the reign joins, then trimHistory. */
export function historyWithReign(doc: PartitionDoc, reign: EpochEntry): EpochEntry[] {
  const history = doc.epochHistory.filter((e) => e.startOffset < reign.startOffset);
  history.push(reign);
  return trimHistory(history, doc.logStartOffset);
}

/** As lua/_prelude.lua trim_history: drop entries wholly below the log start, then the oldest past the cap. */
export function trimHistory(entries: EpochEntry[], logStartOffset: number): EpochEntry[] {
  let first = 0;
  while (first < entries.length - 1 && entries[first + 1]!.startOffset <= logStartOffset) first++;
  first = Math.max(first, entries.length - LIMITS.epochHistoryMax);
  return entries.slice(first);
}

export function sameSegment(a: RemoteSegment, b: RemoteSegment): boolean {
  return (
    a.key === b.key &&
    a.baseOffset === b.baseOffset &&
    a.lastOffset === b.lastOffset &&
    a.objectBytes === b.objectBytes &&
    a.dataBytes === b.dataBytes &&
    a.maxTimestamp === b.maxTimestamp &&
    a.epoch === b.epoch &&
    a.uploadedAtMs === b.uploadedAtMs
  );
}

export function sortedConfigs(configs: Readonly<Record<string, TopicConfigValue>>): Record<string, TopicConfigValue> {
  const out = dict<TopicConfigValue>();
  for (const key of Object.keys(configs).sort()) out[key] = configs[key]!;
  return out;
}

/**
 * `<topic>-<partition>.json` and `<group>.json`, bounded to one path component (fileNameFor): a
 * 249-character group id plus `.json` and a temp suffix would not fit. The documents carry their
 * own topic and group, so the name is never parsed back.
 */
export function partitionFileName(topic: string, partition: number): string {
  return fileNameFor(`${topic}-${partition}`, '.json');
}

export function groupFileName(group: string): string {
  return fileNameFor(group, '.json');
}

export function partitionId(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function checkDoc<T>(doc: T | null, file: string, ok: (d: T) => boolean, expected = FORMAT_VERSION): asserts doc is T {
  const version = (doc as { version?: unknown } | null)?.version;
  if (doc === null || typeof doc !== 'object' || version !== expected || !ok(doc)) {
    throw new StrataError('STORAGE_ERROR', `${file} is not a valid coordinator file (version ${expected}): refusing to start rather than lose coordination state`);
  }
}

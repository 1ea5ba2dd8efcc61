// Every object key Strata writes is built here, and nowhere else (Redpanda's
// rule: one place names every object). docs/architecture.md#object-storage; the table is in README.md.
//
// Keys handed to an ObjectStore are relative to the store: the S3 engine puts
// its configured prefix (STRATA_S3_PREFIX) in front with withStorePrefix, and
// the local-directory engine puts its root directory there. So the design's
// `<prefix>/topics/<topic>/...` is `withStorePrefix(prefix, segmentObjectKey(...))`.
//
//   topics/<topic>/topic.json                                      topic configs
//   topics/<topic>/<partition>/<base 20d>-<last 20d>-e<epoch>.seg  one sealed segment
//   manifests/<topic>/<partition>.json                             manifest snapshot
//
// Offsets are zero-padded to 20 digits (int64's width) so that a listing, which
// S3 returns in byte order, is in offset order.

import { StrataError, TOPIC_NAME_LENGTH_MAX, isValidTopicName, topicNameProblem } from '@strata/protocol';
import { invalidRequest } from './errors.js';

export const OFFSET_DIGITS = 20;
export const SEGMENT_OBJECT_SUFFIX = '.seg';
/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Kafka's limit on a topic name (the rule itself lives in @strata/protocol's names.ts). */
export const MAX_TOPIC_NAME_LENGTH = TOPIC_NAME_LENGTH_MAX;
const MAX_INT32 = 0x7fff_ffff;
/**
 * The longest store-relative key Strata writes: a segment key of a 249-character topic with an
 * int32 partition and epoch, `topics/<249>/<10 digits>/<20>-<20>-e<10 digits>.seg` (325 bytes).
 * A store prefix may take what is left of MAX_KEY_BYTES, so every key fits whatever the topic.
 */
export const MAX_RELATIVE_KEY_BYTES = 'topics/'.length + MAX_TOPIC_NAME_LENGTH + 1 + 10 + 1 + OFFSET_DIGITS + 1 + OFFSET_DIGITS + 2 + 10 + SEGMENT_OBJECT_SUFFIX.length;
/** The longest store prefix (STRATA_S3_PREFIX), in UTF-8 bytes: room for '/' and the longest key. */
export const MAX_STORE_PREFIX_BYTES = MAX_KEY_BYTES - 1 - MAX_RELATIVE_KEY_BYTES;

/** Identifies one segment object: what its key says. */
export interface SegmentObjectId {
  topic: string;
  partition: number;
  /** Offset of the first record in the segment. */
  baseOffset: number;
  /** Offset of the last record in the segment (inclusive). */
  lastOffset: number;
  /** Leader epoch of the broker that uploaded it (uploads of different epochs never share a key). */
  epoch: number;
}

// ---- validation -----------------------------------------------------------

/**
 * Why a key is not acceptable, or null when it is. The rules are the same for
 * every engine, so a key that works on the local directory works on S3 and back:
 * 1..1024 UTF-8 bytes; '/'-separated segments, none empty (no leading, trailing
 * or doubled '/'), none '.' or '..'; no control characters (S3 lists keys in
 * XML 1.0, which cannot carry most of them).
 */
export function objectKeyProblem(key: string): string | null {
  if (typeof key !== 'string' || key.length === 0) return 'the key is empty';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `the key is ${bytes} UTF-8 bytes, over the limit of ${MAX_KEY_BYTES}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'the key contains a control character';
  // A lone surrogate has no UTF-8 form: encoding turns it into U+FFFD.
  if (Buffer.from(key, 'utf8').toString('utf8') !== key) return 'the key is not valid Unicode (a lone surrogate)';
  for (const segment of key.split('/')) {
    if (segment === '') return "the key has an empty segment (a leading, trailing or doubled '/')";
    if (segment === '.' || segment === '..') return `the key has a '${segment}' segment`;
  }
  return null;
}

/** Throws INVALID_REQUEST unless `key` follows the rules of objectKeyProblem. */
export function validateObjectKey(key: string): void {
  const problem = objectKeyProblem(key);
  if (problem !== null) throw invalidRequest(`invalid object key ${JSON.stringify(key)}: ${problem}`, { key });
}

/** Kafka's rule for topic names (topicNameProblem, the one copy), which also makes them safe as one key segment. */
export function validateTopicName(topic: string): void {
  const problem = topicNameProblem(topic);
  if (problem !== null) throw new StrataError('INVALID_TOPIC', `topic name ${problem}`);
}

function validatePartition(partition: number): void {
  if (!Number.isSafeInteger(partition) || partition < 0 || partition > MAX_INT32) {
    throw invalidRequest(`partition ${String(partition)} is not an int32 >= 0`);
  }
}

function validateOffset(name: string, offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidRequest(`${name} ${String(offset)} is not a safe integer >= 0`);
}

// ---- builders -------------------------------------------------------------

/** `topics/<topic>/`: everything about one topic. */
export function topicPrefix(topic: string): string {
  validateTopicName(topic);
  return `topics/${topic}/`;
}

/** `topics/<topic>/topic.json`: the topic's configs, so a cluster can be rebuilt from the bucket. */
export function topicConfigKey(topic: string): string {
  return `${topicPrefix(topic)}topic.json`;
}

/** `topics/<topic>/<partition>/`: the prefix under which a partition's segment objects are listed. */
export function partitionSegmentsPrefix(topic: string, partition: number): string {
  validatePartition(partition);
  return `${topicPrefix(topic)}${partition}/`;
}

/** `topics/<topic>/<partition>/<baseOffset 20d>-<lastOffset 20d>-e<epoch>.seg` */
export function segmentObjectKey(id: SegmentObjectId): string {
  validateOffset('baseOffset', id.baseOffset);
  validateOffset('lastOffset', id.lastOffset);
  if (id.lastOffset < id.baseOffset) throw invalidRequest(`lastOffset ${id.lastOffset} is below baseOffset ${id.baseOffset}`);
  if (!Number.isSafeInteger(id.epoch) || id.epoch < 0 || id.epoch > MAX_INT32) {
    throw invalidRequest(`leader epoch ${String(id.epoch)} is not an int32 >= 0`);
  }
  const base = String(id.baseOffset).padStart(OFFSET_DIGITS, '0');
  const last = String(id.lastOffset).padStart(OFFSET_DIGITS, '0');
  return `${partitionSegmentsPrefix(id.topic, id.partition)}${base}-${last}-e${id.epoch}${SEGMENT_OBJECT_SUFFIX}`;
}

// The topic segment is checked by isValidTopicName: one rule, not a second copy in a regex.
const SEGMENT_KEY = /^topics\/([^/]+)\/(0|[1-9][0-9]{0,9})\/([0-9]{20})-([0-9]{20})-e(0|[1-9][0-9]{0,9})\.seg$/;

/** The inverse of segmentObjectKey; null for any other key (topic.json, garbage, a foreign object). */
export function parseSegmentObjectKey(key: string): SegmentObjectId | null {
  const m = SEGMENT_KEY.exec(key);
  if (m === null) return null;
  const [, topic, partitionText, baseText, lastText, epochText] = m as unknown as [string, string, string, string, string, string];
  const partition = Number(partitionText);
  const baseOffset = Number(baseText);
  const lastOffset = Number(lastText);
  const epoch = Number(epochText);
  if (!isValidTopicName(topic)) return null;
  if (partition > MAX_INT32 || epoch > MAX_INT32) return null;
  if (!Number.isSafeInteger(baseOffset) || !Number.isSafeInteger(lastOffset) || lastOffset < baseOffset) return null;
  return { topic, partition, baseOffset, lastOffset, epoch };
}

/** `manifests/`: every manifest snapshot; listing it finds every topic the bucket can restore. */
export const ALL_MANIFESTS_PREFIX = 'manifests/';

/** The topic a manifest snapshot key belongs to, or null for any other key. */
export function topicOfManifestKey(key: string): string | null {
  const m = /^manifests\/([^/]+)\/(0|[1-9][0-9]{0,9})\.json$/.exec(key);
  return m === null || !isValidTopicName(m[1]) ? null : m[1]!;
}

/** `manifests/<topic>/`: the manifest snapshots of a topic's partitions. */
export function manifestsPrefix(topic: string): string {
  validateTopicName(topic);
  return `manifests/${topic}/`;
}

/** `manifests/<topic>/<partition>.json`: a snapshot of the partition's remote manifest. */
export function manifestSnapshotKey(topic: string, partition: number): string {
  validatePartition(partition);
  return `${manifestsPrefix(topic)}${partition}.json`;
}

/**
 * `manifests/<topic>/<partition>.producers`: the partition's idempotent-producer state as of the
 * remote end (@strata/log's snapshot format, which names its offset), so that a leader starting
 * from the bucket's end still recognises producers' retries. Deleted with the topic's manifests.
 */
export function producerSnapshotKey(topic: string, partition: number): string {
  validatePartition(partition);
  return `${manifestsPrefix(topic)}${partition}.producers`;
}

// ---- the store prefix (S3) ------------------------------------------------

/** 'a/b/' and '/a/b' become 'a/b'; '' stays '' (no prefix). Throws INVALID_CONFIG for a prefix no key could sit under. */
export function normalizeStorePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  const problem = objectKeyProblem(trimmed);
  if (problem !== null) throw new StrataError('INVALID_CONFIG', `object store prefix ${JSON.stringify(prefix)}: ${problem}`);
  const bytes = Buffer.byteLength(trimmed, 'utf8');
  if (bytes > MAX_STORE_PREFIX_BYTES) {
    throw new StrataError('INVALID_CONFIG', `object store prefix is ${bytes} UTF-8 bytes, over ${MAX_STORE_PREFIX_BYTES}: the longest key under it would pass S3's ${MAX_KEY_BYTES}`);
  }
  return trimmed;
}

/** The key in the bucket for a store-relative key (prefix already normalized). */
export function withStorePrefix(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}/${key}`;
}

/** The store-relative key for a key in the bucket, or null when it lies outside the prefix. */
export function stripStorePrefix(prefix: string, bucketKey: string): string | null {
  if (prefix === '') return bucketKey;
  return bucketKey.startsWith(`${prefix}/`) ? bucketKey.slice(prefix.length + 1) : null;
}

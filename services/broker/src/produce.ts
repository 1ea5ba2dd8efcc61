// Produce: the JSON request turned into one RecordBatch per partition (the
// Kafka partitioner for keyed records, a per-request sticky partition rotating
// across requests for keyless ones), and the append shared with the raw path.
// Everything in a request is validated and encoded before anything is appended.

import { StrataError, encodeRecordBatch, partitionForKey, validateBatches, type BatchFrame, type RecordHeader, type RecordInput } from '@strata/protocol';
import type { AppendResult } from '@strata/log';
import { NEVER_ABORTED, type AbortSource } from './abort-source.js';
import type { BrokerMetrics } from './metrics.js';
import { ACKS, type Acks, type PartitionLeader } from './partition/partition-leader.js';
import { describe, isPlainObject, maxBatchBytes, throwProblems, timestampWindowProblem, type Problem } from './topics/topic-config.js';
import type { Topic, TopicRegistry } from './topics/topic-registry.js';

export const ENCODINGS = ['utf8', 'base64', 'json'] as const;
export type Encoding = (typeof ENCODINGS)[number];
export const HEADER_ENCODINGS = ['utf8', 'base64'] as const;
export type HeaderEncoding = (typeof HEADER_ENCODINGS)[number];

export { ACKS, type Acks };

const REQUEST_FIELDS = new Set(['records', 'keyEncoding', 'valueEncoding', 'headerEncoding']);
const RECORD_FIELDS = new Set(['key', 'value', 'headers', 'partition', 'timestamp']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface PartitionBatch {
  partition: number;
  /** One encoded RecordBatch v2. */
  batch: Buffer;
  frames: BatchFrame[];
  /** Request index of each record, in batch order. */
  indexes: number[];
}

export interface ProducePlan {
  batches: PartitionBatch[];
  /** Per request index: the partition, and the position inside that partition's batch. */
  partitionOf: number[];
  positionInBatch: number[];
}

/**
 * Validates a JSON produce body against `topic` and encodes it; throws with every problem listed.
 * At most `maxRecords` records (STRATA_JSON_PRODUCE_MAX_RECORDS): each parsed record costs objects
 * and buffers far beyond its bytes, so the count, not only the body size, bounds the memory and the
 * time one request takes here. The binary endpoint is for bulk.
 */
export function planProduce(body: unknown, topic: Topic, now: number, maxRecords: number): ProducePlan {
  const problems: Problem[] = [];
  const invalid = (field: string, message: string): void => void problems.push({ code: 'INVALID_REQUEST', field, message });
  if (!isPlainObject(body)) {
    invalid('', 'the body must be a JSON object {records: [...], keyEncoding?, valueEncoding?, headerEncoding?}');
    throwProblems(problems, 'invalid produce request');
  }
  const request = body as Record<string, unknown>;
  for (const key of Object.keys(request)) if (!REQUEST_FIELDS.has(key)) invalid(key, `unknown field "${key}"`);
  const keyEncoding = pickEncoding(request.keyEncoding, 'keyEncoding', ENCODINGS, problems);
  const valueEncoding = pickEncoding(request.valueEncoding, 'valueEncoding', ENCODINGS, problems);
  const headerEncoding = pickEncoding(request.headerEncoding, 'headerEncoding', HEADER_ENCODINGS, problems);
  const records = request.records;
  if (!Array.isArray(records) || records.length === 0) {
    invalid('records', `records must be a non-empty array, got ${describe(records)}`);
    throwProblems(problems, 'invalid produce request');
  }
  const list = records as unknown[];
  if (list.length > maxRecords) {
    throw new StrataError(
      'MESSAGE_TOO_LARGE',
      `a JSON produce request holds at most ${maxRecords} records (STRATA_JSON_PRODUCE_MAX_RECORDS), got ${list.length}: split it, or send RecordBatch bytes to /v1/topics/{topic}/partitions/{partition}/batches`,
      { details: { maxRecords, records: list.length } },
    );
  }
  const inputs: RecordInput[] = new Array(list.length);
  const partitionOf: number[] = new Array(list.length);
  let sticky = -1;
  for (let i = 0; i < list.length; i++) {
    const field = `records[${i}]`;
    const raw = list[i];
    if (!isPlainObject(raw)) {
      invalid(field, `${field} must be an object {key?, value, headers?, partition?, timestamp?}`);
      continue;
    }
    for (const key of Object.keys(raw)) if (!RECORD_FIELDS.has(key)) invalid(`${field}.${key}`, `${field}: unknown field "${key}"`);
    const key = decodeField(raw.key, keyEncoding, `${field}.key`, problems);
    if (!('value' in raw)) invalid(`${field}.value`, `${field}.value is required (use null for a null value)`);
    const value = decodeField(raw.value, valueEncoding, `${field}.value`, problems);
    const headers = parseHeaders(raw.headers, headerEncoding, `${field}.headers`, problems);
    const input: RecordInput = { key, value };
    if (headers.length > 0) input.headers = headers;
    if (raw.timestamp !== undefined) {
      if (!Number.isSafeInteger(raw.timestamp) || (raw.timestamp as number) < 0) {
        problems.push({ code: 'INVALID_TIMESTAMP', field: `${field}.timestamp`, message: `${field}.timestamp must be a non-negative integer (ms), got ${describe(raw.timestamp)}` });
      } else input.timestamp = raw.timestamp as number;
    }
    let partition: number;
    if (raw.partition !== undefined && raw.partition !== null) {
      partition = raw.partition as number;
      if (!Number.isSafeInteger(partition) || partition < 0) {
        invalid(`${field}.partition`, `${field}.partition must be a non-negative integer, got ${describe(raw.partition)}`);
        continue;
      }
      if (partition >= topic.partitionCount) {
        problems.push({
          code: 'UNKNOWN_PARTITION',
          field: `${field}.partition`,
          message: `${field}.partition: topic "${topic.name}" has no partition ${partition} (it has ${topic.partitionCount})`,
        });
        continue;
      }
    } else if (key !== null && key !== undefined) {
      partition = partitionForKey(key, topic.partitionCount);
    } else {
      // Taken lazily, so a request with only keyed records does not move the rotation.
      if (sticky < 0 && problems.length === 0) sticky = topic.nextStickyPartition();
      partition = sticky;
    }
    inputs[i] = input;
    partitionOf[i] = partition;
  }
  throwProblems(problems, 'invalid produce request');

  const byPartition = new Map<number, { records: RecordInput[]; indexes: number[] }>();
  const positionInBatch: number[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const partition = partitionOf[i]!;
    let group = byPartition.get(partition);
    if (!group) {
      group = { records: [], indexes: [] };
      byPartition.set(partition, group);
    }
    positionInBatch[i] = group.records.length;
    group.records.push(inputs[i]!);
    group.indexes.push(i);
  }
  const limit = maxBatchBytes(topic.configs);
  const batches: PartitionBatch[] = [];
  for (const [partition, group] of byPartition) {
    const batch = encodeRecordBatch(group.records, { now });
    // Shallow: we just encoded it; this only frames it and applies the size limit.
    const frames = validateBatches(batch, { deep: false, maxBatchBytes: limit });
    batches.push({ partition, batch, frames, indexes: group.indexes });
  }
  return { batches, partitionOf, positionInBatch };
}

function pickEncoding<T extends string>(raw: unknown, field: string, values: readonly T[], problems: Problem[]): T {
  if (raw === undefined || raw === null) return values[0]!;
  if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as T;
  problems.push({ code: 'INVALID_REQUEST', field, message: `${field} must be one of ${values.join(', ')}, got ${describe(raw)}` });
  return values[0]!;
}

/** A key or value in the request's encoding; null/absent is a null key/value (also for json). */
function decodeField(raw: unknown, encoding: Encoding, field: string, problems: Problem[]): Buffer | null {
  if (raw === undefined || raw === null) return null;
  if (encoding === 'json') return Buffer.from(JSON.stringify(raw), 'utf8');
  if (typeof raw !== 'string') {
    problems.push({ code: 'INVALID_REQUEST', field, message: `${field} must be a string (${encoding}) or null, got ${describe(raw)}` });
    return null;
  }
  if (encoding === 'utf8') return Buffer.from(raw, 'utf8');
  if (!BASE64.test(raw)) {
    problems.push({ code: 'INVALID_REQUEST', field, message: `${field} is not valid base64` });
    return null;
  }
  return Buffer.from(raw, 'base64');
}

/** Headers as an object {key: value} or as an array [{key, value}] (the array keeps order and repeats). */
function parseHeaders(raw: unknown, encoding: HeaderEncoding, field: string, problems: Problem[]): RecordHeader[] {
  if (raw === undefined || raw === null) return [];
  const out: RecordHeader[] = [];
  const value = (v: unknown, where: string): Buffer | null => decodeField(v, encoding, where, problems);
  if (Array.isArray(raw)) {
    raw.forEach((h: unknown, j) => {
      const where = `${field}[${j}]`;
      if (!isPlainObject(h) || typeof h.key !== 'string') {
        problems.push({ code: 'INVALID_REQUEST', field: where, message: `${where} must be {key: string, value: string | null}` });
        return;
      }
      out.push({ key: h.key, value: value(h.value, `${where}.value`) });
    });
    return out;
  }
  if (isPlainObject(raw)) {
    for (const [key, v] of Object.entries(raw)) out.push({ key, value: value(v, `${field}.${key}`) });
    return out;
  }
  problems.push({ code: 'INVALID_REQUEST', field, message: `${field} must be an object {key: value} or an array [{key, value}]` });
  return out;
}

export interface AppendContext {
  /** The broker's clock (ms): message.timestamp.*.max.ms are checked against it. */
  now(): number;
  registry: TopicRegistry;
  metrics: BrokerMetrics;
}

/**
 * The one local append path (JSON and raw), through the partition's leader object: the leader's
 * timestamp rules, then one call into the leader, which owns the append protocol (epoch, append,
 * lease check, wake-ups, ISR wait). Counted once the records are in the log.
 */
export async function appendToPartition(
  ctx: AppendContext,
  leader: PartitionLeader,
  batches: Buffer,
  frames: BatchFrame[],
  acks: Acks = '1',
  abort: AbortSource = NEVER_ABORTED,
): Promise<AppendResult> {
  const { handle } = leader;
  const bytes = batches.length;
  const all = acks === 'all' || acks === '-1';
  const configs = ctx.registry.get(handle.topic).configs;
  // Here, at the leader, for JSON and raw produce alike (a follower appends what its leader accepted).
  const late = timestampWindowProblem(frames, configs, ctx.now());
  if (late !== null) {
    throw new StrataError('INVALID_TIMESTAMP', `${handle.topic}/${handle.partition}: ${late.message}; nothing was appended`, {
      details: { topic: handle.topic, partition: handle.partition, ...late.details },
    });
  }
  let appendedAt = 0;
  const result = await leader.append(
    batches,
    frames,
    {
      acks,
      minInsync: all ? configs['min.insync.replicas'] : 1,
      onAppended: (appended) => {
        appendedAt = performance.now();
        if (appended.duplicate) return; // written before, and counted then
        const labels = { topic: handle.topic, partition: String(handle.partition) };
        ctx.metrics.produceRecords.inc(labels, appended.recordCount);
        ctx.metrics.produceBytes.inc(labels, bytes);
      },
    },
    abort,
  );
  if (all) ctx.metrics.acksAllSeconds.observe((performance.now() - appendedAt) / 1000);
  return result;
}


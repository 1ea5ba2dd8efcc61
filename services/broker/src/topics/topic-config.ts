// Topic configs (Kafka names), their ranges, and validation. Every function
// here collects all problems instead of stopping at the first, so a client
// fixes a bad request in one round trip. Defaults live in ../config.ts.

import { BatchAttribute, StrataError, describeValue as describe, type ErrorCode } from '@strata/protocol';
import { SEGMENT_BYTES_MAX, type LogConfig } from '@strata/log';

export interface TopicConfigs {
  'segment.bytes': number;
  'segment.ms': number;
  'retention.ms': number;
  'retention.bytes': number;
  'local.retention.ms': number;
  'local.retention.bytes': number;
  'flush.messages': number;
  'flush.ms': number;
  'max.message.bytes': number;
  'index.interval.bytes': number;
  'min.insync.replicas': number;
  'cleanup.policy': CleanupPolicy;
  /** Kafka's boolean, as Kafka configs travel: "true" lets a replica outside the ISR lead (losing records). */
  'unclean.leader.election.enable': 'true' | 'false';
  /** KIP-937 (Kafka 4.0): how far before the broker's clock a record's create time may lie (ms). */
  'message.timestamp.before.max.ms': number;
  /** KIP-937 (Kafka 4.0): how far after the broker's clock a record's create time may lie (ms). */
  'message.timestamp.after.max.ms': number;
}
export type TopicConfigKey = keyof TopicConfigs;
/** What a topic stores: only the keys set on it; the rest follow the broker's defaults (as Kafka does). */
export type TopicConfigOverrides = Partial<TopicConfigs>;
export type CleanupPolicy = 'delete';

const INT32_MAX = 2 ** 31 - 1;

export interface IntConfigSpec {
  kind: 'int';
  min: number;
  max: number;
  /** -1 is accepted and means "no limit" / "never". */
  minusOneMeans?: string;
  /** -2 is accepted and means this (Kafka: "the same as the total retention"). */
  minusTwoMeans?: string;
  description: string;
}
export interface EnumConfigSpec {
  kind: 'enum';
  values: readonly string[];
  /** Values Kafka knows that this build refuses with "not supported yet". */
  notYet: readonly string[];
  description: string;
}
export type TopicConfigSpec = IntConfigSpec | EnumConfigSpec;

/** Ranges follow Kafka's where the local log allows them (it needs index.interval.bytes >= 1). */
export const TOPIC_CONFIG_SPECS: Readonly<Record<TopicConfigKey, TopicConfigSpec>> = Object.freeze({
  'segment.bytes': {
    kind: 'int',
    min: 14,
    max: SEGMENT_BYTES_MAX,
    description: 'Roll the active segment when it would exceed this many bytes; at least the broker setting STRATA_MIN_SEGMENT_BYTES (1 MiB by default, as in Kafka 4.0).',
  },
  'segment.ms': { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, description: 'Roll the active segment when its first batch is this old (ms).' },
  'retention.ms': { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, minusOneMeans: 'keep forever', description: 'Delete sealed segments whose newest record is older than this (ms).' },
  'retention.bytes': { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, minusOneMeans: 'no size limit', description: 'Delete the oldest sealed segments while a partition is larger than this.' },
  'local.retention.ms': {
    kind: 'int',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    minusOneMeans: 'keep forever',
    minusTwoMeans: 'the same as retention.ms',
    description: 'How long sealed segments stay on local disk once they are in the object store (ms); capped by retention.ms.',
  },
  'local.retention.bytes': {
    kind: 'int',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    minusOneMeans: 'no size limit',
    minusTwoMeans: 'the same as retention.bytes',
    description: 'Local bytes kept per partition once segments are in the object store; capped by retention.bytes.',
  },
  'flush.messages': { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, minusOneMeans: 'leave fsync to the OS', description: 'fsync after this many records.' },
  'flush.ms': { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, minusOneMeans: 'never fsync on a timer', description: 'fsync when the oldest unflushed append is this old (ms).' },
  'max.message.bytes': { kind: 'int', min: 1, max: INT32_MAX, description: 'Largest batch (and largest raw produce body) accepted, in bytes.' },
  'index.interval.bytes': { kind: 'int', min: 1, max: SEGMENT_BYTES_MAX, description: 'Bytes between two sparse offset-index entries.' },
  'min.insync.replicas': { kind: 'int', min: 1, max: INT32_MAX, description: 'With acks=all, the replicas that must have a record before it is acknowledged (<= replicationFactor).' },
  'cleanup.policy': { kind: 'enum', values: ['delete'], notYet: ['compact', 'compact,delete', 'delete,compact'], description: 'Only "delete" in this build; "compact" is not supported yet.' },
  'unclean.leader.election.enable': {
    kind: 'enum',
    values: ['false', 'true'],
    notYet: [],
    description: 'Let a replica outside the ISR become leader when no ISR member is live (availability over durability: acknowledged records can be lost).',
  },
  // Kafka's maximum is Long.MAX_VALUE (no limit); here the largest safe integer, the same in effect.
  'message.timestamp.before.max.ms': {
    kind: 'int',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description: "Refuse a batch with a record timestamped more than this before the broker's clock (ms); the default is no limit.",
  },
  'message.timestamp.after.max.ms': {
    kind: 'int',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description: "Refuse a batch with a record timestamped more than this after the broker's clock (ms): a far-future timestamp would hold up time retention.",
  },
});

export const TOPIC_CONFIG_KEYS = Object.keys(TOPIC_CONFIG_SPECS) as TopicConfigKey[];

/**
 * Kafka 4.0's create-time window (KIP-937): a batch with a record whose timestamp lies more than
 * message.timestamp.before.max.ms before `nowMs` or more than message.timestamp.after.max.ms after
 * it is refused (INVALID_TIMESTAMP, nothing appended), so that one record far in the future cannot
 * hold up time retention. LogAppendTime batches carry the broker's time: nothing to check. The
 * batch header bounds its records: maxTimestamp is their largest (the validator refuses a header
 * that understates them) and baseTimestamp the first's; a record timestamped before its batch's
 * first record is not checked against the lower bound (Kafka's producers write them in order).
 * Returns null when the batches pass.
 */
export function timestampWindowProblem(
  frames: readonly { baseTimestamp: number; maxTimestamp: number; attributes: number }[],
  configs: Pick<TopicConfigs, 'message.timestamp.before.max.ms' | 'message.timestamp.after.max.ms'>,
  nowMs: number,
): { message: string; details: Record<string, unknown> } | null {
  const before = configs['message.timestamp.before.max.ms'];
  const after = configs['message.timestamp.after.max.ms'];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if ((f.attributes & BatchAttribute.logAppendTime) !== 0) continue;
    const late = f.maxTimestamp - nowMs;
    if (late > after) {
      return {
        message: `batch ${i} has a record timestamped ${f.maxTimestamp}, ${late} ms after the broker's clock (message.timestamp.after.max.ms is ${after})`,
        details: { batchIndex: i, timestamp: f.maxTimestamp, nowMs, 'message.timestamp.after.max.ms': after },
      };
    }
    const earliest = Math.min(f.baseTimestamp, f.maxTimestamp);
    const early = nowMs - earliest;
    if (early > before) {
      return {
        message: `batch ${i} has a record timestamped ${earliest}, ${early} ms before the broker's clock (message.timestamp.before.max.ms is ${before})`,
        details: { batchIndex: i, timestamp: earliest, nowMs, 'message.timestamp.before.max.ms': before },
      };
    }
  }
  return null;
}



export function isTopicConfigKey(key: string): key is TopicConfigKey {
  return Object.prototype.hasOwnProperty.call(TOPIC_CONFIG_SPECS, key);
}

/** One problem in a request or config, with the error code it stands for. */
export interface Problem {
  code: ErrorCode;
  field: string;
  message: string;
}

/** Throws the first problem's code with every problem listed in the message and details. */
export function throwProblems(problems: readonly Problem[], summary: string): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 100);
  const message = `${summary}: ${shown.map((p) => p.message).join('; ')}${problems.length > shown.length ? `; and ${problems.length - shown.length} more` : ''}`;
  throw new StrataError(problems[0]!.code, message, {
    details: { problems: shown.map((p) => ({ code: p.code, field: p.field, message: p.message })) },
  });
}

/**
 * Parses one config value. Kafka's configs travel as strings, so "1000" is accepted as well as 1000.
 * Returns undefined (and records a problem) when the value is bad.
 */
export function parseTopicConfigValue(
  key: TopicConfigKey,
  raw: unknown,
  field: string,
  problems: Problem[],
): TopicConfigs[TopicConfigKey] | undefined {
  const spec = TOPIC_CONFIG_SPECS[key];
  const bad = (why: string): undefined => {
    problems.push({ code: 'INVALID_CONFIG', field, message: `${field} ${why}` });
    return undefined;
  };
  if (spec.kind === 'enum') {
    if (typeof raw === 'boolean') raw = String(raw);
    if (typeof raw !== 'string') return bad(`must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}, got ${describe(raw)}`);
    const value = raw.trim();
    if (spec.values.includes(value)) return value as TopicConfigs[TopicConfigKey];
    if (spec.notYet.includes(value.replace(/\s+/g, ''))) return bad(`"${value}" is not supported yet (only ${spec.values.map((v) => `"${v}"`).join(', ')})`);
    return bad(`must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}, got "${value}"`);
  }
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) value = Number(raw);
  else return bad(`must be an integer, got ${describe(raw)}`);
  if (!Number.isSafeInteger(value)) return bad(`must be a safe integer, got ${describe(raw)}`);
  if (value === -1 && spec.minusOneMeans !== undefined) return value;
  if (value === -2 && spec.minusTwoMeans !== undefined) return value;
  if (value < spec.min || value > spec.max) {
    const minusOne =
      (spec.minusOneMeans !== undefined ? ` or -1 (${spec.minusOneMeans})` : '') + (spec.minusTwoMeans !== undefined ? ` or -2 (${spec.minusTwoMeans})` : '');
    return bad(`must be in [${spec.min}, ${spec.max}]${minusOne}, got ${value}`);
  }
  return value;
}

/** Parses a `configs` object (create) into overrides; unknown keys and bad values become problems. */
export function parseTopicConfigOverrides(input: unknown, field: string, problems: Problem[]): TopicConfigOverrides {
  const out: Record<string, unknown> = {};
  if (input === undefined) return {};
  if (!isPlainObject(input)) {
    problems.push({ code: 'INVALID_CONFIG', field, message: `${field} must be an object of {"config.name": value}` });
    return {};
  }
  for (const [key, raw] of Object.entries(input)) {
    const where = `${field}.${key}`;
    if (!isTopicConfigKey(key)) {
      problems.push({ code: 'INVALID_CONFIG', field: where, message: `unknown config "${key}" (known: ${TOPIC_CONFIG_KEYS.join(', ')})` });
      continue;
    }
    const value = parseTopicConfigValue(key, raw, where, problems);
    if (value !== undefined) out[key] = value;
  }
  return out as TopicConfigOverrides;
}

/** Limits a topic's configs are checked against, beyond each key's own range. */
export interface TopicLimits {
  /** The broker's request cap: a batch larger than any request could never be produced. */
  maxRequestBytes: number;
  /** The broker's floor of segment.bytes (STRATA_MIN_SEGMENT_BYTES, Kafka 4.0's 1 MiB by default). */
  minSegmentBytes: number;
}

/** Checks the effective configs as a whole (fields against each other and against the broker). */
export function checkEffectiveConfigs(
  configs: TopicConfigs,
  replicationFactor: number,
  limits: TopicLimits,
  field: string,
  problems: Problem[],
): void {
  if (configs['min.insync.replicas'] > replicationFactor) {
    problems.push({
      code: 'INVALID_CONFIG',
      field: `${field}.min.insync.replicas`,
      message: `min.insync.replicas (${configs['min.insync.replicas']}) must not exceed the replication factor (${replicationFactor})`,
    });
  }
  if (configs['segment.bytes'] < limits.minSegmentBytes) {
    problems.push({
      code: 'INVALID_CONFIG',
      field: `${field}.segment.bytes`,
      message: `segment.bytes (${configs['segment.bytes']}) must be at least ${limits.minSegmentBytes} (STRATA_MIN_SEGMENT_BYTES)`,
    });
  }
  if (configs['max.message.bytes'] > limits.maxRequestBytes) {
    problems.push({
      code: 'INVALID_CONFIG',
      field: `${field}.max.message.bytes`,
      message: `max.message.bytes (${configs['max.message.bytes']}) must not exceed the broker's request limit (${limits.maxRequestBytes}, STRATA_MAX_REQUEST_BYTES)`,
    });
  }
}

/**
 * The largest batch a partition accepts: max.message.bytes, and never more than a segment holds
 * (Kafka refuses a batch larger than segment.bytes with the same error).
 */
export function maxBatchBytes(configs: TopicConfigs): number {
  return Math.min(configs['max.message.bytes'], configs['segment.bytes']);
}

export function effectiveConfigs(defaults: TopicConfigs, overrides: TopicConfigOverrides): TopicConfigs {
  return { ...defaults, ...overrides };
}

/**
 * The local log's settings. Its retention is the local one (local.retention.*, never longer
 * than the total retention): the log deletes only segments already in the object store, and
 * the remote tier applies retention.* to the whole partition.
 */
export function toLogConfig(configs: TopicConfigs): LogConfig {
  return {
    segmentBytes: configs['segment.bytes'],
    segmentMs: configs['segment.ms'],
    retentionMs: localLimit(configs['local.retention.ms'], configs['retention.ms']),
    retentionBytes: localLimit(configs['local.retention.bytes'], configs['retention.bytes']),
    flushMessages: configs['flush.messages'],
    flushMs: configs['flush.ms'],
    indexIntervalBytes: configs['index.interval.bytes'],
  };
}

/** -2 follows the total; otherwise the smaller of the two, with -1 meaning unlimited. */
function localLimit(local: number, total: number): number {
  if (local === -2) return total;
  if (total === -1) return local;
  if (local === -1) return total;
  return Math.min(local, total);
}

// ---- small helpers shared by request validation -----------------------------

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, bounded description of a value for an error message (the one in @strata/protocol). */
export { describe };

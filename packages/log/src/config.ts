import { StrataError } from '@strata/protocol';
import type { LogConfig } from './types.js';

/** Kafka's defaults, except segment.bytes: smaller segments reach the bucket sooner (docs/architecture.md#upload). */
export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 128 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushMessages: -1,
  flushMs: -1,
  indexIntervalBytes: 4096,
});

/** Positions in the offset index are uint32, so one segment can never pass this. */
export const SEGMENT_BYTES_MAX = 2 ** 31 - 1;
/** Relative offsets in both indexes are uint32 counted from the segment's base offset. */
export const SEGMENT_RELATIVE_OFFSET_MAX = 2 ** 31 - 1;

/** Throws INVALID_CONFIG naming every setting out of its range. */
export function validateLogConfig(config: LogConfig): void {
  const problems: string[] = [];
  const positive = (name: string, value: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isSafeInteger(value) || value <= 0 || value > max) problems.push(`${name} must be an integer in [1, ${max}], got ${value}`);
  };
  const orUnlimited = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value < -1) problems.push(`${name} must be -1 (unlimited) or a non-negative integer, got ${value}`);
  };
  positive('segment.bytes', config.segmentBytes, SEGMENT_BYTES_MAX);
  positive('segment.ms', config.segmentMs);
  orUnlimited('retention.ms', config.retentionMs);
  orUnlimited('retention.bytes', config.retentionBytes);
  orUnlimited('flush.messages', config.flushMessages);
  orUnlimited('flush.ms', config.flushMs);
  positive('index.interval.bytes', config.indexIntervalBytes, SEGMENT_BYTES_MAX);
  if (problems.length > 0) throw new StrataError('INVALID_CONFIG', problems.join('; '), { details: { problems } });
}

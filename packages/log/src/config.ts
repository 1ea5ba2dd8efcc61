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

/**
 * The public shape of one partition's local log (docs/architecture.md#local-log).
 *
 * Offsets are JS numbers (asserted safe integers); on disk they are int64.
 */

/** Per-partition log settings, resolved from topic configs (Kafka names in comments). */
export interface LogConfig {
  /** segment.bytes: roll the active segment when it would exceed this size. */
  segmentBytes: number;
  /** segment.ms: roll the active segment when its first batch is older than this. */
  segmentMs: number;
  /** retention.ms: delete sealed segments whose newest record is older; -1 keeps forever. */
  retentionMs: number;
  /** retention.bytes: delete the oldest sealed segments while the log is larger; -1 = no limit. */
  retentionBytes: number;
  /** flush.messages: fsync after this many records; -1 = leave it to the OS (Kafka's default). */
  flushMessages: number;
  /** flush.ms: fsync when the oldest unflushed append is this old; -1 = never. */
  flushMs: number;
  /** index.interval.bytes: bytes between two sparse index entries. */
  indexIntervalBytes: number;
}

export interface AppendOptions {
  /** Stamped into every batch's partitionLeaderEpoch field. */
  leaderEpoch: number;
}

export interface AppendResult {
  /** Offset given to the first record of the first batch. */
  baseOffset: number;
  /** Offset given to the last record of the last batch. */
  lastOffset: number;
  /** Number of records appended. */
  recordCount: number;
}

export interface ReadOptions {
  /** Upper bound on returned bytes; at least one whole batch is returned if one exists. */
  maxBytes: number;
  /** Exclusive: never return a batch whose base offset is at or above this (the high watermark). */
  maxOffset?: number;
}

export interface ReadResult {
  /** Whole RecordBatch v2 frames; the first may begin before the requested offset. */
  data: Buffer;
  /** Offset a follow-up read should ask for (the end of the last returned batch, or the request's offset if empty). */
  nextOffset: number;
  /** Number of batches in `data`. */
  batchCount: number;
  /**
   * Hands `data`'s memory back for reuse by later reads. Call it once nothing refers to `data`
   * any more (the response carrying it has been written), or never: then it is garbage collected.
   */
  release?: () => void;
}

export interface TimestampLookup {
  /** First offset whose timestamp is >= the asked timestamp. */
  offset: number;
  /** That record's batch max timestamp (Kafka answers with the batch's). */
  timestamp: number;
}

export interface LogStats {
  logStartOffset: number;
  logEndOffset: number;
  segmentCount: number;
  sizeBytes: number;
  /** Offset up to which data is known to be fsynced. */
  flushedOffset: number;
}

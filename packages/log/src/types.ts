/**
 * The public shape of one partition's local log (docs/architecture.md#local-log).
 *
 * Offsets are JS numbers (asserted safe integers); on disk they are int64.
 */

import type { StrataError } from '@strata/protocol';
import type { ReadBufferPool } from './buffer-pool.js';
import type { FileHandleCache } from './file-cache.js';
import type { ProducerStateLimits } from './producer-state.js';

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
  /** Number of records the answer covers (appended, or already in the log when `duplicate`). */
  recordCount: number;
  /**
   * Every batch was an idempotent producer's retry of one already in the log: nothing was written,
   * and the offsets are the ones the batches were first written at.
   */
  duplicate: boolean;
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
  /** The largest record timestamp in the segments (ms; -1 when empty): ListOffsets' max timestamp (KIP-734). */
  maxTimestamp: number;
}

export interface PartitionLogOptions {
  dir: string;
  config: LogConfig;
  /** Wall clock, injectable so tests can drive segment.ms, retention.ms and flush.ms. */
  now?: () => number;
  /** Sealed segments whose indexes stay in memory; older ones reload on demand. */
  loadedIndexesMax?: number;
  /** Where an empty log starts (a partition restored from object storage continues its offsets). */
  initialOffset?: number;
  /** Buffers reads go into (default: one pool shared by every log in the process). */
  bufferPool?: ReadBufferPool;
  /** Where segment files' descriptors come from (default: one cache shared by every log in the process). */
  fileCache?: FileHandleCache;
  /**
   * Retention may delete a segment only when its end is at or below this offset. Tiered storage
   * passes the end of what the remote manifest holds, so nothing leaves the disk before it is
   * safe in the bucket. Unset: no gate.
   */
  deletableBelow?: () => number;
  /**
   * Asked before every append (a leader's and a follower's): an error to refuse it with, or null.
   * The broker refuses appends while its data disk is below the free-space floor.
   */
  appendRefusal?: () => StrataError | null;
  /** Idempotent producers: how long an idle one is remembered, and how many at most (default DEFAULT_PRODUCER_STATE_LIMITS). */
  producerStateLimits?: ProducerStateLimits;
  /** Called after a segment seals (its files are complete and fsynced): the uploader's cue. */
  onSegmentSealed?: (segment: SealedSegmentInfo) => void;
  /** A background seal failed (ENOSPC, EIO): it is retried at the next maintain(); appends go on. */
  onSealFailed?: (error: unknown, segment: { baseOffset: number }) => void;
  /**
   * Bytes at most in one write of queued appends (append-groups.ts; default
   * DEFAULT_APPEND_GROUP_BYTES_MAX); 0 writes each append alone.
   */
  appendGroupBytesMax?: number;
  /** A named probe for tests: awaited before each write of appends (what it holds); a throw fails that write. */
  appendProbe?: (write: { baseOffset: number; requests: number; bytes: number }) => Promise<void>;
  /** A named probe for tests: awaited before a background seal writes anything (a slow disk, a seal held open). */
  sealProbe?: (baseOffset: number) => Promise<void>;
}

/** A sealed segment, as the tiering layer sees it: immutable files on disk. */
export interface SealedSegmentInfo {
  baseOffset: number;
  /** Offset after its last record. */
  nextOffset: number;
  sizeBytes: number;
  maxTimestamp: number;
  logPath: string;
}

/** What open() found and did, for the service to log. */
export interface RecoveryReport {
  cleanShutdown: boolean;
  segmentsScanned: number;
  bytesTruncated: number;
  segmentsDeleted: number;
  stopReason: string | null;
  /**
   * Writes open() skipped because the disk was full (a checkpoint, a recovery point, sealed
   * indexes): each costs a rescan at the next open, never a record. The log opens read-only-safe.
   */
  writesSkippedDiskFull: number;
}

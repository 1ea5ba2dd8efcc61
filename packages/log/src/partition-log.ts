import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  StrataError,
  visitRecordsAsync,
  setBaseOffset,
  setPartitionLeaderEpoch,
  type BatchFrame,
} from '@strata/protocol';
import { SEGMENT_RELATIVE_OFFSET_MAX, validateLogConfig } from './config.js';
import { CLEAN_SHUTDOWN_FILE } from './file-names.js';
import { ReadBufferPool, sharedReadBufferPool } from './buffer-pool.js';
import { FileHandleCache, sharedFileHandleCache } from './file-cache.js';
import { SerialQueue } from './mutex.js';
import { LeaderEpochCache, type EpochEnd, type LogEpochEntry } from './leader-epochs.js';
import { loadSegments, readRecoveryPoint, unlessDiskFull, writeRecoveryPoint } from './log-loader.js';
import { Segment, type AppendedBatch } from './segment.js';
import type {
  AppendOptions,
  AppendResult,
  LogConfig,
  LogStats,
  PartitionLogOptions,
  RecoveryReport,
  SealedSegmentInfo,
  ReadOptions,
  ReadResult,
  TimestampLookup,
} from './types.js';

/**
 * One partition's local log (docs/architecture.md#local-log): a list of segments, the last one active.
 * Appends, rolls, retention and truncation run one at a time through a queue; reads run
 * concurrently and pin the segments they touch so retention cannot delete them mid-read.
 */
export type { EpochEnd, LogEpochEntry } from './leader-epochs.js';
export type { PartitionLogOptions, RecoveryReport, SealedSegmentInfo } from './types.js';
export { validateLogConfig } from './config.js';

export class PartitionLog {
  readonly dir: string;
  #config: LogConfig;
  readonly #now: () => number;
  readonly #loadedIndexesMax: number;
  readonly #initialOffset: number;
  readonly #bufferPool: ReadBufferPool;
  readonly #files: FileHandleCache;
  readonly #deletableBelow: () => number;
  readonly #onSegmentSealed: (segment: SealedSegmentInfo) => void;
  readonly #appendRefusal: () => StrataError | null;
  readonly #queue = new SerialQueue();
  /** Sorted by base offset; never empty while open; the last is active. */
  #segments: Segment[] = [];
  #unflushedRecords = 0;
  #oldestUnflushedAtMs = -1;
  #flushedOffset = 0;
  #closed = false;
  #recovery: RecoveryReport;
  /** Leader epochs in this log (leader-epochs.ts). */
  readonly #epochs: LeaderEpochCache;

  private constructor(options: PartitionLogOptions) {
    this.dir = options.dir;
    this.#config = { ...options.config };
    this.#now = options.now ?? Date.now;
    this.#loadedIndexesMax = options.loadedIndexesMax ?? 4;
    this.#initialOffset = options.initialOffset ?? 0;
    this.#bufferPool = options.bufferPool ?? sharedReadBufferPool;
    this.#files = options.fileCache ?? sharedFileHandleCache;
    this.#epochs = new LeaderEpochCache(this.dir, this.#files);
    this.#deletableBelow = options.deletableBelow ?? (() => Number.MAX_SAFE_INTEGER);
    this.#onSegmentSealed = options.onSegmentSealed ?? (() => undefined);
    this.#appendRefusal = options.appendRefusal ?? (() => null);
    assertSafeOffset(this.#initialOffset);
    this.#recovery = { cleanShutdown: true, segmentsScanned: 0, bytesTruncated: 0, segmentsDeleted: 0, stopReason: null, writesSkippedDiskFull: 0 };
  }

  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    validateLogConfig(options.config);
    const log = new PartitionLog(options);
    try {
      await log.#load();
    } catch (e) {
      // A log that fails to open (EMFILE, ENOSPC, EIO, a bad file) keeps no descriptor open.
      await Promise.allSettled(log.#segments.map((segment) => segment.close({ persistIndexes: false })));
      throw e;
    }
    return log;
  }

  get logStartOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  get logEndOffset(): number {
    return this.#active.nextOffset;
  }

  get config(): Readonly<LogConfig> {
    return this.#config;
  }

  get recovery(): Readonly<RecoveryReport> {
    return this.#recovery;
  }

  /**
   * Appends validated batches: assigns offsets by rewriting each baseOffset and stamps the leader
   * epoch (both outside the CRC, so it is not recomputed), then writes them with one write.
   * The buffer is modified in place and must not be reused by the caller.
   */
  append(batches: Buffer, frames: readonly BatchFrame[], options: AppendOptions): Promise<AppendResult> {
    if (frames.length === 0) return Promise.reject(new StrataError('INVALID_RECORD', 'append of zero batches'));
    return this.#queue.run(async () => {
      this.#assertWritable();
      let size = 0;
      let records = 0;
      for (const frame of frames) {
        size += frame.size;
        records += frame.lastOffsetDelta + 1;
      }
      if (size !== batches.length) throw new Error(`frames cover ${size} bytes of a ${batches.length}-byte buffer`);
      if (size > this.#config.segmentBytes) {
        throw new StrataError('MESSAGE_TOO_LARGE', `append of ${size} bytes is larger than segment.bytes (${this.#config.segmentBytes})`);
      }
      await this.#maybeRoll(size, records);
      const segment = this.#active;
      const baseOffset = segment.nextOffset;
      await this.#epochs.note(options.leaderEpoch, baseOffset);
      let next = baseOffset;
      const appended: AppendedBatch[] = [];
      for (const frame of frames) {
        setBaseOffset(batches, frame.position, next);
        setPartitionLeaderEpoch(batches, frame.position, options.leaderEpoch);
        const lastOffset = next + frame.lastOffsetDelta;
        appended.push({ position: frame.position, size: frame.size, baseOffset: next, lastOffset, maxTimestamp: frame.maxTimestamp });
        next = lastOffset + 1;
      }
      assertSafeOffset(next);
      await segment.append(batches, appended, this.#config.indexIntervalBytes);
      await this.#afterAppend(records);
      return { baseOffset, lastOffset: next - 1, recordCount: records };
    });
  }

  /**
   * A follower's append: batches exactly as the leader wrote them (offsets and leader epochs kept,
   * nothing rewritten). They must continue this log (the first base offset is the log end) and be
   * contiguous; their CRCs were checked by validateBatches.
   */
  appendReplica(batches: Buffer, frames: readonly BatchFrame[]): Promise<AppendResult> {
    if (frames.length === 0) return Promise.reject(new StrataError('INVALID_RECORD', 'append of zero batches'));
    return this.#queue.run(async () => {
      this.#assertWritable();
      const baseOffset = this.logEndOffset;
      let size = 0;
      let next = baseOffset;
      let lastEpoch = this.latestEpoch ?? -1;
      const appended: AppendedBatch[] = [];
      const epochStarts: LogEpochEntry[] = [];
      for (const frame of frames) {
        if (frame.baseOffset !== next) {
          throw new StrataError('INVALID_RECORD', `replicated batch at ${frame.baseOffset} does not continue the log at ${next}`, {
            details: { baseOffset: frame.baseOffset, expected: next },
          });
        }
        const epoch = batches.readInt32BE(frame.position + 12);
        if (epoch < lastEpoch) throw new StrataError('INVALID_RECORD', `replicated batch at ${frame.baseOffset} has leader epoch ${epoch}, below ${lastEpoch} before it`);
        if (epoch > lastEpoch) epochStarts.push({ epoch, startOffset: next });
        lastEpoch = epoch;
        const lastOffset = next + frame.lastOffsetDelta;
        appended.push({ position: frame.position, size: frame.size, baseOffset: next, lastOffset, maxTimestamp: frame.maxTimestamp });
        next = lastOffset + 1;
        size += frame.size;
      }
      if (size !== batches.length) throw new Error(`frames cover ${size} bytes of a ${batches.length}-byte buffer`);
      assertSafeOffset(next);
      if (size > this.#config.segmentBytes) {
        throw new StrataError('MESSAGE_TOO_LARGE', `append of ${size} bytes is larger than segment.bytes (${this.#config.segmentBytes})`);
      }
      await this.#maybeRoll(size, next - baseOffset);
      for (const entry of epochStarts) await this.#epochs.note(entry.epoch, entry.startOffset);
      await this.#active.append(batches, appended, this.#config.indexIntervalBytes);
      await this.#afterAppend(next - baseOffset);
      return { baseOffset, lastOffset: next - 1, recordCount: next - baseOffset };
    });
  }

  /** The leader epoch of the last batch, or null for an empty log. */
  get latestEpoch(): number | null {
    return this.#epochs.latest;
  }

  /** The epoch cache, oldest first (a copy). */
  epochEntries(): LogEpochEntry[] {
    return this.#epochs.entries();
  }

  /**
   * Kafka's OffsetForLeaderEpoch on this log: the largest epoch <= `epoch` it holds and the offset
   * where that epoch ends here (the next epoch's start, or the log end).
   */
  endOffsetForEpoch(epoch: number): EpochEnd {
    return this.#epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /**
   * The byte position in the sealed segment based at `segmentBase` of the first batch at or past
   * `offset` (an upload that starts inside a segment another leader's boundaries cut differently).
   */
  async positionOf(segmentBase: number, offset: number): Promise<{ position: number; baseOffset: number }> {
    this.#assertOpen();
    const segment = this.#segments.find((s) => s.baseOffset === segmentBase);
    if (segment === undefined) throw new StrataError('OFFSET_OUT_OF_RANGE', `no segment based at ${segmentBase}`);
    segment.acquire();
    try {
      return await segment.positionOf(offset);
    } finally {
      segment.release();
      this.#boundLoadedIndexes(segment);
    }
  }

  async read(offset: number, options: ReadOptions): Promise<ReadResult> {
    this.#assertOpen();
    this.#checkOffset(offset);
    const limit = Math.min(options.maxOffset ?? Infinity, this.logEndOffset);
    const empty: ReadResult = { data: Buffer.alloc(0), nextOffset: offset, batchCount: 0 };
    if (offset >= limit) return empty;
    let index = this.#segmentIndexFor(offset);
    while (index < this.#segments.length) {
      const segment = this.#segments[index]!;
      segment.acquire();
      try {
        // Snapshot the size: bytes past it may still be in flight from an append.
        const result = await segment.read(offset, Math.max(1, options.maxBytes), limit, segment.size, this.#config.indexIntervalBytes, this.#bufferPool);
        if (result) return result;
      } finally {
        segment.release();
        this.#boundLoadedIndexes(segment);
      }
      if (segment.nextOffset >= limit) return empty;
      // The offset lies past this segment's end: it rolled, or retention moved on under us.
      index = this.#segments.indexOf(segment) + 1;
      if (index === 0) index = this.#segmentIndexFor(Math.max(offset, this.logStartOffset));
    }
    return empty;
  }

  /** The first offset whose record timestamp is at or after `timestamp`, as Kafka's ListOffsets answers. */
  async offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null> {
    this.#assertOpen();
    for (const segment of [...this.#segments]) {
      if (segment.maxTimestamp < timestamp) continue;
      segment.acquire();
      try {
        const found = await this.#findInSegment(segment, timestamp);
        if (found) return found;
      } finally {
        segment.release();
        this.#boundLoadedIndexes(segment);
      }
    }
    return null;
  }

  updateConfig(config: LogConfig): void {
    validateLogConfig(config);
    this.#config = { ...config };
  }

  /** Periodic work: roll by segment.ms, delete by retention, fsync by flush.ms. */
  maintain(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#closed) return;
      const now = this.#now();
      const active = this.#active;
      if (!active.isEmpty && now - active.createdAtMs >= this.#config.segmentMs) await this.#roll();
      await this.#enforceRetention(now);
      if (this.#config.flushMs >= 0 && this.#oldestUnflushedAtMs >= 0 && now - this.#oldestUnflushedAtMs >= this.#config.flushMs) {
        await this.#flushActive();
      }
    });
  }

  /** The sealed segments, oldest first (a snapshot: retention may remove them later). */
  sealedSegments(): SealedSegmentInfo[] {
    return this.#segments.slice(0, -1).map(sealedInfo);
  }

  /** Seals the active segment now if it holds anything (shutdown hand-over, tests). */
  roll(): Promise<void> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      if (!this.#active.isEmpty) await this.#roll();
    });
  }

  flush(): Promise<void> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      await this.#flushActive();
    });
  }

  stats(): LogStats {
    let sizeBytes = 0;
    for (const segment of this.#segments) sizeBytes += segment.size;
    return {
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      segmentCount: this.#segments.length,
      sizeBytes,
      flushedOffset: this.#flushedOffset,
    };
  }

  /** Flushes, persists the active indexes and marks a clean shutdown, so the next open skips recovery. */
  close(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#closed) return;
      await this.#flushActive();
      this.#closed = true;
      await closeAll(this.#segments, {});
      // The marker names the active segment's size: a file that differs at the next open was
      // written after this close (or torn), and is recovered rather than trusted.
      await this.#files.writeFile(join(this.dir, CLEAN_SHUTDOWN_FILE), `${this.#active.baseOffset} ${this.#active.size}\n`);
    });
  }

  /** Closes the log and removes its directory (topic deletion). */
  destroy(): Promise<void> {
    return this.#queue.run(async () => {
      if (!this.#closed) {
        this.#closed = true;
        // Every descriptor goes, even if one close fails; nothing is persisted into a directory about to go.
        await Promise.allSettled(this.#segments.map((segment) => segment.close({ persistIndexes: false })));
      }
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  /** Removes every record at or after `offset` (a follower's truncation to the leader's history). */
  truncateTo(offset: number): Promise<void> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      if (offset >= this.logEndOffset) return;
      if (offset < this.logStartOffset) throw new StrataError('OFFSET_OUT_OF_RANGE', `cannot truncate to ${offset}, below the log start ${this.logStartOffset}`);
      await this.#truncateTo(offset);
      await this.#epochs.truncateFrom(this.logEndOffset);
    });
  }

  /**
   * Discards every record and continues empty at `offset` (Kafka's truncateFullyAndStartAt): a
   * leader taking over a partition whose newer records live in the bucket or on another broker.
   * Newest segments go first, so a crash part-way leaves a prefix of the old log, never a log
   * with a gap in it; the caller redoes the reset (it must not trust the old records meanwhile).
   */
  resetTo(offset: number): Promise<void> {
    assertSafeOffset(offset);
    return this.#queue.run(async () => {
      this.#assertOpen();
      // The cache goes first: a crash part-way leaves an empty cache, which the next open rebuilds from the batches.
      await this.#epochs.clear();
      while (this.#segments.length > 0) await this.#segments.pop()!.delete();
      this.#segments.push(await Segment.create(this.dir, offset, this.#now(), this.#files));
      this.#unflushedRecords = 0;
      this.#oldestUnflushedAtMs = -1;
      this.#flushedOffset = offset;
      await this.#writeRecoveryPoint(offset);
    });
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  async #load(): Promise<void> {
    const options = { dir: this.dir, files: this.#files, nowMs: this.#now(), indexIntervalBytes: this.#config.indexIntervalBytes, initialOffset: this.#initialOffset };
    await loadSegments(options, this.#recovery, this.#segments);
    this.#flushedOffset = this.logEndOffset;
    // A segment whose seal was skipped (disk full) was not fsynced: the recovery point must not pass it.
    if (this.#recovery.writesSkippedDiskFull === 0) await unlessDiskFull(this.#recovery, () => this.#writeRecoveryPoint(this.#active.baseOffset));
    await this.#epochs.load(this.logStartOffset, this.logEndOffset, this.#segments, (write) => unlessDiskFull(this.#recovery, write));
  }

  #readRecoveryPoint(): Promise<number> {
    return readRecoveryPoint(this.#files, this.dir);
  }

  #writeRecoveryPoint(offset: number): Promise<void> {
    return writeRecoveryPoint(this.#files, this.dir, offset);
  }

  async #maybeRoll(incomingBytes: number, incomingRecords: number): Promise<void> {
    const active = this.#active;
    if (active.isEmpty) return;
    const full = active.size + incomingBytes > this.#config.segmentBytes;
    const old = this.#now() - active.createdAtMs >= this.#config.segmentMs;
    const offsetsExhausted = active.nextOffset + incomingRecords - active.baseOffset > SEGMENT_RELATIVE_OFFSET_MAX;
    if (full || old || offsetsExhausted) await this.#roll();
  }

  async #roll(): Promise<void> {
    const sealed = this.#active;
    try {
      await sealed.seal();
      this.#segments.push(await Segment.create(this.dir, sealed.nextOffset, this.#now(), this.#files));
    } catch (e) {
      // The segment stays active (appends go on into it) and the next roll tries again.
      sealed.sealed = false;
      throw e;
    }
    this.#flushedOffset = Math.max(this.#flushedOffset, sealed.nextOffset);
    await this.#writeRecoveryPoint(sealed.nextOffset);
    this.#boundLoadedIndexes(sealed);
    this.#onSegmentSealed(sealedInfo(sealed));
  }

  async #afterAppend(records: number): Promise<void> {
    this.#active.appendedAtMs = this.#now();
    this.#unflushedRecords += records;
    if (this.#oldestUnflushedAtMs < 0) this.#oldestUnflushedAtMs = this.#now();
    if (this.#config.flushMessages > 0 && this.#unflushedRecords >= this.#config.flushMessages) await this.#flushActive();
  }

  async #flushActive(): Promise<void> {
    if (this.#unflushedRecords === 0) return;
    await this.#active.flush();
    this.#unflushedRecords = 0;
    this.#oldestUnflushedAtMs = -1;
    this.#flushedOffset = this.logEndOffset;
  }

  async #enforceRetention(now: number): Promise<void> {
    const { retentionMs, retentionBytes } = this.#config;
    // An active segment wholly past retention rolls, so that it can go too (as Kafka does).
    const active = this.#active;
    if (retentionMs >= 0 && !active.isEmpty && retentionTimestamp(active) < now - retentionMs) await this.#roll();
    let total = 0;
    for (const segment of this.#segments) total += segment.size;
    const gate = this.#deletableBelow();
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0]!;
      if (oldest.nextOffset > gate) break;
      const expired = retentionMs >= 0 && retentionTimestamp(oldest) < now - retentionMs;
      const oversized = retentionBytes >= 0 && total - oldest.size >= retentionBytes;
      if (!expired && !oversized) break;
      this.#segments.shift();
      total -= oldest.size;
      await oldest.delete();
    }
  }

  async #truncateTo(offset: number): Promise<void> {
    const keep = this.#segments.filter((s, i) => i === 0 || s.baseOffset < offset);
    const dropped = this.#segments.slice(keep.length);
    // Crash-safe order: lower the recovery point so everything from the kept tail on is rescanned;
    // cut the kept tail (fsynced); then drop later segments oldest first, so that a crash part-way
    // leaves a gap that recovery removes, never a contiguous suffix bringing records back.
    await this.#writeRecoveryPoint(Math.min(await this.#readRecoveryPoint(), keep[keep.length - 1]!.baseOffset));
    this.#segments = keep;
    await this.#active.truncateTo(offset, this.#config.indexIntervalBytes);
    for (const segment of dropped) await segment.delete();
    this.#flushedOffset = Math.min(this.#flushedOffset, this.logEndOffset);
  }

  async #findInSegment(segment: Segment, timestamp: number): Promise<TimestampLookup | null> {
    const start = await segment.scanStartFor(timestamp);
    return segment.withCursor(start, segment.size, 256 * 1024, async (cursor) => {
      while (await cursor.next()) {
        const batch = cursor.batch;
        if (batch.maxTimestamp < timestamp) continue;
        const bytes = await cursor.slice(batch.position, batch.position + batch.size);
        // Stops at the first match (a batch may hold hundreds of thousands of records), inflating off the loop.
        let found = null as TimestampLookup | null; // set by the visitor: `as` keeps TypeScript from narrowing it to null
        await visitRecordsAsync(
          bytes,
          (record) => {
            if (record.timestamp >= timestamp) found = { offset: record.offset, timestamp: record.timestamp };
            return found === null;
          },
          { fromOffset: this.logStartOffset },
        );
        if (found !== null) return found;
      }
      return null;
    });
  }

  #segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Keeps at most loadedIndexesMax sealed segments' indexes in memory, besides the one just used. */
  #boundLoadedIndexes(justUsed: Segment): void {
    let loaded = 0;
    for (let i = this.#segments.length - 2; i >= 0; i--) {
      const segment = this.#segments[i]!;
      if (segment === justUsed || !segment.indexesLoaded) continue;
      if (++loaded > this.#loadedIndexesMax) segment.unloadIndexes();
    }
  }

  #checkOffset(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new StrataError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${this.logStartOffset}, ${this.logEndOffset}]`, {
        details: { logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset },
      });
    }
  }

  #assertWritable(): void {
    this.#assertOpen();
    const refusal = this.#appendRefusal();
    if (refusal !== null) throw refusal;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StrataError('STORAGE_ERROR', `log ${this.dir} is closed`);
  }
}

/** Closes every segment (each descriptor goes even when another's close fails), then throws the first failure. */
async function closeAll(segments: readonly Segment[], options: { persistIndexes?: boolean }): Promise<void> {
  let failure: unknown = null;
  for (const segment of segments) {
    try {
      await segment.close(options);
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== null) throw failure;
}

function sealedInfo(segment: Segment): SealedSegmentInfo {
  return { baseOffset: segment.baseOffset, nextOffset: segment.nextOffset, sizeBytes: segment.size, maxTimestamp: segment.maxTimestamp, logPath: segment.logPath };
}

/**
 * The time retention.ms ages a segment by: its newest record's timestamp (as Kafka), but never a
 * later time than its last append. A record timestamped far in the future (written before the
 * topic bounded message.timestamp.after.max.ms, or by a topic that allows it) would otherwise keep
 * its segment, and every later one, forever.
 */
function retentionTimestamp(segment: Segment): number {
  return Math.min(segment.maxTimestamp, segment.appendedAtMs);
}

function assertSafeOffset(offset: number): void {
  if (!Number.isSafeInteger(offset)) throw new Error(`offset ${offset} is not a safe integer`);
}

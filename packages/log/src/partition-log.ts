import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StrataError, type BatchFrame } from '@strata/protocol';
import { SEGMENT_RELATIVE_OFFSET_MAX, validateLogConfig } from './config.js';
import { CLEAN_SHUTDOWN_FILE } from './file-names.js';
import { ReadBufferPool, sharedReadBufferPool } from './buffer-pool.js';
import { FileHandleCache, sharedFileHandleCache } from './file-cache.js';
import { SerialQueue } from './mutex.js';
import { AppendGroups, DEFAULT_APPEND_GROUP_BYTES_MAX, answerOf, type PreparedAppend } from './append-groups.js';
import { BackgroundSeals } from './background-seals.js';
import { LeaderEpochCache, type EpochEnd, type LogEpochEntry } from './leader-epochs.js';
import { loadSegments, truncateSegments, unlessDiskFull, writeRecoveryPoint } from './log-loader.js';
import { Segment } from './segment.js';
import { assertSafeOffset, checkOffset, closeAll, findInSegment, replicaBatches, retainedFrom, retentionTimestamp } from './log-helpers.js';
import { boundLoadedIndexes, logStats, sealedInfo, sealedPrefix, segmentIndexFor } from './log-helpers.js';
import { DEFAULT_PRODUCER_STATE_LIMITS, type ProducerEntry } from './producer-state.js';
import { PartitionProducers } from './partition-producers.js';
import type { AppendOptions, AppendResult, LogConfig, LogStats, PartitionLogOptions, RecoveryReport } from './types.js';
import type { SealedSegmentInfo, ReadOptions, ReadResult, TimestampLookup } from './types.js';

export type { EpochEnd, LogEpochEntry } from './leader-epochs.js';
export type { PartitionLogOptions, RecoveryReport, SealedSegmentInfo } from './types.js';
export { validateLogConfig } from './config.js';

/**
 * One partition's local log (docs/architecture.md#local-log): a list of segments, the last one active.
 * Appends, rolls, retention and truncation run one at a time through a queue; reads run
 * concurrently and pin the segments they touch so retention cannot delete them mid-read.
 * It keeps the partition's idempotent-producer state (producer-state.ts) with the batches: checked
 * and updated in the same queued step as the append, snapshotted at each roll and at close.
 */
export class PartitionLog {
  readonly dir: string;
  #config: LogConfig;
  readonly #now: () => number;
  readonly #loadedIndexesMax: number;
  readonly #initialOffset: number;
  readonly #bufferPool: ReadBufferPool;
  readonly #files: FileHandleCache;
  readonly #deletableBelow: () => number;
  readonly #appendRefusal: () => StrataError | null;
  /** The serial queue (appends, rolls, retention, truncation); appends queued together are written together. */
  readonly #groups: AppendGroups;
  readonly #appendProbe: PartitionLogOptions['appendProbe'];
  /** Rolled segments whose indexes, fsync and snapshot are still being written (background-seals.ts). */
  readonly #seals: BackgroundSeals;
  /** Sorted by base offset; never empty while open; the last is active. */
  #segments: Segment[] = [];
  #unflushedRecords = 0;
  #oldestUnflushedAtMs = -1;
  #flushedOffset = 0;
  #closed = false;
  #recovery: RecoveryReport;
  /** Leader epochs in this log (leader-epochs.ts). */
  readonly #epochs: LeaderEpochCache;
  /** Idempotent producers' epochs and last batches (producer-state.ts). */
  readonly #producers: PartitionProducers;

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
    const onSegmentSealed = options.onSegmentSealed ?? (() => undefined);
    this.#seals = new BackgroundSeals({
      writeRecoveryPoint: (offset) => writeRecoveryPoint(this.#files, this.dir, offset),
      writeProducerSnapshot: (offset, bytes) => unlessDiskFull(this.#recovery, () => this.#producers.writeSnapshot(offset, bytes)),
      onSealed: (segment) => {
        this.#flushedOffset = Math.max(this.#flushedOffset, segment.nextOffset);
        boundLoadedIndexes(this.#segments, segment, this.#loadedIndexesMax);
        onSegmentSealed(sealedInfo(segment));
      },
      onFailed: options.onSealFailed ?? (() => undefined),
      beforeSeal: options.sealProbe,
    });
    this.#appendRefusal = options.appendRefusal ?? (() => null);
    this.#appendProbe = options.appendProbe;
    const where = basename(this.dir);
    this.#groups = new AppendGroups(new SerialQueue(), options.appendGroupBytesMax ?? DEFAULT_APPEND_GROUP_BYTES_MAX, {
      assertWritable: () => this.#assertWritable(),
      check: (batches, frames, staged) => this.#producers.check(batches, frames, where, staged),
      segmentBytes: () => this.#config.segmentBytes,
      needsRoll: (bytes, records, afterOthers) => this.#needsRoll(bytes, records, afterOthers),
      roll: () => this.#roll(),
      nextOffset: () => this.#active.nextOffset,
      write: (prepared, bytes, records) => this.#writePrepared(prepared, bytes, records),
    });
    this.#producers = new PartitionProducers(this.dir, this.#files, this.#now, options.producerStateLimits ?? DEFAULT_PRODUCER_STATE_LIMITS);
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
   * epoch (both outside the CRC, so it is not recomputed). The buffer is modified in place and must
   * not be reused by the caller. Appends queued together are written together (append-groups.ts).
   *
   * Batches of idempotent producers are checked first, batch by batch (producer-state.ts): a
   * refused one fails the whole append before anything is written; a duplicate of a batch written
   * before is left out and answered with its original offsets. When every batch is a duplicate,
   * nothing is written and the answer says `duplicate`.
   */
  append(batches: Buffer, frames: readonly BatchFrame[], options: AppendOptions): Promise<AppendResult> {
    if (frames.length === 0) return Promise.reject(new StrataError('INVALID_RECORD', 'append of zero batches'));
    return this.#groups.add(batches, frames, options);
  }

  /** One write of a group (append-groups.ts): it succeeds or fails for every request in it. */
  async #writePrepared(write: PreparedAppend[], bytes: number, records: number): Promise<void> {
    const segment = this.#active;
    const baseOffset = segment.nextOffset;
    try {
      assertSafeOffset(baseOffset + records);
      // No await (a microtask turn per request) for what almost every append skips: a new epoch, a probe, a flush.
      const epoch = write[0]!.pending.options.leaderEpoch;
      if (this.#epochs.latest === null || this.#epochs.latest < epoch) await this.#epochs.note(epoch, baseOffset);
      if (this.#appendProbe !== undefined) await this.#appendProbe({ baseOffset, requests: write.length, bytes });
      await segment.append(write.map((p) => p.batches), write.flatMap((p) => p.appended), this.#config.indexIntervalBytes);
      for (const p of write) this.#producers.record(p.batches, p.frames, p.appended);
      if (this.#noteAppended(records)) await this.#flushActive();
    } catch (e) {
      for (const p of write) p.pending.reject(e);
      return;
    }
    for (const p of write) p.pending.resolve(answerOf(p));
  }

  /**
   * A follower's append: batches exactly as the leader wrote them (offsets and leader epochs kept,
   * nothing rewritten). They must continue this log (the first base offset is the log end) and be
   * contiguous; their CRCs were checked by validateBatches.
   */
  appendReplica(batches: Buffer, frames: readonly BatchFrame[]): Promise<AppendResult> {
    if (frames.length === 0) return Promise.reject(new StrataError('INVALID_RECORD', 'append of zero batches'));
    return this.#groups.run(async () => {
      this.#assertWritable();
      const baseOffset = this.logEndOffset;
      const { appended, epochStarts, size, next } = replicaBatches(batches, frames, baseOffset, this.latestEpoch ?? -1);
      if (size !== batches.length) throw new Error(`frames cover ${size} bytes of a ${batches.length}-byte buffer`);
      assertSafeOffset(next);
      if (size > this.#config.segmentBytes) {
        throw new StrataError('MESSAGE_TOO_LARGE', `append of ${size} bytes is larger than segment.bytes (${this.#config.segmentBytes})`);
      }
      if (this.#needsRoll(size, next - baseOffset)) await this.#roll();
      for (const entry of epochStarts) await this.#epochs.note(entry.epoch, entry.startOffset);
      await this.#active.append([batches], appended, this.#config.indexIntervalBytes);
      // The leader checked these batches: a follower only keeps the state (Kafka's replication origin).
      this.#producers.record(batches, frames, appended);
      if (this.#noteAppended(next - baseOffset)) await this.#flushActive();
      return { baseOffset, lastOffset: next - 1, recordCount: next - baseOffset, duplicate: false };
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

  /** An idempotent producer's state here (its epoch and last batches), or undefined when unknown or expired. */
  producerState(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.#producers.get(producerId);
  }

  /**
   * The producer-state snapshot as of `offset` (written when the segment ending there rolled), or
   * null: the uploader keeps it beside that segment's object, for a leader that starts from the bucket.
   */
  producerSnapshot(offset: number): Promise<Buffer | null> {
    return this.#producers.readSnapshot(offset);
  }

  /**
   * The byte position in the sealed segment based at `segmentBase` of the first batch at or past
   * `offset` (an upload that starts inside a segment another leader's boundaries cut differently).
   */
  async positionOf(segmentBase: number, offset: number): Promise<{ position: number; baseOffset: number }> {
    this.#assertOpen();
    const segment = this.#segments.find((s) => s.baseOffset === segmentBase);
    if (segment === undefined) throw new StrataError('OFFSET_OUT_OF_RANGE', `no segment based at ${segmentBase}`);
    return this.#pinned(segment, () => segment.positionOf(offset));
  }

  async read(offset: number, options: ReadOptions): Promise<ReadResult> {
    this.#assertOpen();
    checkOffset(offset, this.logStartOffset, this.logEndOffset);
    const limit = Math.min(options.maxOffset ?? Infinity, this.logEndOffset);
    const empty: ReadResult = { data: Buffer.alloc(0), nextOffset: offset, batchCount: 0 };
    if (offset >= limit) return empty;
    let index = segmentIndexFor(this.#segments, offset);
    while (index < this.#segments.length) {
      const segment = this.#segments[index]!;
      // Snapshot the size: bytes past it may still be in flight from an append.
      const result = await this.#pinned(segment, () =>
        segment.read(offset, Math.max(1, options.maxBytes), limit, segment.size, this.#config.indexIntervalBytes, this.#bufferPool),
      );
      if (result) return result;
      if (segment.nextOffset >= limit) return empty;
      // The offset lies past this segment's end: it rolled, or retention moved on under us.
      index = this.#segments.indexOf(segment) + 1;
      if (index === 0) index = segmentIndexFor(this.#segments, Math.max(offset, this.logStartOffset));
    }
    return empty;
  }

  /** The first offset whose record timestamp is at or after `timestamp`, as Kafka's ListOffsets answers. */
  async offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null> {
    this.#assertOpen();
    for (const segment of [...this.#segments]) {
      if (segment.maxTimestamp < timestamp) continue;
      const found = await this.#pinned(segment, () => findInSegment(segment, timestamp, this.logStartOffset));
      if (found) return found;
    }
    return null;
  }

  updateConfig(config: LogConfig): void {
    validateLogConfig(config);
    this.#config = { ...config };
  }

  /** Periodic work: roll by segment.ms, delete by retention, fsync by flush.ms. */
  maintain(): Promise<void> {
    return this.#groups.run(async () => {
      if (this.#closed) return;
      this.#seals.retry();
      const now = this.#now();
      const active = this.#active;
      if (!active.isEmpty && now - active.createdAtMs >= this.#config.segmentMs) await this.#roll();
      await this.#enforceRetention(now);
      this.#producers.expire();
      if (this.#config.flushMs >= 0 && this.#oldestUnflushedAtMs >= 0 && now - this.#oldestUnflushedAtMs >= this.#config.flushMs) {
        await this.#flushActive();
      }
    });
  }

  /**
   * The segments whose seal has completed (indexes on disk, data fsynced), oldest first: a snapshot,
   * retention may remove them later. A segment still sealing in the background is not among them.
   */
  sealedSegments(): SealedSegmentInfo[] {
    return sealedPrefix(this.#segments);
  }

  /** Seals the active segment now if it holds anything, and waits until every seal completed (shutdown hand-over, tests). */
  async roll(): Promise<void> {
    await this.#groups.run(async () => {
      this.#assertOpen();
      if (!this.#active.isEmpty) await this.#roll();
    });
    await this.#seals.drain();
  }

  /** Rolled segments whose seal is still running or failed (background-seals.ts). */
  get pendingSeals(): number {
    return this.#seals.size;
  }

  /** Resolves once every segment rolled so far has completed its seal; throws the failure of one that could not. */
  whenSealed(): Promise<void> {
    return this.#seals.drain();
  }

  flush(): Promise<void> {
    return this.#groups.run(async () => {
      this.#assertOpen();
      await this.#flushActive();
    });
  }

  stats(): LogStats {
    return logStats(this.#segments, this.#flushedOffset);
  }

  /** Flushes, persists the active indexes and marks a clean shutdown, so the next open skips recovery. */
  close(): Promise<void> {
    return this.#groups.run(async () => {
      if (this.#closed) return;
      try {
        await this.#flushActive();
      } catch (e) {
        // A seal or fsync that fails leaves no clean-shutdown marker: the next open rescans.
        this.#closed = true;
        await Promise.allSettled(this.#segments.map((segment) => segment.close({ persistIndexes: false })));
        throw e;
      }
      this.#closed = true;
      await closeAll(this.#segments, {});
      // The state as of the log end: the next (clean) open replays nothing.
      await this.#producers.snapshot(this.logEndOffset);
      // The marker names the active segment's size: a file that differs at the next open was
      // written after this close (or torn), and is recovered rather than trusted.
      await this.#files.writeFile(join(this.dir, CLEAN_SHUTDOWN_FILE), `${this.#active.baseOffset} ${this.#active.size}\n`);
    });
  }

  /** Closes the log and removes its directory (topic deletion). */
  destroy(): Promise<void> {
    return this.#groups.run(async () => {
      if (!this.#closed) {
        this.#closed = true;
        await this.#seals.abandon();
        // Every descriptor goes, even if one close fails; nothing is persisted into a directory about to go.
        await Promise.allSettled(this.#segments.map((segment) => segment.close({ persistIndexes: false })));
      }
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  /** Removes every record at or after `offset` (a follower's truncation to the leader's history). */
  truncateTo(offset: number): Promise<void> {
    return this.#groups.run(async () => {
      this.#assertOpen();
      if (offset >= this.logEndOffset) return;
      if (offset < this.logStartOffset) throw new StrataError('OFFSET_OUT_OF_RANGE', `cannot truncate to ${offset}, below the log start ${this.logStartOffset}`);
      // The recovery point is lowered below: no background seal may raise it again afterwards.
      await this.#seals.drain();
      await this.#truncateTo(offset);
      await this.#epochs.truncateFrom(this.logEndOffset);
      // The state is rebuilt as of the new end: snapshots past it go, then the newest one left plus the batches after it.
      await this.#producers.recover(this.#segments, this.logEndOffset);
    });
  }

  /**
   * Discards every record and continues empty at `offset` (Kafka's truncateFullyAndStartAt): a
   * leader taking over a partition whose newer records live in the bucket or on another broker.
   * Newest segments go first, so a crash part-way leaves a prefix of the old log, never a log
   * with a gap in it; the caller redoes the reset (it must not trust the old records meanwhile).
   * `producerSnapshot`: the producer state as of `offset` (the bucket's snapshot beside the segment
   * ending there), so that idempotent producers' retries are still recognised; an unusable one is
   * ignored (the producers then go on as unknown ones, which Kafka accepts).
   */
  resetTo(offset: number, producerSnapshot: Buffer | null = null): Promise<void> {
    assertSafeOffset(offset);
    return this.#groups.run(async () => {
      this.#assertOpen();
      await this.#seals.abandon();
      // The cache goes first: a crash part-way leaves an empty cache, which the next open rebuilds from the batches.
      await this.#epochs.clear();
      while (this.#segments.length > 0) await this.#segments.pop()!.delete();
      this.#segments.push(await Segment.create(this.dir, offset, this.#now(), this.#files));
      this.#unflushedRecords = 0;
      this.#oldestUnflushedAtMs = -1;
      this.#flushedOffset = offset;
      await writeRecoveryPoint(this.#files, this.dir, offset);
      await this.#producers.reset(offset, producerSnapshot);
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
    if (this.#recovery.writesSkippedDiskFull === 0) await unlessDiskFull(this.#recovery, () => writeRecoveryPoint(this.#files, this.dir, this.#active.baseOffset));
    await this.#epochs.load(this.logStartOffset, this.logEndOffset, this.#segments, (write) => unlessDiskFull(this.#recovery, write));
    await this.#producers.recover(this.#segments, this.logEndOffset);
    // A seal the disk had no room for at open: retried in the background, as after a roll.
    for (const segment of this.#segments.slice(0, -1)) if (!segment.sealCompleted) this.#seals.add({ segment, producerSnapshot: null });
  }

  /** `afterOthers`: the bytes follow others of the same write, so the segment will not be empty under them. */
  #needsRoll(incomingBytes: number, incomingRecords: number, afterOthers = false): boolean {
    const active = this.#active;
    if (active.isEmpty && !afterOthers) return false;
    const full = active.size + incomingBytes > this.#config.segmentBytes;
    const old = this.#now() - active.createdAtMs >= this.#config.segmentMs;
    return full || old || active.nextOffset + incomingRecords - active.baseOffset > SEGMENT_RELATIVE_OFFSET_MAX;
  }

  /**
   * Closes the active segment to appends and opens the next; the rest of the seal (indexes, fsync,
   * recovery point, producer snapshot, then the uploader's cue) runs in the background, so appends
   * never wait for a 128 MiB datasync (background-seals.ts).
   */
  async #roll(): Promise<void> {
    const sealed = this.#active;
    sealed.sealed = true;
    try {
      this.#segments.push(await Segment.create(this.dir, sealed.nextOffset, this.#now(), this.#files));
    } catch (e) {
      // The segment stays active (appends go on into it) and the next roll tries again.
      sealed.sealed = false;
      throw e;
    }
    // Kafka's `<offset>.snapshot` at each roll: recovery replays only the active segment, and the
    // uploader keeps it beside the sealed segment's object. Its loss costs a longer replay, never a record.
    this.#seals.add({ segment: sealed, producerSnapshot: this.#producers.encodeSnapshot(sealed.nextOffset) });
  }

  /** Counts an append's records as unflushed; true when flush.messages asks for a flush now. */
  #noteAppended(records: number): boolean {
    this.#active.appendedAtMs = this.#now();
    this.#unflushedRecords += records;
    if (this.#oldestUnflushedAtMs < 0) this.#oldestUnflushedAtMs = this.#now();
    return this.#config.flushMessages > 0 && this.#unflushedRecords >= this.#config.flushMessages;
  }

  async #flushActive(): Promise<void> {
    // Everything up to the log end is durable only once the segments before the active one are too.
    await this.#seals.drain();
    if (this.#unflushedRecords === 0) return;
    await this.#active.flush();
    this.#unflushedRecords = 0;
    this.#oldestUnflushedAtMs = -1;
    this.#flushedOffset = this.logEndOffset;
  }

  async #enforceRetention(now: number): Promise<void> {
    const { retentionMs } = this.#config;
    // An active segment wholly past retention rolls, so that it can go too (as Kafka does).
    const active = this.#active;
    if (retentionMs >= 0 && !active.isEmpty && retentionTimestamp(active) < now - retentionMs) await this.#roll();
    const startBefore = this.logStartOffset;
    // A segment still sealing is not deleted under its seal (nor is anything after it).
    const gate = Math.min(this.#deletableBelow(), this.#seals.oldestPendingBase);
    for (let n = retainedFrom(this.#segments, this.#config, gate, now); n > 0; n--) await this.#segments.shift()!.delete();
    if (this.logStartOffset > startBefore) await this.#producers.dropBelow(this.logStartOffset);
  }

  async #truncateTo(offset: number): Promise<void> {
    await truncateSegments(this.#segments, offset, { files: this.#files, dir: this.dir, indexIntervalBytes: this.#config.indexIntervalBytes }, (keep) => {
      this.#segments = keep;
    });
    this.#flushedOffset = Math.min(this.#flushedOffset, this.logEndOffset);
  }

  /** Runs `use` with `segment` pinned, so that retention cannot delete it mid-read. */
  async #pinned<T>(segment: Segment, use: () => Promise<T>): Promise<T> {
    segment.acquire();
    try {
      return await use();
    } finally {
      segment.release();
      boundLoadedIndexes(this.#segments, segment, this.#loadedIndexesMax);
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

import { rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BatchCursor } from './batch-cursor.js';
import type { ReadBufferPool } from './buffer-pool.js';
import type { CachedFile, FileHandleCache } from './file-cache.js';
import { DELETED_SUFFIX, LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX, segmentFileStem } from './file-names.js';
import { scanSegmentFile, type RecoveryScan } from './recovery.js';
import { writePartsOrCutBack } from './segment-write.js';
import { OffsetIndex, TimeIndex } from './sparse-index.js';
import { truncateUnshared } from './unshare.js';

/** Metadata of one appended batch, as the segment indexes it. */
export interface AppendedBatch {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export interface SegmentRead {
  data: Buffer;
  nextOffset: number;
  batchCount: number;
  /** Returns the read buffers to the pool: call once nothing refers to `data` any more. */
  release: () => void;
}

/**
 * One segment: `<base>.log` with its sparse `.index` and `.timeindex`.
 * The indexes of the active segment live in memory and reach disk when it is sealed or the log
 * closes cleanly; after a crash the active segment is rescanned, so they never need to be trusted.
 * A sealed segment's indexes can be dropped from memory and reloaded (bounded memory).
 * The log file's descriptor comes from a FileHandleCache: each operation holds it only while it
 * runs, so an idle segment (sealed or active) may have none open (bounded descriptors).
 */
export class Segment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly offsetIndexPath: string;
  readonly timeIndexPath: string;

  /** Bytes in the log file. */
  size = 0;
  /** Offset after the last record (== baseOffset when empty). */
  nextOffset: number;
  /** Largest record timestamp in the segment; -1 when empty. */
  maxTimestamp = -1;
  /** Base offset of the batch holding maxTimestamp. */
  offsetOfMaxTimestamp = -1;
  /** Wall-clock ms when this segment started taking appends: segment.ms counts from here. */
  createdAtMs: number;
  /**
   * Wall-clock ms of the last append (the owner sets it; when opened from disk, the time it was
   * opened): time retention never ages a segment from a later time than this (partition-log.ts).
   */
  appendedAtMs: number;
  sealed = false;

  #file: CachedFile | null = null;
  readonly #files: FileHandleCache;
  #offsetIndex: OffsetIndex | null = null;
  #timeIndex: TimeIndex | null = null;
  #bytesSinceIndexEntry = 0;
  #readers = 0;
  #deleted = false;
  #sealCompleted = false;
  /** The log file was replaced by a private copy (unshare.ts) under an operation holding the old one. */
  #unshared = false;
  readonly #pathsForRemoval: { logPath: string; offsetIndexPath: string; timeIndexPath: string };

  private constructor(dir: string, baseOffset: number, createdAtMs: number, files: FileHandleCache) {
    this.#files = files;
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.createdAtMs = createdAtMs;
    this.appendedAtMs = createdAtMs;
    const stem = join(dir, segmentFileStem(baseOffset));
    this.logPath = stem + LOG_SUFFIX;
    this.offsetIndexPath = stem + OFFSET_INDEX_SUFFIX;
    this.timeIndexPath = stem + TIME_INDEX_SUFFIX;
    this.#pathsForRemoval = { logPath: this.logPath, offsetIndexPath: this.offsetIndexPath, timeIndexPath: this.timeIndexPath };
  }

  static async create(dir: string, baseOffset: number, nowMs: number, files: FileHandleCache): Promise<Segment> {
    const segment = new Segment(dir, baseOffset, nowMs, files);
    // 'wx' fails if a file is there: a new segment must never overwrite data.
    segment.#file = await files.create(segment.logPath);
    segment.#offsetIndex = new OffsetIndex();
    segment.#timeIndex = new TimeIndex();
    try {
      await Promise.all([rm(segment.offsetIndexPath, { force: true }), rm(segment.timeIndexPath, { force: true })]);
    } catch (e) {
      await segment.#file.close();
      throw e;
    }
    return segment;
  }

  /**
   * Opens a segment found on disk. With `recover`, every batch is checked and a bad suffix is
   * truncated away; otherwise the indexes are loaded (and rebuilt if missing or implausible).
   * `knownNextOffset` is the next segment's base offset when this one is not the last.
   */
  static async openExisting(
    dir: string,
    baseOffset: number,
    options: { recover: boolean; knownNextOffset: number | null; nowMs: number; indexIntervalBytes: number; files: FileHandleCache },
  ): Promise<{ segment: Segment; scan: RecoveryScan | null; truncatedBytes: number }> {
    const segment = new Segment(dir, baseOffset, options.nowMs, options.files);
    const cached = options.files.file(segment.logPath);
    segment.#file = cached;
    try {
      const opened = await cached.use((file) => segment.#open(file, options));
      if (segment.#unshared) await segment.#reopenUnshared();
      return opened;
    } catch (e) {
      // A segment that cannot be opened leaves no descriptor behind.
      await cached.close().catch(() => undefined);
      throw e;
    }
  }

  async #open(
    file: FileHandle,
    options: { recover: boolean; knownNextOffset: number | null; indexIntervalBytes: number },
  ): Promise<{ segment: Segment; scan: RecoveryScan | null; truncatedBytes: number }> {
    this.size = (await file.stat()).size;
    if (options.recover) {
      const scan = await this.#rebuildIndexes(file, options.indexIntervalBytes);
      const truncatedBytes = this.size - scan.validBytes;
      if (truncatedBytes > 0) {
        this.#unshared = await truncateUnshared(file, this.logPath, scan.validBytes);
        this.size = scan.validBytes;
      }
      return { segment: this, scan, truncatedBytes };
    }
    const loaded = await this.#loadIndexes();
    if (!loaded) {
      await this.#rebuildIndexes(file, options.indexIntervalBytes);
      // Below the recovery point, so fsynced: sealed. The rebuilt indexes stay in memory until unloaded.
      if (options.knownNextOffset !== null) this.sealed = this.#sealCompleted = true;
      return { segment: this, scan: null, truncatedBytes: 0 };
    }
    if (options.knownNextOffset !== null) {
      this.sealed = true;
      this.#sealCompleted = true;
      this.nextOffset = options.knownNextOffset;
      this.maxTimestamp = this.#timeIndex!.lastTimestamp();
      this.offsetOfMaxTimestamp = this.baseOffset + this.#timeIndex!.lastRelativeOffset();
    } else {
      await this.#scanTail(file, options.indexIntervalBytes);
    }
    return { segment: this, scan: null, truncatedBytes: 0 };
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /**
   * Writes batches whose offsets the caller has already assigned, with one positional write of
   * `parts` back to back (several: a group of appends); `batches` are positioned in their concatenation.
   */
  async append(parts: readonly Buffer[], batches: readonly AppendedBatch[], indexIntervalBytes: number): Promise<void> {
    if (this.sealed) throw new Error(`segment ${this.baseOffset} is sealed`);
    let total = 0;
    for (const part of parts) total += part.length;
    await this.#requireFile().use((file) => writePartsOrCutBack(file, parts, total, this.size));
    // Loaded on every active segment: no promise per append for it.
    const offsetIndex = this.#offsetIndex ?? (await this.#offsetIndexLoaded());
    const timeIndex = this.#timeIndex!;
    for (const batch of batches) {
      if (batch.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = batch.maxTimestamp;
        this.offsetOfMaxTimestamp = batch.baseOffset;
      }
      if (this.#bytesSinceIndexEntry >= indexIntervalBytes || offsetIndex.count === 0) {
        offsetIndex.append(batch.baseOffset - this.baseOffset, this.size + batch.position);
        timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
        this.#bytesSinceIndexEntry = 0;
      }
      this.#bytesSinceIndexEntry += batch.size;
      this.nextOffset = batch.lastOffset + 1;
    }
    this.size += total;
  }

  /**
   * Whole batches starting with the one that holds `offset`, up to `maxBytes` (at least one batch),
   * never one whose last offset reaches `limitOffset`. Null when the segment has nothing at `offset`.
   */
  async read(
    offset: number,
    maxBytes: number,
    limitOffset: number,
    sizeSnapshot: number,
    indexIntervalBytes: number,
    pool: ReadBufferPool | null,
  ): Promise<SegmentRead | null> {
    const offsetIndex = await this.#offsetIndexLoaded();
    // The descriptor is held while the batches are read; the bytes returned are copies (pooled).
    return this.#requireFile().use((file) => this.#read(file, offsetIndex, offset, maxBytes, limitOffset, sizeSnapshot, indexIntervalBytes, pool));
  }

  async #read(
    file: FileHandle,
    offsetIndex: OffsetIndex,
    offset: number,
    maxBytes: number,
    limitOffset: number,
    sizeSnapshot: number,
    indexIntervalBytes: number,
    pool: ReadBufferPool | null,
  ): Promise<SegmentRead | null> {
    const start = offsetIndex.floorPosition(offset - this.baseOffset);
    const windowBytes = Math.min(Math.max(maxBytes + indexIntervalBytes, 64 * 1024), 16 * 1024 * 1024);
    const cursor = new BatchCursor(file, start, sizeSnapshot, windowBytes, pool);
    try {
      const batch = cursor.batch;
      let first = -1;
      while (await cursor.next()) {
        if (batch.lastOffset >= offset) {
          first = batch.position;
          break;
        }
      }
      if (first < 0 || batch.lastOffset >= limitOffset) {
        cursor.releaseAll();
        return null;
      }
      let end = batch.position + batch.size;
      let nextOffset = batch.lastOffset + 1;
      let batchCount = 1;
      while (end - first < maxBytes && (await cursor.next())) {
        if (batch.lastOffset >= limitOffset || batch.position + batch.size - first > maxBytes) break;
        end = batch.position + batch.size;
        nextOffset = batch.lastOffset + 1;
        batchCount++;
      }
      return { data: await cursor.slice(first, end), nextOffset, batchCount, release: () => cursor.releaseAll() };
    } catch (e) {
      cursor.releaseAll();
      throw e;
    }
  }

  /**
   * Removes the batch holding `offset` and everything after it (Kafka truncates whole batches),
   * then rebuilds the indexes. Rare (a follower meeting a new leader), so a rescan is fine.
   */
  async truncateTo(offset: number, indexIntervalBytes: number): Promise<void> {
    const offsetIndex = await this.#offsetIndexLoaded();
    await this.#requireFile().use(async (file) => {
      const cursor = new BatchCursor(file, offsetIndex.floorPosition(offset - this.baseOffset), this.size, 1024 * 1024);
      let cut = this.size;
      while (await cursor.next()) {
        if (cursor.batch.lastOffset >= offset) {
          cut = cursor.batch.position;
          break;
        }
      }
      this.#unshared = await truncateUnshared(file, this.logPath, cut);
      this.size = cut;
      this.sealed = false;
      this.#sealCompleted = false;
      if (!this.#unshared) await this.#rebuildIndexes(file, indexIntervalBytes);
    });
    if (!this.#unshared) return;
    await this.#reopenUnshared();
    await this.#requireFile().use((file) => this.#rebuildIndexes(file, indexIntervalBytes));
  }

  /** After truncateUnshared copied the file, the cached descriptor still names the shared inode. */
  async #reopenUnshared(): Promise<void> {
    const shared = this.#requireFile();
    this.#file = this.#files.file(this.logPath);
    this.#unshared = false;
    await shared.close();
  }

  /**
   * Where to start scanning for the first batch whose max timestamp reaches `timestamp`:
   * a position from the time index, through the offset index.
   */
  async scanStartFor(timestamp: number): Promise<number> {
    const offsetIndex = await this.#offsetIndexLoaded();
    const relativeOffset = this.#timeIndex!.scanStartFor(timestamp);
    return relativeOffset < 0 ? 0 : offsetIndex.floorPosition(relativeOffset);
  }

  /**
   * The byte position of the first batch whose base offset is at or past `offset`, and that base
   * offset (the segment's end and nextOffset when there is none).
   */
  async positionOf(offset: number): Promise<{ position: number; baseOffset: number }> {
    const offsetIndex = await this.#offsetIndexLoaded();
    return this.#requireFile().use(async (file) => {
      const cursor = new BatchCursor(file, offsetIndex.floorPosition(Math.max(0, offset - this.baseOffset)), this.size, 1024 * 1024);
      while (await cursor.next()) {
        if (cursor.batch.baseOffset >= offset) return { position: cursor.batch.position, baseOffset: cursor.batch.baseOffset };
      }
      return { position: this.size, baseOffset: this.nextOffset };
    });
  }

  /**
   * Runs `walk` with a cursor over this segment's batches; the descriptor is held until it returns.
   * The caller must hold a reader reference.
   */
  withCursor<T>(from: number, end: number, windowBytes: number, walk: (cursor: BatchCursor) => Promise<T>): Promise<T> {
    return this.#requireFile().use((file) => walk(new BatchCursor(file, from, end, windowBytes)));
  }

  /**
   * fsync of the segment's data. On Linux fsync flushes the file (the inode), whichever descriptor
   * wrote: a descriptor reopened after an eviction flushes the writes made through the old one.
   */
  async flush(): Promise<void> {
    await this.#requireFile().use((file) => file.datasync());
  }

  /** Seals the segment: indexes reach disk (atomically) and everything is fsynced. */
  async seal(): Promise<void> {
    this.sealed = true;
    await this.completeSeal();
  }

  /**
   * The slow half of a seal, for a segment already marked `sealed` (no append can reach it):
   * background-seals.ts runs it off the append path. Until it completes, the in-memory indexes
   * are the only ones, so they stay loaded.
   */
  async completeSeal(): Promise<void> {
    if (!this.sealed) throw new Error(`segment ${this.baseOffset} is not sealed`);
    await this.#persistIndexes();
    await this.flush();
    this.#sealCompleted = true;
  }

  /** Its indexes are on disk and its data fsynced: it may be uploaded, and its indexes unloaded. */
  get sealCompleted(): boolean {
    return this.#sealCompleted;
  }

  /** Drops in-memory indexes of a sealed segment; they reload on the next read. */
  unloadIndexes(): void {
    if (!this.#sealCompleted || this.#readers > 0) return;
    this.#offsetIndex = null;
    this.#timeIndex = null;
  }

  get indexesLoaded(): boolean {
    return this.#offsetIndex !== null;
  }

  acquire(): void {
    this.#readers++;
  }

  release(): void {
    this.#readers--;
    if (this.#readers === 0 && this.#deleted) void this.#removeFiles();
  }

  /**
   * Closes the file; the active segment persists its indexes first (clean shutdown), unless the
   * segment is being thrown away. The descriptor is closed even when persisting fails (ENOSPC).
   */
  async close(options: { persistIndexes?: boolean } = {}): Promise<void> {
    const file = this.#file;
    if (!file) return;
    try {
      if (options.persistIndexes !== false && !this.sealed && this.#offsetIndex) await this.#persistIndexes();
    } finally {
      this.#file = null;
      await file.close();
    }
  }

  /**
   * Deletes the segment's files once no reader holds it (retention, truncation, topic deletion).
   * While readers hold it the files are renamed to `*.deleted` at once (open handles keep
   * working), so a new segment with the same base offset can never be removed by mistake.
   */
  async delete(): Promise<void> {
    this.#deleted = true;
    if (this.#readers === 0) {
      await this.#removeFiles();
      return;
    }
    const suffix = `.${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}${DELETED_SUFFIX}`;
    for (const key of ['logPath', 'offsetIndexPath', 'timeIndexPath'] as const) {
      const renamed = this[key] + suffix;
      const moved = await rename(this[key], renamed).then(() => true, () => false);
      this.#pathsForRemoval[key] = renamed;
      if (moved && key === 'logPath') this.#file?.renamed(renamed);
    }
  }

  async #removeFiles(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    await file?.close();
    const paths = this.#pathsForRemoval;
    await Promise.all([rm(paths.logPath, { force: true }), rm(paths.offsetIndexPath, { force: true }), rm(paths.timeIndexPath, { force: true })]);
  }

  async #persistIndexes(): Promise<void> {
    const offsetIndex = await this.#offsetIndexLoaded();
    // A final entry so that a sealed segment's max timestamp is its time index's last entry.
    if (this.maxTimestamp >= 0) this.#timeIndex!.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
    await this.#files.writeAtomically(this.offsetIndexPath, offsetIndex.serialize());
    await this.#files.writeAtomically(this.timeIndexPath, this.#timeIndex!.serialize());
  }

  async #offsetIndexLoaded(): Promise<OffsetIndex> {
    if (this.#offsetIndex) return this.#offsetIndex;
    // Only sealed segments unload; their index files were verified when the log opened, but if
    // they went bad since, a rebuild (which does not move nextOffset) is the safe answer.
    if (!(await this.#loadIndexes())) await this.#requireFile().use((file) => this.#rebuildIndexes(file, DEFAULT_REBUILD_INTERVAL_BYTES));
    return this.#offsetIndex!;
  }

  async #loadIndexes(): Promise<boolean> {
    const [offsetBytes, timeBytes] = await Promise.all([
      this.#files.readFile(this.offsetIndexPath).catch(() => null),
      this.#files.readFile(this.timeIndexPath).catch(() => null),
    ]);
    if (!offsetBytes || !timeBytes) return this.size === 0 ? this.#emptyIndexes() : false;
    const offsetIndex = OffsetIndex.parse(offsetBytes, this.size);
    const timeIndex = TimeIndex.parse(timeBytes);
    if (!offsetIndex || !timeIndex) return false;
    if (this.size > 0 && offsetIndex.count === 0) return false;
    this.#offsetIndex = offsetIndex;
    this.#timeIndex = timeIndex;
    return true;
  }

  #emptyIndexes(): boolean {
    this.#offsetIndex = new OffsetIndex();
    this.#timeIndex = new TimeIndex();
    return true;
  }

  /** Rebuilds both indexes (and nextOffset, maxTimestamp) from a full, CRC-checked scan. */
  async #rebuildIndexes(file: FileHandle, indexIntervalBytes: number): Promise<RecoveryScan> {
    const offsetIndex = new OffsetIndex();
    const timeIndex = new TimeIndex();
    let bytesSinceEntry = 0;
    let maxTimestamp = -1;
    let offsetOfMaxTimestamp = -1;
    const scan = await scanSegmentFile(file, this.size, this.baseOffset, (batch) => {
      if (batch.maxTimestamp > maxTimestamp) {
        maxTimestamp = batch.maxTimestamp;
        offsetOfMaxTimestamp = batch.baseOffset;
      }
      if (offsetIndex.count === 0 || bytesSinceEntry >= indexIntervalBytes) {
        offsetIndex.append(batch.baseOffset - this.baseOffset, batch.position);
        timeIndex.maybeAppend(maxTimestamp, offsetOfMaxTimestamp - this.baseOffset);
        bytesSinceEntry = 0;
      }
      bytesSinceEntry += batch.size;
    });
    this.#offsetIndex = offsetIndex;
    this.#timeIndex = timeIndex;
    this.#bytesSinceIndexEntry = bytesSinceEntry;
    this.nextOffset = scan.nextOffset;
    this.maxTimestamp = maxTimestamp;
    this.offsetOfMaxTimestamp = offsetOfMaxTimestamp;
    if (this.sealed && maxTimestamp >= 0) timeIndex.maybeAppend(maxTimestamp, offsetOfMaxTimestamp - this.baseOffset);
    return scan;
  }

  /** After a clean shutdown: recover nextOffset and maxTimestamp from the batches after the last index entry. */
  async #scanTail(file: FileHandle, indexIntervalBytes: number): Promise<void> {
    const from = this.#offsetIndex!.lastPosition();
    const cursor = new BatchCursor(file, from, this.size, 1024 * 1024);
    let bytesSinceEntry = 0;
    this.maxTimestamp = this.#timeIndex!.lastTimestamp();
    this.offsetOfMaxTimestamp = this.baseOffset + this.#timeIndex!.lastRelativeOffset();
    while (await cursor.next()) {
      bytesSinceEntry += cursor.batch.size;
      this.nextOffset = cursor.batch.lastOffset + 1;
      if (cursor.batch.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = cursor.batch.maxTimestamp;
        this.offsetOfMaxTimestamp = cursor.batch.baseOffset;
      }
    }
    this.#bytesSinceIndexEntry = Math.min(bytesSinceEntry, indexIntervalBytes);
  }

  #requireFile(): CachedFile {
    if (!this.#file) throw new Error(`segment ${this.baseOffset} is closed`);
    return this.#file;
  }
}

/** Used when an unloaded sealed segment's index must be rebuilt outside of open(). */
const DEFAULT_REBUILD_INTERVAL_BYTES = 4096;

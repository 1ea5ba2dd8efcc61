// A bounded cache of open segment files, as Kafka's and Redpanda's file handle caches
// bound theirs: a process with thousands of segments (or partitions) must not need a
// descriptor for each, or it meets EMFILE under an ordinary `ulimit -n` and every
// produce, read and topic creation starts failing at random.
//
// Every segment file (the active one too) is a CachedFile. A user acquires it for the
// length of one operation (an append, a read, a scan) and releases it after; the
// descriptor stays open while idle, in least-recently-used order. At most `maxOpen`
// descriptors exist at once (a hard bound): opening one past it first closes the least
// recently used idle one, and when every descriptor is in use the opener waits (FIFO)
// for one to be released. A file in use is never closed under its user (reference
// counted). Waiting cannot deadlock: no operation holds one segment file while it
// acquires another (each log method holds at most one at a time).

import { open, readFile, writeFile, type FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '@strata/files';
import { Semaphore, StrataError } from '@strata/protocol';

/** The default bound for the shared cache: a quarter of the common `ulimit -n` of 1024, the rest for sockets. */
export const DEFAULT_MAX_OPEN_SEGMENT_FILES = 256;
/**
 * Small whole-file reads and writes (indexes, checkpoints, markers) in flight at once, beside the
 * segment files: an append to 2,000 partitions at once writes 2,000 epoch checkpoints. A separate
 * bound from the segment files', so that holding a segment file while writing one cannot deadlock.
 */
export const METADATA_FILES_IN_FLIGHT_MAX = 32;

export interface FileHandleCacheStats {
  /** Descriptors open now (idle and in use, and being opened or closed): at most maxOpen. */
  open: number;
  /** Files in use by an operation now (never closed by eviction). */
  inUse: number;
  maxOpen: number;
  /** Openers waiting because every descriptor is in use. */
  waiting: number;
  /** Opens since start (first opens and reopens after an eviction). */
  opensTotal: number;
  /** Idle descriptors closed to stay under maxOpen. */
  evictionsTotal: number;
}

export class FileHandleCache {
  readonly maxOpen: number;
  readonly #metadata = new Semaphore(METADATA_FILES_IN_FLIGHT_MAX);
  /** Open files that no one uses, least recently used first (a Map keeps insertion order). */
  readonly #idle = new Map<CachedFile, true>();
  /** Openers waiting for a slot, first come first served; each is handed a slot already counted. */
  readonly #waiting: Array<() => void> = [];
  /** Descriptors open, being opened or being closed: never above maxOpen. */
  #open = 0;
  /** Evicted descriptors whose close has not finished: their slots are promised to waiters. */
  #closing = 0;
  #inUse = 0;
  #opensTotal = 0;
  #evictionsTotal = 0;

  constructor(maxOpen: number = DEFAULT_MAX_OPEN_SEGMENT_FILES) {
    if (!Number.isSafeInteger(maxOpen) || maxOpen < 1) throw new StrataError('INVALID_CONFIG', `maxOpen must be an integer >= 1, got ${maxOpen}`);
    this.maxOpen = maxOpen;
  }

  /** A file of this cache, not opened yet: it opens (with `r+`) on its first acquire. */
  file(path: string): CachedFile {
    return new CachedFile(this, path, null);
  }

  /**
   * Creates a new file (`wx+`: it fails if a file is there, so a new segment never overwrites
   * data) and keeps its descriptor as an idle entry.
   */
  async create(path: string): Promise<CachedFile> {
    await this.reserve();
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx+');
    } catch (e) {
      this.slotFreed();
      throw e;
    }
    this.#opensTotal++;
    const file = new CachedFile(this, path, handle);
    this.idle(file);
    return file;
  }

  /** Reads a small metadata file whole, under the metadata bound. */
  readFile(path: string): Promise<Buffer>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  readFile(path: string, encoding?: 'utf8'): Promise<Buffer | string> {
    return this.#metadata.run<Buffer | string>(() => (encoding === undefined ? readFile(path) : readFile(path, encoding)));
  }

  /** Writes a small metadata file whole (no fsync), under the metadata bound. */
  writeFile(path: string, data: string | Buffer): Promise<void> {
    return this.#metadata.run(() => writeFile(path, data));
  }

  /** The one atomic write (@strata/files: temp, fsync, rename, fsync the dir), under the metadata bound: readers see the old or the new bytes. */
  writeAtomically(path: string, bytes: Buffer): Promise<void> {
    return this.#metadata.run(() => writeFileAtomic(path, bytes));
  }

  stats(): FileHandleCacheStats {
    return {
      open: this.#open,
      inUse: this.#inUse,
      maxOpen: this.maxOpen,
      waiting: this.#waiting.length,
      opensTotal: this.#opensTotal,
      evictionsTotal: this.#evictionsTotal,
    };
  }

  // ---- called by CachedFile only ----------------------------------------------

  /** @internal Resolves once one more descriptor may be opened; it is counted from then on. */
  async reserve(): Promise<void> {
    if (this.#open < this.maxOpen && this.#waiting.length === 0) {
      this.#open++;
      return;
    }
    const slot = new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#evictForWaiters();
    await slot;
  }

  /** @internal A descriptor was closed (or an open failed): its slot goes to the first waiter, or back. */
  slotFreed(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#open--;
  }

  /** @internal */
  opened(): void {
    this.#opensTotal++;
  }

  /** @internal A file goes from idle (or closed) to in use. */
  busy(file: CachedFile): void {
    this.#idle.delete(file);
    this.#inUse++;
  }

  /** @internal A file's last user released it. */
  released(file: CachedFile): void {
    this.#inUse--;
    this.idle(file);
  }

  /** @internal An open file no one uses: the most recently used idle entry. Openers waiting get its slot. */
  idle(file: CachedFile): void {
    if (file.isOpen) this.#idle.set(file, true);
    this.#evictForWaiters();
  }

  /** @internal An evicted descriptor is closed: its slot is free. */
  evicted(): void {
    this.#closing--;
    this.slotFreed();
  }

  /** @internal A file closed for good (segment closed or deleted). */
  forget(file: CachedFile): void {
    this.#idle.delete(file);
  }

  /** Closes idle descriptors, least recently used first, until each waiting opener has one closing for it. */
  #evictForWaiters(): void {
    while (this.#waiting.length > this.#closing && this.#evictOne());
  }

  /** Closes the least recently used idle descriptor; false when none is idle. */
  #evictOne(): boolean {
    for (const file of this.#idle.keys()) {
      this.#idle.delete(file);
      if (!file.evict()) continue;
      this.#evictionsTotal++;
      this.#closing++;
      return true;
    }
    return false;
  }
}

/** One segment file behind the cache: acquire() for the length of an operation, then release(). */
export class CachedFile {
  #path: string;
  #handle: FileHandle | null;
  #opening: Promise<FileHandle> | null = null;
  #users = 0;
  #closedForGood = false;
  /** Set by close() while the file is in use: the last release closes it. */
  #closeWhenReleased: (() => void) | null = null;

  constructor(
    private readonly cache: FileHandleCache,
    path: string,
    handle: FileHandle | null,
  ) {
    this.#path = path;
    this.#handle = handle;
  }

  get path(): string {
    return this.#path;
  }

  get isOpen(): boolean {
    return this.#handle !== null;
  }

  /** The file was renamed (a segment deleted while read): a reopen must use the new name. */
  renamed(path: string): void {
    this.#path = path;
  }

  /** A descriptor that stays open until the matching release(). */
  async acquire(): Promise<FileHandle> {
    if (this.#closedForGood) throw new Error(`segment file ${this.#path} is closed`);
    if (this.#users++ === 0) this.cache.busy(this);
    try {
      if (this.#handle !== null) return this.#handle;
      this.#opening ??= this.#reopen();
      return await this.#opening;
    } catch (e) {
      this.release();
      throw e;
    }
  }

  release(): void {
    if (this.#users <= 0) throw new Error(`segment file ${this.#path} released more often than acquired`);
    if (--this.#users > 0) return;
    this.cache.released(this);
    this.#closeWhenReleased?.();
  }

  /** Runs `task` with the descriptor held. */
  async use<T>(task: (handle: FileHandle) => Promise<T>): Promise<T> {
    // An open descriptor (every append to the active segment) is taken without a promise.
    const handle = this.#handle !== null && !this.#closedForGood ? this.#acquireOpen(this.#handle) : await this.acquire();
    try {
      return await task(handle);
    } finally {
      this.release();
    }
  }

  /** acquire() of a descriptor that is open. */
  #acquireOpen(handle: FileHandle): FileHandle {
    if (this.#users++ === 0) this.cache.busy(this);
    return handle;
  }

  /** Closes the descriptor for good, once no operation uses it; later acquires fail. */
  async close(): Promise<void> {
    if (this.#closedForGood) return;
    this.#closedForGood = true;
    if (this.#users > 0) await new Promise<void>((resolve) => (this.#closeWhenReleased = resolve));
    if (this.#opening !== null) await this.#opening.catch(() => undefined);
    this.cache.forget(this);
    const handle = this.#handle;
    this.#handle = null;
    if (handle !== null) {
      try {
        await handle.close();
      } finally {
        this.cache.slotFreed();
      }
    }
  }

  /** @internal The cache closes an idle descriptor (the next acquire reopens it); false if it is not idle and open. */
  evict(): boolean {
    const handle = this.#handle;
    if (handle === null || this.#users > 0) return false;
    this.#handle = null;
    // The slot is free once the descriptor really is closed. A failed close has nothing to undo:
    // no write is pending on it (writes are positional and awaited; durability comes from datasync).
    handle
      .close()
      .catch(() => undefined)
      .finally(() => this.cache.evicted());
    return true;
  }

  async #reopen(): Promise<FileHandle> {
    try {
      await this.cache.reserve();
      let handle: FileHandle;
      try {
        handle = await open(this.#path, 'r+');
      } catch (e) {
        this.cache.slotFreed();
        throw e;
      }
      this.cache.opened();
      this.#handle = handle;
      return handle;
    } finally {
      this.#opening = null;
    }
  }
}

/** The cache logs use unless they are given one (the broker gives its own, sized by its setting). */
export const sharedFileHandleCache = new FileHandleCache();

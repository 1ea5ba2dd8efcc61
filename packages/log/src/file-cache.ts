// A bounded cache of open segment files, as Kafka's and Redpanda's file handle caches
// bound theirs: a process with thousands of segments (or partitions) must not need a
// descriptor for each, or it meets EMFILE under an ordinary `ulimit -n` and every
// produce, read and topic creation starts failing at random.
//
// Every segment file (the active one too) is a CachedFile. A user acquires it for the
// length of one operation (an append, a read, a scan) and releases it after; the
// descriptor stays open while idle, in least-recently-used order, and the least recently
// used idle descriptors are closed whenever more than `maxOpen` are open. A file in use
// is never closed under its user (reference counted), so the bound can be passed only by
// files in use at the same moment, which the requests in flight bound; it comes back
// under the bound as they finish. An evicted file reopens on its next use.

import { open, type FileHandle } from 'node:fs/promises';
import { StrataError } from '@strata/protocol';

/** The default bound for the shared cache: half of the common `ulimit -n` of 1024, the rest for sockets. */
export const DEFAULT_MAX_OPEN_SEGMENT_FILES = 256;

export interface FileHandleCacheStats {
  /** Descriptors open now (idle and in use). */
  open: number;
  /** Files in use by an operation now (never closed by eviction). */
  inUse: number;
  maxOpen: number;
  /** Opens since start (first opens and reopens after an eviction). */
  opensTotal: number;
  /** Idle descriptors closed to stay under maxOpen. */
  evictionsTotal: number;
}

export class FileHandleCache {
  readonly maxOpen: number;
  /** Open files that no one uses, least recently used first (a Map keeps insertion order). */
  readonly #idle = new Map<CachedFile, true>();
  #open = 0;
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
    const handle = await open(path, 'wx+');
    this.#opensTotal++;
    this.#open++;
    const file = new CachedFile(this, path, handle);
    this.idle(file);
    return file;
  }

  stats(): FileHandleCacheStats {
    return { open: this.#open, inUse: this.#inUse, maxOpen: this.maxOpen, opensTotal: this.#opensTotal, evictionsTotal: this.#evictionsTotal };
  }

  // ---- called by CachedFile only ----------------------------------------------

  /** @internal A file in use reopened: another, idle one may have to close. */
  opened(): void {
    this.#opensTotal++;
    this.#open++;
    this.#evict();
  }

  /** @internal */
  closed(): void {
    this.#open--;
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

  /** @internal An open file no one uses: the most recently used idle entry; then trim to the bound. */
  idle(file: CachedFile): void {
    if (file.isOpen) this.#idle.set(file, true);
    this.#evict();
  }

  /** @internal A file closed for good (segment closed or deleted). */
  forget(file: CachedFile): void {
    this.#idle.delete(file);
  }

  #evict(): void {
    for (const file of this.#idle.keys()) {
      if (this.#open <= this.maxOpen) return;
      this.#idle.delete(file);
      this.#evictionsTotal++;
      file.evict();
    }
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
    const handle = await this.acquire();
    try {
      return await task(handle);
    } finally {
      this.release();
    }
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
      this.cache.closed();
      await handle.close();
    }
  }

  /** @internal The cache closes an idle descriptor; the next acquire reopens it. */
  evict(): void {
    const handle = this.#handle;
    if (handle === null || this.#users > 0) return;
    this.#handle = null;
    this.cache.closed();
    // Nothing waits on this close and there is nothing to do if it fails: no write is pending on
    // the descriptor (writes are positional and awaited; durability comes from datasync).
    handle.close().catch(() => undefined);
  }

  async #reopen(): Promise<FileHandle> {
    try {
      const handle = await open(this.#path, 'r+');
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

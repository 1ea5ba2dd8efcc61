// Remote reads go through this ObjectStore decorator: ranged GETs of immutable
// segment objects are served from fixed-size chunks kept in a byte-bounded LRU,
// the chunks after a read are fetched ahead (sequential replay finds them ready),
// and at most `fetchConcurrency` chunk GETs run at once. Only objects whose size
// was registered (from the manifest) are chunked; anything else passes through.
//
// Chunks are read into recycled buffers of chunkBytes (GetOptions.into): a replay streams the
// bucket through this cache, and a fresh 2 MiB buffer per GET was external memory V8 answers with
// full collections, pausing every request the broker serves (produce too). A chunk's buffer goes
// back to the free list once it is evicted and no reader holds it: getLent counts the holders
// (each gives it back with release, after its response is written); a plain get's answer may
// live anywhere, so a chunk it handed out a view of is never recycled (left to the GC).

import { raceAbort, type ByteRange, type GetOptions, type LendingObjectStore, type LentBytes, type ObjectStore } from '@strata/storage';

export interface ChunkCacheOptions {
  chunkBytes: number;
  /** Cache capacity in bytes (chunks in memory). */
  capacityBytes: number;
  /** Chunks fetched ahead of the last one a read touched. */
  readAheadChunks: number;
  fetchConcurrency: number;
  onHit?: () => void;
  onMiss?: (bytes: number) => void;
}

/** A cached chunk: its bytes, and whether its buffer may be recycled once evicted and given back. */
interface Chunk {
  bytes: Buffer;
  /** The recycled buffer `bytes` is a view of; null when the store allocated it (or it was handed out for good). */
  backing: Buffer | null;
  /** Readers holding `bytes` (getLent answers not yet released, and waiters of the fetch not yet served). */
  holders: number;
  evicted: boolean;
}

interface ChunkFetch {
  chunk: Promise<Chunk>;
  /** Callers waiting on it: each is a holder of the chunk from the moment it arrives (so no eviction in between recycles it). */
  waiters: { count: number };
}

export class ChunkCachingStore {
  readonly #store: ObjectStore;
  readonly #options: ChunkCacheOptions;
  /** Insertion order is recency order: a hit re-inserts. */
  readonly #chunks = new Map<string, Chunk>();
  readonly #inFlight = new Map<string, ChunkFetch>();
  /** Buffers of chunkBytes to read chunks into; at most #freeBuffersMax. */
  readonly #freeBuffers: Buffer[] = [];
  readonly #freeBuffersMax: number;
  readonly #sizes = new Map<string, number>();
  /** Bumped by forget: a fetch that started before cannot put its (possibly stale) chunk back. */
  readonly #generations = new Map<string, number>();
  #cachedBytes = 0;
  #running = 0;
  readonly #queue: Array<() => void> = [];

  constructor(store: ObjectStore, options: ChunkCacheOptions) {
    if (options.chunkBytes < 1 || options.capacityBytes < options.chunkBytes) throw new Error('chunk cache: capacity must hold at least one chunk');
    this.#store = store;
    this.#options = options;
    // What the cache holds plus what the fetches in flight fill: more would sit idle.
    this.#freeBuffersMax = Math.ceil(options.capacityBytes / options.chunkBytes) + options.fetchConcurrency;
  }

  get cachedBytes(): number {
    return this.#cachedBytes;
  }

  /** Objects are immutable under their key, so a size learned once stays true. */
  registerSize(key: string, sizeBytes: number): void {
    this.#sizes.set(key, sizeBytes);
  }

  forget(key: string): void {
    this.#forgetWhere((k) => k === key);
  }

  /** Forgets every object whose key starts with `prefix`: sizes, chunks, and fetches in flight. */
  forgetPrefix(prefix: string): void {
    this.#forgetWhere((k) => k.startsWith(prefix));
  }

  #forgetWhere(matches: (objectKey: string) => boolean): void {
    const keys = new Set(this.#sizes.keys());
    for (const chunkKey of [...this.#chunks.keys(), ...this.#inFlight.keys()]) keys.add(objectKeyOf(chunkKey));
    for (const key of keys) {
      if (!matches(key)) continue;
      this.#sizes.delete(key);
      this.#generations.set(key, (this.#generations.get(key) ?? 0) + 1);
    }
    for (const chunkKey of [...this.#chunks.keys()]) if (matches(objectKeyOf(chunkKey))) this.#evict(chunkKey);
    for (const chunkKey of [...this.#inFlight.keys()]) if (matches(objectKeyOf(chunkKey))) this.#inFlight.delete(chunkKey);
  }

  /** An ObjectStore whose ranged gets use the cache (and may be lent); every other call goes to the real store. */
  asStore(): LendingObjectStore {
    const store = this.#store;
    return new Proxy(store as LendingObjectStore, {
      get: (target, property, receiver) => {
        if (property === 'get') return (key: string, options?: GetOptions) => this.get(key, options);
        if (property === 'getLent') return (key: string, options: GetOptions & { range: ByteRange }) => this.getLent(key, options);
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer | null> {
    const size = this.#sizes.get(key);
    const range = options.range;
    if (size === undefined || range === undefined) return this.#store.get(key, options);
    const read = await this.#read(key, range, size, options.signal, false);
    // The answer may outlive every eviction: a chunk it is a view of is never recycled.
    if (read.view) read.chunks[0]!.backing = null;
    read.release();
    return read.bytes;
  }

  /** As get, for a registered object: the answer's memory is the cache's until `release` gives it back. */
  async getLent(key: string, options: GetOptions & { range: ByteRange }): Promise<LentBytes | null> {
    const size = this.#sizes.get(key);
    if (size === undefined) {
      const bytes = await this.#store.get(key, options);
      return bytes === null ? null : { bytes, release: noRelease };
    }
    const { bytes, release } = await this.#read(key, options.range, size, options.signal, true);
    return { bytes, release };
  }

  /**
   * The range's bytes, and `release` (once; later calls do nothing). `view`: the bytes are a view of
   * the one chunk they lie in, held until release. Otherwise a copy joined from several chunks,
   * which are let go at once; when `lend` and it fits, the copy is in a recycled buffer, given
   * back by release.
   */
  async #read(
    key: string,
    range: ByteRange,
    size: number,
    signal: AbortSignal | undefined,
    lend: boolean,
  ): Promise<{ bytes: Buffer; chunks: Chunk[]; view: boolean; release: () => void }> {
    const end = Math.min(range.end, size - 1);
    if (range.start > end) return { bytes: Buffer.alloc(0), chunks: [], view: false, release: noRelease };
    const { chunkBytes } = this.#options;
    const first = Math.floor(range.start / chunkBytes);
    const last = Math.floor(end / chunkBytes);
    const lastChunk = Math.floor((size - 1) / chunkBytes);
    // The chunks this read needs queue first; read-ahead takes the slots left.
    const needed = Array.from({ length: last - first + 1 }, (_, i) => this.#chunk(key, first + i, size, signal));
    for (let c = last + 1; c <= Math.min(lastChunk, last + this.#options.readAheadChunks); c++) {
      // Best effort: a failure here surfaces only if a later read needs that chunk.
      this.#chunk(key, c, size, undefined, false).catch(() => undefined);
    }
    // A chunk that failed or was given up on stays held: never recycled, only garbage collected.
    const chunks = await Promise.all(needed);
    const letGoOfChunks = once(() => {
      for (const chunk of chunks) this.#letGo(chunk);
    });
    const offset = range.start - first * chunkBytes;
    const length = end - range.start + 1;
    if (chunks.length === 1) return { bytes: chunks[0]!.bytes.subarray(offset, offset + length), chunks, view: true, release: letGoOfChunks };
    const into = lend && length <= chunkBytes ? (this.#freeBuffers.pop() ?? Buffer.allocUnsafeSlow(chunkBytes)) : undefined;
    const bytes = joinRange(chunks.map((c) => c.bytes), offset, length, into);
    letGoOfChunks();
    return { bytes, chunks, view: false, release: into === undefined ? noRelease : once(() => this.#recycle(into)) };
  }

  /** The chunk, held for the caller when `hold` (the caller lets go of it with #letGo). */
  #chunk(key: string, index: number, size: number, signal?: AbortSignal, hold = true): Promise<Chunk> {
    const chunkKey = `${key}#${index}`;
    const cached = this.#chunks.get(chunkKey);
    if (cached) {
      this.#chunks.delete(chunkKey);
      this.#chunks.set(chunkKey, cached);
      this.#options.onHit?.();
      if (hold) cached.holders++;
      return Promise.resolve(cached);
    }
    const pending = this.#inFlight.get(chunkKey) ?? this.#fetch(key, chunkKey, index, size);
    if (hold) pending.waiters.count++;
    return raceAbort(pending.chunk, signal, `read of ${chunkKey}`);
  }

  #fetch(key: string, chunkKey: string, index: number, size: number): ChunkFetch {
    const range: ByteRange = { start: index * this.#options.chunkBytes, end: Math.min(size, (index + 1) * this.#options.chunkBytes) - 1 };
    const generation = this.#generations.get(key) ?? 0;
    const waiters = { count: 0 };
    const chunk = this.#limited(async () => {
      const into = this.#freeBuffers.pop() ?? Buffer.allocUnsafeSlow(this.#options.chunkBytes);
      let bytes: Buffer | null;
      try {
        // A shared fetch must not die with one caller's signal: others may wait on it.
        bytes = await this.#store.get(key, { range, into });
      } catch (error) {
        this.#recycle(into);
        throw error;
      }
      if (bytes === null) {
        this.#recycle(into);
        throw new Error(`object ${key} is gone`);
      }
      const recycled = bytes.buffer === into.buffer;
      if (!recycled) this.#recycle(into); // the store did not read into it (an engine that ignores `into`)
      this.#options.onMiss?.(bytes.length);
      // Held for every waiter already, before anything else can run and evict it; and no waiter joins
      // from here on (the fetch leaves #inFlight now, not in a later turn), so the count is final.
      if (this.#inFlight.get(chunkKey)?.waiters === waiters) this.#inFlight.delete(chunkKey);
      const fetched: Chunk = { bytes, backing: recycled ? into : null, holders: waiters.count, evicted: false };
      if ((this.#generations.get(key) ?? 0) === generation) this.#insert(chunkKey, fetched);
      else fetched.evicted = true;
      return fetched;
    }).finally(() => {
      if (this.#inFlight.get(chunkKey)?.waiters === waiters) this.#inFlight.delete(chunkKey);
    });
    const fetch: ChunkFetch = { chunk, waiters };
    this.#inFlight.set(chunkKey, fetch);
    return fetch;
  }

  #insert(chunkKey: string, chunk: Chunk): void {
    if (this.#chunks.has(chunkKey)) {
      chunk.evicted = true; // not cached: its buffer goes back once its holders let go
      return;
    }
    this.#chunks.set(chunkKey, chunk);
    this.#cachedBytes += chunk.bytes.length;
    for (const oldest of this.#chunks.keys()) {
      if (this.#cachedBytes <= this.#options.capacityBytes) break;
      this.#evict(oldest);
    }
  }

  #evict(chunkKey: string): void {
    const chunk = this.#chunks.get(chunkKey);
    if (!chunk) return;
    this.#chunks.delete(chunkKey);
    this.#cachedBytes -= chunk.bytes.length;
    chunk.evicted = true;
    if (chunk.holders === 0) this.#retire(chunk);
  }

  #letGo(chunk: Chunk): void {
    chunk.holders--;
    // More releases than holders would be a bug here; the safe answer is to never reuse that buffer.
    if (chunk.holders < 0) chunk.backing = null;
    if (chunk.holders === 0 && chunk.evicted) this.#retire(chunk);
  }

  /** An evicted chunk nobody holds: its buffer can take the next fetch. */
  #retire(chunk: Chunk): void {
    if (chunk.backing === null) return;
    this.#recycle(chunk.backing);
    chunk.backing = null;
  }

  #recycle(buffer: Buffer): void {
    if (this.#freeBuffers.length < this.#freeBuffersMax) this.#freeBuffers.push(buffer);
  }

  async #limited<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#options.fetchConcurrency) await new Promise<void>((resolve) => this.#queue.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }
}

function noRelease(): void {}

/** `action` the first time the answer is called, nothing after: a release called twice must not hand a buffer out twice. */
function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}

function objectKeyOf(chunkKey: string): string {
  return chunkKey.slice(0, chunkKey.lastIndexOf('#'));
}

/**
 * `length` bytes from `offset` of the parts laid end to end: copies only what the read asked for,
 * not whole chunks; into `into` when given (it holds `length` bytes at least).
 */
function joinRange(parts: readonly Buffer[], offset: number, length: number, into?: Buffer): Buffer {
  const out = into === undefined ? Buffer.allocUnsafe(length) : into.subarray(0, length);
  let written = 0;
  let skip = offset;
  for (const part of parts) {
    if (written === length) break;
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    written += part.copy(out, written, skip, Math.min(part.length, skip + length - written));
    skip = 0;
  }
  return out;
}


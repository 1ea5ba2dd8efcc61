// Remote reads go through this ObjectStore decorator: ranged GETs of immutable
// segment objects are served from fixed-size chunks kept in a byte-bounded LRU,
// the chunks after a read are fetched ahead (sequential replay finds them ready),
// and at most `fetchConcurrency` chunk GETs run at once. Only objects whose size
// was registered (from the manifest) are chunked; anything else passes through.

import { raceAbort, type ByteRange, type GetOptions, type ObjectStore } from '@strata/storage';

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

export class ChunkCachingStore {
  readonly #store: ObjectStore;
  readonly #options: ChunkCacheOptions;
  /** Insertion order is recency order: a hit re-inserts. */
  readonly #chunks = new Map<string, Buffer>();
  readonly #inFlight = new Map<string, Promise<Buffer>>();
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

  /** An ObjectStore whose ranged gets use the cache; every other call goes to the real store. */
  asStore(): ObjectStore {
    const store = this.#store;
    return new Proxy(store, {
      get: (target, property, receiver) => {
        if (property === 'get') return (key: string, options?: GetOptions) => this.get(key, options);
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer | null> {
    const size = this.#sizes.get(key);
    const range = options.range;
    if (size === undefined || range === undefined) return this.#store.get(key, options);
    const end = Math.min(range.end, size - 1);
    if (range.start > end) return Buffer.alloc(0);
    const { chunkBytes } = this.#options;
    const first = Math.floor(range.start / chunkBytes);
    const last = Math.floor(end / chunkBytes);
    const lastChunk = Math.floor((size - 1) / chunkBytes);
    // The chunks this read needs queue first; read-ahead takes the slots left.
    const needed = Array.from({ length: last - first + 1 }, (_, i) => this.#chunk(key, first + i, size, options.signal));
    for (let c = last + 1; c <= Math.min(lastChunk, last + this.#options.readAheadChunks); c++) {
      // Best effort: a failure here surfaces only if a later read needs that chunk.
      this.#chunk(key, c, size).catch(() => undefined);
    }
    const parts = await Promise.all(needed);
    const offset = range.start - first * chunkBytes;
    const length = end - range.start + 1;
    if (parts.length === 1) return parts[0]!.subarray(offset, offset + length);
    return joinRange(parts, offset, length);
  }

  #chunk(key: string, index: number, size: number, signal?: AbortSignal): Promise<Buffer> {
    const chunkKey = `${key}#${index}`;
    const cached = this.#chunks.get(chunkKey);
    if (cached) {
      this.#chunks.delete(chunkKey);
      this.#chunks.set(chunkKey, cached);
      this.#options.onHit?.();
      return Promise.resolve(cached);
    }
    const pending = this.#inFlight.get(chunkKey);
    if (pending) return pending;
    const range: ByteRange = { start: index * this.#options.chunkBytes, end: Math.min(size, (index + 1) * this.#options.chunkBytes) - 1 };
    const generation = this.#generations.get(key) ?? 0;
    const fetch = this.#limited(async () => {
      // A shared fetch must not die with one caller's signal: others may wait on it.
      const bytes = await this.#store.get(key, { range });
      if (bytes === null) throw new Error(`object ${key} is gone`);
      this.#options.onMiss?.(bytes.length);
      if ((this.#generations.get(key) ?? 0) === generation) this.#insert(chunkKey, bytes);
      return bytes;
    }).finally(() => {
      if (this.#inFlight.get(chunkKey) === fetch) this.#inFlight.delete(chunkKey);
    });
    this.#inFlight.set(chunkKey, fetch);
    return raceAbort(fetch, signal, `read of ${chunkKey}`);
  }

  #insert(chunkKey: string, bytes: Buffer): void {
    if (this.#chunks.has(chunkKey)) return;
    this.#chunks.set(chunkKey, bytes);
    this.#cachedBytes += bytes.length;
    for (const oldest of this.#chunks.keys()) {
      if (this.#cachedBytes <= this.#options.capacityBytes) break;
      this.#evict(oldest);
    }
  }

  #evict(chunkKey: string): void {
    const bytes = this.#chunks.get(chunkKey);
    if (!bytes) return;
    this.#chunks.delete(chunkKey);
    this.#cachedBytes -= bytes.length;
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

function objectKeyOf(chunkKey: string): string {
  return chunkKey.slice(0, chunkKey.lastIndexOf('#'));
}

/** `length` bytes from `offset` of the parts laid end to end: copies only what the read asked for, not whole chunks. */
function joinRange(parts: readonly Buffer[], offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
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


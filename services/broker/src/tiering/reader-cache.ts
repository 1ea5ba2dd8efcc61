// Open segment-object readers (footer and indexes in memory), bounded by count,
// least recently used out first. Opening costs one ranged GET, so replays that
// walk a segment pay it once.

import { SegmentObjectReader, raceAbort } from '@strata/storage';
import { StrataError } from '@strata/protocol';
import type { ChunkCachingStore } from './chunk-cache.js';
import type { RemoteSegment } from './manifest.js';

export class ReaderCache {
  readonly #cache: ChunkCachingStore;
  readonly #maxReaders: number;
  readonly #readers = new Map<string, Promise<SegmentObjectReader>>();

  constructor(cache: ChunkCachingStore, maxReaders: number) {
    this.#cache = cache;
    this.#maxReaders = maxReaders;
  }

  open(segment: RemoteSegment, signal?: AbortSignal): Promise<SegmentObjectReader> {
    const existing = this.#readers.get(segment.key);
    if (existing) {
      this.#readers.delete(segment.key);
      this.#readers.set(segment.key, existing);
      return raceAbort(existing, signal, `open of ${segment.key}`);
    }
    this.#cache.registerSize(segment.key, segment.objectBytes);
    // Shared by every caller: it must not die with the first caller's signal (a client that went away).
    const opening = SegmentObjectReader.open(this.#cache.asStore(), segment.key, { sizeBytes: segment.objectBytes }).then((reader) => {
      if (reader === null) {
        throw new StrataError('STORAGE_ERROR', `segment object ${segment.key} is missing from the bucket (the manifest names it)`, {
          details: { key: segment.key },
        });
      }
      return reader;
    });
    // A failed open is not cached: the next read tries again (the chunks stay: they are not wrong).
    opening.catch(() => {
      if (this.#readers.get(segment.key) === opening) this.#readers.delete(segment.key);
    });
    this.#readers.set(segment.key, opening);
    while (this.#readers.size > this.#maxReaders) {
      const oldest = this.#readers.keys().next().value as string;
      this.#readers.delete(oldest);
    }
    return raceAbort(opening, signal, `open of ${segment.key}`);
  }

  forget(key: string): void {
    this.#readers.delete(key);
    this.#cache.forget(key);
  }

  /** Drops every reader and cached chunk under a key prefix (a deleted topic), whatever the bucket says. */
  forgetPrefix(prefix: string): void {
    for (const key of [...this.#readers.keys()]) if (key.startsWith(prefix)) this.#readers.delete(key);
    this.#cache.forgetPrefix(prefix);
  }
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirObjectStore, buildSegmentObject, type GetOptions, type ObjectStore } from '@strata/storage';
import { encodeRecordBatch, setBaseOffset } from '@strata/protocol';
import { ChunkCachingStore } from '../src/tiering/chunk-cache.js';
import { ReaderCache } from '../src/tiering/reader-cache.js';
import type { RemoteSegment } from '../src/tiering/manifest.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-tier-unit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real store whose gets wait for a gate and are counted: a decorator, not a mock. */
function gatedStore(store: ObjectStore): { store: ObjectStore; gets: () => number; open: () => void; hold: () => void } {
  let gets = 0;
  let gate: Promise<void> = Promise.resolve();
  let release = (): void => undefined;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'get') {
        return async (key: string, options?: GetOptions) => {
          gets++;
          await gate;
          return target.get(key, options);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    store: wrapped,
    gets: () => gets,
    hold: () => {
      gate = new Promise((resolve) => (release = resolve));
    },
    open: () => release(),
  };
}

async function putSegment(store: ObjectStore, key: string, records: number): Promise<RemoteSegment> {
  const batch = encodeRecordBatch(Array.from({ length: records }, (_, i) => ({ value: Buffer.from(`v${i}`), timestamp: 1000 + i })));
  setBaseOffset(batch, 0, 0);
  const built = buildSegmentObject(batch, { baseOffset: 0, lastOffset: records - 1 });
  await store.put(key, Buffer.concat(built.parts));
  return { key, baseOffset: 0, lastOffset: records - 1, objectBytes: built.sizeBytes, dataBytes: batch.length, maxTimestamp: 1000 + records - 1, epoch: 0, uploadedAtMs: 0 };
}

const cacheOptions = { chunkBytes: 64 * 1024, capacityBytes: 1024 * 1024, readAheadChunks: 2, fetchConcurrency: 4 };

describe('remote read caches (regressions)', () => {
  it('a ranged read over several chunks answers exactly the bytes of the range, at every alignment', async () => {
    const store = new LocalDirObjectStore(dir);
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) % 251));
    await store.put('topics/t/0/r.seg', bytes);
    const cache = new ChunkCachingStore(store, { chunkBytes: 64, capacityBytes: 256, readAheadChunks: 1, fetchConcurrency: 2 });
    cache.registerSize('topics/t/0/r.seg', bytes.length);
    for (const [start, end] of [[0, 999], [0, 63], [63, 64], [1, 127], [100, 421], [640, 2000], [999, 999], [128, 191]] as const) {
      const read = await cache.get('topics/t/0/r.seg', { range: { start, end } });
      expect(read!.equals(bytes.subarray(start, Math.min(end, 999) + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('a fetch in flight when its object is forgotten does not put the old bytes back', async () => {
    const gated = gatedStore(new LocalDirObjectStore(dir));
    await gated.store.put('topics/t/0/a.seg', Buffer.alloc(1000, 1));
    const cache = new ChunkCachingStore(gated.store, cacheOptions);
    cache.registerSize('topics/t/0/a.seg', 1000);
    gated.hold();
    const inFlight = cache.get('topics/t/0/a.seg', { range: { start: 0, end: 99 } });
    cache.forgetPrefix('topics/t/'); // the topic is deleted while the GET is on its way
    gated.open();
    expect((await inFlight)!.length).toBe(100);
    // The recreated topic reuses the key with new bytes: they must be read, not the cached old ones.
    await gated.store.put('topics/t/0/a.seg', Buffer.alloc(1000, 2));
    cache.registerSize('topics/t/0/a.seg', 1000);
    const fresh = await cache.get('topics/t/0/a.seg', { range: { start: 0, end: 99 } });
    expect(fresh![0]).toBe(2);
  });

  it('one caller giving up does not fail the others waiting on the same segment open', async () => {
    const gated = gatedStore(new LocalDirObjectStore(dir));
    const segment = await putSegment(gated.store, 'topics/t/0/00000000000000000000-00000000000000000009-e0.seg', 10);
    const readers = new ReaderCache(new ChunkCachingStore(gated.store, cacheOptions), 8);
    gated.hold();
    const impatient = new AbortController();
    const first = readers.open(segment, impatient.signal);
    const second = readers.open(segment);
    impatient.abort(new Error('client went away'));
    await expect(first).rejects.toBeDefined();
    gated.open();
    const reader = await second;
    expect((await reader.read(3, 1024)).batchCount).toBe(1);
  });
});

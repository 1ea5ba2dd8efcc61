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

/** A real store that reads into the caller's buffer when given one (as S3Store does), and remembers those buffers. */
function intoStore(store: ObjectStore): { store: ObjectStore; intos: Buffer[] } {
  const intos: Buffer[] = [];
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'get') {
        return async (key: string, options?: GetOptions) => {
          const bytes = await target.get(key, options);
          const into = options?.into;
          if (bytes === null || into === undefined || into.length < bytes.length) return bytes;
          intos.push(into);
          bytes.copy(into);
          return into.subarray(0, bytes.length);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: wrapped, intos };
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

describe('chunk cache: recycled chunk buffers', () => {
  const key = 'topics/t/0/r.seg';
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) % 251));
  const expected = (start: number, end: number): Buffer => bytes.subarray(start, Math.min(end, 999) + 1);

  async function lendingCache(): Promise<{ cache: ChunkCachingStore; intos: Buffer[] }> {
    const { store, intos } = intoStore(new LocalDirObjectStore(dir));
    await store.put(key, bytes);
    // Two chunks of 64 B fit: every third chunk read evicts one.
    const cache = new ChunkCachingStore(store, { chunkBytes: 64, capacityBytes: 128, readAheadChunks: 0, fetchConcurrency: 1 });
    cache.registerSize(key, bytes.length);
    return { cache, intos };
  }

  it('answers every range exactly, pass after pass, while buffers go round', async () => {
    const { cache, intos } = await lendingCache();
    for (let pass = 0; pass < 3; pass++) {
      for (const [start, end] of [[0, 999], [0, 63], [63, 64], [1, 127], [100, 421], [640, 2000], [999, 999], [128, 191], [700, 763]] as const) {
        const lent = await cache.getLent(key, { range: { start, end } });
        expect(lent!.bytes.equals(expected(start, end)), `pass ${pass}, ${start}-${end}`).toBe(true);
        lent!.release();
        lent!.release(); // a second release must not hand the buffer out twice
      }
    }
    // A sequential replay, one chunk per read: the cache's two chunks, the one being fetched and the
    // one just evicted are all the buffers it needs, however many reads.
    intos.length = 0;
    for (let read = 0; read < 48; read++) {
      const start = (read % 16) * 64;
      const lent = await cache.getLent(key, { range: { start, end: start + 63 } });
      expect(lent!.bytes.equals(expected(start, start + 63))).toBe(true);
      lent!.release();
    }
    expect(intos.length).toBe(48);
    expect(new Set(intos.map((b) => b.buffer)).size).toBeLessThanOrEqual(4);
  });

  it('never reuses a lent chunk before its reader releases it, then does', async () => {
    const { cache, intos } = await lendingCache();
    const held = await cache.getLent(key, { range: { start: 0, end: 63 } });
    for (let chunk = 1; chunk < 10; chunk++) {
      const lent = await cache.getLent(key, { range: { start: chunk * 64, end: chunk * 64 + 63 } });
      lent!.release();
    }
    expect(held!.bytes.equals(expected(0, 63))).toBe(true); // evicted long ago, still intact
    held!.release();
    await cache.getLent(key, { range: { start: 640, end: 703 } });
    const reused = await cache.getLent(key, { range: { start: 704, end: 767 } });
    expect(reused!.bytes.equals(expected(704, 767))).toBe(true);
    expect(intos.some((into, i) => i >= 10 && into.buffer === held!.bytes.buffer)).toBe(true);
  });

  it('never reuses a chunk a plain get answered with a view of (its holder is unknown)', async () => {
    const { cache } = await lendingCache();
    const viewed = await cache.get(key, { range: { start: 64, end: 127 } });
    for (let pass = 0; pass < 2; pass++) {
      for (let chunk = 2; chunk < 16; chunk++) (await cache.getLent(key, { range: { start: chunk * 64, end: chunk * 64 + 63 } }))!.release();
    }
    expect(viewed!.equals(expected(64, 127))).toBe(true);
  });
});

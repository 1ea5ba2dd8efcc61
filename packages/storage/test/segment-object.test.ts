import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c, decodeRecordBatches, encodeRecordBatch, scanValidPrefix, setBaseOffset, type BatchFrame, type RecordInput } from '@strata/protocol';
import {
  LocalDirObjectStore,
  SEGMENT_FOOTER_BYTES,
  SegmentObjectReader,
  buildSegmentObject,
  parseSegmentObject,
  segmentObjectKey,
  segmentObjectParts,
  type ObjectStore,
  type SegmentFooter,
} from '@strata/storage';
import { expectStrataError } from './conformance.js';
import { CountingObjectStore } from './support/counting-store.js';
import { startS3rver, type S3rverHandle } from './support/s3rver.js';

// ---- fixtures: a segment as the log would hold it ------------------------------

interface ExpectedRecord {
  offset: number;
  timestamp: number;
  value: Buffer;
}

interface Segment {
  data: Buffer;
  baseOffset: number;
  lastOffset: number;
  records: ExpectedRecord[];
  frames: BatchFrame[];
}

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `batchCount` batches of 1-5 records from `baseOffset`, values of 10-1500
 * bytes, every 7th batch gzip, timestamps rising with jitter (so they are not
 * monotonic), offsets assigned with setBaseOffset as the broker does.
 */
function buildSegment(baseOffset: number, batchCount: number, seed = 1): Segment {
  const random = rng(seed);
  const batches: Buffer[] = [];
  const records: ExpectedRecord[] = [];
  let offset = baseOffset;
  for (let b = 0; b < batchCount; b++) {
    const n = 1 + Math.floor(random() * 5);
    const inputs: RecordInput[] = [];
    for (let r = 0; r < n; r++) {
      const value = Buffer.alloc(10 + Math.floor(random() * 1490));
      for (let i = 0; i < value.length; i++) value[i] = Math.floor(random() * 256);
      const timestamp = 1_700_000_000_000 + b * 10 + Math.floor(random() * 60) - 30;
      inputs.push({ key: Buffer.from(`k${offset + r}`), value, timestamp });
      records.push({ offset: offset + r, timestamp, value });
    }
    const bytes = encodeRecordBatch(inputs, { compression: b % 7 === 3 ? 'gzip' : 'none', partitionLeaderEpoch: 3 });
    setBaseOffset(bytes, 0, offset);
    batches.push(bytes);
    offset += n;
  }
  const data = Buffer.concat(batches);
  return { data, baseOffset, lastOffset: offset - 1, records, frames: scanValidPrefix(data).frames };
}

/** The reference answer: the first record (in offset order) at or after ts. */
function bruteForceTimestamp(records: ExpectedRecord[], ts: number): { offset: number; timestamp: number } | null {
  const hit = records.find((r) => r.timestamp >= ts);
  return hit === undefined ? null : { offset: hit.offset, timestamp: hit.timestamp };
}

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

function flip(buf: Buffer, at: number): Buffer {
  const copy = Buffer.from(buf);
  copy[at] = copy[at]! ^ 0x40;
  return copy;
}

const INTERVAL = 4096;

// ---- the writer ---------------------------------------------------------------------

describe('segment object writer', () => {
  const segment = buildSegment(500, 120, 7);

  it('writes data, indexes and a footer that describe the segment', () => {
    const { parts, footer, sizeBytes } = buildSegmentObject(segment.data, { baseOffset: 500, lastOffset: segment.lastOffset, indexIntervalBytes: INTERVAL });
    expect(parts[0]).toBe(segment.data); // no copy of the data
    expect(footer).toMatchObject({
      version: 1,
      baseOffset: 500,
      lastOffset: segment.lastOffset,
      dataBytes: segment.data.length,
      batchCount: 120,
      recordCount: segment.records.length,
      maxTimestamp: Math.max(...segment.records.map((r) => r.timestamp)),
      indexIntervalBytes: INTERVAL,
      // Joined from the batch CRCs, not a second scan: still the CRC-32C of every data byte.
      dataCrc: crc32c(segment.data),
    });
    // About one entry per interval, and the first batch always.
    expect(footer.offsetIndexCount).toBeGreaterThanOrEqual(Math.floor(segment.data.length / (INTERVAL + 1600)));
    expect(footer.offsetIndexCount).toBeLessThanOrEqual(Math.ceil(segment.data.length / INTERVAL) + 1);
    expect(sizeBytes).toBe(segment.data.length + footer.offsetIndexCount * 8 + footer.timeIndexCount * 12 + SEGMENT_FOOTER_BYTES);
    const object = Buffer.concat(parts);
    expect(object.subarray(object.length - SEGMENT_FOOTER_BYTES, object.length - SEGMENT_FOOTER_BYTES + 8).toString('latin1')).toBe('STRSEG01');
    expect(parseSegmentObject(object).footer).toEqual(footer);
  });

  it('streams the same bytes whatever the chunking', async () => {
    const reference = Buffer.concat(buildSegmentObject(segment.data, { baseOffset: 500, indexIntervalBytes: INTERVAL }).parts);
    for (const size of [1, 61, 1000, 65536]) {
      const stream = segmentObjectParts(chunks(segment.data, size), { baseOffset: 500, indexIntervalBytes: INTERVAL });
      expect(() => stream.footer).toThrow(/before the stream ended/);
      const out: Buffer[] = [];
      for await (const part of stream) out.push(part);
      expect(Buffer.concat(out).equals(reference), `chunks of ${size}`).toBe(true);
      expect(stream.footer.objectBytes).toBe(reference.length);
    }
  });

  it('refuses to build an object from bad data, before the last byte goes out', async () => {
    const corruptPayload = flip(segment.data, segment.frames[10]!.position + 70);
    expect(() => buildSegmentObject(corruptPayload, { baseOffset: 500 })).toThrow(/CRC mismatch/);
    const gap = Buffer.from(segment.data);
    setBaseOffset(gap, segment.frames[5]!.position, segment.frames[5]!.baseOffset + 1);
    expect(() => buildSegmentObject(gap, { baseOffset: 500 })).toThrow(/dense/);
    expect(() => buildSegmentObject(segment.data, { baseOffset: 499 })).toThrow(/expected 499/);
    expect(() => buildSegmentObject(segment.data, { baseOffset: 500, lastOffset: segment.lastOffset + 1 })).toThrow(/expected/);
    expect(() => buildSegmentObject(segment.data.subarray(0, segment.data.length - 1), { baseOffset: 500 })).toThrow(/truncated/);
    expect(() => buildSegmentObject(Buffer.alloc(0), { baseOffset: 500 })).toThrow(/at least one batch/);

    // Streaming: the chunk that completes the bad batch is never yielded.
    const yielded: Buffer[] = [];
    const stream = segmentObjectParts(chunks(corruptPayload, 1024), { baseOffset: 500 });
    await expect(
      (async () => {
        for await (const part of stream) yielded.push(part);
      })(),
    ).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
    const end = segment.frames[10]!.position + segment.frames[10]!.size;
    expect(Buffer.concat(yielded).length).toBeLessThan(end);
  });
});

// ---- the reader, through both engines ---------------------------------------------------

let s3: S3rverHandle;
const dirs: string[] = [];
beforeAll(async () => {
  s3 = await startS3rver();
  await s3.createBucket('segments');
});
afterAll(async () => {
  await s3?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const engines: [string, () => Promise<ObjectStore>][] = [
  [
    'LocalDirObjectStore',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'strata-segobj-'));
      dirs.push(dir);
      return new LocalDirObjectStore(dir);
    },
  ],
  ['S3ObjectStore (s3rver)', async () => s3.store('segments', { prefix: 'strata' })],
];

describe.each(engines)('segment objects through %s', (_name, makeStore) => {
  const segment = buildSegment(1000, 120, 42);
  const key = segmentObjectKey({ topic: 'orders', partition: 0, baseOffset: 1000, lastOffset: segment.lastOffset, epoch: 3 });
  let store: ObjectStore;
  let object: Buffer;
  let footer: SegmentFooter;

  beforeAll(async () => {
    store = await makeStore();
    const body = segmentObjectParts(chunks(segment.data, 10_000), { baseOffset: 1000, lastOffset: segment.lastOffset, indexIntervalBytes: INTERVAL });
    await store.putStream(key, body);
    footer = body.footer;
    object = (await store.get(key))!;
    expect(object.length).toBe(footer.objectBytes);
    expect(segment.data.length).toBeGreaterThan(128 * 1024); // larger than the tail window, so data is not read on open
  });
  afterAll(async () => {
    await store?.close();
  });

  /** Checks a read against the fixture: whole batches from the one holding `offset`, the right bytes. */
  function checkRead(offset: number, maxBytes: number, result: { data: Buffer; nextOffset: number; batchCount: number }): void {
    const frameIndex = segment.frames.findIndex((f) => f.baseOffset <= offset && offset <= f.baseOffset + f.lastOffsetDelta);
    const first = segment.frames[frameIndex]!;
    expect(result.data.equals(segment.data.subarray(first.position, first.position + result.data.length))).toBe(true);
    const returned = segment.frames.slice(frameIndex, frameIndex + result.batchCount);
    expect(returned.reduce((n, f) => n + f.size, 0)).toBe(result.data.length);
    if (result.batchCount > 1) expect(result.data.length).toBeLessThanOrEqual(maxBytes);
    // Greedy: the next batch was left out only because it would not fit.
    const next = segment.frames[frameIndex + result.batchCount];
    if (next !== undefined) expect(result.data.length + next.size).toBeGreaterThan(maxBytes);
    const decoded = decodeRecordBatches(result.data);
    expect(decoded[0]!.offset).toBeLessThanOrEqual(offset);
    expect(decoded.some((r) => r.offset === offset)).toBe(true);
    for (const record of decoded) {
      const want = segment.records[record.offset - segment.baseOffset]!;
      expect(record.offset).toBe(want.offset);
      expect(record.timestamp).toBe(want.timestamp);
      expect(record.value!.equals(want.value)).toBe(true);
    }
    expect(result.nextOffset).toBe(decoded[decoded.length - 1]!.offset + 1);
  }

  it('opens with one HEAD and one ranged GET of the tail', async () => {
    const counting = new CountingObjectStore(store);
    const reader = (await SegmentObjectReader.open(counting, key))!;
    expect(counting.counts).toMatchObject({ head: 1, get: 1 });
    expect(counting.getRanges).toEqual([{ start: object.length - 64 * 1024, end: object.length - 1 }]);
    expect(reader.footer).toEqual(footer);
    expect(reader.baseOffset).toBe(1000);
    expect(reader.lastOffset).toBe(segment.lastOffset);
  });

  it('skips the HEAD when the caller knows the size', async () => {
    const counting = new CountingObjectStore(store);
    await SegmentObjectReader.open(counting, key, { sizeBytes: object.length });
    expect(counting.counts).toMatchObject({ head: 0, get: 1 });
  });

  it('reads from every offset with one ranged GET each, never more than asked past the first batch', async () => {
    const counting = new CountingObjectStore(store);
    const reader = (await SegmentObjectReader.open(counting, key))!;
    const sizes = [1, 700, 4096, 20_000, 100_000];
    for (let offset = segment.baseOffset; offset <= segment.lastOffset; offset++) {
      counting.reset();
      const maxBytes = sizes[offset % sizes.length]!;
      const result = await reader.read(offset, maxBytes);
      expect(counting.counts.get).toBe(1);
      // The range starts at most one index interval (plus one batch) before the asked batch.
      const range = counting.getRanges[0]!;
      expect(range.end - range.start + 1).toBeLessThanOrEqual(maxBytes + 2 * INTERVAL + 2 * 1600 * 5);
      checkRead(offset, maxBytes, result);
    }
  });

  it('replays the whole segment by following nextOffset', async () => {
    const reader = (await SegmentObjectReader.open(store, key))!;
    const seen: number[] = [];
    for (let offset = reader.baseOffset; offset <= reader.lastOffset; ) {
      const { data, nextOffset } = await reader.read(offset, 16 * 1024);
      for (const record of decodeRecordBatches(data)) {
        if (record.offset < offset) continue;
        expect(record.value!.equals(segment.records[record.offset - 1000]!.value)).toBe(true);
        seen.push(record.offset);
      }
      expect(nextOffset).toBeGreaterThan(offset);
      offset = nextOffset;
    }
    expect(seen).toEqual(segment.records.map((r) => r.offset));
  });

  it('finds the first record at or after a timestamp, as a scan of every record would', async () => {
    const counting = new CountingObjectStore(store);
    const reader = (await SegmentObjectReader.open(counting, key))!;
    const timestamps = segment.records.map((r) => r.timestamp);
    const probes = [
      Math.min(...timestamps) - 1000,
      ...timestamps.filter((_, i) => i % 4 === 0),
      ...timestamps.filter((_, i) => i % 9 === 0).map((t) => t + 1),
      Math.max(...timestamps),
      Math.max(...timestamps) + 1,
    ];
    for (const ts of probes) {
      counting.reset();
      expect(await reader.offsetForTimestamp(ts), `timestamp ${ts}`).toEqual(bruteForceTimestamp(segment.records, ts));
      expect(counting.counts.get).toBe(ts > footer.maxTimestamp ? 0 : 1);
      // Bounded by the indexes: a few intervals, never the segment.
      if (counting.getRanges[0] !== undefined) expect(counting.getRanges[0].end - counting.getRanges[0].start).toBeLessThan(4 * INTERVAL + 8 * 1024);
    }
  });

  it('takes a second GET (and only then) when the indexes do not fit the tail window', async () => {
    const counting = new CountingObjectStore(store);
    const reader = (await SegmentObjectReader.open(counting, key, { tailWindowBytes: 256 }))!;
    expect(counting.counts).toMatchObject({ head: 1, get: 2 });
    checkRead(1200, 5000, await reader.read(1200, 5000));
  });

  it('verifies the whole data region on demand', async () => {
    const reader = (await SegmentObjectReader.open(store, key))!;
    await reader.verify();
  });

  it('answers null for a missing object and OFFSET_OUT_OF_RANGE outside the segment', async () => {
    expect(await SegmentObjectReader.open(store, 'topics/orders/0/missing.seg')).toBeNull();
    const reader = (await SegmentObjectReader.open(store, key))!;
    await expectStrataError(reader.read(999, 1000), 'OFFSET_OUT_OF_RANGE');
    await expectStrataError(reader.read(segment.lastOffset + 1, 1000), 'OFFSET_OUT_OF_RANGE');
    await expectStrataError(reader.read(1000, 0), 'INVALID_REQUEST');
  });

  // ---- corruption: CORRUPT_MESSAGE, never wrong bytes ----

  async function putVariant(name: string, bytes: Buffer): Promise<string> {
    const variantKey = `corrupt/${name}.seg`;
    await store.put(variantKey, bytes);
    return variantKey;
  }

  it('refuses a flipped footer byte, a clobbered magic and a flipped index byte when opening', async () => {
    const footerFlip = await putVariant('footer-flip', flip(object, object.length - 50));
    expect((await expectStrataError(SegmentObjectReader.open(store, footerFlip), 'CORRUPT_MESSAGE')).message).toMatch(/footer CRC/);
    const magic = await putVariant('magic', flip(object, object.length - SEGMENT_FOOTER_BYTES));
    expect((await expectStrataError(SegmentObjectReader.open(store, magic), 'CORRUPT_MESSAGE')).message).toMatch(/magic/);
    const indexFlip = await putVariant('index-flip', flip(object, footer.offsetIndexPosition + 13));
    expect((await expectStrataError(SegmentObjectReader.open(store, indexFlip), 'CORRUPT_MESSAGE')).message).toMatch(/index CRC/);
  });

  it('refuses truncated objects', async () => {
    for (const [name, bytes] of [
      ['short-by-one', object.subarray(0, object.length - 1)],
      ['short-by-footer', object.subarray(0, object.length - SEGMENT_FOOTER_BYTES)],
      ['hole-in-data', Buffer.concat([object.subarray(0, 5000), object.subarray(6000)])],
      ['tiny', object.subarray(0, 50)],
    ] as const) {
      const variant = await putVariant(name, bytes);
      await expectStrataError(SegmentObjectReader.open(store, variant), 'CORRUPT_MESSAGE');
    }
    // A key that names other offsets than the footer.
    const misnamed = segmentObjectKey({ topic: 'orders', partition: 0, baseOffset: 1000, lastOffset: segment.lastOffset + 5, epoch: 3 });
    await store.put(misnamed, object);
    expect((await expectStrataError(SegmentObjectReader.open(store, misnamed), 'CORRUPT_MESSAGE')).message).toMatch(/key names offsets/);
  });

  it('never hands out bytes from a batch with a flipped payload byte or a rewritten base offset', async () => {
    const victim = segment.frames[60]!;
    for (const [name, bytes] of [
      ['payload-flip', flip(object, victim.position + victim.size - 20)], // inside the CRC
      ['base-offset-flip', flip(object, victim.position + 6)], // baseOffset: outside the batch CRC
    ] as const) {
      const variant = await putVariant(name, bytes);
      const reader = (await SegmentObjectReader.open(store, variant))!; // the tail is intact
      let refused = 0;
      // Every offset near the victim, every 7th elsewhere.
      const near = (o: number): boolean => Math.abs(o - victim.baseOffset) < 40;
      for (let offset = segment.baseOffset; offset <= segment.lastOffset; offset++) {
        if (!near(offset) && offset % 7 !== 0) continue;
        try {
          checkRead(offset, 3000, await reader.read(offset, 3000));
        } catch (error) {
          expect((error as { code?: string }).code, `${name} at offset ${offset}: ${String(error)}`).toBe('CORRUPT_MESSAGE');
          refused++;
        }
      }
      // Every read that would include the victim is refused; reads far from it still work.
      expect(refused).toBeGreaterThanOrEqual(victim.lastOffsetDelta + 1);
      expect(refused).toBeLessThan(segment.records.length / 4);
      await expect(reader.read(victim.baseOffset, 3000)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
      await expect(reader.verify()).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
      await expect(reader.offsetForTimestamp(segment.records[victim.baseOffset - 1000]!.timestamp)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
    }
  });

  it('checks the data CRC on open when the whole object fits the tail window', async () => {
    const small = buildSegment(0, 5, 3);
    const { parts, footer: smallFooter } = buildSegmentObject(small.data, { baseOffset: 0 });
    const whole = Buffer.concat(parts);
    expect(whole.length).toBeLessThan(64 * 1024);
    const goodKey = await putVariant('small-good', whole);
    const counting = new CountingObjectStore(store);
    const reader = (await SegmentObjectReader.open(counting, goodKey))!;
    expect(counting.counts).toMatchObject({ head: 1, get: 1 });
    expect(counting.getRanges).toEqual([{ start: 0, end: whole.length - 1 }]);
    expect(reader.footer).toEqual(smallFooter);
    const badKey = await putVariant('small-bad', flip(whole, 30));
    expect((await expectStrataError(SegmentObjectReader.open(store, badKey), 'CORRUPT_MESSAGE')).message).toMatch(/data CRC/);
  });
});

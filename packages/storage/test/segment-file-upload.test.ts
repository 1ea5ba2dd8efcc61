// Issue #16: the uploader held whole 128 MiB segments in memory (lib-storage buffered a single
// part the size of the segment) and re-checked every CRC on the broker's main thread.
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch, setBaseOffset } from '@strata/protocol';
import {
  FILE_BODY_CHUNK_BYTES,
  SegmentScanner,
  buildSegmentObject,
  fileBody,
  parseSegmentObject,
  type S3RequestInfo,
} from '@strata/storage';
import { expectStrataError } from './conformance.js';
import { startS3rver, type S3rverHandle } from './support/s3rver.js';

const MiB = 1024 * 1024;
let dir: string;
let s3: S3rverHandle;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-segment-upload-'));
  s3 = await startS3rver();
  await s3.createBucket('putfile');
});
afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A segment file of `count` batches of 10 records (dense offsets from `baseOffset`). */
async function segmentFile(name: string, baseOffset: number, count: number): Promise<{ path: string; data: Buffer; lastOffset: number }> {
  const batches: Buffer[] = [];
  let offset = baseOffset;
  for (let i = 0; i < count; i++) {
    const batch = encodeRecordBatch(Array.from({ length: 10 }, (_, r) => ({ value: Buffer.alloc(200, (i + r) & 0xff), timestamp: 1_700_000_000_000 + i })));
    setBaseOffset(batch, 0, offset);
    offset += 10;
    batches.push(batch);
  }
  const data = Buffer.concat(batches);
  const path = join(dir, name);
  await writeFile(path, data);
  return { path, data, lastOffset: offset - 1 };
}

describe('segment upload from the file', () => {
  it('reads the file in bounded chunks, one at a time, only as the consumer asks', async () => {
    const { path, data } = await segmentFile('chunks.log', 0, 1200);
    expect(data.length).toBeGreaterThan(2 * FILE_BODY_CHUNK_BYTES);
    const tail = Buffer.from('tail');
    const body = fileBody({ path, start: 0, end: data.length, tail });
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      // Never more than one chunk read ahead of what was consumed: memory is one chunk.
      expect(chunk.length).toBeLessThanOrEqual(FILE_BODY_CHUNK_BYTES);
      chunks.push(chunk);
    }
    expect(Buffer.concat(chunks).equals(Buffer.concat([data, tail]))).toBe(true);
  });

  it('builds the indexes and footer in a worker thread, byte for byte as the writer does, and refuses a corrupt segment', async () => {
    const scanner = new SegmentScanner();
    try {
      const { path, data, lastOffset } = await segmentFile('scan.log', 1000, 300);
      const expected = buildSegmentObject(data, { baseOffset: 1000, lastOffset });
      const { tail, footer } = await scanner.scan({ path, start: 0, end: data.length }, { baseOffset: 1000, lastOffset });
      expect(footer).toEqual(expected.footer);
      expect(tail.equals(expected.parts[1]!)).toBe(true);
      const file = await open(path, 'r+');
      await file.write(Buffer.from([0xee]), 0, 1, Math.floor(data.length / 2));
      await file.close();
      await expectStrataError(scanner.scan({ path, start: 0, end: data.length }, { baseOffset: 1000, lastOffset }), 'CORRUPT_MESSAGE');
      // The worker survives a refused scan.
      await expectStrataError(scanner.scan({ path, start: 0, end: data.length }, { baseOffset: 999 }), 'CORRUPT_MESSAGE');
    } finally {
      await scanner.close();
    }
  });

  it('puts an 11 MiB segment to S3 as one streamed PutObject (no multipart, no buffered part) that reads back as a valid segment object', async () => {
    const requests: S3RequestInfo[] = [];
    const store = s3.store('putfile', { onRequest: (info) => requests.push(info) });
    const scanner = new SegmentScanner();
    try {
      const { path, data, lastOffset } = await segmentFile('big.log', 0, 5200);
      expect(data.length).toBeGreaterThan(10 * MiB);
      const { tail, footer } = await scanner.scan({ path, start: 0, end: data.length }, { baseOffset: 0, lastOffset });
      await store.putFile('segments/big', { path, start: 0, end: data.length, tail });
      expect(requests.map((r) => r.operation)).toEqual(['PutObject']);
      const object = await store.get('segments/big');
      expect(object!.length).toBe(footer.objectBytes);
      expect(parseSegmentObject(object!, 'segments/big').footer).toEqual(footer);
    } finally {
      await scanner.close();
      await store.close();
    }
  });
});

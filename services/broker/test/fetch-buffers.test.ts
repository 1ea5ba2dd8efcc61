import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecordBatches, encodeRecordBatch } from '@strata/protocol';
import { sharedReadBufferPool } from '@strata/log';
import { createTopic, fetchRecords, postBatch, startTestBroker, type TestBroker } from './helpers.js';

// Fetches read into pooled buffers that go back once the response is written. A buffer reused too
// early would show here as a record with the wrong value at some offset.

let t: TestBroker;
const PARTITIONS = 2;
const expected = (partition: number, offset: number): string => `p${partition}-o${offset}-${'z'.repeat((offset * 7) % 300)}`;

beforeAll(async () => {
  t = await startTestBroker({ STRATA_MIN_SEGMENT_BYTES: '1024' }); // small segments: the tests' escape hatch
  await createTopic(t.url, 'pooled', PARTITIONS, { 'segment.bytes': 64 * 1024 });
  for (let p = 0; p < PARTITIONS; p++) {
    let next = 0;
    for (let b = 0; b < 120; b++) {
      const count = 1 + (b % 9);
      const records = Array.from({ length: count }, (_, i) => ({ value: Buffer.from(expected(p, next + i)) }));
      const answer = await postBatch(t.url, 'pooled', p, encodeRecordBatch(records));
      expect(answer.status).toBe(200);
      next += count;
    }
  }
});
afterAll(async () => {
  await t.stop();
});

describe('pooled read buffers', () => {
  it('many concurrent raw and JSON fetches all get the right bytes', async () => {
    const ends = [0, 1].map(async (p) => (await fetchRecords(t.url, 'pooled', p, 'offset=0&maxRecords=1')).body.highWatermark as number);
    const highWatermarks = await Promise.all(ends);
    let checked = 0;
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        for (let i = 0; i < 40; i++) {
          const p = (worker + i) % PARTITIONS;
          const offset = random(highWatermarks[p]!);
          const maxBytes = 1 + random(96 * 1024);
          if (i % 2 === 0) {
            const response = await fetch(`${t.url}/v1/topics/pooled/partitions/${p}/batches?offset=${offset}&maxBytes=${maxBytes}`);
            const bytes = Buffer.from(await response.arrayBuffer());
            expect(response.status).toBe(200);
            for (const record of decodeRecordBatches(bytes)) {
              expect(record.value!.toString()).toBe(expected(p, record.offset));
              checked++;
            }
          } else {
            const answer = await fetchRecords(t.url, 'pooled', p, `offset=${offset}&maxBytes=${maxBytes}&maxRecords=50`);
            expect(answer.status).toBe(200);
            for (const record of answer.body.records) {
              expect(record.value).toBe(expected(p, record.offset));
              checked++;
            }
          }
        }
      }),
    );
    expect(checked).toBeGreaterThan(1000);
    // The buffers did go back to the pool (so the reuse above was real).
    expect(sharedReadBufferPool.freeBytes).toBeGreaterThan(0);
  });
});

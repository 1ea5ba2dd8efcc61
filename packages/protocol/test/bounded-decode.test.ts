// Issue #10 item 1: a reader's work follows what it keeps, not what is stored.
// One gzip batch of ~1 MiB held ~740,000 records; decoding all of them for a
// fetch of 500 killed the broker. These pin the bounds of the lazy decoder.

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DecompressionSlots,
  decodeRecordBatches,
  encodeRecordBatch,
  isStrataError,
  validateBatches,
  validateBatchesAsync,
  validateBatchesEager,
  visitRecords,
  visitRecordsAsync,
  type DecodedRecord,
  type RecordInput,
} from '@strata/protocol';
import { expectStrataError, rawBatch, recordHex } from './helpers.js';

const RECORDS_IN_BOMB = 200_000;

function tinyRecords(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({ value: Buffer.from([i & 0xff]), timestamp: 1_000 }));
}

/** One gzip batch of many tiny records (what a hostile producer sends). */
const bomb = encodeRecordBatch(tinyRecords(RECORDS_IN_BOMB), { compression: 'gzip', baseOffset: 0 });

describe('decodeRecordBatches with limits', () => {
  it('stops at maxRecords inside one huge gzip batch and materialises only those records', () => {
    let seen = 0;
    visitRecords(bomb, () => ++seen < 500);
    expect(seen).toBe(500);
    const records = decodeRecordBatches(bomb, { maxRecords: 500 });
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('starts at fromOffset without materialising the records below it', () => {
    const records = decodeRecordBatches(bomb, { fromOffset: RECORDS_IN_BOMB - 3, maxRecords: 10 });
    expect(records.map((r) => r.offset)).toEqual([RECORDS_IN_BOMB - 3, RECORDS_IN_BOMB - 2, RECORDS_IN_BOMB - 1]);
  });

  it('never decompresses a batch that lies wholly below fromOffset', () => {
    // A CRC-valid gzip batch whose section does not inflate: reading it fails, skipping it does not.
    const unreadable = rawBatch(Buffer.from('1f8b0800deadbeef', 'hex'), { recordCount: 3, attributes: 1, baseOffset: 0 });
    const next = encodeRecordBatch([{ value: Buffer.from('ok') }], { baseOffset: 3, compression: 'gzip' });
    const both = Buffer.concat([unreadable, next]);
    expectStrataError(() => decodeRecordBatches(both), 'CORRUPT_MESSAGE', /batch 0 at byte 0 \(offsets 0\.\.2\): gzip records section does not decompress/);
    expect(decodeRecordBatches(both, { fromOffset: 3 }).map((r) => r.value?.toString())).toEqual(['ok']);
  });

  it('refuses a batch that decompresses past the bound, naming the batch', () => {
    const big = gzipSync(Buffer.alloc(4 << 20));
    const batch = rawBatch(big, { recordCount: 1, attributes: 1 });
    expectStrataError(
      () => decodeRecordBatches(batch, { maxDecompressedBytes: 1 << 20 }),
      'MESSAGE_TOO_LARGE',
      /batch 0 at byte 0 \(offsets 0\.\.0\): gzip records decompress to more than 1048576 bytes/,
    );
  });

  it('refuses a maxRecords below 1', () => {
    expectStrataError(() => decodeRecordBatches(bomb, { maxRecords: 0 }), 'INVALID_REQUEST', /maxRecords 0/);
  });
});

describe('visitRecordsAsync', () => {
  it('reads what visitRecords reads, batch after batch, inflating off the event loop', async () => {
    const batches = Buffer.concat([
      encodeRecordBatch(tinyRecords(5), { baseOffset: 0, compression: 'gzip' }),
      encodeRecordBatch(tinyRecords(5), { baseOffset: 5 }),
      encodeRecordBatch(tinyRecords(5), { baseOffset: 10, compression: 'gzip' }),
    ]);
    const sync: DecodedRecord[] = [];
    visitRecords(batches, (r) => sync.push(r) > 0, { fromOffset: 3 });
    const async: DecodedRecord[] = [];
    await visitRecordsAsync(batches, (r) => async.push(r) > 0, { fromOffset: 3 });
    expect(async).toEqual(sync);
    expect(async.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('keeps the event loop turning while a large gzip batch inflates, and stops at the visitor', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let seen = 0;
    try {
      await visitRecordsAsync(bomb, () => ++seen < 10);
    } finally {
      clearInterval(timer);
    }
    expect(seen).toBe(10);
    console.log(`event-loop ticks while one ${bomb.length}-byte gzip batch of ${RECORDS_IN_BOMB} records inflated: ${ticks}`);
  });

  it('gives the event loop a turn while it walks megabytes of small plain batches', async () => {
    const batches: Buffer[] = [];
    for (let offset = 0; offset < 3_000; offset++) batches.push(encodeRecordBatch([{ value: Buffer.alloc(1_000) }], { baseOffset: offset }));
    const all = Buffer.concat(batches); // ~3 MiB, no compression: nothing to await
    let turned = false;
    setImmediate(() => (turned = true));
    let sawTurn = false;
    let seen = 0;
    await visitRecordsAsync(all, () => {
      seen++;
      sawTurn ||= turned;
      return true;
    });
    expect(seen).toBe(3_000);
    expect(sawTurn).toBe(true);
  });

  it('rejects a bomb with MESSAGE_TOO_LARGE', async () => {
    const batch = rawBatch(gzipSync(Buffer.alloc(4 << 20)), { recordCount: 1, attributes: 1 });
    const error: unknown = await visitRecordsAsync(batch, () => true, { maxDecompressedBytes: 1 << 20 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isStrataError(error) && error.code).toBe('MESSAGE_TOO_LARGE');
    expect((error as Error).message).toMatch(/batch 0 at byte 0 \(offsets 0\.\.0\): gzip records decompress to more than 1048576 bytes/);
  });
});

describe('validateBatchesAsync', () => {
  /** The outcome of a validation: its frames, or the error's code and message. */
  async function outcomes(buf: Buffer, max?: number): Promise<[unknown, unknown]> {
    const options = { maxDecompressedBytes: max };
    const settle = (f: () => unknown): unknown => {
      try {
        return f();
      } catch (e) {
        return isStrataError(e) ? { code: e.code, message: e.message } : e;
      }
    };
    const sync = settle(() => validateBatches(buf, options));
    const async = await validateBatchesAsync(buf, options).then(
      (frames) => frames,
      (e: unknown) => (isStrataError(e) ? { code: e.code, message: e.message } : e),
    );
    return [sync, async];
  }

  it('accepts and refuses exactly what validateBatches does, with the same errors', async () => {
    const hex = (h: string): Buffer => Buffer.from(h, 'hex');
    const cases: Array<[string, Buffer, number?]> = [
      ['plain and gzip batches', Buffer.concat([encodeRecordBatch(tinyRecords(3)), encodeRecordBatch(tinyRecords(4), { compression: 'gzip' })])],
      ['a huge gzip batch', bomb],
      ['gzip that does not inflate', rawBatch(hex('1f8b0800deadbeef'), { recordCount: 1, attributes: 1 })],
      ['gzip hiding bad offset deltas', rawBatch(gzipSync(hex(recordHex(0) + recordHex(0))), { recordCount: 2, attributes: 1 })],
      ['a gzip bomb', rawBatch(gzipSync(Buffer.alloc(4 << 20)), { recordCount: 1, attributes: 1 }), 1 << 20],
      ['a plain batch with a bad record', rawBatch(hex(recordHex(0) + '8e'), { recordCount: 2 })],
      ['trailing bytes', Buffer.concat([encodeRecordBatch(tinyRecords(1)), Buffer.alloc(5)])],
    ];
    for (const [what, buf, max] of cases) {
      const [sync, async] = await outcomes(buf, max);
      expect(async, what).toEqual(sync);
    }
  });
});

describe('validateBatchesEager', () => {
  const hex = (h: string): Buffer => Buffer.from(h, 'hex');
  const settle = async (f: () => unknown): Promise<unknown> => {
    try {
      return await f();
    } catch (e) {
      return isStrataError(e) ? { code: e.code, message: e.message } : e;
    }
  };

  it('answers a small body at once (no promise), a larger one or one that inflates past the bound with the promise', async () => {
    const plain = encodeRecordBatch(tinyRecords(3));
    expect(validateBatchesEager(plain, 1024)).toEqual(validateBatches(plain));
    expect(validateBatchesEager(plain, plain.length - 1)).toBeInstanceOf(Promise);
    const gzip = encodeRecordBatch(tinyRecords(4), { compression: 'gzip' });
    expect(validateBatchesEager(gzip, 1024)).toEqual(validateBatches(gzip));
    // Within the bound as sent, past it once inflated: not inflated on the event loop.
    const inflating = encodeRecordBatch(tinyRecords(20_000), { compression: 'gzip' });
    const answer = validateBatchesEager(inflating, inflating.length);
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toEqual(validateBatches(inflating));
    expect(() => validateBatchesEager(Buffer.concat([plain, Buffer.alloc(5)]), 1024)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }));
  });

  it('accepts and refuses exactly what validateBatchesAsync does, with the same errors, on either side of the bound', async () => {
    const cases: Array<[string, Buffer, number?]> = [
      ['plain and gzip batches', Buffer.concat([encodeRecordBatch(tinyRecords(3)), encodeRecordBatch(tinyRecords(4), { compression: 'gzip' })])],
      ['a huge gzip batch', bomb],
      ['gzip that does not inflate', rawBatch(hex('1f8b0800deadbeef'), { recordCount: 1, attributes: 1 })],
      ['gzip hiding bad offset deltas', rawBatch(gzipSync(hex(recordHex(0) + recordHex(0))), { recordCount: 2, attributes: 1 })],
      ['a gzip bomb', rawBatch(gzipSync(Buffer.alloc(4 << 20)), { recordCount: 1, attributes: 1 }), 1 << 20],
      ['a plain batch with a bad record', rawBatch(hex(recordHex(0) + '8e'), { recordCount: 2 })],
      ['trailing bytes', Buffer.concat([encodeRecordBatch(tinyRecords(1)), Buffer.alloc(5)])],
    ];
    for (const [what, buf, max] of cases) {
      const options = { maxDecompressedBytes: max };
      const expected = await settle(() => validateBatchesAsync(buf, options));
      for (const bound of [0, 64, 1 << 16, 1 << 30]) expect(await settle(() => validateBatchesEager(buf, bound, options)), `${what}, bound ${bound}`).toEqual(expected);
    }
  });
});

describe('DecompressionSlots', () => {
  it('runs at most max decompressions at once, and every waiter gets its turn', async () => {
    const slots = new DecompressionSlots(2);
    const batch = encodeRecordBatch(tinyRecords(20_000), { compression: 'gzip' });
    let peak = 0;
    const reads = Array.from({ length: 8 }, () =>
      visitRecordsAsync(
        batch,
        () => {
          peak = Math.max(peak, slots.running);
          return false;
        },
        { slots },
      ),
    );
    const sampler = setInterval(() => (peak = Math.max(peak, slots.running)), 0);
    await Promise.all(reads);
    clearInterval(sampler);
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(2);
    expect(slots.running).toBe(0);
  });

  it('frees the slot when a decompression fails', async () => {
    const slots = new DecompressionSlots(1);
    const bad = rawBatch(Buffer.from('1f8b0800deadbeef', 'hex'), { recordCount: 1, attributes: 1 });
    for (let i = 0; i < 3; i++) {
      await expect(visitRecordsAsync(bad, () => true, { slots })).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
    }
    expect(slots.running).toBe(0);
    let seen = 0;
    await visitRecordsAsync(encodeRecordBatch(tinyRecords(3), { compression: 'gzip' }), () => ++seen > 0, { slots });
    expect(seen).toBe(3);
  });
});

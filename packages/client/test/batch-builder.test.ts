import { describe, expect, it } from 'vitest';
import { compressionUnavailable, decodeRecordBatch, encodeRecordBatch, validateBatches, type CompressionName } from '@strata/protocol';
import { BatchBuilder } from '../src/batch-builder.js';
import { emptyRecordParts, measureRecord, type ProducerRecord } from '../src/records.js';

function build(records: ProducerRecord[], compression: CompressionName = 'none', capacityBytes = 0): Buffer {
  const builder = new BatchBuilder(capacityBytes);
  const parts = emptyRecordParts();
  for (const r of records) {
    measureRecord(r, parts);
    builder.append(parts, parts.timestamp ?? 1_000);
  }
  return builder.finish(compression, { producerId: 7, producerEpoch: 0, baseSequence: 42 });
}

describe('BatchBuilder', () => {
  it('writes the bytes encodeRecordBatch writes for the same records', () => {
    const records = [
      { topic: 't', key: 'k1', value: 'v1', timestamp: 1_700_000_000_000 },
      { topic: 't', key: null, value: Buffer.from([0, 255]), timestamp: 1_700_000_000_005, headers: [{ key: 'h', value: 'x' }, { key: 'n', value: null }] },
      { topic: 't', value: null, timestamp: 1_700_000_000_009 },
    ];
    const built = build(records);
    const expected = encodeRecordBatch(
      [
        { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1_700_000_000_000 },
        { key: null, value: Buffer.from([0, 255]), timestamp: 1_700_000_000_005, headers: [{ key: 'h', value: Buffer.from('x') }, { key: 'n', value: null }] },
        { value: null, timestamp: 1_700_000_000_009 },
      ],
      { producerId: 7, producerEpoch: 0, baseSequence: 42 },
    );
    expect(built.equals(expected)).toBe(true);
  });

  it('grows past its starting capacity, keeps multi-byte strings and an earlier later timestamp (negative delta)', () => {
    const value = 'ü'.repeat(3_000); // 6,000 bytes: past the 1 KiB start, twice
    const built = build([
      { topic: 't', key: 'ключ', value, timestamp: 5_000 },
      { topic: 't', value: 'early', timestamp: 4_000 },
    ]);
    expect(validateBatches(built)).toHaveLength(1);
    const { header, records } = decodeRecordBatch(built);
    expect(header).toMatchObject({ baseTimestamp: 5_000, maxTimestamp: 5_000, recordCount: 2, producerId: 7, baseSequence: 42 });
    expect(records.map((r) => [r.key?.toString() ?? null, r.value!.toString(), r.timestamp])).toEqual([
      ['ключ', value, 5_000],
      [null, 'early', 4_000],
    ]);
  });

  for (const codec of ['gzip', 'lz4'] as const) {
    it.skipIf(compressionUnavailable(codec) !== null)(`compresses the records section with ${codec}`, () => {
      const records = Array.from({ length: 50 }, (_, i) => ({ topic: 't', key: `k${i}`, value: 'strata '.repeat(40), timestamp: 1_000 + i }));
      const built = build(records, codec);
      expect(built.length).toBeLessThan(50 * 280 / 4);
      expect(decodeRecordBatch(built).records.map((r) => r.key!.toString())).toEqual(records.map((r) => r.key));
    });
  }

  it('refuses to finish empty or to take records once finished', () => {
    expect(() => new BatchBuilder(0).finish('none', null)).toThrow(/empty/);
    const builder = new BatchBuilder(0);
    const parts = emptyRecordParts();
    measureRecord({ topic: 't', value: 'x' }, parts);
    builder.append(parts, 1);
    const first = builder.finish('none', null);
    expect(builder.finish('none', null)).toBe(first); // a retry resends the same bytes
    expect(() => builder.append(parts, 2)).toThrow(/finished/);
  });
  it("writes a new batch into a released batch's buffer, and refuses to finish the released one again", () => {
    const parts = emptyRecordParts();
    const first = new BatchBuilder(0);
    measureRecord({ topic: 't', value: Buffer.alloc(2_000, 0x61) }, parts);
    first.append(parts, 1_000);
    first.finish('none', null);
    const spare = first.releaseBuffer();
    expect(() => first.finish('none', null)).toThrow(/released/);
    const second = new BatchBuilder(1_024, spare);
    const records = [
      { topic: 't', key: 'k', value: Buffer.from('second'), timestamp: 2_000 },
      { topic: 't', value: 'and third', timestamp: 2_001 },
    ];
    for (const r of records) {
      measureRecord(r, parts);
      second.append(parts, r.timestamp);
    }
    const built = second.finish('none', null);
    expect(built.buffer).toBe(spare.buffer);
    expect(built.byteOffset).toBe(spare.byteOffset);
    const expected = encodeRecordBatch([
      { key: Buffer.from('k'), value: Buffer.from('second'), timestamp: 2_000 },
      { key: null, value: Buffer.from('and third'), timestamp: 2_001 },
    ]);
    expect(built.equals(expected)).toBe(true);
  });
});

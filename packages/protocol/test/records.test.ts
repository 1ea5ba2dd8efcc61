import { describe, expect, it } from 'vitest';
import {
  BATCH_HEADER_SIZE,
  BatchField,
  Compression,
  compressionUnavailable,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  readBatchHeader,
  validateBatches,
  type RecordInput,
} from '@strata/protocol';
import { expectStrataError, kafkaFixture, prng, randomBytes } from './helpers.js';

describe('the Kafka-written fixture (3 records with headers)', () => {
  const fixture = kafkaFixture();

  it('decodes to the records Kafka wrote', () => {
    const { header, records } = decodeRecordBatch(fixture);
    expect(header).toEqual({
      baseOffset: 0,
      batchLength: 205,
      partitionLeaderEpoch: 0,
      magic: 2,
      crc: 0xd6545568,
      attributes: 0,
      lastOffsetDelta: 2,
      baseTimestamp: 1509827900073,
      maxTimestamp: 1509827900073,
      producerId: -1,
      producerEpoch: 0,
      baseSequence: 0,
      recordCount: 3,
    });
    expect(records).toHaveLength(3);
    records.forEach((record, i) => {
      expect(record.offset).toBe(i);
      expect(record.timestamp).toBe(1509827900073);
      expect(record.key?.toString()).toBe(`key-${i}`);
      expect(record.value?.toString()).toBe(`some-value-${i}`);
      expect(record.headers).toHaveLength(1);
      expect(record.headers[0].key).toBe(`header-key-${i}`);
      expect(record.headers[0].value?.toString()).toBe(`header-value-${i}`);
    });
  });

  it('is accepted by validateBatches', () => {
    expect(validateBatches(fixture)).toEqual([
      {
        position: 0,
        size: 217,
        baseOffset: 0,
        lastOffsetDelta: 2,
        recordCount: 3,
        baseTimestamp: 1509827900073,
        maxTimestamp: 1509827900073,
        attributes: 0,
      },
    ]);
  });

  it('re-encodes byte for byte from its decoded records and header fields', () => {
    const { header, records } = decodeRecordBatch(fixture);
    const encoded = encodeRecordBatch(
      records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
      {
        baseOffset: header.baseOffset,
        partitionLeaderEpoch: header.partitionLeaderEpoch,
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
      },
    );
    expect(encoded.toString('hex')).toBe(fixture.toString('hex'));
  });

  it('decodes keys and values as views of the input, not copies', () => {
    const { records } = decodeRecordBatch(fixture);
    const key = records[0].key;
    expect(key?.buffer).toBe(fixture.buffer);
    expect(records[0].value?.buffer).toBe(fixture.buffer);
    expect(records[0].headers[0].value?.buffer).toBe(fixture.buffer);
  });
});

describe('encodeRecordBatch / decodeRecordBatch', () => {
  it('uses plain-producer defaults and min/max timestamps', () => {
    const batch = encodeRecordBatch(
      [
        { value: Buffer.from('a'), timestamp: 2000 },
        { value: Buffer.from('b'), timestamp: 1000 },
        { value: Buffer.from('c'), timestamp: 3000 },
      ],
      { baseOffset: 42 },
    );
    const header = readBatchHeader(batch);
    expect(header.baseOffset).toBe(42);
    expect(header.producerId).toBe(-1);
    expect(header.producerEpoch).toBe(-1);
    expect(header.baseSequence).toBe(-1);
    expect(header.partitionLeaderEpoch).toBe(-1);
    expect(header.baseTimestamp).toBe(1000);
    expect(header.maxTimestamp).toBe(3000);
    expect(header.lastOffsetDelta).toBe(2);
    expect(header.recordCount).toBe(3);
    const { records } = decodeRecordBatch(batch);
    expect(records.map((r) => [r.offset, r.timestamp, r.value?.toString()])).toEqual([
      [42, 2000, 'a'],
      [43, 1000, 'b'],
      [44, 3000, 'c'],
    ]);
  });

  it('stamps records without a timestamp with options.now', () => {
    const batch = encodeRecordBatch([{ value: null }, { value: null, timestamp: 5 }], { now: 1234 });
    const { header, records } = decodeRecordBatch(batch);
    expect(header.baseTimestamp).toBe(5);
    expect(header.maxTimestamp).toBe(1234);
    expect(records.map((r) => r.timestamp)).toEqual([1234, 5]);
  });

  it('falls back to Date.now() without options.now', () => {
    const before = Date.now();
    const { records } = decodeRecordBatch(encodeRecordBatch([{ value: null }]));
    expect(records[0].timestamp).toBeGreaterThanOrEqual(before);
    expect(records[0].timestamp).toBeLessThanOrEqual(Date.now());
  });

  it('round-trips null keys, null values, empty values and empty/null-valued headers', () => {
    const input: RecordInput[] = [
      { key: null, value: null, timestamp: 1 },
      { value: Buffer.alloc(0), timestamp: 1 },
      { key: Buffer.alloc(0), value: Buffer.from('v'), headers: [], timestamp: 1 },
      { key: Buffer.from('k'), value: null, headers: [{ key: '', value: null }, { key: 'ünï', value: Buffer.from([0, 255]) }], timestamp: 1 },
    ];
    const { records } = decodeRecordBatch(encodeRecordBatch(input));
    expect(records[0].key).toBeNull();
    expect(records[0].value).toBeNull();
    expect(records[1].key).toBeNull();
    expect(records[1].value).toEqual(Buffer.alloc(0));
    expect(records[2].key).toEqual(Buffer.alloc(0));
    expect(records[2].headers).toEqual([]);
    expect(records[3].value).toBeNull();
    expect(records[3].headers).toEqual([
      { key: '', value: null },
      { key: 'ünï', value: Buffer.from([0, 255]) },
    ]);
  });

  it('round-trips many records with large values and timestamps far apart', () => {
    const rand = prng(3);
    const input: RecordInput[] = [];
    for (let i = 0; i < 5000; i++) {
      input.push({
        key: rand() < 0.2 ? null : randomBytes(rand, (rand() * 40) | 0),
        value: randomBytes(rand, i === 17 ? 300_000 : (rand() * 200) | 0),
        headers: rand() < 0.3 ? [{ key: `h${i}`, value: randomBytes(rand, 3) }] : undefined,
        timestamp: Math.floor(rand() * 2 ** 45),
      });
    }
    const batch = encodeRecordBatch(input, { baseOffset: 2 ** 40 });
    expect(validateBatches(batch)).toHaveLength(1);
    const { records } = decodeRecordBatch(batch);
    expect(records).toHaveLength(input.length);
    // One expect over all records: per-record deep equality is slow at this size.
    const same = (a: Buffer | null, b: Buffer | null | undefined): boolean =>
      a === null ? b === null || b === undefined : b instanceof Buffer && a.equals(b);
    const mismatched = records.flatMap((r, i) => {
      const want = input[i];
      const headers = want.headers ?? [];
      const ok =
        r.offset === 2 ** 40 + i &&
        r.timestamp === want.timestamp &&
        same(r.key, want.key) &&
        same(r.value, want.value) &&
        r.headers.length === headers.length &&
        r.headers.every((h, j) => h.key === headers[j].key && same(h.value, headers[j].value));
      return ok ? [] : [i];
    });
    expect(mismatched).toEqual([]);
  });

  it('round-trips gzip, compressing only the records section', () => {
    const input: RecordInput[] = Array.from({ length: 200 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: Buffer.from('compressible '.repeat(20)),
      headers: [{ key: 'n', value: Buffer.from(String(i)) }],
      timestamp: 1_700_000_000_000 + i,
    }));
    const plain = encodeRecordBatch(input);
    const gzip = encodeRecordBatch(input, { compression: 'gzip' });
    expect(gzip.length).toBeLessThan(plain.length / 5);
    expect(readBatchHeader(gzip).attributes & 0x07).toBe(Compression.gzip);
    // The header (past the CRC and attributes) is identical; gzip starts right after recordCount.
    expect(gzip.subarray(BatchField.lastOffsetDelta, BATCH_HEADER_SIZE)).toEqual(
      plain.subarray(BatchField.lastOffsetDelta, BATCH_HEADER_SIZE),
    );
    expect(gzip.subarray(BATCH_HEADER_SIZE, BATCH_HEADER_SIZE + 2).toString('hex')).toBe('1f8b');
    expect(validateBatches(gzip)).toHaveLength(1);
    const { records } = decodeRecordBatch(gzip);
    expect(records.map((r) => [r.offset, r.timestamp, r.key?.toString(), r.value?.toString(), r.headers[0].value?.toString()])).toEqual(
      input.map((r, i) => [i, r.timestamp, r.key?.toString(), r.value?.toString(), String(i)]),
    );
  });

  it('every codec round trips; zstd where this Node cannot write it is refused clearly', () => {
    const input = [{ key: Buffer.from('k'), value: Buffer.from('v'.repeat(300)), timestamp: 7, headers: [{ key: 'h', value: Buffer.from('x') }] }];
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      if (compressionUnavailable(compression) !== null) {
        expectStrataError(() => encodeRecordBatch(input, { compression }), 'UNSUPPORTED_COMPRESSION_TYPE', /zstd compression needs Node\.js >= 22\.15/);
        continue;
      }
      const batch = encodeRecordBatch(input, { compression });
      expect(batch.readInt16BE(BatchField.attributes) & 7).toBe(Compression[compression]);
      const [record] = decodeRecordBatch(batch).records;
      expect([record?.key?.toString(), record?.value?.toString(), record?.timestamp, record?.headers[0]?.value?.toString()]).toEqual([
        'k',
        'v'.repeat(300),
        7,
        'x',
      ]);
    }
  });

  it('rejects bad input with typed errors', () => {
    expectStrataError(() => encodeRecordBatch([]), 'INVALID_RECORD', /at least one record/);
    expectStrataError(() => encodeRecordBatch([{ value: null, timestamp: -5 }]), 'INVALID_TIMESTAMP');
    expectStrataError(() => encodeRecordBatch([{ value: null, timestamp: 1.5 }]), 'INVALID_TIMESTAMP');
    expectStrataError(() => encodeRecordBatch([{ value: null }], { now: Number.NaN }), 'INVALID_TIMESTAMP');
    expectStrataError(() => encodeRecordBatch([{ value: null }], { baseOffset: -1 }), 'INVALID_REQUEST');
    expectStrataError(() => encodeRecordBatch([{ value: null }], { producerEpoch: 40_000 }), 'INVALID_REQUEST');
    expectStrataError(
      () => encodeRecordBatch([{ value: 'text' as unknown as Buffer }]),
      'INVALID_RECORD',
      /value must be a Buffer/,
    );
  });
});

describe('decodeRecordBatches', () => {
  it('decodes every whole batch and ignores a trailing partial one', () => {
    const a = encodeRecordBatch([{ value: Buffer.from('a'), timestamp: 1 }], { baseOffset: 0 });
    const b = encodeRecordBatch([{ value: Buffer.from('b'), timestamp: 2 }, { value: Buffer.from('c'), timestamp: 3 }], {
      baseOffset: 1,
    });
    const c = encodeRecordBatch([{ value: Buffer.from('d'), timestamp: 4 }], { baseOffset: 3 });
    const all = Buffer.concat([a, b, c]);
    expect(decodeRecordBatches(all).map((r) => r.value?.toString())).toEqual(['a', 'b', 'c', 'd']);
    for (const cut of [1, 11, 12, 30, c.length - 1]) {
      expect(decodeRecordBatches(all.subarray(0, all.length - cut)).map((r) => r.offset)).toEqual([0, 1, 2]);
    }
    expect(decodeRecordBatches(Buffer.alloc(0))).toEqual([]);
  });

  it('throws on a corrupt whole batch', () => {
    const batch = encodeRecordBatch([{ value: Buffer.from('abc'), timestamp: 1 }]);
    batch[batch.length - 2] ^= 1;
    expectStrataError(() => decodeRecordBatches(batch), 'CORRUPT_MESSAGE', /CRC mismatch/);
  });
});

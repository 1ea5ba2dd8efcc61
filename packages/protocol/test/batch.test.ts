import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BATCH_HEADER_SIZE,
  BatchField,
  decodeRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  scanValidPrefix,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatches,
} from '@strata/protocol';
import { expectStrataError, kafkaFixture, rawBatch, recordHex, resealCrc } from './helpers.js';

function sample(baseOffset = 0, values = ['alpha', 'beta', 'gamma']): Buffer {
  return encodeRecordBatch(
    values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v), timestamp: 1000 + i })),
    { baseOffset },
  );
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('validateBatches accepts', () => {
  it('several whole batches and reports their frames', () => {
    const a = sample(0);
    const b = encodeRecordBatch([{ value: Buffer.from('z'), timestamp: 5 }], { compression: 'gzip', baseOffset: 3 });
    const frames = validateBatches(Buffer.concat([a, b, kafkaFixture()]));
    expect(frames.map((f) => [f.position, f.size, f.baseOffset, f.recordCount, f.lastOffsetDelta, f.attributes])).toEqual([
      [0, a.length, 0, 3, 2, 0],
      [a.length, b.length, 3, 1, 0, 1],
      [a.length + b.length, 217, 0, 3, 2, 0],
    ]);
    expect(frames[0].baseTimestamp).toBe(1000);
    expect(frames[0].maxTimestamp).toBe(1002);
  });

  it('a batch exactly at maxBatchBytes, and an idempotent producer batch', () => {
    const batch = sample();
    expect(validateBatches(batch, { maxBatchBytes: batch.length })).toHaveLength(1);
    const idempotent = encodeRecordBatch([{ value: null, timestamp: 1 }], { producerId: 7, producerEpoch: 0, baseSequence: 0 });
    expect(validateBatches(idempotent)).toHaveLength(1);
  });
});

describe('validateBatches rejects framing', () => {
  it('an empty buffer', () => {
    expectStrataError(() => validateBatches(Buffer.alloc(0)), 'CORRUPT_MESSAGE', /empty/);
  });

  it('bad magic: legacy 0/1 as UNSUPPORTED_VERSION, anything else as CORRUPT_MESSAGE', () => {
    for (const magic of [0, 1]) {
      const batch = sample();
      batch[BatchField.magic] = magic;
      expectStrataError(() => validateBatches(batch), 'UNSUPPORTED_VERSION', new RegExp(`batch 0 at byte 0: magic ${magic}`));
    }
    const batch = sample();
    batch[BatchField.magic] = 3;
    expectStrataError(() => validateBatches(batch), 'CORRUPT_MESSAGE', /magic byte is 3, expected 2/);
  });

  it('batchLength below 49', () => {
    const batch = sample();
    batch.writeInt32BE(48, BatchField.batchLength);
    expectStrataError(() => validateBatches(batch), 'CORRUPT_MESSAGE', /batchLength 48 is below the minimum 49/);
    batch.writeInt32BE(-1, BatchField.batchLength);
    expectStrataError(() => validateBatches(batch), 'CORRUPT_MESSAGE', /batchLength -1/);
  });

  it('a truncated batch (body or header cut short)', () => {
    const batch = sample();
    expectStrataError(() => validateBatches(batch.subarray(0, batch.length - 1)), 'CORRUPT_MESSAGE', /runs past the end/);
    expectStrataError(() => validateBatches(batch.subarray(0, 30)), 'CORRUPT_MESSAGE', /runs past the end/);
    expectStrataError(() => validateBatches(batch.subarray(0, 5)), 'CORRUPT_MESSAGE', /only 5 bytes remain.*truncated/);
  });

  it('a batchLength that runs past the buffer', () => {
    const batch = sample();
    batch.writeInt32BE(batch.length, BatchField.batchLength);
    expectStrataError(() => validateBatches(batch), 'CORRUPT_MESSAGE', /runs past the end/);
  });

  it('trailing garbage after the last batch, naming the position', () => {
    const batch = sample();
    const withTail = Buffer.concat([batch, hex('0102030405')]);
    expectStrataError(
      () => validateBatches(withTail),
      'CORRUPT_MESSAGE',
      new RegExp(`batch 1 at byte ${batch.length}: only 5 bytes remain.*trailing bytes`),
    );
    const withLongTail = Buffer.concat([batch, Buffer.alloc(100, 0)]);
    expectStrataError(() => validateBatches(withLongTail), 'CORRUPT_MESSAGE', new RegExp(`batch 1 at byte ${batch.length}`));
  });

  it('a bad CRC, naming the batch index and position', () => {
    const a = sample(0);
    const b = sample(3);
    b[b.length - 1] ^= 0x40;
    const err = expectStrataError(
      () => validateBatches(Buffer.concat([a, b])),
      'CORRUPT_MESSAGE',
      new RegExp(`batch 1 at byte ${a.length}: CRC mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}`),
    );
    expect((err as { details?: unknown }).details).toEqual({ batchIndex: 1, position: a.length });
  });

  it('a batch over maxBatchBytes', () => {
    const batch = sample();
    expectStrataError(
      () => validateBatches(batch, { maxBatchBytes: batch.length - 1 }),
      'MESSAGE_TOO_LARGE',
      new RegExp(`batch is ${batch.length} bytes, over the limit of ${batch.length - 1}`),
    );
  });

  it('an int64 field outside the safe integer range', () => {
    const batch = sample();
    batch.writeBigInt64BE(2n ** 60n, BatchField.maxTimestamp);
    resealCrc(batch);
    expectStrataError(() => validateBatches(batch), 'CORRUPT_MESSAGE', /safe integer/);
    const base = sample();
    base.writeBigInt64BE(-(2n ** 62n), BatchField.baseOffset); // outside the CRC: no reseal needed
    expectStrataError(() => validateBatches(base), 'CORRUPT_MESSAGE', /safe integer/);
  });
});

describe('validateBatches rejects header rules (INVALID_RECORD / codec)', () => {
  const one = recordHex(0);

  it('recordCount < 0, recordCount 0, and lastOffsetDelta inconsistent with recordCount', () => {
    expectStrataError(() => validateBatches(rawBatch(hex(one), { recordCount: -1, lastOffsetDelta: 0 })), 'INVALID_RECORD', /recordCount is -1/);
    // Kafka's LogValidator rejects count <= 0 from clients ("Invalid reported count for record batch").
    expectStrataError(() => validateBatches(rawBatch(Buffer.alloc(0), { recordCount: 0 })), 'INVALID_RECORD', /recordCount is 0/);
    expectStrataError(
      () => validateBatches(rawBatch(hex(one), { recordCount: 1, lastOffsetDelta: 4 })),
      'INVALID_RECORD',
      /lastOffsetDelta 4 is inconsistent with recordCount 1/,
    );
  });

  it('unknown compression codecs, and a section that is not what its codec id says', () => {
    for (const [id, name] of [[2, 'snappy'], [3, 'lz4'], [4, 'zstd']] as const) {
      expectStrataError(
        () => validateBatches(rawBatch(hex(one), { recordCount: 1, attributes: id })),
        'CORRUPT_MESSAGE',
        new RegExp(`batch 0 at byte 0: ${name} records section does not decompress`),
      );
    }
    expectStrataError(
      () => validateBatches(rawBatch(hex(one), { recordCount: 1, attributes: 6 })),
      'UNSUPPORTED_COMPRESSION_TYPE',
      /unknown compression codec id 6/,
    );
  });

  it('transactional and control batches (Strata has no transactions yet)', () => {
    expectStrataError(() => validateBatches(rawBatch(hex(one), { recordCount: 1, attributes: 0x10 })), 'INVALID_RECORD', /transactional/);
    expectStrataError(() => validateBatches(rawBatch(hex(one), { recordCount: 1, attributes: 0x20 })), 'INVALID_RECORD', /control/);
    expectStrataError(() => validateBatches(rawBatch(hex(one), { recordCount: 1, attributes: 0x30 })), 'INVALID_RECORD');
  });

  it('a producer id without a base sequence', () => {
    expectStrataError(
      () => validateBatches(rawBatch(hex(one), { recordCount: 1, producerId: 9, baseSequence: -1 })),
      'INVALID_RECORD',
      /producerId 9 is set but baseSequence is -1/,
    );
  });
});

describe('validateBatches deep: malformed records', () => {
  it('accepts a hand-built section, and deep: false skips the walk', () => {
    const section = hex(recordHex(0) + recordHex(1));
    expect(validateBatches(rawBatch(section, { recordCount: 2 }))).toHaveLength(1);
    expect(decodeRecordBatch(rawBatch(section, { recordCount: 2 })).records.map((r) => r.value?.toString())).toEqual(['x', 'x']);
    const broken = hex(recordHex(0) + 'ff');
    expect(validateBatches(rawBatch(broken, { recordCount: 1 }), { deep: false })).toHaveLength(1);
  });

  it('fewer records than recordCount', () => {
    const section = hex(recordHex(0) + recordHex(1) + '00'.repeat(14));
    expectStrataError(
      () => validateBatches(rawBatch(hex(recordHex(0) + recordHex(1)), { recordCount: 3 })),
      'CORRUPT_MESSAGE',
      /recordCount 3 cannot fit/,
    );
    // Enough bytes for 3, but the third record is zero-length garbage.
    expectStrataError(() => validateBatches(rawBatch(section, { recordCount: 3 })), 'CORRUPT_MESSAGE', /record 2: record length 0 at byte 77/);
  });

  it('more records than recordCount', () => {
    expectStrataError(
      () => validateBatches(rawBatch(hex(recordHex(0) + recordHex(1)), { recordCount: 1 })),
      'CORRUPT_MESSAGE',
      /batch 0 at byte 0: 8 bytes follow the last of 1 records \(byte 69\)/,
    );
  });

  it('a varint that runs past the end of the section', () => {
    // Record length varint with its continuation bit set as the last byte.
    expectStrataError(
      () => validateBatches(rawBatch(hex(recordHex(0) + '8e'), { recordCount: 2 })),
      'CORRUPT_MESSAGE',
      /recordCount 2 cannot fit|record 1: varint at byte 69 runs past the end/,
    );
    const longer = hex(recordHex(0) + '8e' + '00'.repeat(6));
    expectStrataError(() => validateBatches(rawBatch(longer, { recordCount: 2 })), 'CORRUPT_MESSAGE', /record 1: record length 7 at byte 69/);
  });

  it('a varint inside a record that overruns the record body', () => {
    // Body of 6 bytes whose last field (headerCount) is a continued varint.
    const section = hex('0c' + '00' + '00' + '00' + '01' + '01' + '80');
    expectStrataError(
      () => validateBatches(rawBatch(section, { recordCount: 1 })),
      'CORRUPT_MESSAGE',
      /record 0: varint at byte 67 runs past the end \(byte 68\)/,
    );
  });

  it('a key or value length past the end of the record', () => {
    // value length 5 but one byte of value.
    const section = hex('0e' + '00' + '00' + '00' + '01' + '0a' + '78' + '00');
    expectStrataError(
      () => validateBatches(rawBatch(section, { recordCount: 1 })),
      'CORRUPT_MESSAGE',
      /record 0: value length 5 at byte 66 runs past the end of the record/,
    );
    const badKey = hex('0e' + '00' + '00' + '00' + '03' + '02' + '78' + '00'); // key length -2
    expectStrataError(() => validateBatches(rawBatch(badKey, { recordCount: 1 })), 'CORRUPT_MESSAGE', /key length -2 at byte 65 is negative/);
  });

  it('a record whose fields end before its declared length', () => {
    const section = hex('10' + '00' + '00' + '00' + '01' + '02' + '78' + '00' + '00'); // length 8, fields use 7
    expectStrataError(
      () => validateBatches(rawBatch(section, { recordCount: 1 })),
      'CORRUPT_MESSAGE',
      /declares a 8-byte body but its fields end 1 bytes early/,
    );
  });

  it('a negative or impossible header count, and a negative header key length', () => {
    const negative = hex('0e' + '00' + '00' + '00' + '01' + '02' + '78' + '01');
    expectStrataError(() => validateBatches(rawBatch(negative, { recordCount: 1 })), 'CORRUPT_MESSAGE', /header count -1/);
    const tooMany = hex('0e' + '00' + '00' + '00' + '01' + '02' + '78' + '7e');
    expectStrataError(() => validateBatches(rawBatch(tooMany, { recordCount: 1 })), 'CORRUPT_MESSAGE', /header count 63/);
    const badHeaderKey = hex('12' + '00' + '00' + '00' + '01' + '02' + '78' + '02' + '01' + '01');
    expectStrataError(() => validateBatches(rawBatch(badHeaderKey, { recordCount: 1 })), 'CORRUPT_MESSAGE', /header 0 key length -1/);
  });

  it('offset deltas that are not 0, 1, 2, ...', () => {
    expectStrataError(
      () => validateBatches(rawBatch(hex(recordHex(0) + recordHex(0)), { recordCount: 2 })),
      'INVALID_RECORD',
      /record 1: offsetDelta 0 at byte 69, expected 1/,
    );
    expectStrataError(
      () => validateBatches(rawBatch(hex(recordHex(1) + recordHex(2)), { recordCount: 2 })),
      'INVALID_RECORD',
      /record 0: offsetDelta 1 at byte 61, expected 0/,
    );
    // A reader accepts increasing gaps (compacted batches have them) within lastOffsetDelta.
    const gappy = rawBatch(hex(recordHex(0) + recordHex(3)), { recordCount: 2, lastOffsetDelta: 3 });
    expect(decodeRecordBatch(gappy).records.map((r) => r.offset)).toEqual([0, 3]);
    expectStrataError(() => validateBatches(gappy), 'INVALID_RECORD');
  });

  it('a record timestamp outside the safe range', () => {
    // timestampDelta = 2^52 (zigzag 2^53) over a baseTimestamp of 2^52.
    const body = '00' + '80808080808080' + '10' + '00' + '01' + '02' + '78' + '00';
    const section = hex('1c' + body); // 14-byte body
    const batch = rawBatch(section, { recordCount: 1, baseTimestamp: 2 ** 52, maxTimestamp: 2 ** 52 });
    expectStrataError(() => validateBatches(batch), 'CORRUPT_MESSAGE', /timestamp.*safe integer/);
  });

  it('gzip that does not decompress, gzip hiding malformed records, and gzip bombs', () => {
    expectStrataError(
      () => validateBatches(rawBatch(hex('1f8b0800deadbeef'), { recordCount: 1, attributes: 1 })),
      'CORRUPT_MESSAGE',
      /batch 0 at byte 0: gzip records section does not decompress/,
    );
    const hidden = gzipSync(hex(recordHex(0) + recordHex(0)));
    expectStrataError(
      () => validateBatches(rawBatch(hidden, { recordCount: 2, attributes: 1 })),
      'INVALID_RECORD',
      /record 1: offsetDelta 0 at byte 8, expected 1.*within the decompressed gzip records/,
    );
    const bomb = gzipSync(Buffer.alloc(10_000_000));
    expectStrataError(
      () => validateBatches(rawBatch(bomb, { recordCount: 1, attributes: 1 }), { maxDecompressedBytes: 1 << 20 }),
      'MESSAGE_TOO_LARGE',
      /decompress to more than 1048576 bytes/,
    );
  });
});

describe('scanValidPrefix', () => {
  const a = sample(0);
  const b = sample(3, ['x']);
  const c = sample(4, ['y', 'z']);
  const all = Buffer.concat([a, b, c]);

  it('takes every whole batch of a clean log', () => {
    const { frames, validBytes } = scanValidPrefix(all);
    expect(validBytes).toBe(all.length);
    expect(frames.map((f) => f.baseOffset)).toEqual([0, 3, 4]);
  });

  it('stops at a torn tail, on a batch boundary', () => {
    for (let cut = 1; cut < c.length; cut += 7) {
      const { frames, validBytes } = scanValidPrefix(all.subarray(0, all.length - cut));
      expect(validBytes).toBe(a.length + b.length);
      expect(frames).toHaveLength(2);
    }
  });

  it('stops at the first corrupt batch', () => {
    const damaged = Buffer.from(all);
    damaged[a.length + BATCH_HEADER_SIZE + 2] ^= 0xff;
    expect(scanValidPrefix(damaged).validBytes).toBe(a.length);
    const zeroed = Buffer.concat([a, Buffer.alloc(500)]);
    expect(scanValidPrefix(zeroed).validBytes).toBe(a.length);
  });

  it('returns nothing for empty or garbage input', () => {
    expect(scanValidPrefix(Buffer.alloc(0))).toEqual({ frames: [], validBytes: 0 });
    expect(scanValidPrefix(Buffer.from('not a batch at all, just some text that is long enough')).validBytes).toBe(0);
  });
});

describe('setBaseOffset / setPartitionLeaderEpoch', () => {
  it('rewrite fields outside the CRC, leaving the batch valid', () => {
    const first = sample(0);
    const second = sample(0, ['q']);
    const log = Buffer.concat([first, second]);
    const crcBefore = log.readUInt32BE(first.length + BatchField.crc);
    setBaseOffset(log, first.length, 2 ** 40 + 3);
    setPartitionLeaderEpoch(log, first.length, 17);
    expect(log.readUInt32BE(first.length + BatchField.crc)).toBe(crcBefore);
    const frames = validateBatches(log);
    expect(frames[1].baseOffset).toBe(2 ** 40 + 3);
    const header = readBatchHeader(log, first.length);
    expect(header.partitionLeaderEpoch).toBe(17);
    expect(decodeRecordBatch(log, first.length).records[0].offset).toBe(2 ** 40 + 3);
    expect(scanValidPrefix(log).validBytes).toBe(log.length);
  });

  it('assert on a position that is not a batch, or an invalid value', () => {
    const batch = sample();
    expectStrataError(() => setBaseOffset(batch, 3, 1), 'INTERNAL_ERROR', /starts a v2 batch/);
    expectStrataError(() => setBaseOffset(batch, batch.length - 10, 1), 'INTERNAL_ERROR');
    expectStrataError(() => setBaseOffset(batch, 0, -1), 'INTERNAL_ERROR');
    expectStrataError(() => setPartitionLeaderEpoch(batch, 0, 2 ** 31), 'INTERNAL_ERROR');
  });
});

describe('readBatchHeader', () => {
  it('throws CORRUPT_MESSAGE on a short buffer instead of reading out of bounds', () => {
    expectStrataError(() => readBatchHeader(Buffer.alloc(60)), 'CORRUPT_MESSAGE', /needs 61 bytes/);
    expectStrataError(() => readBatchHeader(sample(), 10), 'CORRUPT_MESSAGE');
  });
});

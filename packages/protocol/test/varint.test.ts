import { describe, expect, it } from 'vitest';
import {
  ByteCursor,
  readInt64,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeInt64,
  writeVarint,
  writeVarlong,
} from '@strata/protocol';
import { expectStrataError, prng } from './helpers.js';

function encodeVarint(value: number): Buffer {
  const buf = Buffer.alloc(sizeOfVarint(value));
  expect(writeVarint(buf, 0, value)).toBe(buf.length);
  return buf;
}

function encodeVarlong(value: number): Buffer {
  const buf = Buffer.alloc(sizeOfVarlong(value));
  expect(writeVarlong(buf, 0, value)).toBe(buf.length);
  return buf;
}

describe('zigzag varint (int32)', () => {
  // Expected bytes follow Kafka's ByteUtils (zigzag, then LEB128), computed with 64-bit integers.
  const cases: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-2, '03'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [300, 'd804'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  it.each(cases)('%i <-> %s', (value, hex) => {
    expect(encodeVarint(value).toString('hex')).toBe(hex);
    const cur = new ByteCursor(Buffer.from(hex, 'hex'));
    expect(readVarint(cur)).toBe(value);
    expect(cur.pos).toBe(hex.length / 2);
  });

  it('round-trips random int32 values', () => {
    const rand = prng(1);
    for (let i = 0; i < 10_000; i++) {
      const v = ((rand() * 2 ** 32) | 0) >> ((rand() * 32) | 0);
      const cur = new ByteCursor(encodeVarint(v));
      expect(readVarint(cur)).toBe(v);
    }
  });

  it('rejects overruns and over-long encodings with CORRUPT_MESSAGE', () => {
    expectStrataError(() => readVarint(new ByteCursor(Buffer.alloc(0))), 'CORRUPT_MESSAGE', /runs past the end/);
    expectStrataError(() => readVarint(new ByteCursor(Buffer.from('8080', 'hex'))), 'CORRUPT_MESSAGE', /byte 0/);
    expectStrataError(() => readVarint(new ByteCursor(Buffer.from('8080808080', 'hex'))), 'CORRUPT_MESSAGE', /longer/);
    // The cursor's end bounds the read even when the buffer goes on.
    expectStrataError(() => readVarint(new ByteCursor(Buffer.from('8001', 'hex'), 0, 1)), 'CORRUPT_MESSAGE');
  });

  it('refuses to write a non-int32', () => {
    expectStrataError(() => sizeOfVarint(2 ** 31), 'INVALID_REQUEST');
    expectStrataError(() => writeVarint(Buffer.alloc(8), 0, 0.5), 'INVALID_REQUEST');
  });
});

describe('zigzag varlong (int64 as safe integer)', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
    [2147483648, '8080808010'],
    [-2147483649, '8180808010'],
    [1509827900073, 'd2ca8b8cf157'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
    [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
  ];
  it.each(cases)('%i <-> %s', (value, hex) => {
    expect(encodeVarlong(value).toString('hex')).toBe(hex);
    const cur = new ByteCursor(Buffer.from(hex, 'hex'));
    expect(readVarlong(cur)).toBe(value);
    expect(cur.pos).toBe(hex.length / 2);
  });

  it('round-trips random safe integers of every magnitude', () => {
    const rand = prng(2);
    for (let i = 0; i < 10_000; i++) {
      const magnitude = Math.floor(rand() * 2 ** Math.floor(rand() * 54));
      const v = Math.min(magnitude, Number.MAX_SAFE_INTEGER) * (rand() < 0.5 ? -1 : 1);
      const buf = encodeVarlong(v);
      const cur = new ByteCursor(buf);
      expect(readVarlong(cur)).toBe(v === 0 ? 0 : v);
      expect(cur.pos).toBe(buf.length);
    }
  });

  it('rejects values outside the safe range, overruns and 11-byte encodings', () => {
    // 2^53 (zigzag 2^54) and -(2^53) (zigzag 2^54 - 1) are valid int64 but not safe.
    expectStrataError(() => readVarlong(new ByteCursor(Buffer.from('8080808080808020', 'hex'))), 'CORRUPT_MESSAGE', /safe/);
    expectStrataError(() => readVarlong(new ByteCursor(Buffer.from('ffffffffffffff1f', 'hex'))), 'CORRUPT_MESSAGE', /safe/);
    expectStrataError(() => readVarlong(new ByteCursor(Buffer.from('ffffffffffffffffff01', 'hex'))), 'CORRUPT_MESSAGE', /safe/);
    expectStrataError(() => readVarlong(new ByteCursor(Buffer.from('8080', 'hex'))), 'CORRUPT_MESSAGE', /past the end/);
    expectStrataError(
      () => readVarlong(new ByteCursor(Buffer.from('8080808080808080808000', 'hex'))),
      'CORRUPT_MESSAGE',
      /longer than 10/,
    );
  });

  it('refuses to write an unsafe integer', () => {
    expectStrataError(() => sizeOfVarlong(2 ** 53), 'INVALID_REQUEST');
    expectStrataError(() => writeVarlong(Buffer.alloc(10), 0, Number.NaN), 'INVALID_REQUEST');
  });
});

describe('int64 helpers', () => {
  it('round-trips safe integers through big-endian int64', () => {
    const buf = Buffer.alloc(8);
    for (const v of [0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 32 + 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      writeInt64(buf, 0, v);
      expect(buf.readBigInt64BE(0)).toBe(BigInt(v));
      expect(readInt64(buf, 0)).toBe(v);
    }
  });

  it('rejects unsafe values on read and write, and out-of-bounds positions', () => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64BE(2n ** 53n);
    expectStrataError(() => readInt64(buf, 0), 'CORRUPT_MESSAGE', /safe/);
    buf.writeBigInt64BE(-(2n ** 53n));
    expectStrataError(() => readInt64(buf, 0), 'CORRUPT_MESSAGE', /safe/);
    buf.writeBigInt64BE(-(2n ** 63n));
    expectStrataError(() => readInt64(buf, 0), 'CORRUPT_MESSAGE', /safe/);
    expectStrataError(() => readInt64(buf, 1), 'CORRUPT_MESSAGE', /past the end/);
    expectStrataError(() => writeInt64(buf, 0, 2 ** 53), 'INVALID_REQUEST');
    expectStrataError(() => writeInt64(buf, 4, 1), 'INVALID_REQUEST');
  });
});

import { describe, expect, it } from 'vitest';
import { isStrataError, murmur2, partitionForKey, toPositive } from '@strata/protocol';

describe('murmur2 (Kafka Utils.murmur2)', () => {
  // Vectors from Kafka's UtilsTest.testMurmur2.
  const cases: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  it.each(cases)('murmur2(%j) = %i', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
  });

  it('returns signed int32 for every tail length, including empty input', () => {
    for (let n = 0; n < 16; n++) {
      const h = murmur2(Buffer.alloc(n, 0xab));
      expect(h | 0).toBe(h);
    }
  });
});

describe('toPositive and partitionForKey', () => {
  it('clears the sign bit like Kafka (not Math.abs)', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(123)).toBe(123);
  });

  it('maps keys as Kafka does', () => {
    // toPositive(-973932308) = 1173551340; 1173551340 % 10 = 0; % 3 = 0
    expect(partitionForKey(Buffer.from('21'), 10)).toBe(toPositive(-973932308) % 10);
    expect(partitionForKey(Buffer.from('foobar'), 7)).toBe(toPositive(-790332482) % 7);
    expect(partitionForKey(Buffer.from('abc'), 1)).toBe(0);
  });

  it('rejects a non-positive partition count', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) {
      try {
        partitionForKey(Buffer.from('k'), n);
        expect.unreachable();
      } catch (e) {
        expect(isStrataError(e) && e.code).toBe('INVALID_PARTITIONS');
      }
    }
  });
});

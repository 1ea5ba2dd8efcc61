import { describe, expect, it, vi } from 'vitest';
import { crc32c, crc32cCombine, crc32cEngine, crc32cJs, crc32cNative, type Crc32cFunction } from '@strata/protocol';
import { prng, randomBytes } from './helpers.js';

// Every engine must agree with the published CRC-32C check values.
const engines: [string, Crc32cFunction][] = [
  ['crc32c (dispatch)', crc32c],
  ['js', crc32cJs],
];
if (crc32cNative !== null) engines.push(['native', crc32cNative]);

describe.each(engines)('CRC-32C engine %s', (_name, crc) => {
  it('matches the standard check value for "123456789"', () => {
    expect(crc(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('is 0 for empty input', () => {
    expect(crc(new Uint8Array(0))).toBe(0);
  });

  it('matches RFC 3720 (iSCSI) vectors', () => {
    expect(crc(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(crc(ascending)).toBe(0x46dd794e);
    const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
    expect(crc(descending)).toBe(0x113fdb5c);
  });

  it('is unsigned', () => {
    expect(crc(Buffer.from('123456789'))).toBeGreaterThan(0x7fffffff);
  });

  it('continues from an initial value exactly like one pass', () => {
    const rand = prng(7);
    const data = randomBytes(rand, 5000);
    const whole = crc(data);
    for (const cut of [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4999, 5000]) {
      expect(crc(data.subarray(cut), crc(data.subarray(0, cut)))).toBe(whole);
    }
  });
});

describe('CRC-32C engines agree', () => {
  it('on random inputs of every small length and some large ones', () => {
    const rand = prng(42);
    for (let length = 0; length < 300; length++) {
      const data = randomBytes(rand, length);
      const expected = crc32cJs(data);
      expect(crc32c(data)).toBe(expected);
      if (crc32cNative !== null) expect(crc32cNative(data)).toBe(expected);
    }
    for (const length of [4096, 65_536 + 3, 1 << 20]) {
      const data = randomBytes(rand, length);
      const expected = crc32cJs(data);
      expect(crc32c(data)).toBe(expected);
      if (crc32cNative !== null) expect(crc32cNative(data)).toBe(expected);
    }
  });

  it('reports the engine in use', () => {
    expect(crc32cEngine).toBe(crc32cNative === null ? 'js' : 'native');
    // Informational: CI logs show which engine ran.
    console.log(`crc32c engine: ${crc32cEngine}`);
  });
});

describe('CRC-32C without the native package', () => {
  it('falls back to JS when @node-rs/crc32 cannot be loaded', async () => {
    vi.resetModules();
    vi.doMock('node:module', () => ({
      createRequire: () => () => {
        throw new Error('Cannot find module @node-rs/crc32');
      },
    }));
    try {
      const fresh = await import('../src/crc32c.js');
      expect(fresh.crc32cNative).toBeNull();
      expect(fresh.crc32cEngine).toBe('js');
      expect(fresh.crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
      const big = Buffer.alloc(4096, 0x5a);
      expect(fresh.crc32c(big)).toBe(crc32cJs(big));
    } finally {
      vi.doUnmock('node:module');
      vi.resetModules();
    }
  });

  it('rejects a native binary that computes the wrong CRC', async () => {
    vi.resetModules();
    vi.doMock('node:module', () => ({ createRequire: () => () => ({ crc32c: () => 12345 }) }));
    try {
      const fresh = await import('../src/crc32c.js');
      expect(fresh.crc32cEngine).toBe('js');
    } finally {
      vi.doUnmock('node:module');
      vi.resetModules();
    }
  });

  it('combines two CRCs into the CRC of the concatenation, at every length and split', () => {
    const data = Buffer.alloc(70_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    for (const [length, split] of [[0, 0], [1, 0], [1, 1], [9, 4], [300, 21], [65_536, 21], [70_000, 35_000], [70_000, 69_999]] as const) {
      const whole = data.subarray(0, length);
      const a = whole.subarray(0, split);
      const b = whole.subarray(split);
      expect(crc32cCombine(crc32c(a), crc32c(b), b.length), `${length} split at ${split}`).toBe(crc32c(whole));
    }
    expect(crc32cCombine(crc32c(Buffer.from('1234')), crc32c(Buffer.from('56789')), 5)).toBe(0xe3069283);
    expect(() => crc32cCombine(0, 0, -1)).toThrow(RangeError);
  });
});

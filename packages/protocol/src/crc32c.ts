// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// RecordBatch v2. It runs over every appended byte, so there are two engines:
// @node-rs/crc32 (SIMD/hardware instructions, binaries shipped inside npm per
// platform) when it loads and passes a self-test, else slicing-by-8 in JS.
// Both take `initial` = a previous result, so crc32c(b, crc32c(a)) equals
// crc32c(a ++ b).

import { createRequire } from 'node:module';

const POLY = 0x82f63b78;

// TABLES[k * 256 + b] = CRC of byte b followed by k zero bytes: slicing-by-8
// folds 8 input bytes per step with 8 table lookups.
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/**
 * JS CRC-32C over data[start, end). The range form lets the batch validator
 * checksum a region of a larger buffer without allocating a view.
 */
export function crc32cRangeJs(data: Uint8Array, start: number, end: number, initial = 0): number {
  const t = TABLES;
  let crc = ~initial;
  let i = start;
  // Eight bytes per step, then the 0-7 byte tail one at a time.
  const end8 = end - ((end - i) & 7);
  while (i < end8) {
    const a = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    crc =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + data[i + 4]] ^
      t[512 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
    i += 8;
  }
  while (i < end) crc = t[(crc ^ data[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** CRC-32C in pure JS (the fallback engine, always available). */
export function crc32cJs(data: Uint8Array, initial = 0): number {
  return crc32cRangeJs(data, 0, data.length, initial);
}

export type Crc32cFunction = (data: Uint8Array, initial?: number) => number;

const CHECK_INPUT = new TextEncoder().encode('123456789');
const CHECK_VALUE = 0xe3069283;

function loadNative(): Crc32cFunction | null {
  try {
    const require = createRequire(import.meta.url);
    const mod: unknown = require('@node-rs/crc32');
    if (typeof mod !== 'object' || mod === null || !('crc32c' in mod) || typeof mod.crc32c !== 'function') return null;
    const native = mod.crc32c as (input: Uint8Array, initialState?: number | null) => number;
    const fn: Crc32cFunction = (data, initial = 0) => native(data, initial) >>> 0;
    // A binary that loads but computes something else must never decide
    // whether a batch is corrupt: check the standard vector and chaining.
    if (fn(CHECK_INPUT) !== CHECK_VALUE) return null;
    if (fn(CHECK_INPUT.subarray(4), fn(CHECK_INPUT.subarray(0, 4))) !== CHECK_VALUE) return null;
    return fn;
  } catch {
    return null;
  }
}

/** The native engine, or null when @node-rs/crc32 is absent or failed its self-test. */
export const crc32cNative: Crc32cFunction | null = loadNative();

/** Which engine crc32c uses for large inputs. */
export const crc32cEngine: 'native' | 'js' = crc32cNative === null ? 'js' : 'native';

// Below this many bytes the N-API call (~0.2 us fixed cost) is slower than the
// JS loop: measured here at 128 B JS 7.0 M/s vs native 4.2 M/s, even at 256 B,
// native ahead from 384 B (bench/src/codec.ts has the 256 B row).
export const NATIVE_MIN_BYTES = 256;

/** CRC-32C (unsigned 32-bit) of data, continuing from `initial` (a previous result). */
export function crc32c(data: Uint8Array, initial = 0): number {
  if (crc32cNative !== null && data.length >= NATIVE_MIN_BYTES) return crc32cNative(data, initial);
  return crc32cRangeJs(data, 0, data.length, initial);
}

/** CRC-32C of data[start, end) with the fastest engine. */
export function crc32cRange(data: Uint8Array, start: number, end: number): number {
  if (crc32cNative !== null && end - start >= NATIVE_MIN_BYTES) {
    return crc32cNative(data.subarray(start, end));
  }
  return crc32cRangeJs(data, start, end);
}

// Combining two CRCs (zlib's crc32_combine, for the Castagnoli polynomial): the CRC of a ++ b from
// crc(a), crc(b) and b's length, in O(log length) without reading b again. A segment upload checks
// each batch's CRC and needs the CRC of all the data: with this, it reads the bytes once (issue #16).

/** The Castagnoli polynomial, bit-reflected (x^32 implied). */
const POLY_REFLECTED = 0x82f63b78;

/** a * b modulo the polynomial, both reflected (bit 31 is x^0). */
function multiplyModPoly(a: number, b: number): number {
  let product = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if ((a & m) !== 0) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    b = b & 1 ? (b >>> 1) ^ POLY_REFLECTED : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..63: enough for any safe-integer length (k = 3 + log2 bytes). */
const X_POW_2K = ((): Uint32Array => {
  const table = new Uint32Array(64);
  let p = 0x40000000; // x^1
  for (let k = 0; k < table.length; k++) {
    table[k] = p;
    p = multiplyModPoly(p, p);
  }
  return table;
})();

/** x^(8 * bytes) modulo the polynomial: what appending `bytes` zero bytes multiplies a CRC by. */
function xPowBytes(bytes: number): number {
  let p = 0x80000000; // x^0
  let k = 3; // 8 = 2^3 bits per byte
  for (let n = bytes; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multiplyModPoly(X_POW_2K[k]!, p);
  }
  return p;
}

/** CRC-32C of a ++ b, from crc32c(a), crc32c(b) and b's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, bytesB: number): number {
  if (!Number.isSafeInteger(bytesB) || bytesB < 0) throw new RangeError(`crc32cCombine: bytesB ${bytesB} is not a length`);
  return (multiplyModPoly(xPowBytes(bytesB), crcA) ^ crcB) >>> 0;
}

// Shared test helpers: the Kafka fixture, a seeded PRNG, and tools to craft
// malformed batches (edit a field, then re-seal the CRC so deeper checks run).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { BatchField, BATCH_LOG_OVERHEAD, crc32c, isStrataError, type ErrorCode } from '@strata/protocol';

export function kafkaFixture(): Buffer {
  const path = fileURLToPath(new URL('./fixtures/kafka-batch-3-records-with-headers.hex', import.meta.url));
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
}

/** Recompute the CRC of the batch at position in place (after a deliberate edit). */
export function resealCrc(buf: Buffer, position = 0): Buffer {
  const end = position + BATCH_LOG_OVERHEAD + buf.readInt32BE(position + BatchField.batchLength);
  buf.writeUInt32BE(crc32c(buf.subarray(position + BatchField.attributes, end)), position + BatchField.crc);
  return buf;
}

/** mulberry32: small, fast, and reproducible from a printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (rand() * 256) | 0;
  return b;
}

/** Assert fn throws a StrataError with the code, and return it for message checks. */
export function expectStrataError(fn: () => unknown, code: ErrorCode, message?: RegExp): Error {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a StrataError to be thrown').toBeDefined();
  if (!isStrataError(thrown)) throw new Error(`expected a StrataError, got ${String(thrown)}`, { cause: thrown });
  expect(thrown.code).toBe(code);
  if (message !== undefined) expect(thrown.message).toMatch(message);
  return thrown;
}

export interface RawBatchFields {
  recordCount: number;
  lastOffsetDelta?: number;
  attributes?: number;
  baseOffset?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
  producerId?: number;
  baseSequence?: number;
}

/** A v2 batch around an arbitrary records section, with a correct CRC: for crafting deep-validation failures. */
export function rawBatch(section: Buffer, fields: RawBatchFields): Buffer {
  const buf = Buffer.alloc(61 + section.length);
  buf.writeBigInt64BE(BigInt(fields.baseOffset ?? 0), 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(0, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(fields.attributes ?? 0, 21);
  buf.writeInt32BE(fields.lastOffsetDelta ?? fields.recordCount - 1, 23);
  buf.writeBigInt64BE(BigInt(fields.baseTimestamp ?? 1000), 27);
  buf.writeBigInt64BE(BigInt(fields.maxTimestamp ?? 1000), 35);
  buf.writeBigInt64BE(BigInt(fields.producerId ?? -1), 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(fields.baseSequence ?? -1, 53);
  buf.writeInt32BE(fields.recordCount, 57);
  section.copy(buf, 61);
  return resealCrc(buf);
}

/**
 * One minimal record as hex: null key, value "x", no headers. Body = attributes,
 * timestampDelta 0, offsetDelta, keyLen -1, valueLen 1, 'x', headerCount 0.
 */
export function recordHex(offsetDelta: number): string {
  const zigzag = ((offsetDelta << 1) ^ (offsetDelta >> 31)) >>> 0;
  if (zigzag > 0x7f) throw new Error('recordHex supports small deltas only');
  return '0e' + '00' + '00' + zigzag.toString(16).padStart(2, '0') + '01' + '02' + '78' + '00';
}

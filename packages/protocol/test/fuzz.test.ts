// Bounded, seeded fuzzing of everything that parses untrusted bytes. The
// properties: only StrataError escapes, every call returns quickly, what
// validateBatches accepts decodes, and scanValidPrefix stops on a batch boundary.
// Reproduce a failure with STRATA_FUZZ_SEED=<printed seed>.

import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BATCH_HEADER_SIZE,
  BatchField,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  isStrataError,
  scanValidPrefix,
  validateBatches,
  type RecordInput,
} from '@strata/protocol';
import { kafkaFixture, prng, randomBytes, resealCrc } from './helpers.js';

const SEED = process.env.STRATA_FUZZ_SEED === undefined ? 0x5eed_2024 : Number(process.env.STRATA_FUZZ_SEED);
const ITERATIONS = 20_000;
/** Per-input budget for all the parsers together: generous, since CI machines stall; a hang would blow far past it. */
const SLOW_MS = 250;

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);

function corpus(rand: Rand): Buffer[][] {
  const records = (n: number, size: number): RecordInput[] =>
    Array.from({ length: n }, (_, i) => ({
      key: i % 3 === 0 ? null : randomBytes(rand, int(rand, 12)),
      value: i % 5 === 4 ? null : randomBytes(rand, int(rand, size)),
      headers: i % 2 === 0 ? [] : [{ key: `h${i}`, value: i % 4 === 1 ? null : randomBytes(rand, 4) }],
      timestamp: 1_700_000_000_000 + int(rand, 1_000_000),
    }));
  return [
    [kafkaFixture()],
    [encodeRecordBatch(records(1, 10))],
    [encodeRecordBatch(records(5, 40))],
    [encodeRecordBatch(records(30, 8))],
    [encodeRecordBatch(records(4, 300), { baseOffset: 1000 })],
    [encodeRecordBatch(records(6, 30), { compression: 'gzip' })],
    [encodeRecordBatch(records(3, 20)), encodeRecordBatch(records(2, 20), { compression: 'gzip' }), kafkaFixture()],
  ];
}

/** Re-seal the CRC of the batch at pos when its length field still fits, so mutations reach the deeper checks. */
function resealIfFramed(buf: Buffer, pos: number): void {
  if (buf.length - pos < BATCH_HEADER_SIZE) return;
  const length = buf.readInt32BE(pos + BatchField.batchLength);
  if (length >= 49 && pos + 12 + length <= buf.length) resealCrc(buf, pos);
}

/** Mutate a gzip batch's decompressed records, then recompress and re-seal (deep checks behind gzip). */
function mutateInsideGzip(rand: Rand, batch: Buffer): Buffer {
  const section = Buffer.from(gunzipSync(batch.subarray(BATCH_HEADER_SIZE)));
  if (section.length > 0) section[int(rand, section.length)] = [0x80, 0xff, 0x01, 0x00, int(rand, 256)][int(rand, 5)];
  const compressed = gzipSync(section);
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), compressed]);
  out.writeInt32BE(out.length - 12, BatchField.batchLength);
  return resealCrc(out);
}

function mutate(rand: Rand, batches: Buffer[]): Buffer {
  const which = int(rand, batches.length);
  const copies: Buffer[] = batches.map((b) => Buffer.from(b));
  const target = copies[which];
  const pos = copies.slice(0, which).reduce((n, b) => n + b.length, 0);
  const gzip = (target.readInt16BE(BatchField.attributes) & 7) === 1;
  const strategy = int(rand, 9);
  switch (strategy) {
    case 0: {
      // Bit flips anywhere, CRC left alone: framing and CRC checks.
      for (let i = 0, n = 1 + int(rand, 4); i < n; i++) target[int(rand, target.length)] ^= 1 << int(rand, 8);
      return Buffer.concat(copies);
    }
    case 1: {
      // Bit flips past the CRC, then re-sealed: header rules and record structure.
      for (let i = 0, n = 1 + int(rand, 3); i < n; i++) {
        const at = BatchField.attributes + int(rand, target.length - BatchField.attributes);
        target[at] ^= 1 << int(rand, 8);
      }
      resealCrc(target);
      return Buffer.concat(copies);
    }
    case 2: {
      // Varint corruption in the records section, re-sealed.
      if (gzip) {
        copies[which] = mutateInsideGzip(rand, target);
      } else if (target.length > BATCH_HEADER_SIZE) {
        const at = BATCH_HEADER_SIZE + int(rand, target.length - BATCH_HEADER_SIZE);
        target[at] = [0x80, 0xff, 0x7f, 0x01, 0x00, int(rand, 256)][int(rand, 6)];
        resealCrc(target);
      }
      return Buffer.concat(copies);
    }
    case 3: {
      // Length field edits.
      const choices = [int(rand, 2 ** 31), -int(rand, 2 ** 31), 0, 48, 49, target.length - 12 + int(rand, 9) - 4];
      target.writeInt32BE(choices[int(rand, choices.length)] | 0, BatchField.batchLength);
      const all = Buffer.concat(copies);
      if (rand() < 0.5) resealIfFramed(all, pos);
      return all;
    }
    case 4: {
      // Header count/delta/attribute edits, re-sealed.
      const field = [BatchField.recordCount, BatchField.lastOffsetDelta, BatchField.baseSequence][int(rand, 3)];
      const values = [-1, 0, 1, 2, 0x7fffffff, -0x80000000, int(rand, 100)];
      target.writeInt32BE(values[int(rand, values.length)], field);
      if (rand() < 0.5) target.writeInt16BE(int(rand, 0x10000) - 0x8000, BatchField.attributes);
      resealCrc(target);
      return Buffer.concat(copies);
    }
    case 5: {
      // Truncation.
      const all = Buffer.concat(copies);
      return all.subarray(0, int(rand, all.length + 1));
    }
    case 6: {
      // Trailing garbage, or a partial copy of a batch appended.
      const tail = rand() < 0.5 ? randomBytes(rand, int(rand, 80)) : target.subarray(0, int(rand, target.length));
      return Buffer.concat([...copies, tail]);
    }
    case 7: {
      // A plausible header over random bytes: a valid length, magic and CRC, random everything else.
      const body = randomBytes(rand, BATCH_HEADER_SIZE + int(rand, 200));
      body.writeInt32BE(body.length - 12, BatchField.batchLength);
      body[BatchField.magic] = 2;
      if (rand() < 0.7) body.writeInt16BE(int(rand, 2), BatchField.attributes);
      return resealCrc(body);
    }
    default:
      // Pure random bytes.
      return randomBytes(rand, int(rand, 300));
  }
}

function expectOnlyStrataError(fn: () => unknown, label: string, seed: number): void {
  try {
    fn();
  } catch (e) {
    if (!isStrataError(e)) {
      throw new Error(`${label} threw a non-StrataError (reproduce with STRATA_FUZZ_SEED=${seed}): ${String(e)}`, { cause: e });
    }
  }
}

function checkInput(buf: Buffer, seed: number, iteration: number): void {
  const where = `iteration ${iteration}`;
  let accepted: ReturnType<typeof validateBatches> | null = null;
  try {
    accepted = validateBatches(buf);
  } catch (e) {
    if (!isStrataError(e)) throw new Error(`${where}: validateBatches threw a non-StrataError (seed ${seed})`, { cause: e });
  }
  expectOnlyStrataError(() => validateBatches(buf, { deep: false }), `${where}: validateBatches(shallow)`, seed);
  expectOnlyStrataError(() => decodeRecordBatch(buf), `${where}: decodeRecordBatch`, seed);
  expectOnlyStrataError(() => decodeRecordBatches(buf), `${where}: decodeRecordBatches`, seed);

  const { frames, validBytes } = scanValidPrefix(buf);
  let boundary = 0;
  for (const frame of frames) {
    if (frame.position !== boundary) throw new Error(`${where}: scanValidPrefix frames are not contiguous (seed ${seed})`);
    boundary += frame.size;
  }
  if (validBytes !== boundary || validBytes > buf.length) {
    throw new Error(`${where}: scanValidPrefix validBytes ${validBytes} is not a batch boundary (seed ${seed})`);
  }

  if (accepted !== null) {
    // Whatever validation accepts must decode, and recovery must keep all of it.
    const records = decodeRecordBatches(buf);
    const expected = accepted.reduce((n, f) => n + f.recordCount, 0);
    if (records.length !== expected) throw new Error(`${where}: accepted ${expected} records, decoded ${records.length}`);
    if (validBytes !== buf.length) throw new Error(`${where}: scanValidPrefix dropped bytes of a validated buffer`);
  }
}

describe('fuzz: parsers on random and mutated input', () => {
  it(`${ITERATIONS} inputs: only StrataError, quick returns, whole-batch recovery`, () => {
    console.log(`fuzz seed ${SEED} (set STRATA_FUZZ_SEED to reproduce or vary)`);
    const rand = prng(SEED);
    const seeds = corpus(rand);
    let slowest = 0;
    let acceptedCount = 0;
    const rejections = new Map<string, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(rand, seeds[int(rand, seeds.length)]);
      const started = performance.now();
      checkInput(input, SEED, i);
      const elapsed = performance.now() - started;
      slowest = Math.max(slowest, elapsed);
      if (elapsed > SLOW_MS) throw new Error(`iteration ${i} took ${elapsed.toFixed(1)} ms (seed ${SEED})`);
      try {
        validateBatches(input);
        acceptedCount++;
      } catch (e) {
        if (isStrataError(e)) {
          const kind = /record \d+:/.test(e.message) ? `${e.code} (in a record${/decompressed/.test(e.message) ? ', gzip' : ''})` : e.code;
          rejections.set(kind, (rejections.get(kind) ?? 0) + 1);
        }
      }
    }
    console.log(`fuzz: ${acceptedCount}/${ITERATIONS} inputs were valid, slowest ${slowest.toFixed(2)} ms`);
    console.log('fuzz rejections:', Object.fromEntries([...rejections].sort()));
    // The mutations must mostly produce invalid input, or the fuzzer tests nothing,
    // and must reach the deep checks, including those behind gzip.
    expect(acceptedCount).toBeLessThan(ITERATIONS / 2);
    expect(rejections.get('CORRUPT_MESSAGE (in a record)') ?? 0).toBeGreaterThan(100);
    expect(rejections.get('INVALID_RECORD (in a record)') ?? 0).toBeGreaterThan(10);
    expect(rejections.get('CORRUPT_MESSAGE (in a record, gzip)') ?? 0).toBeGreaterThan(10);
    expect(rejections.get('INVALID_RECORD') ?? 0).toBeGreaterThan(100);
    expect(rejections.get('UNSUPPORTED_COMPRESSION_TYPE') ?? 0).toBeGreaterThan(10);
  });

  it('unmutated corpus entries are all valid (the mutator starts from good input)', () => {
    for (const batches of corpus(prng(SEED))) {
      const buf = Buffer.concat(batches);
      expect(validateBatches(buf)).toHaveLength(batches.length);
      expect(scanValidPrefix(buf).validBytes).toBe(buf.length);
    }
  });
});

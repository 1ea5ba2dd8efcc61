// Compression benchmark: encode and decode MB/s of each of Kafka's codecs on
// realistic record sections (1 KiB JSON-ish records, 100 B records), through
// Strata's one entry point per direction. MB/s are of uncompressed bytes
// (what a producer hands over, what a reader gets back), medians of ROUNDS
// rounds with their spread. `pnpm bench codecs`. Not a test: nothing asserted.

import { execFileSync } from 'node:child_process';
import {
  Compression,
  ZSTD_ENGINE,
  compressRecords,
  compressionUnavailable,
  crc32c,
  decompressRecords,
  decompressRecordsAsync,
  encodeRecordBatch,
  validateBatches,
  type CompressionName,
  type RecordInput,
} from '@strata/protocol';
import type { Row } from './codec.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Rounds per measurement; the median is reported with the lowest and highest. */
const ROUNDS = 7;
/** Time of one round, after one warm-up round. */
const ROUND_MS = 150;
/** Bytes of records per section: the size of a full default producer request (max.request.size). */
const SECTION_BYTES = 1 * MiB;
const BATCH_HEADER_BYTES = 61;

const WORDS = ['checkout', 'user', 'session', 'item', 'price', 'currency', 'EUR', 'click', 'view', 'cart', 'region', 'eu-west-1'];

/** A JSON-ish value of about `bytes`, from a seeded generator: repetitive keys, varied values, as events are. */
function jsonValue(seed: number, bytes: number): Buffer {
  let x = seed * 2654435761;
  const next = (): number => (x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x9e3779b9) >>> 0);
  let text = `{"id":${seed},"ts":${1_700_000_000_000 + seed}`;
  while (text.length < bytes - 40) {
    text += `,"${WORDS[next() % WORDS.length]}":"${WORDS[next() % WORDS.length]}-${next() % 100000}"`;
  }
  return Buffer.from(`${text}}`);
}

/** A batch of SECTION_BYTES of records of about recordBytes, uncompressed (its section is what a codec compresses). */
function plainBatch(recordBytes: number): Buffer {
  const records: RecordInput[] = [];
  for (let size = 0, i = 0; size < SECTION_BYTES; i++) {
    const value = jsonValue(i, recordBytes);
    records.push({ key: Buffer.from(`user-${i % 1000}`), value, timestamp: 1_700_000_000_000 + i });
    size += value.length + 20;
  }
  return encodeRecordBatch(records);
}

/** A batch of the plain section's records around its compressed form (what HTTP produce validates). */
function withSection(plain: Buffer, code: number, compressed: Buffer): Buffer {
  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_BYTES), compressed]);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt16BE(code, 21);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/** Where this Node cannot write zstd, the zstd CLI does (for the decode rows); null if neither. */
function compressed(name: CompressionName, data: Buffer): Buffer | null {
  if (compressionUnavailable(name) === null) return compressRecords(Compression[name], data);
  try {
    return execFileSync('zstd', ['-3', '-c', '-q'], { input: data, maxBuffer: 64 * MiB });
  } catch {
    return null;
  }
}

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${median.toFixed(0)} (${sorted[0]!.toFixed(0)}-${sorted[sorted.length - 1]!.toFixed(0)})`;
}

async function mbPerSecond(bytes: number, fn: () => unknown | Promise<unknown>): Promise<string> {
  const samples: number[] = [];
  for (let round = -1; round < ROUNDS; round++) {
    let calls = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      await fn();
      calls++;
      elapsed = performance.now() - started;
    }
    if (round >= 0) samples.push((calls * bytes) / MiB / (elapsed / 1000));
  }
  return stats(samples);
}

export async function runCompressionBench(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [shape, recordBytes] of [
    ['1 KiB JSON records', 1024],
    ['100 B records', 100],
  ] as const) {
    const plain = plainBatch(recordBytes);
    const plainSection = plain.subarray(BATCH_HEADER_BYTES);
    for (const name of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const code = Compression[name];
      const data = compressed(name, plainSection);
      if (data === null) {
        rows.push({ name: `${name}, ${shape}`, note: 'zstd: neither node:zlib zstd nor the zstd CLI here' });
        continue;
      }
      const batch = withSection(plain, code, data);
      const writable = compressionUnavailable(name) === null;
      rows.push({
        name: `${name}${name === 'zstd' ? ` (${ZSTD_ENGINE})` : ''}, ${shape}`,
        ratio: +(plainSection.length / data.length).toFixed(2),
        'encode MB/s': writable ? await mbPerSecond(plainSection.length, () => compressRecords(code, plainSection)) : 'n/a (zstd CLI bytes)',
        'decode MB/s': await mbPerSecond(plainSection.length, () => decompressRecords(code, data)),
        'decode async MB/s': await mbPerSecond(plainSection.length, () => decompressRecordsAsync(code, data)),
        'validate batch MB/s': await mbPerSecond(plainSection.length, () => validateBatches(batch)),
      });
    }
  }
  return rows;
}

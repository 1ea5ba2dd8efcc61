// Codec micro-benchmarks: the per-append costs (CRC-32C, deep validation) and
// the per-fetch cost (decoding). A few seconds in all; run standalone with
// `node bench/dist/codec.js`, or through the bench runner via runCodecBench().

import {
  crc32cEngine,
  crc32cJs,
  crc32cNative,
  decodeRecordBatch,
  encodeRecordBatch,
  validateBatches,
  type Crc32cFunction,
  type RecordInput,
} from '@strata/protocol';

export interface Row {
  name: string;
  [k: string]: string | number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
/** Measurement time per row, after a warm-up of a quarter of it. */
const MEASURE_MS = 250;

/** Run fn until MEASURE_MS has passed; returns calls per second. */
function opsPerSecond(fn: () => void): number {
  const warmUntil = performance.now() + MEASURE_MS / 4;
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const started = performance.now();
  let elapsed = 0;
  // Check the clock every 8 calls: cheap for microsecond calls, bounded for slow ones.
  while (elapsed < MEASURE_MS) {
    for (let i = 0; i < 8; i++) fn();
    calls += 8;
    elapsed = performance.now() - started;
  }
  return (calls * 1000) / elapsed;
}

function round(n: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}

function row(name: string, bytesPerCall: number, ops: number, recordsPerCall?: number): Row {
  return {
    name,
    bytes: bytesPerCall,
    'MB/s': round((bytesPerCall * ops) / 1e6, 1),
    'ops/s': round(ops),
    'records/s': recordsPerCall === undefined ? '-' : round(recordsPerCall * ops),
  };
}

/** Deterministic filler so runs compare. */
function filled(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** A batch of about `batchBytes` made of records with `valueBytes` values (and 16-byte keys). */
function batchOf(batchBytes: number, valueBytes: number): { batch: Buffer; records: number } {
  const records: RecordInput[] = [];
  const perRecord = valueBytes + 16 + 8; // value, key, varint/field overhead
  for (let i = 0; (i + 1) * perRecord < batchBytes - 61; i++) {
    records.push({ key: filled(16, i + 1), value: filled(valueBytes, i + 7), timestamp: 1_700_000_000_000 + i });
  }
  return { batch: encodeRecordBatch(records), records: records.length };
}

export async function runCodecBench(): Promise<Row[]> {
  const rows: Row[] = [];
  let sink = 0; // consumed results, so no call is optimized away

  const engines: [string, Crc32cFunction][] = [['js', crc32cJs]];
  if (crc32cNative !== null) engines.push(['native', crc32cNative]);
  for (const size of [64 * KiB, MiB]) {
    const data = filled(size, size);
    for (const [engine, crc] of engines) {
      rows.push(row(`crc32c ${engine} ${size / KiB} KiB`, size, opsPerSecond(() => (sink ^= crc(data)))));
    }
  }
  // Small inputs show why crc32c() keeps JS below its native threshold.
  const small = filled(256, 3);
  for (const [engine, crc] of engines) {
    rows.push(row(`crc32c ${engine} 256 B`, small.length, opsPerSecond(() => (sink ^= crc(small)))));
  }

  for (const valueBytes of [1 * KiB, 100]) {
    const { batch, records } = batchOf(64 * KiB, valueBytes);
    const label = `64 KiB batch, ${valueBytes >= KiB ? `${valueBytes / KiB} KiB` : `${valueBytes} B`} records`;
    rows.push(
      row(`validateBatches deep, ${label}`, batch.length, opsPerSecond(() => (sink += validateBatches(batch).length)), records),
    );
    rows.push(
      row(
        `decodeRecordBatch, ${label}`,
        batch.length,
        opsPerSecond(() => (sink += decodeRecordBatch(batch).records.length)),
        records,
      ),
    );
  }

  if (sink === 0.5) console.log(sink); // never true; keeps `sink` observable
  rows.push({ name: `engine used by crc32c() for inputs >= 256 B: ${crc32cEngine}` });
  return rows;
}

if (process.argv[1]?.endsWith('codec.js')) {
  console.table(await runCodecBench());
}

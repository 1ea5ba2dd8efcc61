// Record-section compression. RecordBatch v2 compresses only the records
// (everything after recordCount); the header stays plain so the broker can
// validate, assign offsets and index without decompressing.
//
// Supported: none and gzip (node:zlib). snappy, lz4 and zstd need native or
// large codecs that Strata does not ship yet; they are rejected with
// UNSUPPORTED_COMPRESSION_TYPE so a producer learns to switch codec.
//
// Decompression is always bounded (maxOutputLength: zlib stops and fails past
// it, so a bomb never allocates more than the bound). Two forms: synchronous,
// for validation of one bounded batch, and asynchronous, which inflates on
// libuv's thread pool so a server's event loop keeps answering meanwhile.

import { gunzip, gunzipSync, gzipSync } from 'node:zlib';
import { StrataError } from './errors.js';
import { Semaphore } from './semaphore.js';

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;
export type CompressionCode = (typeof Compression)[CompressionName];

/** Bits 0-2 of the batch attributes. */
export const COMPRESSION_MASK = 0x07;

const NAMES: readonly string[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Decompressed record sections larger than this are refused (a zip bomb must not exhaust memory). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export function compressionName(code: number): string {
  return NAMES[code] ?? `unknown codec id ${code}`;
}

export function compressionCode(name: CompressionName): CompressionCode {
  const code = Compression[name] as CompressionCode | undefined;
  if (code === undefined) {
    throw new StrataError('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression '${String(name)}' (use none or gzip)`);
  }
  return code;
}

function unsupported(code: number, where: string): StrataError {
  const known = code < NAMES.length;
  return new StrataError(
    'UNSUPPORTED_COMPRESSION_TYPE',
    known
      ? `${where}compression ${compressionName(code)} is not supported by Strata yet; use none or gzip`
      : `${where}unknown compression codec id ${code} in the batch attributes (valid ids are 0-4)`,
    { details: { compression: code } },
  );
}

/** Throws UNSUPPORTED_COMPRESSION_TYPE unless the codec is one this package can read and write. */
export function assertSupportedCompression(code: number, where = ''): void {
  if (code !== Compression.none && code !== Compression.gzip) throw unsupported(code, where);
}

/** Compress a records section. */
export function compressRecords(code: number, records: Buffer): Buffer {
  assertSupportedCompression(code);
  if (code === Compression.none) return records;
  return gzipSync(records);
}

/**
 * Decompress a records section, refusing output above maxBytes. Malformed
 * compressed data is CORRUPT_MESSAGE; `where` prefixes messages with the batch.
 */
export function decompressRecords(
  code: number,
  data: Buffer,
  where = '',
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Buffer {
  assertSupportedCompression(code, where);
  if (code === Compression.none) return data;
  try {
    return gunzipSync(data, { maxOutputLength: maxBytes });
  } catch (cause) {
    throw decompressionError(cause, where, maxBytes);
  }
}

/**
 * How many asynchronous decompressions may run at once. Each holds a thread of
 * libuv's pool (4 by default, shared with file I/O) and up to maxBytes of
 * output: a server bounds both by passing one of these to every decoder, so
 * a burst of reads of compressed data can neither starve its file reads nor
 * hold more than `max` x maxBytes of inflated records. Waiters queue in order.
 */
/** Decompressions running at once: each holds a thread of libuv's pool (shared with file reads) and its output. */
export class DecompressionSlots extends Semaphore {
  get max(): number {
    return this.limit;
  }
}

/**
 * decompressRecords off the event loop (zlib on the thread pool), with the same
 * bound and errors: for servers decoding stored batches while they answer others.
 * With `slots`, it waits for one first.
 */
export function decompressRecordsAsync(
  code: number,
  data: Buffer,
  where = '',
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  slots?: DecompressionSlots,
): Promise<Buffer> {
  assertSupportedCompression(code, where);
  if (code === Compression.none) return Promise.resolve(data);
  const inflate = (): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      gunzip(data, { maxOutputLength: maxBytes }, (cause, out) => {
        if (cause === null) resolve(out);
        else reject(decompressionError(cause, where, maxBytes));
      });
    });
  return slots === undefined ? inflate() : slots.run(inflate);
}

function decompressionError(cause: unknown, where: string, maxBytes: number): StrataError {
  // zlib reports maxOutputLength as RangeError ERR_BUFFER_TOO_LARGE.
  if (cause instanceof RangeError || (cause instanceof Error && 'code' in cause && cause.code === 'ERR_BUFFER_TOO_LARGE')) {
    return new StrataError('MESSAGE_TOO_LARGE', `${where}gzip records decompress to more than ${maxBytes} bytes`, {
      cause,
      details: { maxDecompressedBytes: maxBytes },
    });
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StrataError('CORRUPT_MESSAGE', `${where}gzip records section does not decompress: ${reason}`, { cause });
}

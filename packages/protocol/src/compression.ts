// Record-section compression. RecordBatch v2 compresses only the records
// (everything after recordCount); the header stays plain so the broker can
// validate, assign offsets and index without decompressing.
//
// All of Kafka's codecs, chosen by the low 3 bits of the batch attributes:
// 1 gzip (node:zlib), 2 snappy (codecs/snappy.ts: xerial framing or raw),
// 3 lz4 (codecs/lz4.ts: LZ4 frames), 4 zstd (codecs/zstd.ts). One entry point
// per direction: compressRecords, and decompressRecords / decompressRecordsAsync,
// which every reader (HTTP produce validation, JSON fetch, the Kafka listener)
// goes through.
//
// Decompression is always bounded: no codec produces more than maxBytes (each
// stops and fails at the bound, so a bomb never allocates more than it), and
// errors are the same for all: MESSAGE_TOO_LARGE past the bound, CORRUPT_MESSAGE
// for data that is not the codec's format. Two forms: synchronous, for
// validation of one bounded batch, and asynchronous, which decompresses on
// libuv's thread pool (gzip, zstd on Node >= 22.15, one raw snappy block) or
// on the event loop in parts that give it back every megabyte (lz4, snappy's
// chunks, zstd on Node 20), so a server keeps answering meanwhile.

import { gunzip, gunzipSync, gzipSync } from 'node:zlib';
import { StrataError } from './errors.js';
import { Semaphore } from './semaphore.js';
import { DecompressedTooLarge } from './codecs/bounds.js';
import { compressLz4, decompressLz4, decompressLz4Async } from './codecs/lz4.js';
import { compressSnappy, decompressSnappy, decompressSnappyAsync } from './codecs/snappy.js';
import { ZSTD_CAN_COMPRESS, compressZstd, decompressZstd, decompressZstdAsync } from './codecs/zstd.js';

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
  if (typeof name !== 'string' || !Object.hasOwn(Compression, name)) {
    throw new StrataError(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `unknown compression '${String(name)}' (use one of ${NAMES.join(', ')})`,
    );
  }
  return Compression[name];
}

/** Throws UNSUPPORTED_COMPRESSION_TYPE unless the codec id is one of Kafka's (0-4). */
export function assertSupportedCompression(code: number, where = ''): void {
  if (!Number.isInteger(code) || code < 0 || code >= NAMES.length) {
    throw new StrataError(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `${where}unknown compression codec id ${code} in the batch attributes (valid ids are 0-4)`,
      { details: { compression: code } },
    );
  }
}

/**
 * Why this process cannot write the codec, or null if it can. Every codec is
 * read everywhere; zstd is written only where node:zlib has it (Node >= 22.15).
 */
export function compressionUnavailable(name: CompressionName): string | null {
  if (name === 'zstd' && !ZSTD_CAN_COMPRESS) {
    return `zstd compression needs Node.js >= 22.15 (node:zlib zstd); this is Node.js ${process.versions.node} (zstd batches are still read)`;
  }
  return null;
}

/** Compress a records section with the codec (the batch attributes' id). */
export function compressRecords(code: number, records: Buffer): Buffer {
  assertSupportedCompression(code);
  switch (code) {
    case Compression.none:
      return records;
    case Compression.gzip:
      return gzipSync(records);
    case Compression.snappy:
      return compressSnappy(records);
    case Compression.lz4:
      return compressLz4(records);
    default: {
      const out = compressZstd(records);
      if (out === null) throw new StrataError('UNSUPPORTED_COMPRESSION_TYPE', compressionUnavailable('zstd') ?? 'zstd unavailable');
      return out;
    }
  }
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
    switch (code) {
      case Compression.gzip:
        return gunzipSync(data, { maxOutputLength: maxBytes });
      case Compression.snappy:
        return decompressSnappy(data, maxBytes);
      case Compression.lz4:
        return decompressLz4(data, maxBytes);
      default:
        return decompressZstd(data, maxBytes);
    }
  } catch (cause) {
    throw decompressionError(cause, code, where, maxBytes);
  }
}

/**
 * How many asynchronous decompressions may run at once. Each holds a thread of
 * libuv's pool (4 by default, shared with file I/O) or a turn of the event
 * loop, and up to maxBytes of output: a server bounds both by passing one of
 * these to every decoder, so a burst of reads of compressed data can neither
 * starve its file reads nor hold more than `max` x maxBytes of inflated
 * records. Waiters queue in order.
 */
export class DecompressionSlots extends Semaphore {
  get max(): number {
    return this.limit;
  }
}

/**
 * decompressRecords without holding the event loop for long (see the header),
 * with the same bound and errors: for servers decoding batches while they
 * answer others. With `slots`, it waits for one first.
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
  const decompress = async (): Promise<Buffer> => {
    try {
      return await decompressOffLoop(code, data, maxBytes);
    } catch (cause) {
      throw decompressionError(cause, code, where, maxBytes);
    }
  };
  return slots === undefined ? decompress() : slots.run(decompress);
}

function decompressOffLoop(code: number, data: Buffer, maxBytes: number): Promise<Buffer> {
  switch (code) {
    case Compression.gzip:
      return new Promise((resolve, reject) => {
        gunzip(data, { maxOutputLength: maxBytes }, (cause, out) => {
          if (cause === null) resolve(out);
          else reject(cause);
        });
      });
    case Compression.snappy:
      return decompressSnappyAsync(data, maxBytes);
    case Compression.lz4:
      return decompressLz4Async(data, maxBytes);
    default:
      return decompressZstdAsync(data, maxBytes);
  }
}

function decompressionError(cause: unknown, code: number, where: string, maxBytes: number): StrataError {
  const codec = compressionName(code);
  // zlib (gzip, zstd) reports maxOutputLength as RangeError ERR_BUFFER_TOO_LARGE; the other codecs throw DecompressedTooLarge.
  if (cause instanceof DecompressedTooLarge || (cause instanceof Error && 'code' in cause && cause.code === 'ERR_BUFFER_TOO_LARGE')) {
    return new StrataError('MESSAGE_TOO_LARGE', `${where}${codec} records decompress to more than ${maxBytes} bytes`, {
      cause,
      details: { maxDecompressedBytes: maxBytes },
    });
  }
  // MalformedCompressedData from our codecs, Error from zlib and the native libraries: their message says what is wrong.
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StrataError('CORRUPT_MESSAGE', `${where}${codec} records section does not decompress: ${reason}`, { cause });
}

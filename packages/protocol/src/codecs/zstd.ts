// zstd: standard zstd frames (RFC 8878), as Kafka clients write them.
//
// Two engines. Node >= 22.15 has zstd in node:zlib: decompressed on libuv's
// thread pool with maxOutputLength, like gzip. Node 20 does not: there fzstd
// (pure JavaScript) decodes, one block (at most 128 KiB) at a time, and the
// sink refuses output past the bound. fzstd allocates each frame's window up
// front, so the frame headers are checked first (zstdFrameLimits): a forged
// window or content size is refused before anything is allocated.
//
// Compression needs node:zlib's zstd: no registry-only zstd encoder works on
// Node 20 (the native bindings download their binaries at install time), so
// on Node 20 Strata reads zstd batches but cannot write them, and says so.

import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { DecompressedTooLarge, YIELD_EVERY_OUTPUT_BYTES, malformed, yieldToEventLoop } from './bounds.js';

interface ZlibZstd {
  zstdCompressSync(data: Buffer): Buffer;
  zstdDecompressSync(data: Buffer, options: { maxOutputLength: number }): Buffer;
  zstdDecompress(data: Buffer, options: { maxOutputLength: number }, callback: (error: Error | null, out: Buffer) => void): void;
}

function builtinZstd(): ZlibZstd | null {
  const candidate = zlib as unknown as Partial<ZlibZstd>;
  return typeof candidate.zstdCompressSync === 'function' &&
    typeof candidate.zstdDecompressSync === 'function' &&
    typeof candidate.zstdDecompress === 'function'
    ? (candidate as ZlibZstd)
    : null;
}

const BUILTIN = builtinZstd();

export type ZstdEngine = 'node:zlib' | 'fzstd';

/** The engine this process decompresses zstd with. */
export const ZSTD_ENGINE: ZstdEngine = BUILTIN === null ? 'fzstd' : 'node:zlib';

/** Whether this Node can write zstd (node:zlib's zstd, Node >= 22.15). */
export const ZSTD_CAN_COMPRESS = BUILTIN !== null;

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_HEADER_BYTES = 3;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_RESERVED = 3;
/**
 * The largest window fzstd may allocate for a frame whose window exceeds the
 * output bound. RFC 8878 asks decoders to support windows up to 8 MiB; Kafka
 * producers' default levels use 1-8 MiB windows whatever the batch size.
 */
export const ZSTD_MAX_WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * Check every frame header before fzstd sees it: the window (what fzstd
 * allocates) at most max(maxBytes, ZSTD_MAX_WINDOW_BYTES), a declared content
 * size at most maxBytes, and every block inside the data. Returns where each
 * block ends: the async decoder feeds fzstd one block (at most 128 KiB of
 * output) at a time, so it can yield between any two.
 */
export function zstdFrameLimits(data: Buffer, maxBytes: number): number[] {
  const blockEnds: number[] = [];
  const windowLimit = Math.max(maxBytes, ZSTD_MAX_WINDOW_BYTES);
  let pos = 0;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw malformed(`zstd frame magic truncated at byte ${pos}`);
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (pos + 8 > data.length) throw malformed(`zstd skippable frame truncated at byte ${pos}`);
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw malformed(`not a zstd frame at byte ${pos} (magic 0x${magic.toString(16)})`);
    if (pos + 5 > data.length) throw malformed(`zstd frame header truncated at byte ${pos}`);
    const descriptor = data[pos + 4]!;
    pos += 5;
    const singleSegment = (descriptor & 0x20) !== 0;
    const hasChecksum = (descriptor & 0x04) !== 0;
    const dictIdBytes = [0, 1, 2, 4][descriptor & 3]!;
    const sizeFlag = descriptor >>> 6;
    const contentSizeBytes = sizeFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][sizeFlag]!;
    let window = 0;
    if (!singleSegment) {
      if (pos >= data.length) throw malformed('zstd window descriptor truncated');
      const wd = data[pos++]!;
      const base = 2 ** (10 + (wd >>> 3));
      window = base + (base / 8) * (wd & 7);
    }
    pos += dictIdBytes;
    if (pos + contentSizeBytes > data.length) throw malformed('zstd frame content size truncated');
    if (contentSizeBytes > 0) {
      const size =
        contentSizeBytes === 1
          ? data[pos]!
          : contentSizeBytes === 2
            ? data.readUInt16LE(pos) + 256
            : contentSizeBytes === 4
              ? data.readUInt32LE(pos)
              : Number(data.readBigUInt64LE(pos));
      if (size > maxBytes) throw new DecompressedTooLarge(maxBytes);
      if (singleSegment) window = size;
    }
    pos += contentSizeBytes;
    if (window > windowLimit) throw new DecompressedTooLarge(maxBytes);
    for (;;) {
      if (pos + BLOCK_HEADER_BYTES > data.length) throw malformed('zstd frame ends inside a block header');
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      pos += BLOCK_HEADER_BYTES;
      const type = (header >>> 1) & 3;
      if (type === BLOCK_TYPE_RESERVED) throw malformed('zstd block of the reserved type');
      pos += type === BLOCK_TYPE_RLE ? 1 : header >>> 3;
      if (pos > data.length) throw malformed('zstd block runs past the data');
      if ((header & 1) !== 0) break;
      blockEnds.push(pos);
    }
    if (hasChecksum) pos += 4;
    if (pos > data.length) throw malformed('zstd frame checksum truncated');
    blockEnds.push(pos);
  }
  if (pos > data.length) throw malformed('zstd data truncated');
  return blockEnds;
}

/** Decompress with fzstd, collecting block outputs until the bound. Exported to test this engine on every Node. */
export function decompressZstdPortable(data: Buffer, maxBytes: number): Buffer {
  zstdFrameLimits(data, maxBytes);
  const sink = boundedSink(maxBytes);
  push(new Decompress(sink.ondata), data, true);
  return sink.result();
}

export async function decompressZstdPortableAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  const blockEnds = zstdFrameLimits(data, maxBytes);
  const sink = boundedSink(maxBytes);
  const decoder = new Decompress(sink.ondata);
  let yieldedAt = 0;
  let from = 0;
  for (const end of blockEnds) {
    push(decoder, data.subarray(from, end), end === data.length);
    from = end;
    if (sink.total - yieldedAt >= YIELD_EVERY_OUTPUT_BYTES) {
      yieldedAt = sink.total;
      await yieldToEventLoop();
    }
  }
  if (from < data.length || blockEnds.length === 0) push(decoder, data.subarray(from), true);
  return sink.result();
}

function push(decoder: Decompress, chunk: Buffer, final: boolean): void {
  try {
    decoder.push(chunk, final);
  } catch (cause) {
    if (cause instanceof DecompressedTooLarge) throw cause;
    throw malformed(`zstd data does not decompress: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

function boundedSink(maxBytes: number) {
  const parts: Uint8Array[] = [];
  const sink = {
    total: 0,
    ondata(part: Uint8Array): void {
      sink.total += part.length;
      if (sink.total > maxBytes) throw new DecompressedTooLarge(maxBytes);
      if (part.length > 0) parts.push(part);
    },
    result(): Buffer {
      return Buffer.concat(parts, sink.total);
    },
  };
  return sink;
}

// node:zlib gets the same header checks first, so both engines refuse the same frames the same way.
export function decompressZstd(data: Buffer, maxBytes: number): Buffer {
  if (BUILTIN === null) return decompressZstdPortable(data, maxBytes);
  zstdFrameLimits(data, maxBytes);
  return BUILTIN.zstdDecompressSync(data, { maxOutputLength: maxBytes });
}

export function decompressZstdAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  if (BUILTIN === null) return decompressZstdPortableAsync(data, maxBytes);
  zstdFrameLimits(data, maxBytes);
  const builtin = BUILTIN;
  return new Promise((resolve, reject) => {
    builtin.zstdDecompress(data, { maxOutputLength: maxBytes }, (error, out) => {
      if (error === null) resolve(out);
      else reject(error);
    });
  });
}

/** null when this Node cannot write zstd (see ZSTD_CAN_COMPRESS). */
export function compressZstd(data: Buffer): Buffer | null {
  return BUILTIN === null ? null : BUILTIN.zstdCompressSync(data);
}

// Snappy as Kafka frames it. The Java client writes xerial's stream format
// (snappy-java's SnappyOutputStream): a 16-byte header (magic "\x82SNAPPY\0",
// int32 version 1, int32 minimum compatible version 1), then chunks of
// [int32 big-endian length][raw snappy block], each block from at most 32 KiB
// of input. librdkafka reads that and writes a single raw snappy block. A
// reader must take both, told apart by the magic (snappy-java's own reader
// falls back to raw the same way); we write what the Java client writes.
//
// Bounded exactly: a raw snappy block starts with its uncompressed length (a
// varint), so the total is known before a byte is decompressed, and the
// library refuses a block whose content disagrees with its length.

import snappy from 'snappy';
import { DecompressedTooLarge, YIELD_EVERY_OUTPUT_BYTES, malformed, yieldToEventLoop } from './bounds.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_VERSION = 1;
const XERIAL_MIN_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size, which Kafka's Java producer uses. */
const XERIAL_BLOCK_INPUT_BYTES = 32 * 1024;

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** The raw snappy blocks of a section: itself, or the chunks of its xerial framing. */
function rawBlocks(data: Buffer): Buffer[] {
  if (!isXerial(data)) return [data];
  const blocks: Buffer[] = [];
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw malformed(`xerial snappy chunk length truncated at byte ${pos}`);
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > data.length) {
      throw malformed(`xerial snappy chunk at byte ${pos - 4} claims ${length} bytes, ${data.length - pos} remain`);
    }
    blocks.push(data.subarray(pos, pos + length));
    pos += length;
  }
  return blocks;
}

/** The uncompressed length a raw snappy block declares (a little-endian base-128 varint below 2^32). */
function declaredLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw malformed('snappy block length truncated');
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw malformed('snappy block length is not a varint below 2^32');
}

/**
 * No snappy block decodes to more than this many times its size: the densest
 * element, a copy with a 2-byte offset, is 3 bytes for at most 64 (21.3x).
 * A length past it is a lie, refused before the library allocates it.
 */
const SNAPPY_MAX_EXPANSION = 32;

function totalLength(blocks: Buffer[], maxBytes: number): number {
  let total = 0;
  for (const block of blocks) {
    const length = declaredLength(block);
    if (length > SNAPPY_MAX_EXPANSION * block.length) {
      throw malformed(`snappy block of ${block.length} bytes declares ${length} bytes, more than it can hold`);
    }
    total += length;
    if (total > maxBytes) throw new DecompressedTooLarge(maxBytes);
  }
  return total;
}

function uncompressBlock(block: Buffer): Buffer {
  try {
    return snappy.uncompressSync(block) as Buffer;
  } catch (cause) {
    throw malformed(`snappy block does not decompress: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export function decompressSnappy(data: Buffer, maxBytes: number): Buffer {
  const blocks = rawBlocks(data);
  const total = totalLength(blocks, maxBytes);
  if (blocks.length === 1) return uncompressBlock(blocks[0]!);
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const block of blocks) pos += uncompressBlock(block).copy(out, pos);
  return out;
}

/**
 * decompressSnappy without holding the event loop: one raw block is
 * decompressed on libuv's thread pool; xerial's small chunks on the loop,
 * giving it back every YIELD_EVERY_OUTPUT_BYTES (a pool hop per 32 KiB chunk
 * would cost more than the work).
 */
export async function decompressSnappyAsync(data: Buffer, maxBytes: number): Promise<Buffer> {
  const blocks = rawBlocks(data);
  const total = totalLength(blocks, maxBytes);
  if (blocks.length === 1) {
    try {
      return (await snappy.uncompress(blocks[0]!)) as Buffer;
    } catch (cause) {
      throw malformed(`snappy block does not decompress: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  let sinceYield = 0;
  for (const block of blocks) {
    const n = uncompressBlock(block).copy(out, pos);
    pos += n;
    sinceYield += n;
    if (sinceYield >= YIELD_EVERY_OUTPUT_BYTES) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  }
  return out;
}

/** Compress as Kafka's Java producer does: xerial framing, 32 KiB input per chunk. */
export function compressSnappy(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.allocUnsafe(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  parts.push(header);
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_INPUT_BYTES) {
    const block = snappy.compressSync(data.subarray(pos, pos + XERIAL_BLOCK_INPUT_BYTES));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** One raw snappy block, as librdkafka writes it (for tests and the benchmark). */
export function compressSnappyRaw(data: Buffer): Buffer {
  return snappy.compressSync(data);
}

// LZ4 as Kafka frames it: the LZ4 frame format (lz4's doc/lz4_Frame_format.md),
// written by the Java client's KafkaLZ4BlockOutputStream and by librdkafka's
// LZ4F. Layout: magic 0x184D2204 (LE), FLG, BD, [content size u64], [dict id
// u32], HC, then blocks [u32le size, high bit = stored uncompressed][data]
// [block checksum u32 if FLG says], ended by a zero size, then [content
// checksum u32 if FLG says]. Several frames may follow each other; skippable
// frames (magic 0x184D2A5?) are skipped.
//
// RecordBatch v2 uses the correct header checksum (the old magic-v1 messages
// had a broken one). The checksums (HC, block, content; xxhash32) are not
// verified here: the batch's CRC-32C, checked before any decompression, covers
// every one of these bytes already.
//
// Bounded: the output buffer is sized from the block headers (each block holds
// at most the frame's block maximum) and never past maxBytes; decoding stops
// where it would pass the end.

import lz4 from 'lz4-napi';
import { DecompressedTooLarge, YIELD_EVERY_OUTPUT_BYTES, malformed, yieldToEventLoop } from './bounds.js';
import { decodeLz4Block } from './lz4-block.js';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const BLOCK_UNCOMPRESSED_BIT = 0x80000000;
/** BD bits 4-6: 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB. */
const BLOCK_MAX_BYTES: Readonly<Record<number, number>> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

interface Block {
  start: number;
  end: number;
  stored: boolean;
  /** Most bytes this block may decode to: its frame's block maximum. */
  maxBytes: number;
}

/** Walk the frames' headers: every block, checked to lie inside data. */
function frameBlocks(data: Buffer): Block[] {
  const blocks: Block[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw malformed(`lz4 frame magic truncated at byte ${pos}`);
    const magic = data.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (pos + 8 > data.length) throw malformed(`lz4 skippable frame truncated at byte ${pos}`);
      pos += 8 + data.readUInt32LE(pos + 4);
      if (pos > data.length) throw malformed('lz4 skippable frame runs past the data');
      continue;
    }
    if (magic !== FRAME_MAGIC) throw malformed(`not an lz4 frame at byte ${pos} (magic 0x${magic.toString(16)})`);
    if (pos + 7 > data.length) throw malformed(`lz4 frame descriptor truncated at byte ${pos}`);
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) throw malformed(`lz4 frame version bits ${flg >>> 6} (only 01 exists)`);
    const blockMax = BLOCK_MAX_BYTES[(bd >>> 4) & 7];
    if (blockMax === undefined) throw malformed(`lz4 block maximum size id ${(bd >>> 4) & 7} is not 4-7`);
    pos += 6 + ((flg & FLG_CONTENT_SIZE) !== 0 ? 8 : 0) + ((flg & FLG_DICT_ID) !== 0 ? 4 : 0) + 1;
    const checksumBytes = (flg & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
    for (;;) {
      if (pos + 4 > data.length) throw malformed('lz4 frame ends without its end mark');
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const size = (word & ~BLOCK_UNCOMPRESSED_BIT) >>> 0;
      const stored = (word & BLOCK_UNCOMPRESSED_BIT) !== 0;
      if (size > blockMax || pos + size + checksumBytes > data.length) {
        throw malformed(`lz4 block at byte ${pos - 4} claims ${size} bytes (frame maximum ${blockMax}, ${data.length - pos} remain)`);
      }
      blocks.push({ start: pos, end: pos + size, stored, maxBytes: blockMax });
      pos += size + checksumBytes;
    }
    if ((flg & FLG_CONTENT_CHECKSUM) !== 0) pos += 4;
    if (pos > data.length) throw malformed('lz4 content checksum truncated');
  }
  return blocks;
}

/** The output buffer: room for every block at its largest, never more than maxBytes. */
function outputFor(blocks: Block[], maxBytes: number): Buffer {
  let room = 0;
  for (const b of blocks) room += b.stored ? b.end - b.start : b.maxBytes;
  return Buffer.allocUnsafe(Math.min(room, maxBytes));
}

function decodeBlock(data: Buffer, block: Block, out: Buffer, pos: number, maxBytes: number): number {
  const limit = Math.min(pos + block.maxBytes, out.length);
  if (block.stored) {
    if (pos + (block.end - block.start) > limit) throw new DecompressedTooLarge(maxBytes);
    return pos + data.copy(out, pos, block.start, block.end);
  }
  const end = decodeLz4Block(data, block.start, block.end, out, pos, limit);
  if (end >= 0) return end;
  if (limit === out.length && out.length === maxBytes) throw new DecompressedTooLarge(maxBytes);
  throw malformed(`lz4 block decodes to more than its frame's maximum of ${block.maxBytes} bytes`);
}

export function decompressLz4(data: Buffer, maxBytes: number): Buffer {
  const blocks = frameBlocks(data);
  const out = outputFor(blocks, maxBytes);
  let pos = 0;
  for (const block of blocks) pos = decodeBlock(data, block, out, pos, maxBytes);
  return out.subarray(0, pos);
}

/** decompressLz4 giving the event loop back every YIELD_EVERY_OUTPUT_BYTES (between blocks). */
export async function decompressLz4Async(data: Buffer, maxBytes: number): Promise<Buffer> {
  const blocks = frameBlocks(data);
  const out = outputFor(blocks, maxBytes);
  let pos = 0;
  let yieldedAt = 0;
  for (const block of blocks) {
    pos = decodeBlock(data, block, out, pos, maxBytes);
    if (pos - yieldedAt >= YIELD_EVERY_OUTPUT_BYTES) {
      yieldedAt = pos;
      await yieldToEventLoop();
    }
  }
  return out.subarray(0, pos);
}

/** One LZ4 frame (64 KiB independent blocks, no checksums), which every Kafka client reads. */
export function compressLz4(data: Buffer): Buffer {
  return lz4.compressFrameSync(data);
}

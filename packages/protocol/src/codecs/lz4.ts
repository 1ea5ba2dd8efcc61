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
// Bounded: the output buffer starts at the declared content size (or a guess)
// and grows as blocks need, never past what the block headers allow (each block
// holds at most the frame's block maximum) nor past maxBytes; decoding stops
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

interface Frames {
  blocks: Block[];
  /** The sum of the frames' declared content sizes, or -1 when one does not declare it. */
  contentBytes: number;
}

/** Walk the frames' headers: every block, checked to lie inside data. */
function frameBlocks(data: Buffer): Frames {
  const blocks: Block[] = [];
  let contentBytes = 0;
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
    const hasContentSize = (flg & FLG_CONTENT_SIZE) !== 0;
    if (hasContentSize && pos + 15 > data.length) throw malformed(`lz4 frame descriptor truncated at byte ${pos}`);
    if (!hasContentSize) contentBytes = -1;
    else if (contentBytes >= 0) contentBytes += Number(data.readBigUInt64LE(pos + 6));
    pos += 6 + (hasContentSize ? 8 : 0) + ((flg & FLG_DICT_ID) !== 0 ? 4 : 0) + 1;
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
  return { blocks, contentBytes };
}

/**
 * Most of a block's output an LZ4 block can hold: each match-length byte of
 * 255 adds 255 bytes of output, so no block expands by more than this.
 */
const MAX_EXPANSION = 255;

/**
 * The output, grown as blocks need (a frame's blocks may hold up to 4 MiB
 * each, most hold far less): the declared content size when every frame has
 * one, else a guess that doubles, never past what the blocks can hold nor
 * past maxBytes.
 */
class Output {
  buf: Buffer;
  pos = 0;
  readonly #room: number;

  constructor(
    readonly frames: Frames,
    compressedBytes: number,
    readonly maxBytes: number,
  ) {
    if (frames.contentBytes > maxBytes) throw new DecompressedTooLarge(maxBytes);
    let room = 0;
    for (const b of frames.blocks) room += b.stored ? b.end - b.start : Math.min(b.maxBytes, (b.end - b.start) * MAX_EXPANSION);
    this.#room = Math.min(room, maxBytes);
    const guess = frames.contentBytes >= 0 ? frames.contentBytes : Math.max(4 * compressedBytes, INITIAL_OUTPUT_BYTES);
    this.buf = Buffer.allocUnsafe(Math.min(guess, this.#room));
  }

  /** Decode one block at pos, growing the buffer when the block needs it. */
  decode(data: Buffer, block: Block): void {
    const blockLimit = this.pos + (block.stored ? block.end - block.start : block.maxBytes);
    for (;;) {
      const limit = Math.min(blockLimit, this.buf.length);
      const end = block.stored ? this.#copyStored(data, block, limit) : decodeLz4Block(data, block.start, block.end, this.buf, this.pos, limit);
      if (end >= 0) {
        this.pos = end;
        return;
      }
      if (limit === blockLimit) throw malformed(`lz4 block decodes to more than its frame's maximum of ${block.maxBytes} bytes`);
      if (this.buf.length >= this.#room) {
        if (this.#room === this.maxBytes) throw new DecompressedTooLarge(this.maxBytes);
        throw malformed('lz4 blocks decode to more than their sizes allow');
      }
      const grown = Buffer.allocUnsafe(Math.min(Math.max(this.buf.length * 2, INITIAL_OUTPUT_BYTES), this.#room));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
  }

  #copyStored(data: Buffer, block: Block, limit: number): number {
    if (this.pos + (block.end - block.start) > limit) return -1;
    return this.pos + data.copy(this.buf, this.pos, block.start, block.end);
  }

  result(): Buffer {
    if (this.frames.contentBytes >= 0 && this.pos !== this.frames.contentBytes) {
      throw malformed(`lz4 frames declare ${this.frames.contentBytes} bytes of content and hold ${this.pos}`);
    }
    return this.buf.subarray(0, this.pos);
  }
}

/** The first output buffer when the frame does not declare its content size (at least 4x the input). */
const INITIAL_OUTPUT_BYTES = 64 * 1024;

export function decompressLz4(data: Buffer, maxBytes: number): Buffer {
  const frames = frameBlocks(data);
  const out = new Output(frames, data.length, maxBytes);
  for (const block of frames.blocks) out.decode(data, block);
  return out.result();
}

/** decompressLz4 giving the event loop back every YIELD_EVERY_OUTPUT_BYTES (between blocks). */
export async function decompressLz4Async(data: Buffer, maxBytes: number): Promise<Buffer> {
  const frames = frameBlocks(data);
  const out = new Output(frames, data.length, maxBytes);
  let yieldedAt = 0;
  for (const block of frames.blocks) {
    out.decode(data, block);
    if (out.pos - yieldedAt >= YIELD_EVERY_OUTPUT_BYTES) {
      yieldedAt = out.pos;
      await yieldToEventLoop();
    }
  }
  return out.result();
}

/** One LZ4 frame (64 KiB independent blocks, no checksums), which every Kafka client reads. */
export function compressLz4(data: Buffer): Buffer {
  return lz4.compressFrameSync(data);
}

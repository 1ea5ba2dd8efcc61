// The LZ4 block format (lz4's doc/lz4_Block_format.md): sequences of
// [token][literal length bytes][literals][offset u16le][match length bytes].
// Decoded here rather than by a library because no library decodes under a
// caller's output bound: this writes into a buffer it is given and stops at
// its end, so a bomb costs at most that buffer.

import { malformed } from './bounds.js';

/** Where a block ended in the output, or -1 when it needed more room than `limit`. */
export type BlockEnd = number;

const MIN_MATCH = 4;
/** Below this, a byte loop beats Buffer.copy's call overhead. */
const SHORT_COPY_BYTES = 16;

/**
 * Decode the block src[start, end) into out at outPos, writing at most up to
 * limit. Matches may reach back before outPos (linked blocks of a frame), never
 * before 0. Returns the new output position, or -1 if the block needs more than limit.
 */
export function decodeLz4Block(src: Buffer, start: number, end: number, out: Buffer, outPos: number, limit: number): BlockEnd {
  let ip = start;
  let op = outPos;
  while (ip < end) {
    const token = src[ip++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (ip >= end) throw malformed('lz4 literal length runs past the block');
        byte = src[ip++]!;
        literals += byte;
      } while (byte === 255);
    }
    if (ip + literals > end) throw malformed('lz4 literals run past the block');
    if (op + literals > limit) return -1;
    if (literals < SHORT_COPY_BYTES) for (let i = 0; i < literals; i++) out[op + i] = src[ip + i]!;
    else src.copy(out, op, ip, ip + literals);
    ip += literals;
    op += literals;
    if (ip === end) break; // the last sequence has literals only
    if (ip + 2 > end) throw malformed('lz4 match offset truncated');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw malformed(`lz4 match offset ${offset} reaches before the output`);
    let matchLength = token & 15;
    if (matchLength === 15) {
      let byte: number;
      do {
        if (ip >= end) throw malformed('lz4 match length runs past the block');
        byte = src[ip++]!;
        matchLength += byte;
      } while (byte === 255);
    }
    matchLength += MIN_MATCH;
    if (op + matchLength > limit) return -1;
    let from = op - offset;
    if (offset >= matchLength && matchLength >= SHORT_COPY_BYTES) {
      out.copy(out, op, from, from + matchLength);
      op += matchLength;
    } else {
      // Overlapping (offset < length) repeats the last `offset` bytes: copy forward byte by byte.
      const stop = op + matchLength;
      while (op < stop) out[op++] = out[from++]!;
    }
  }
  return op;
}

import type { FileHandle } from 'node:fs/promises';
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, BatchField, MAGIC_V2, crc32c, readInt64 } from '@strata/protocol';
import { readExactly } from './batch-cursor.js';

const RECOVERY_WINDOW_BYTES = 1024 * 1024;
/** A batch can be no larger than a segment; a length beyond this is corruption, not a big batch. */
const BATCH_BYTES_MAX = 2 ** 31 - 1;

export interface ScannedBatch {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export interface RecoveryScan {
  /** Bytes of whole, CRC-valid, contiguous batches from the start of the file. */
  validBytes: number;
  /** Offset after the last valid batch (the segment's base offset when there is none). */
  nextOffset: number;
  /** Why the scan stopped before the end of the file, if it did. */
  stopReason: string | null;
}

/**
 * Validates a segment file batch by batch (framing, magic, CRC-32C, offsets contiguous from the
 * segment's base) and reports the longest valid prefix. Memory stays bounded: one window at a
 * time, or one batch when a batch is larger than the window.
 */
export async function scanSegmentFile(
  file: FileHandle,
  fileSize: number,
  baseOffset: number,
  visit: (batch: ScannedBatch) => void,
): Promise<RecoveryScan> {
  let position = 0;
  let nextOffset = baseOffset;
  let window: Buffer = Buffer.alloc(0);
  let windowStart = 0;
  const batch: ScannedBatch = { position: 0, size: 0, baseOffset: 0, lastOffset: 0, maxTimestamp: 0 };
  const stop = (reason: string): RecoveryScan => ({ validBytes: position, nextOffset, stopReason: reason });

  while (position < fileSize) {
    if (fileSize - position < BATCH_HEADER_SIZE) return stop(`torn batch header at byte ${position}`);
    if (position + BATCH_HEADER_SIZE > windowStart + window.length) {
      window = await readExactly(file, position, Math.min(RECOVERY_WINDOW_BYTES, fileSize - position));
      windowStart = position;
    }
    let at = position - windowStart;
    const batchLength = window.readInt32BE(at + BatchField.batchLength);
    const size = BATCH_LOG_OVERHEAD + batchLength;
    if (batchLength < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD || size > BATCH_BYTES_MAX) {
      return stop(`bad batch length ${batchLength} at byte ${position}`);
    }
    if (position + size > fileSize) return stop(`torn batch at byte ${position}: ${size} bytes declared, ${fileSize - position} present`);
    if (window[at + BatchField.magic] !== MAGIC_V2) return stop(`bad magic ${window[at + BatchField.magic]} at byte ${position}`);
    if (at + size > window.length) {
      window = await readExactly(file, position, Math.min(Math.max(RECOVERY_WINDOW_BYTES, size), fileSize - position));
      windowStart = position;
      at = 0;
    }
    const stored = window.readUInt32BE(at + BatchField.crc);
    const computed = crc32c(window.subarray(at + BatchField.attributes, at + size));
    if (stored !== computed) return stop(`CRC mismatch at byte ${position}`);
    let batchBase: number;
    try {
      batchBase = readInt64(window, at + BatchField.baseOffset);
    } catch {
      return stop(`base offset out of range at byte ${position}`);
    }
    if (batchBase !== nextOffset) return stop(`offset gap at byte ${position}: expected ${nextOffset}, found ${batchBase}`);
    const lastOffsetDelta = window.readInt32BE(at + BatchField.lastOffsetDelta);
    if (lastOffsetDelta < 0) return stop(`negative lastOffsetDelta at byte ${position}`);
    batch.position = position;
    batch.size = size;
    batch.baseOffset = batchBase;
    batch.lastOffset = batchBase + lastOffsetDelta;
    batch.maxTimestamp = readInt64(window, at + BatchField.maxTimestamp);
    visit(batch);
    nextOffset = batch.lastOffset + 1;
    position += size;
  }
  return { validBytes: position, nextOffset, stopReason: null };
}

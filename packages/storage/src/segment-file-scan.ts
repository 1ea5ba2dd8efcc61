// The indexes and footer of a segment object (segment-object.ts), built from a sealed segment file
// on disk: every batch checked (framing, magic, CRC-32C, dense offsets) as the writer always does,
// read through one reused buffer. segment-scanner.ts runs it in a worker thread, so that the two
// CRC passes over a 128 MiB segment never take the broker's main thread.

import { open } from 'node:fs/promises';
import type { SegmentFooter, SegmentObjectInfo } from './segment-format.js';
import { SegmentObjectWriter } from './segment-writer.js';

/** Bytes read at a time (the scan's whole memory, besides the indexes). */
export const SEGMENT_SCAN_CHUNK_BYTES = 1024 * 1024;

export interface SegmentFileRange {
  path: string;
  start: number;
  /** Exclusive. */
  end: number;
}

export async function scanSegmentFileTail(range: SegmentFileRange, info: SegmentObjectInfo): Promise<{ tail: Buffer; footer: SegmentFooter }> {
  const writer = new SegmentObjectWriter(info);
  const buffer = Buffer.allocUnsafe(Math.min(SEGMENT_SCAN_CHUNK_BYTES, Math.max(1, range.end - range.start)));
  const file = await open(range.path, 'r');
  try {
    for (let position = range.start; position < range.end; ) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, range.end - position), position);
      if (bytesRead === 0) break; // a short file: finish() reports the batch it ends inside
      // The writer copies what it keeps (a batch header), so the buffer can be reused.
      writer.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
  return writer.finish();
}

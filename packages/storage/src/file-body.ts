// An object made of a byte range of a local file followed by a small tail (a sealed segment and
// its indexes and footer): ObjectStore.putFile's body. Read in bounded chunks, one at a time and
// only when the consumer asks, so memory stays at one chunk whatever the file's size.

import { open } from 'node:fs/promises';
import { invalidRequest } from './errors.js';

export interface FileRange {
  path: string;
  /** First byte of the file in the object. */
  start: number;
  /** Exclusive: the byte after the last one of the file in the object. */
  end: number;
  /** Bytes appended after the file's range (may be empty). */
  tail: Buffer;
}

/** Bytes read from the file at a time. */
export const FILE_BODY_CHUNK_BYTES = 1024 * 1024;

export function validateFileRange(source: FileRange): void {
  const { start, end, tail } = source;
  if (typeof source.path !== 'string' || source.path.length === 0) throw invalidRequest('putFile needs a file path');
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw invalidRequest(`putFile range [${String(start)}, ${String(end)}) must be safe integers with 0 <= start <= end`);
  }
  if (!Buffer.isBuffer(tail)) throw invalidRequest('putFile needs a Buffer tail');
}

export function fileRangeBytes(source: FileRange): number {
  return source.end - source.start + source.tail.length;
}

/**
 * The object's bytes: the file's range in chunks of at most `chunkBytes` (each a fresh buffer,
 * since an HTTP body may hold it until the socket drains), then the tail. A file shorter than
 * its range is an error, never a short object.
 */
export async function* fileBody(source: FileRange, chunkBytes = FILE_BODY_CHUNK_BYTES): AsyncGenerator<Buffer> {
  const file = await open(source.path, 'r');
  try {
    for (let position = source.start; position < source.end; ) {
      const want = Math.min(chunkBytes, source.end - position);
      const chunk = Buffer.allocUnsafe(want);
      let filled = 0;
      while (filled < want) {
        const { bytesRead } = await file.read(chunk, filled, want - filled, position + filled);
        if (bytesRead === 0) throw invalidRequest(`${source.path} ends at byte ${position + filled}, before the ${source.end} the object needs`);
        filled += bytesRead;
      }
      position += want;
      yield chunk;
    }
  } finally {
    await file.close();
  }
  if (source.tail.length > 0) yield source.tail;
}

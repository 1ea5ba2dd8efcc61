import type { FileHandle } from 'node:fs/promises';
import { StrataError } from '@strata/protocol';

/**
 * Writes `parts` back to back at `position`: one `write` for one buffer, one `writev` for several
 * (a group of appends, append-groups.ts). A short write continues with what is left; the caller
 * cleans up after a failure (writePartsOrCutBack).
 */
export async function writeParts(file: FileHandle, parts: readonly Buffer[], total: number, position: number): Promise<void> {
  let written = 0;
  let rest = parts;
  while (written < total) {
    const { bytesWritten } = rest.length === 1 ? await file.write(rest[0]!, 0, rest[0]!.length, position + written) : await file.writev(rest, position + written);
    if (bytesWritten <= 0) throw new Error(`a write at ${position + written} wrote nothing`);
    written += bytesWritten;
    if (written < total) rest = unwritten(parts, written);
  }
}

/** writeParts at the end of a segment file of `size` bytes, which a failure cuts the file back to. */
export async function writePartsOrCutBack(file: FileHandle, parts: readonly Buffer[], total: number, size: number): Promise<void> {
  try {
    await writeParts(file, parts, total, size);
  } catch (e) {
    // A write that failed part-way (ENOSPC, EIO) must leave no bytes past `size`: a later, shorter
    // append would otherwise leave them as junk between batches. Never below `size`, so a linked
    // object's bytes stay (unshare.ts).
    await file.truncate(size).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new StrataError('STORAGE_FULL', `no space left on the data disk for an append (${code})`, { cause: e });
    throw e;
  }
}

/** The parts past the first `skip` bytes (the first of them cut). */
function unwritten(parts: readonly Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const part of parts) {
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    rest.push(skip > 0 ? part.subarray(skip) : part);
    skip = 0;
  }
  return rest;
}

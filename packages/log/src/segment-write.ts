import type { FileHandle } from 'node:fs/promises';

/**
 * Writes `parts` back to back at `position`: one `write` for one buffer, one `writev` for several
 * (a group of appends, append-groups.ts). A short write continues with what is left; the caller
 * cleans up after a failure (segment.ts truncates back to its size).
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

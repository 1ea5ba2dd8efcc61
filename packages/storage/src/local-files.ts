// Small helpers of the local store: file-system errors, whole reads and writes, directory syncs,
// and the shapes of its ETags and continuation tokens.

import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { StorageError, errorMessage, invalidRequest, throwIfAborted } from './errors.js';

// File-system errors that can clear without anyone changing the request.
export const RETRIABLE_FS_CODES = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'EINTR', 'ETIMEDOUT']);
// "No such object": a missing file, or a path through something that is not a directory.
export const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR']);

export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The file at `path` opened for reading, or null when there is none ("no such object"). */
export async function openIfExists(path: string, what: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if (MISSING_CODES.has(codeOf(error) ?? '')) return null;
    throw fsError(error, what);
  }
}

export function fsError(error: unknown, what: string): StorageError {
  const code = codeOf(error);
  return new StorageError(`${what}: ${errorMessage(error)}`, {
    retriable: code !== undefined && RETRIABLE_FS_CODES.has(code),
    cause: error,
    details: code === undefined ? undefined : { code },
  });
}

/** Fills `out` from `fh` at `position`. */
export async function readFully(fh: FileHandle, out: Buffer, position: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  for (let filled = 0; filled < out.length; ) {
    throwIfAborted(signal, what);
    // Objects are replaced by rename, and a linked body is never cut below its object's length (the
    // log unshares a file before truncating it), so a short read is a real I/O fault.
    const { bytesRead } = await fh.read(out, filled, out.length - filled, position + filled);
    if (bytesRead === 0) throw new StorageError(`${what}: file ended at byte ${position + filled}, ${out.length - filled} bytes early`, { retriable: true });
    filled += bytesRead;
  }
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  for (let written = 0; written < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, written, buf.length - written, null);
    written += bytesWritten;
  }
}

const TOKEN_TAG = 'v1.';

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw invalidRequest(`putStream body yielded a ${typeof chunk}, not a Buffer`);
}

/** A weak ETag from the inode, size and mtime in ns: changes whenever a put replaces the file. */
export function etagOf(info: { size: bigint; mtimeNs: bigint; ino: bigint }): string {
  return `"${info.ino.toString(16)}-${info.size.toString(16)}-${info.mtimeNs.toString(16)}"`;
}

export function encodeToken(lastKey: string): string {
  return TOKEN_TAG + Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeToken(token: string): string {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_TAG)) throw invalidRequest('invalid continuation token');
  return Buffer.from(token.slice(TOKEN_TAG.length), 'base64url').toString('utf8');
}

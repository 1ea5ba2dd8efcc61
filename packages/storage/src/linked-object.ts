// The local store's linked form of an object: a segment file hard-linked into the store instead of
// copied (a copy of a 128 MiB segment cost ~94 ms of CPU, and wrote and fsynced every byte again on
// the same disk), plus the bytes the object adds after it (the segment object's index-and-footer tail).
//
// The file at the object's path is then a small *pointer*, and the body is a hard link of the
// source file under rootDir/.strata-bodies/<uuid>. The pointer, not a sidecar beside the body, is
// the object: putting it is one rename over the key's path, so a put over any earlier object (plain
// or linked) has no crash window in which the key names a mix of two objects. A crash leaves at
// worst an unreferenced body (space, never a wrong object).
//
// Layout (big-endian), checksummed before the write and after the read:
//   0   8  magic 'STRLNK' 0x00 0x01 (format version 1)
//   8   8  body bytes: the object's first bytes are the body file's [0, this) (the file may be longer)
//  16   4  tail bytes
//  20   4  CRC-32C of the tail
//  24   2  body file name bytes (n)
//  26   n  body file name (UTF-8, under LINKED_BODIES_DIR)
//  26+n 4  CRC-32C of bytes [0, 26+n)
//  30+n    tail
// A plain object whose bytes happen to be a valid pointer would read as that pointer; only a put of
// forged pointer bytes can make one (get never returns a pointer's own bytes).

import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError, crc32c, isStrataError } from '@strata/protocol';
import { StorageError, errorMessage } from './errors.js';
import { fsError, openIfExists, readFully } from './local-files.js';

/** Where bodies live, as a reserved first key segment of the store (like LOCAL_TMP_DIR). */
export const LINKED_BODIES_DIR = '.strata-bodies';
const MAGIC = Buffer.from([0x53, 0x54, 0x52, 0x4c, 0x4e, 0x4b, 0x00, 0x01]);
const NAME_AT = 26;
/** Longest body file name, in UTF-8 bytes (a file-name limit). */
const BODY_NAME_BYTES_MAX = 255;
const CRC_BYTES = 4;
/** Bytes read to find and check a pointer's header whatever its name's length. */
const HEADER_READ_BYTES_MAX = NAME_AT + BODY_NAME_BYTES_MAX + CRC_BYTES;
const HEADER_BYTES_MIN = NAME_AT + CRC_BYTES;

export interface LinkPointer {
  bodyName: string;
  bodyBytes: number;
  tailBytes: number;
  tailCrc: number;
  /** Where the tail starts in the pointer file. */
  tailAt: number;
}

export function encodeLinkPointer(bodyName: string, bodyBytes: number, tail: Buffer): Buffer {
  const name = Buffer.from(bodyName, 'utf8');
  if (name.length === 0 || name.length > BODY_NAME_BYTES_MAX) throw new Error(`body name of ${name.length} bytes`);
  const headerEnd = NAME_AT + name.length;
  const out = Buffer.allocUnsafe(headerEnd + CRC_BYTES + tail.length);
  MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(bodyBytes), 8);
  out.writeUInt32BE(tail.length, 16);
  out.writeUInt32BE(crc32c(tail), 20);
  out.writeUInt16BE(name.length, 24);
  name.copy(out, NAME_AT);
  out.writeUInt32BE(crc32c(out.subarray(0, headerEnd)), headerEnd);
  tail.copy(out, headerEnd + CRC_BYTES);
  return out;
}

/** The pointer in `file` (of `fileBytes`), or null when the file is a plain object. */
export async function readLinkPointer(file: FileHandle, fileBytes: number, what: string): Promise<LinkPointer | null> {
  if (fileBytes < HEADER_BYTES_MIN) return null;
  const header = Buffer.allocUnsafe(Math.min(fileBytes, HEADER_READ_BYTES_MAX));
  const { bytesRead } = await file.read(header, 0, header.length, 0);
  if (bytesRead < HEADER_BYTES_MIN || !header.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const nameBytes = header.readUInt16BE(24);
  const headerEnd = NAME_AT + nameBytes;
  const corrupt = (why: string): StrataError => corruptObject(what, `its pointer is corrupt (${why})`);
  if (headerEnd + CRC_BYTES > bytesRead) throw corrupt(`a ${nameBytes}-byte name past the file's ${bytesRead} bytes`);
  if (crc32c(header.subarray(0, headerEnd)) !== header.readUInt32BE(headerEnd)) throw corrupt('header checksum mismatch');
  const bodyBytes = Number(header.readBigUInt64BE(8));
  const tailBytes = header.readUInt32BE(16);
  const tailAt = headerEnd + CRC_BYTES;
  if (tailAt + tailBytes !== fileBytes) throw corrupt(`${fileBytes} bytes, the header says ${tailAt + tailBytes}`);
  if (!Number.isSafeInteger(bodyBytes)) throw corrupt(`a body of ${bodyBytes} bytes`);
  return { bodyName: header.toString('utf8', NAME_AT, headerEnd), bodyBytes, tailBytes, tailCrc: header.readUInt32BE(20), tailAt };
}

/** Stored bytes that fail their checks: the code a segment object's own checks use (segment-format.ts). */
function corruptObject(what: string, why: string): StrataError {
  return new StrataError('CORRUPT_MESSAGE', `${what}: the linked object ${why}`);
}

/** The pointer's tail, checked against its CRC. */
export async function readLinkTail(file: FileHandle, pointer: LinkPointer, what: string): Promise<Buffer> {
  const tail = Buffer.allocUnsafe(pointer.tailBytes);
  for (let filled = 0; filled < tail.length; ) {
    const { bytesRead } = await file.read(tail, filled, tail.length - filled, pointer.tailAt + filled);
    if (bytesRead === 0) throw new StorageError(`${what}: the pointer ended inside its tail`, { retriable: true });
    filled += bytesRead;
  }
  if (crc32c(tail) !== pointer.tailCrc) throw corruptObject(what, 'its tail fails its checksum');
  return tail;
}

/** Fills `out` with the linked object's bytes from `start`: the body's, then the tail's. */
export async function readLinked(bodiesDir: string, pointerFile: FileHandle, pointer: LinkPointer, out: Buffer, start: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  const fromBody = Math.max(0, Math.min(out.length, pointer.bodyBytes - start));
  if (fromBody > 0) {
    const body = await open(join(bodiesDir, pointer.bodyName), 'r').catch((error: unknown) => {
      throw new StorageError(`${what}: the linked object's body is missing: ${errorMessage(error)}`, { retriable: false, cause: error });
    });
    try {
      await readFully(body, out.subarray(0, fromBody), start, signal, what);
    } finally {
      await body.close();
    }
  }
  if (fromBody < out.length) {
    const tail = await readLinkTail(pointerFile, pointer, what);
    const tailStart = start + fromBody - pointer.bodyBytes;
    tail.copy(out, fromBody, tailStart, tailStart + out.length - fromBody);
  }
}

/** The body file the object at `path` links to, or null (no object, a plain one, a corrupt pointer). */
export async function linkedBodyAt(bodiesDir: string, path: string): Promise<string | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) return null;
    const pointer = await readLinkPointer(fh, info.size, path);
    return pointer === null ? null : join(bodiesDir, pointer.bodyName);
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** The object's size at `path` (a pointer's object, not its own bytes), or null when it is gone. */
export async function objectSizeAt(path: string, what: string): Promise<{ size: number; mtime: Date } | null> {
  const fh = await openIfExists(path, what);
  if (fh === null) return null;
  try {
    const info = await fh.stat();
    // A corrupt pointer lists with its own size: one bad object must not stop a listing (get reports it).
    const pointer = await readLinkPointer(fh, info.size, what).catch((error: unknown) => {
      if (isStrataError(error) && error.code === 'CORRUPT_MESSAGE') return null;
      throw error;
    });
    return { size: pointer === null ? info.size : pointer.bodyBytes + pointer.tailBytes, mtime: info.mtime };
  } catch (error) {
    if (isStrataError(error)) throw error;
    throw fsError(error, what);
  } finally {
    await fh.close();
  }
}

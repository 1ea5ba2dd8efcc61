// The embedded default engine: objects are files under one directory.
//
// - A key maps to rootDir/<its '/'-separated segments>, so the tree is easy to
//   inspect. Consequence: one key cannot be both an object and a "directory" of
//   others ('a/b' and 'a/b/c'); S3 allows it, this engine refuses the second with
//   a non-retriable STORAGE_ERROR. Strata's own key scheme (keys.ts) never does it.
// - Writes are atomic and durable: the bytes go to a temporary file under
//   rootDir/.strata-tmp (same filesystem), which is fsynced, renamed into place,
//   and the directory fsynced. A reader sees the old object, the whole new one,
//   or none. `.strata-tmp` as a first segment is reserved.
// - Listing walks the tree in S3's order (UTF-8 byte order of whole keys),
//   pruning subtrees outside the prefix or before the continuation token, so a
//   page costs what it returns rather than the size of the store.
// - There is nothing to retry locally: a file-system error is reported at once,
//   retriable when it can clear by itself (EIO, ENOSPC, EMFILE, EBUSY, ...).

import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isStrataError } from '@strata/protocol';
import { StorageError, errorMessage, invalidRequest, raceAbort, throwIfAborted } from './errors.js';
import { fileBody, validateFileRange, type FileRange } from './file-body.js';
import { objectKeyProblem, validateObjectKey } from './keys.js';
import {
  MAX_DELETE_BATCH,
  compareKeys,
  listAllPages,
  resolveMaxKeys,
  resolvePartSize,
  validateRange,
  type DeleteManyResult,
  type GetOptions,
  type ListOptions,
  type ListPage,
  type ListedObject,
  type ObjectInfo,
  type ObjectStore,
  type OperationOptions,
  type PutBody,
  type PutResult,
  type PutStreamOptions,
} from './object-store.js';

export const LOCAL_TMP_DIR = '.strata-tmp';
/** Most file systems limit one name to 255 bytes. */
const MAX_SEGMENT_BYTES = 255;
const TOKEN_TAG = 'v1.';

// File-system errors that can clear without anyone changing the request.
const RETRIABLE_FS_CODES = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'EINTR', 'ETIMEDOUT']);
// "No such object": a missing file, or a path through something that is not a directory.
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function fsError(error: unknown, what: string): StorageError {
  const code = codeOf(error);
  return new StorageError(`${what}: ${errorMessage(error)}`, {
    retriable: code !== undefined && RETRIABLE_FS_CODES.has(code),
    cause: error,
    details: code === undefined ? undefined : { code },
  });
}

export interface LocalDirObjectStoreOptions {
  /** fsync files and directories on write (default true). Off only for throwaway data. */
  fsync?: boolean;
}

export class LocalDirObjectStore implements ObjectStore {
  readonly rootDir: string;
  readonly description: string;
  readonly #fsync: boolean;
  readonly #tmpDir: string;
  #tmpDirReady: Promise<void> | null = null;

  constructor(rootDir: string, options: LocalDirObjectStoreOptions = {}) {
    this.rootDir = resolve(rootDir);
    this.description = `dir:${this.rootDir}`;
    this.#fsync = options.fsync ?? true;
    this.#tmpDir = join(this.rootDir, LOCAL_TMP_DIR);
  }

  async put(key: string, body: Buffer, options?: OperationOptions): Promise<PutResult> {
    const path = this.#pathOf(key);
    if (!Buffer.isBuffer(body)) throw invalidRequest('put needs a Buffer body');
    const what = `${this.description} put ${key}`;
    throwIfAborted(options?.signal, what);
    return this.#writeAtomically(path, what, options?.signal, (fh) => writeAll(fh, body));
  }

  async putStream(key: string, body: PutBody, options?: PutStreamOptions): Promise<PutResult> {
    const path = this.#pathOf(key);
    resolvePartSize(options?.partSizeBytes); // same argument rules as S3, though files have no parts
    const what = `${this.description} putStream ${key}`;
    const signal = options?.signal;
    throwIfAborted(signal, what);
    return this.#writeAtomically(path, what, signal, async (fh) => {
      const iterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      let finished = false;
      try {
        while (true) {
          // Raced so that a body that stalls cannot hold an aborted put.
          const next = await raceAbort(iterator.next(), signal, what);
          if (next.done) break;
          await writeAll(fh, toBuffer(next.value));
        }
        finished = true;
      } finally {
        if (!finished) void Promise.resolve(iterator.return?.()).catch(() => {});
      }
    });
  }

  async putFile(key: string, source: FileRange, options?: OperationOptions): Promise<PutResult> {
    validateFileRange(source);
    const path = this.#pathOf(key);
    const what = `${this.description} putFile ${key}`;
    const signal = options?.signal;
    throwIfAborted(signal, what);
    // From the file's start: a reflink where the file system has them (btrfs, XFS), else a copy in
    // the kernel; no byte of the file passes through JS. A range starting inside it streams.
    const copy = source.start === 0 ? (tmp: string) => copyFile(source.path, tmp, constants.COPYFILE_FICLONE) : null;
    return this.#writeAtomically(path, what, signal, async (fh) => {
      if (copy === null) {
        for await (const chunk of fileBody({ ...source, tail: Buffer.alloc(0) })) await writeAll(fh, chunk);
      } else {
        const { size } = await fh.stat();
        if (size < source.end) throw invalidRequest(`${source.path} ends at byte ${size}, before the ${source.end} the object needs`);
        // Nothing past the range belongs to the object (a file longer than its sealed size).
        await fh.truncate(source.end);
      }
      for (let written = 0, at = source.end - source.start; written < source.tail.length; ) {
        const { bytesWritten } = await fh.write(source.tail, written, source.tail.length - written, at + written);
        written += bytesWritten;
      }
    }, copy);
  }

  async get(key: string, options?: GetOptions): Promise<Buffer | null> {
    const path = this.#pathOf(key);
    const range = options?.range;
    if (range !== undefined) validateRange(range);
    const what = `${this.description} get ${key}`;
    throwIfAborted(options?.signal, what);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (error) {
      if (MISSING_CODES.has(codeOf(error) ?? '')) return null;
      throw fsError(error, what);
    }
    try {
      const info = await fh.stat();
      if (!info.isFile()) return null; // a "directory" of other keys, not an object
      let start = 0;
      let end = info.size - 1;
      if (range !== undefined) {
        if (range.start >= info.size) {
          throw new StorageError(`${what}: range starts at byte ${range.start}, the object has ${info.size} bytes (HTTP 416)`, {
            retriable: false,
            details: { size: info.size, range },
          });
        }
        start = range.start;
        end = Math.min(range.end, info.size - 1);
      }
      const out = Buffer.allocUnsafe(Math.max(0, end - start + 1));
      let filled = 0;
      while (filled < out.length) {
        throwIfAborted(options?.signal, what);
        // Objects are replaced by rename, never written in place, so the open
        // file cannot shrink under us: a short read is a real I/O fault.
        const { bytesRead } = await fh.read(out, filled, out.length - filled, start + filled);
        if (bytesRead === 0) throw new StorageError(`${what}: file ended at byte ${start + filled} of ${info.size}`, { retriable: true });
        filled += bytesRead;
      }
      return out;
    } catch (error) {
      if (isStrataError(error)) throw error;
      throw fsError(error, what);
    } finally {
      await fh.close();
    }
  }

  async head(key: string, options?: OperationOptions): Promise<ObjectInfo | null> {
    const path = this.#pathOf(key);
    const what = `${this.description} head ${key}`;
    throwIfAborted(options?.signal, what);
    try {
      const info = await stat(path, { bigint: true });
      if (!info.isFile()) return null;
      return { size: Number(info.size), etag: etagOf(info), lastModified: new Date(Number(info.mtimeMs)) };
    } catch (error) {
      if (MISSING_CODES.has(codeOf(error) ?? '')) return null;
      throw fsError(error, what);
    }
  }

  async list(prefix: string, options?: ListOptions): Promise<ListPage> {
    const maxKeys = resolveMaxKeys(options?.maxKeys);
    const startAfter = options?.continuationToken === undefined ? undefined : decodeToken(options.continuationToken);
    const what = `${this.description} list ${prefix}`;
    const signal = options?.signal;
    throwIfAborted(signal, what);
    const objects: ListedObject[] = [];
    // Walk to one past the page, to know whether another page follows.
    for await (const object of this.#walk(prefix, startAfter, signal, what)) {
      objects.push(object);
      if (objects.length > maxKeys) break;
    }
    if (objects.length <= maxKeys) return { objects };
    objects.pop();
    return { objects, nextContinuationToken: encodeToken(objects[objects.length - 1]!.key) };
  }

  listAll(prefix: string, options?: OperationOptions & { pageSize?: number }): AsyncIterable<ListedObject> {
    return listAllPages(this, prefix, options);
  }

  async deleteMany(keys: readonly string[], options?: OperationOptions): Promise<DeleteManyResult> {
    const unique = [...new Set(keys)];
    for (const key of unique) this.#pathOf(key); // all keys valid before the first unlink
    const result: DeleteManyResult = { deleted: [], errors: [] };
    for (let i = 0; i < unique.length; i += MAX_DELETE_BATCH) {
      for (const key of unique.slice(i, i + MAX_DELETE_BATCH)) {
        throwIfAborted(options?.signal, `${this.description} deleteMany`);
        const path = this.#pathOf(key);
        try {
          await unlink(path);
          result.deleted.push(key);
          await this.#pruneEmptyDirs(dirname(path));
        } catch (error) {
          const code = codeOf(error) ?? '';
          // Missing, or a directory of other keys (no object has this key): gone either way.
          if (MISSING_CODES.has(code) || code === 'EISDIR') result.deleted.push(key);
          else result.errors.push({ key, message: `${code || 'error'}: ${errorMessage(error)}` });
        }
      }
    }
    return result;
  }

  async close(): Promise<void> {}

  // ---- internals ----------------------------------------------------------

  #pathOf(key: string): string {
    validateObjectKey(key);
    const segments = key.split('/');
    if (segments[0] === LOCAL_TMP_DIR) throw invalidRequest(`object key ${JSON.stringify(key)}: '${LOCAL_TMP_DIR}' is reserved by the local store`);
    for (const segment of segments) {
      if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
        throw invalidRequest(`object key ${JSON.stringify(key)}: a segment is over ${MAX_SEGMENT_BYTES} bytes, too long for a file name`);
      }
    }
    return join(this.rootDir, ...segments);
  }

  /** `prepare` makes the temp file (a copy, a reflink) before `fill` opens it; without it the file starts empty. */
  async #writeAtomically(
    path: string,
    what: string,
    signal: AbortSignal | undefined,
    fill: (fh: FileHandle) => Promise<void>,
    prepare: ((tmp: string) => Promise<void>) | null = null,
  ): Promise<PutResult> {
    this.#tmpDirReady ??= mkdir(this.#tmpDir, { recursive: true }).then(
      () => undefined,
      (error: unknown) => {
        this.#tmpDirReady = null;
        throw fsError(error, what);
      },
    );
    await this.#tmpDirReady;
    const tmp = join(this.#tmpDir, randomUUID());
    let placed = false;
    try {
      await prepare?.(tmp);
      const fh = await open(tmp, prepare === null ? 'wx' : 'r+').catch((error: unknown) => {
        throw fsError(error, what);
      });
      try {
        await fill(fh);
        if (this.#fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      // The last moment an abort can still keep the object from appearing.
      throwIfAborted(signal, what);
      await this.#renameIntoPlace(tmp, path, what);
      placed = true;
      const info = await stat(path, { bigint: true });
      return { etag: etagOf(info) };
    } catch (error) {
      if (isStrataError(error)) throw error;
      throw fsError(error, what);
    } finally {
      if (!placed) await rm(tmp, { force: true }).catch(() => {});
    }
  }

  async #renameIntoPlace(tmp: string, path: string, what: string): Promise<void> {
    const dir = dirname(path);
    // A concurrent deleteMany may remove the directory between mkdir and rename
    // (it prunes empty directories): then make it again.
    for (let attempt = 1; ; attempt++) {
      try {
        const firstCreated = await mkdir(dir, { recursive: true });
        await rename(tmp, path);
        if (this.#fsync) await this.#syncDirs(firstCreated === undefined ? dir : dirname(firstCreated), dir);
        return;
      } catch (error) {
        const code = codeOf(error);
        if (code === 'ENOENT' && attempt < 3) continue;
        if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
          throw new StorageError(
            `${what}: the key is also the directory of other keys (or under an object's key): ` +
              `the local store cannot keep both 'a/b' and 'a/b/c'`,
            { retriable: false, cause: error, details: { code } },
          );
        }
        throw fsError(error, what);
      }
    }
  }

  /** fsyncs `from` and every directory below it down to `to` (new directory entries are durable only then). */
  async #syncDirs(from: string, to: string): Promise<void> {
    const dirs = [to];
    for (let d = to; d !== from && d.length > from.length; ) {
      d = dirname(d);
      dirs.push(d);
    }
    for (const d of dirs) {
      const fh = await open(d, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }

  async #pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d.length > this.rootDir.length && d.startsWith(this.rootDir); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): stop
      }
    }
  }

  /** The objects under `prefix` with keys after `startAfter`, in S3's order. */
  async *#walk(prefix: string, startAfter: string | undefined, signal: AbortSignal | undefined, what: string): AsyncGenerator<ListedObject> {
    // Start in the deepest directory the prefix names: 'topics/a/0/00' starts in topics/a/0.
    const dirKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    if (dirKey !== '' && objectKeyProblem(dirKey.slice(0, -1)) !== null) return; // no key can be under it
    const dirPath = join(this.rootDir, ...dirKey.split('/').filter((s) => s !== ''));
    yield* this.#walkDir(dirPath, dirKey, prefix, startAfter, signal, what);
  }

  async *#walkDir(
    dirPath: string,
    keyPrefix: string,
    prefix: string,
    startAfter: string | undefined,
    signal: AbortSignal | undefined,
    what: string,
  ): AsyncGenerator<ListedObject> {
    let entries: Dirent[];
    try {
      entries = await readdir(dirPath, { withFileTypes: true });
    } catch (error) {
      if (MISSING_CODES.has(codeOf(error) ?? '')) return;
      throw fsError(error, what);
    }
    // A directory sorts as 'name/', the common prefix of all its keys: then
    // sorting entries and recursing yields every key in global byte order.
    const items = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !(keyPrefix === '' && e.name === LOCAL_TMP_DIR))
      .map((e) => ({ name: e.name, isDir: e.isDirectory(), sortKey: keyPrefix + e.name + (e.isDirectory() ? '/' : '') }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const item of items) {
      throwIfAborted(signal, what);
      const k = item.sortKey;
      if (item.isDir) {
        if (!k.startsWith(prefix) && !prefix.startsWith(k)) continue;
        // Every key under k is before startAfter: skip the subtree.
        if (startAfter !== undefined && !startAfter.startsWith(k) && compareKeys(startAfter, k) > 0) continue;
        yield* this.#walkDir(join(dirPath, item.name), k, prefix, startAfter, signal, what);
      } else {
        if (!k.startsWith(prefix)) continue;
        if (startAfter !== undefined && compareKeys(k, startAfter) <= 0) continue;
        if (objectKeyProblem(k) !== null) continue; // a file no key can name (put there by hand)
        let info;
        try {
          info = await stat(join(dirPath, item.name));
        } catch (error) {
          if (MISSING_CODES.has(codeOf(error) ?? '')) continue; // deleted while we walked
          throw fsError(error, what);
        }
        yield { key: k, size: info.size, lastModified: info.mtime };
      }
    }
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  for (let written = 0; written < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, written, buf.length - written, null);
    written += bytesWritten;
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw invalidRequest(`putStream body yielded a ${typeof chunk}, not a Buffer`);
}

/** A weak ETag from the inode, size and mtime in ns: changes whenever a put replaces the file. */
function etagOf(info: { size: bigint; mtimeNs: bigint; ino: bigint }): string {
  return `"${info.ino.toString(16)}-${info.size.toString(16)}-${info.mtimeNs.toString(16)}"`;
}

function encodeToken(lastKey: string): string {
  return TOKEN_TAG + Buffer.from(lastKey, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_TAG)) throw invalidRequest('invalid continuation token');
  return Buffer.from(token.slice(TOKEN_TAG.length), 'base64url').toString('utf8');
}

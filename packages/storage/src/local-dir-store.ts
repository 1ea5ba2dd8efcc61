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
// - putFile from a file's start hard-links the file instead of copying it when the file system
//   allows (linked-object.ts: a pointer at the key, the body under `.strata-bodies`, also
//   reserved); every read treats the pair as one object, and a link that fails falls back to a copy.
// - What a crash leaves in those two directories (a temp file never renamed, a body no pointer
//   names) is swept once per store, in the background, from its first write (local-leftovers.ts).
// - Listing walks the tree in S3's order (UTF-8 byte order of whole keys),
//   pruning subtrees outside the prefix or before the continuation token, so a
//   page costs what it returns rather than the size of the store.
// - There is nothing to retry locally: a file-system error is reported at once,
//   retriable when it can clear by itself (EIO, ENOSPC, EMFILE, EBUSY, ...).

import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isStrataError } from '@strata/protocol';
import { StorageError, errorMessage, invalidRequest, raceAbort, throwIfAborted } from './errors.js';
import { fileBody, validateFileRange, type FileRange } from './file-body.js';
import { objectKeyProblem, validateObjectKey } from './keys.js';
import { LINKED_BODIES_DIR, encodeLinkPointer, linkedBodyAt, objectSizeAt, readLinkPointer, readLinked } from './linked-object.js';
import { MISSING_CODES, codeOf, decodeToken, encodeToken, etagOf, fsError, openIfExists, readFully, syncDir, toBuffer, writeAll } from './local-files.js';
import { LEFTOVER_GRACE_MS, sweepLeftovers, type LeftoverSweep, type LeftoverSweepOptions } from './local-leftovers.js';
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

export interface LocalDirObjectStoreOptions {
  /** fsync files and directories on write (default true). Off only for throwaway data. */
  fsync?: boolean;
  /** putFile from a file's start hard-links the file when it can (default true); false always copies. */
  link?: boolean;
  /** How long (ms) a crash's leftover must lie untouched before the background sweep takes it (default LEFTOVER_GRACE_MS). */
  leftoverGraceMs?: number;
}

export class LocalDirObjectStore implements ObjectStore {
  readonly rootDir: string;
  readonly description: string;
  readonly #fsync: boolean;
  readonly #tmpDir: string;
  readonly #bodiesDir: string;
  readonly #link: boolean;
  readonly #leftoverGraceMs: number;
  /** The reserved directories made so far (or being made), by path. */
  readonly #reservedDirsReady = new Map<string, Promise<void>>();
  /** The background sweep of leftovers, started by the first write; close() stops it. */
  #backgroundSweep: { done: Promise<unknown>; abort: AbortController } | null = null;

  constructor(rootDir: string, options: LocalDirObjectStoreOptions = {}) {
    this.rootDir = resolve(rootDir);
    this.description = `dir:${this.rootDir}`;
    this.#fsync = options.fsync ?? true;
    this.#tmpDir = join(this.rootDir, LOCAL_TMP_DIR);
    this.#bodiesDir = join(this.rootDir, LINKED_BODIES_DIR);
    this.#link = options.link ?? true;
    this.#leftoverGraceMs = options.leftoverGraceMs ?? LEFTOVER_GRACE_MS;
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
    if (source.start === 0 && this.#link) {
      const linked = await this.#putLinked(path, source, what, signal);
      if (linked !== null) return linked;
    }
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
    const fh = await openIfExists(path, what);
    if (fh === null) return null;
    try {
      const info = await fh.stat();
      if (!info.isFile()) return null; // a "directory" of other keys, not an object
      const pointer = await readLinkPointer(fh, info.size, what);
      const size = pointer === null ? info.size : pointer.bodyBytes + pointer.tailBytes;
      let start = 0;
      let end = size - 1;
      if (range !== undefined) {
        if (range.start >= size) {
          throw new StorageError(`${what}: range starts at byte ${range.start}, the object has ${size} bytes (HTTP 416)`, {
            retriable: false,
            details: { size, range },
          });
        }
        start = range.start;
        end = Math.min(range.end, size - 1);
      }
      const out = Buffer.allocUnsafe(Math.max(0, end - start + 1));
      if (pointer === null) await readFully(fh, out, start, options?.signal, what);
      else await readLinked(this.#bodiesDir, fh, pointer, out, start, options?.signal, what);
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
    const fh = await openIfExists(path, what);
    if (fh === null) return null;
    try {
      const info = await fh.stat({ bigint: true });
      if (!info.isFile()) return null;
      const pointer = await readLinkPointer(fh, Number(info.size), what);
      // The pointer's etag is the object's: every put renames a new pointer (a new inode) into place.
      const size = pointer === null ? Number(info.size) : pointer.bodyBytes + pointer.tailBytes;
      return { size, etag: etagOf(info), lastModified: new Date(Number(info.mtimeMs)) };
    } catch (error) {
      if (isStrataError(error)) throw error;
      throw fsError(error, what);
    } finally {
      await fh.close();
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
          const body = await linkedBodyAt(this.#bodiesDir, path);
          await unlink(path);
          // After the pointer: a crash between leaves an unreferenced body, never a pointer without one.
          if (body !== null) await unlink(body).catch(() => {});
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

  /** Removes what crashes left in the reserved directories (local-leftovers.ts); safe beside puts in flight. */
  sweepLeftovers(options?: LeftoverSweepOptions): Promise<LeftoverSweep> {
    return sweepLeftovers(this.rootDir, LOCAL_TMP_DIR, options);
  }

  async close(): Promise<void> {
    const sweep = this.#backgroundSweep;
    if (sweep === null) return;
    sweep.abort.abort();
    await sweep.done;
  }

  // ---- internals ----------------------------------------------------------

  /** putFile as a hard link of the whole file plus a pointer (linked-object.ts); null when the link fails. */
  async #putLinked(path: string, source: FileRange, what: string, signal: AbortSignal | undefined): Promise<PutResult | null> {
    await this.#reservedDir(this.#bodiesDir, what);
    const bodyName = randomUUID();
    const bodyPath = join(this.#bodiesDir, bodyName);
    try {
      await link(source.path, bodyPath);
    } catch {
      return null; // EXDEV, EPERM, EMLINK, ENOTSUP...: the caller copies (and reports a missing file)
    }
    let placed = false;
    try {
      const body = await open(bodyPath, 'r');
      try {
        const { size } = await body.stat();
        if (size < source.end) throw invalidRequest(`${source.path} ends at byte ${size}, before the ${source.end} the object needs`);
        // As durable as a copy would be, whether or not its writer has synced the file yet.
        if (this.#fsync) await body.sync();
      } finally {
        await body.close();
      }
      if (this.#fsync) await syncDir(this.#bodiesDir);
      const pointer = encodeLinkPointer(bodyName, source.end, source.tail);
      const result = await this.#writeAtomically(path, what, signal, (fh) => writeAll(fh, pointer));
      placed = true;
      return result;
    } catch (error) {
      if (isStrataError(error)) throw error;
      throw fsError(error, what);
    } finally {
      if (!placed) await unlink(bodyPath).catch(() => {});
    }
  }

  /** Makes a reserved directory once per store; a failure is retried by the next write. */
  #reservedDir(dir: string, what: string): Promise<void> {
    let ready = this.#reservedDirsReady.get(dir);
    if (ready === undefined) {
      ready = mkdir(dir, { recursive: true }).then(
        () => undefined,
        (error: unknown) => {
          this.#reservedDirsReady.delete(dir);
          throw fsError(error, what);
        },
      );
      this.#reservedDirsReady.set(dir, ready);
    }
    return ready;
  }

  /** Once per store: a writer is running, so what an earlier one crashed on is its to clear. */
  #startBackgroundSweep(): void {
    if (this.#backgroundSweep !== null) return;
    const abort = new AbortController();
    // Best effort: a sweep that fails (the directory removed under it, an I/O error) leaves the
    // leftovers for the next process; it must never fail a put.
    const done = this.sweepLeftovers({ olderThanMs: this.#leftoverGraceMs, signal: abort.signal }).catch(() => undefined);
    this.#backgroundSweep = { done, abort };
  }

  #pathOf(key: string): string {
    validateObjectKey(key);
    const segments = key.split('/');
    if (segments[0] === LOCAL_TMP_DIR || segments[0] === LINKED_BODIES_DIR) {
      throw invalidRequest(`object key ${JSON.stringify(key)}: '${segments[0]}' is reserved by the local store`);
    }
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
    this.#startBackgroundSweep();
    await this.#reservedDir(this.#tmpDir, what);
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
      const previousBody = await linkedBodyAt(this.#bodiesDir, path);
      await this.#renameIntoPlace(tmp, path, what);
      placed = true;
      // Only once nothing points at it: a crash before this leaves an unreferenced body, no more.
      if (previousBody !== null) await unlink(previousBody).catch(() => {});
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
      .filter((e) => (e.isFile() || e.isDirectory()) && !(keyPrefix === '' && (e.name === LOCAL_TMP_DIR || e.name === LINKED_BODIES_DIR)))
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
        const info = await objectSizeAt(join(dirPath, item.name), what);
        if (info === null) continue; // deleted while we walked
        yield { key: k, size: info.size, lastModified: info.mtime };
      }
    }
  }
}

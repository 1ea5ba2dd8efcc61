// The object-store client layer: one interface, two engines (S3 and a local
// directory), one conformance suite (test/conformance.ts) run against both.
//
// Contract, for every engine:
// - Keys are store-relative and follow keys.ts#objectKeyProblem; a bad key is
//   INVALID_REQUEST before any I/O.
// - Expected outcomes are values: a missing object is null from get/head, and
//   deleting a missing key counts as deleted.
// - Failures are StrataError: STORAGE_ERROR (a StorageError, `retriable` set
//   per failure, `cause` chained) for the store, INVALID_REQUEST for bad
//   arguments, REQUEST_TIMED_OUT once `signal` fires (it rejects promptly).
// - Writes are atomic: a reader sees the old object, the whole new one, or none.

import type { Readable } from 'node:stream';
import { invalidRequest } from './errors.js';
import type { FileRange } from './file-body.js';

export interface OperationOptions {
  /** The caller's deadline or cancel: the operation rejects with REQUEST_TIMED_OUT soon after it fires. */
  signal?: AbortSignal;
}

/** Bytes [start, end] of an object, both inclusive (HTTP's Range semantics). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetOptions extends OperationOptions {
  /**
   * Only these bytes. `end` past the object's end is cut to it (as S3 does);
   * `start` at or past the end is a STORAGE_ERROR (HTTP 416), not retriable.
   */
  range?: ByteRange;
  /**
   * Memory to read the bytes into, when the engine can (S3 does; the local directory store does
   * not): the answer is then a view of `into` (`answer.buffer === into.buffer`), so a caller that
   * recycles its buffers allocates nothing per read. Used only when the answer fits in it.
   */
  into?: Buffer;
}

/**
 * Bytes lent from memory the lender recycles: `release` gives it back, once nothing refers to
 * `bytes` any more. Never calling it is safe (the memory is then garbage collected, not reused).
 */
export interface LentBytes {
  bytes: Buffer;
  release: () => void;
}

/** A store whose ranged reads can lend recycled memory instead of allocating an answer (the broker's chunk cache). */
export interface LendingObjectStore extends ObjectStore {
  getLent(key: string, options: GetOptions & { range: ByteRange }): Promise<LentBytes | null>;
}

export function isLendingObjectStore(store: ObjectStore): store is LendingObjectStore {
  return typeof (store as Partial<LendingObjectStore>).getLent === 'function';
}

export interface PutStreamOptions extends OperationOptions {
  /** Multipart part size for large bodies (S3: >= 5 MiB, the service minimum). Default 8 MiB. */
  partSizeBytes?: number;
}

export interface PutResult {
  etag: string;
}

export interface ObjectInfo {
  size: number;
  /** Opaque; changes whenever the object's bytes may have changed. */
  etag: string;
  lastModified: Date;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ListOptions extends OperationOptions {
  /** From the previous page's nextContinuationToken. */
  continuationToken?: string;
  /** 1..1000 (S3's limit); default 1000. */
  maxKeys?: number;
}

export interface ListPage {
  /** In UTF-8 byte order of the keys, as S3 lists them. */
  objects: ListedObject[];
  /** Present when more objects follow. */
  nextContinuationToken?: string;
}

export interface DeleteManyResult {
  /** Keys that are gone, missing ones included. */
  deleted: string[];
  /** Keys the store refused to delete, with its message. */
  errors: { key: string; message: string }[];
}

export type { FileRange };

export type PutBody = AsyncIterable<Buffer> | Readable;

export interface ObjectStore {
  /** Names the engine in logs and errors: "s3://bucket/prefix", "dir:/var/strata/objects". */
  readonly description: string;
  put(key: string, body: Buffer, options?: OperationOptions): Promise<PutResult>;
  /** Streams a body of unknown length; S3 uses a multipart upload when it exceeds one part. */
  putStream(key: string, body: PutBody, options?: PutStreamOptions): Promise<PutResult>;
  /**
   * Puts an object of known length: a byte range of a local file, then `tail` (a sealed segment
   * and its indexes). Memory stays at one read chunk: S3 streams one PutObject with its length,
   * the directory store copies in the kernel (a reflink where the file system has them).
   */
  putFile(key: string, source: FileRange, options?: OperationOptions): Promise<PutResult>;
  get(key: string, options?: GetOptions): Promise<Buffer | null>;
  head(key: string, options?: OperationOptions): Promise<ObjectInfo | null>;
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Every object under prefix, paging through list(). */
  listAll(prefix: string, options?: OperationOptions & { pageSize?: number }): AsyncIterable<ListedObject>;
  /** Deletes in batches of at most 1000 keys; per-key refusals are in `errors`. */
  deleteMany(keys: readonly string[], options?: OperationOptions): Promise<DeleteManyResult>;
  /** Releases sockets and agents; the store is unusable afterwards. */
  close(): Promise<void>;
}

// ---- helpers shared by the engines ------------------------------------------

export const DEFAULT_PART_SIZE_BYTES = 8 * 1024 * 1024;
/** S3's minimum size of every part but the last. */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;
/** S3's maximum part size. */
export const MAX_PART_SIZE_BYTES = 5 * 1024 * 1024 * 1024;
export const MAX_LIST_KEYS = 1000;
export const MAX_DELETE_BATCH = 1000;

export function resolvePartSize(partSizeBytes: number | undefined): number {
  const size = partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
  if (!Number.isSafeInteger(size) || size < MIN_PART_SIZE_BYTES || size > MAX_PART_SIZE_BYTES) {
    throw invalidRequest(`partSizeBytes ${String(size)} is outside [${MIN_PART_SIZE_BYTES}, ${MAX_PART_SIZE_BYTES}] (S3's part limits)`);
  }
  return size;
}

export function resolveMaxKeys(maxKeys: number | undefined): number {
  const n = maxKeys ?? MAX_LIST_KEYS;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LIST_KEYS) throw invalidRequest(`maxKeys ${String(n)} is outside [1, ${MAX_LIST_KEYS}]`);
  return n;
}

export function validateRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw invalidRequest(`byte range [${String(start)}, ${String(end)}] must be safe integers with 0 <= start <= end`);
  }
}

/**
 * The last `length` bytes of an object (all of it when shorter), with its size;
 * null when it does not exist.
 *
 * Why HEAD + an explicit range instead of a suffix range (`Range: bytes=-N`):
 * suffix ranges are valid HTTP and AWS honours them, but not every S3 clone
 * does. s3rver parses `bytes=-N` as start 0, end N, and answers with the
 * *first* N+1 bytes, 206, no error: wrong bytes that only a checksum would
 * catch. Two requests that every implementation gets right are worth more than
 * one that some get silently wrong. Keys are never overwritten in Strata, so
 * the object cannot change between the two requests.
 */
export async function getTail(
  store: ObjectStore,
  key: string,
  length: number,
  options?: OperationOptions,
): Promise<{ bytes: Buffer; size: number; etag: string } | null> {
  if (!Number.isSafeInteger(length) || length < 1) throw invalidRequest(`tail length ${String(length)} must be a positive integer`);
  const info = await store.head(key, options);
  if (info === null) return null;
  if (info.size === 0) return { bytes: Buffer.alloc(0), size: 0, etag: info.etag };
  const start = Math.max(0, info.size - length);
  const bytes = await store.get(key, { ...options, range: { start, end: info.size - 1 } });
  if (bytes === null) return null;
  return { bytes, size: info.size, etag: info.etag };
}

/** Pages through store.list; shared by the engines' listAll. */
export async function* listAllPages(
  store: Pick<ObjectStore, 'list'>,
  prefix: string,
  options?: OperationOptions & { pageSize?: number },
): AsyncGenerator<ListedObject> {
  let continuationToken: string | undefined;
  do {
    const page = await store.list(prefix, { signal: options?.signal, maxKeys: options?.pageSize, continuationToken });
    yield* page.objects;
    continuationToken = page.nextContinuationToken;
  } while (continuationToken !== undefined);
}

/** Byte-wise comparison of the UTF-8 forms, the order S3 lists keys in (JS `<` compares UTF-16 units). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

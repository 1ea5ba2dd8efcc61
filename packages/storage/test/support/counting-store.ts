// A decorator that counts the calls reaching a real store (not a mock: every
// call goes through), so tests can assert how many requests a reader makes.

import type {
  DeleteManyResult,
  FileRange,
  GetOptions,
  ListOptions,
  ListPage,
  ListedObject,
  ObjectInfo,
  ObjectStore,
  OperationOptions,
  PutBody,
  PutResult,
  PutStreamOptions,
} from '@strata/storage';

export type StoreMethod = 'put' | 'putStream' | 'putFile' | 'get' | 'head' | 'list' | 'deleteMany';

export class CountingObjectStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly counts: Record<StoreMethod, number> = { put: 0, putStream: 0, putFile: 0, get: 0, head: 0, list: 0, deleteMany: 0 };
  /** The ranges asked of get(), in order (undefined = whole object). */
  readonly getRanges: ({ start: number; end: number } | undefined)[] = [];

  constructor(inner: ObjectStore) {
    this.inner = inner;
  }

  get description(): string {
    return `counting(${this.inner.description})`;
  }

  reset(): void {
    for (const k of Object.keys(this.counts) as StoreMethod[]) this.counts[k] = 0;
    this.getRanges.length = 0;
  }

  put(key: string, body: Buffer, options?: OperationOptions): Promise<PutResult> {
    this.counts.put++;
    return this.inner.put(key, body, options);
  }
  putStream(key: string, body: PutBody, options?: PutStreamOptions): Promise<PutResult> {
    this.counts.putStream++;
    return this.inner.putStream(key, body, options);
  }
  putFile(key: string, source: FileRange, options?: OperationOptions): Promise<PutResult> {
    this.counts.putFile++;
    return this.inner.putFile(key, source, options);
  }
  get(key: string, options?: GetOptions): Promise<Buffer | null> {
    this.counts.get++;
    this.getRanges.push(options?.range);
    return this.inner.get(key, options);
  }
  head(key: string, options?: OperationOptions): Promise<ObjectInfo | null> {
    this.counts.head++;
    return this.inner.head(key, options);
  }
  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    this.counts.list++;
    return this.inner.list(prefix, options);
  }
  listAll(prefix: string, options?: OperationOptions & { pageSize?: number }): AsyncIterable<ListedObject> {
    return this.inner.listAll(prefix, options);
  }
  deleteMany(keys: readonly string[], options?: OperationOptions): Promise<DeleteManyResult> {
    this.counts.deleteMany++;
    return this.inner.deleteMany(keys, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TMP_DIR, LocalDirObjectStore } from '@strata/storage';
import { describeObjectStoreConformance, expectStrataError } from './conformance.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-objects-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describeObjectStoreConformance('LocalDirObjectStore', async () => new LocalDirObjectStore(await freshDir()));

describe('LocalDirObjectStore specifics', () => {
  let root: string;
  let store: LocalDirObjectStore;
  beforeAll(async () => {
    root = await freshDir();
    store = new LocalDirObjectStore(root);
  });

  it('maps keys to files under the root and leaves no temporary files', async () => {
    await store.put('topics/orders/0/a.seg', Buffer.from('segment'));
    await store.putStream('topics/orders/0/b.seg', (async function* () {
      yield Buffer.from('seg');
      yield Buffer.from('ment');
    })());
    expect((await stat(join(root, 'topics', 'orders', '0', 'a.seg'))).size).toBe(7);
    expect((await stat(join(root, 'topics', 'orders', '0', 'b.seg'))).size).toBe(7);
    expect(await readdir(join(root, LOCAL_TMP_DIR))).toEqual([]);
  });

  it('cleans up the temporary file of a failed stream', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1000);
      throw new Error('boom');
    }
    await expect(store.putStream('failed/x', failing())).rejects.toThrow('boom');
    expect(await readdir(join(root, LOCAL_TMP_DIR))).toEqual([]);
  });

  it('never lists its temporary directory and reserves its name', async () => {
    await writeFile(join(root, LOCAL_TMP_DIR, 'leftover'), 'x');
    const keys = [];
    for await (const o of store.listAll('')) keys.push(o.key);
    expect(keys.some((k) => k.startsWith(LOCAL_TMP_DIR))).toBe(false);
    await expectStrataError(store.put(`${LOCAL_TMP_DIR}/x`, Buffer.from('x')), 'INVALID_REQUEST');
    await rm(join(root, LOCAL_TMP_DIR, 'leftover'));
  });

  it('refuses a key that is also the directory of other keys, without retry', async () => {
    await store.put('conflict/a', Buffer.from('file'));
    const under = await expectStrataError(store.put('conflict/a/b', Buffer.from('x')), 'STORAGE_ERROR');
    expect(under.retriable).toBe(false);
    await store.put('conflict2/a/b', Buffer.from('x'));
    const over = await expectStrataError(store.put('conflict2/a', Buffer.from('x')), 'STORAGE_ERROR');
    expect(over.retriable).toBe(false);
    expect(over.message).toMatch(/cannot keep both/);
  });

  it('refuses key segments too long for a file name', async () => {
    await expectStrataError(store.put(`long/${'x'.repeat(256)}`, Buffer.from('x')), 'INVALID_REQUEST');
    await store.put(`long/${'x'.repeat(255)}`, Buffer.from('x'));
  });

  it('prunes directories that deletes leave empty', async () => {
    await store.put('prune/a/b/c', Buffer.from('x'));
    await store.put('prune/keep', Buffer.from('x'));
    await store.deleteMany(['prune/a/b/c']);
    expect(await readdir(join(root, 'prune'))).toEqual(['keep']);
  });

  it('rejects a forged continuation token', async () => {
    await expectStrataError(store.list('', { continuationToken: 'not-a-token' }), 'INVALID_REQUEST');
  });
});

// LocalDirObjectStore's linked form (linked-object.ts): putFile from a file's start hard-links the
// file and writes a pointer; it must read, list and delete exactly as the copied form does.
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirObjectStore } from '@strata/storage';
import { expectStrataError } from './conformance.js';

const BODIES_DIR = '.strata-bodies';
// A real failure of link(2) needs two file systems: /dev/shm is a tmpfs on Linux.
const OTHER_FILE_SYSTEM = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev ? '/dev/shm' : null;
const dirs: string[] = [];
async function freshDir(parent = tmpdir()): Promise<string> {
  const dir = await mkdtemp(join(parent, 'strata-linked-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function listed(store: LocalDirObjectStore, prefix: string): Promise<Array<{ key: string; size: number }>> {
  const out = [];
  for await (const o of store.listAll(prefix)) out.push({ key: o.key, size: o.size });
  return out;
}

describe('LocalDirObjectStore linked objects', () => {
  let root: string;
  let linked: LocalDirObjectStore;
  let copied: LocalDirObjectStore;
  let source: string;
  // Longer than the object's body, as a segment file that kept growing after its seal.
  const data = randomBytes(70_000);
  const bodyBytes = 65_537;
  const tail = randomBytes(777);
  beforeAll(async () => {
    root = await freshDir();
    linked = new LocalDirObjectStore(join(root, 'linked'));
    copied = new LocalDirObjectStore(join(root, 'copied'), { link: false });
    source = join(root, 'segment.log');
    await writeFile(source, data);
    await linked.putFile('t/0/a.seg', { path: source, start: 0, end: bodyBytes, tail });
    await copied.putFile('t/0/a.seg', { path: source, start: 0, end: bodyBytes, tail });
  });

  it('links instead of copying: the body shares the source inode', async () => {
    expect((await stat(source)).nlink).toBe(2);
    expect(await readdir(join(root, 'linked', BODIES_DIR))).toHaveLength(1);
    expect(existsSync(join(root, 'copied', BODIES_DIR))).toBe(false);
  });

  it('reads back byte-identical to the copied form, whole and at every range alignment', async () => {
    const expected = Buffer.concat([data.subarray(0, bodyBytes), tail]);
    expect((await linked.get('t/0/a.seg'))!.equals(expected)).toBe(true);
    expect((await copied.get('t/0/a.seg'))!.equals(expected)).toBe(true);
    const size = expected.length;
    // Starts and ends inside the body, at its last byte, across the seam, inside the tail, past the end.
    const points = [0, 1, 4095, 4096, bodyBytes - 2, bodyBytes - 1, bodyBytes, bodyBytes + 1, size - 2, size - 1];
    for (const start of points) {
      for (const end of [...points, size + 100]) {
        if (end < start) continue;
        const want = expected.subarray(start, end + 1);
        const [fromLinked, fromCopied] = await Promise.all([linked.get('t/0/a.seg', { range: { start, end } }), copied.get('t/0/a.seg', { range: { start, end } })]);
        expect(fromLinked!.equals(want), `range ${start}-${end}`).toBe(true);
        expect(fromCopied!.equals(want), `range ${start}-${end}`).toBe(true);
      }
    }
  });

  it('reports the object size in head and list, never the pointer or the bodies', async () => {
    const size = bodyBytes + tail.length;
    expect((await linked.head('t/0/a.seg'))!.size).toBe(size);
    expect(await listed(linked, '')).toEqual([{ key: 't/0/a.seg', size }]);
    expect(await listed(copied, '')).toEqual([{ key: 't/0/a.seg', size }]);
  });

  it('keeps its bytes when the source file grows past the body', async () => {
    await appendFile(source, randomBytes(1000));
    expect((await linked.get('t/0/a.seg'))!.equals(Buffer.concat([data.subarray(0, bodyBytes), tail]))).toBe(true);
  });

  it('deletes the pointer and the body together', async () => {
    const store = new LocalDirObjectStore(await freshDir());
    await store.putFile('x/y.seg', { path: source, start: 0, end: 10, tail });
    const nlink = (await stat(source)).nlink;
    expect((await store.deleteMany(['x/y.seg'])).deleted).toEqual(['x/y.seg']);
    expect((await stat(source)).nlink).toBe(nlink - 1);
    expect(await readdir(join(store.rootDir, BODIES_DIR))).toEqual([]);
    expect(await store.get('x/y.seg')).toBeNull();
    expect(await store.head('x/y.seg')).toBeNull();
  });

  it('a put, putStream or putFile over a linked key replaces it and frees the old body', async () => {
    const store = new LocalDirObjectStore(await freshDir());
    const bodies = join(store.rootDir, BODIES_DIR);
    await store.putFile('k', { path: source, start: 0, end: 100, tail });
    await store.putFile('k', { path: source, start: 0, end: 50, tail: Buffer.alloc(0) });
    expect(await readdir(bodies)).toHaveLength(1);
    expect((await store.get('k'))!.equals(data.subarray(0, 50))).toBe(true);
    await store.put('k', Buffer.from('plain'));
    expect(await readdir(bodies)).toEqual([]);
    expect((await store.get('k'))!.toString()).toBe('plain');
    await store.putFile('k', { path: source, start: 0, end: 20, tail });
    await store.putStream('k', (async function* () {
      yield Buffer.from('streamed');
    })());
    expect(await readdir(bodies)).toEqual([]);
    expect((await store.get('k'))!.toString()).toBe('streamed');
  });

  it('a body without a pointer (a crash before the pointer was renamed in) is no object', async () => {
    const store = new LocalDirObjectStore(await freshDir());
    await store.putFile('k', { path: source, start: 0, end: 100, tail });
    await rm(join(store.rootDir, 'k'));
    expect(await store.get('k')).toBeNull();
    expect(await store.head('k')).toBeNull();
    expect(await listed(store, '')).toEqual([]);
  });

  it('reports a pointer whose tail fails its checksum as a corrupt object (its body still reads, it still lists)', async () => {
    const store = new LocalDirObjectStore(await freshDir());
    await store.putFile('k', { path: source, start: 0, end: 100, tail });
    const pointer = join(store.rootDir, 'k');
    const bytes = await readFile(pointer);
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(pointer, bytes);
    await expectStrataError(store.get('k'), 'CORRUPT_MESSAGE');
    expect((await store.get('k', { range: { start: 0, end: 99 } }))!.equals(data.subarray(0, 100))).toBe(true); // the body is intact
    expect(await listed(store, '')).toEqual([{ key: 'k', size: 100 + tail.length }]); // the header is intact
  });

  it('refuses keys under its bodies directory', async () => {
    await expect(linked.put(`${BODIES_DIR}/x`, Buffer.from('x'))).rejects.toThrow(/reserved/);
  });

  it('reads objects written before the linked form (one plain file) as before', async () => {
    const store = new LocalDirObjectStore(await freshDir());
    await writeFile(join(store.rootDir, 'old.seg'), data.subarray(0, 1000));
    expect((await store.get('old.seg'))!.equals(data.subarray(0, 1000))).toBe(true);
    expect((await store.head('old.seg'))!.size).toBe(1000);
    expect(await listed(store, '')).toEqual([{ key: 'old.seg', size: 1000 }]);
  });

  it.skipIf(OTHER_FILE_SYSTEM === null)('falls back to a copy when the file cannot be linked (EXDEV)', async () => {
    const shm = await freshDir(OTHER_FILE_SYSTEM!);
    const store = new LocalDirObjectStore(await freshDir());
    const far = join(shm, 'segment.log');
    await writeFile(far, data);
    await store.putFile('k', { path: far, start: 0, end: bodyBytes, tail });
    expect((await stat(far)).nlink).toBe(1);
    expect((await store.get('k'))!.equals(Buffer.concat([data.subarray(0, bodyBytes), tail]))).toBe(true);
    expect(await listed(store, '')).toEqual([{ key: 'k', size: bodyBytes + tail.length }]);
  });
});

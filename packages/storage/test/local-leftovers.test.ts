// The local store's sweep of crash leftovers (local-leftovers.ts): a temp file a put never renamed
// and a body no pointer names are removed once old enough; objects, and the bodies they name, stay.
import { randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_TMP_DIR, LocalDirObjectStore } from '@strata/storage';

const BODIES_DIR = '.strata-bodies';
/** How long (ms) the background sweep of a handful of files may take on a loaded machine. */
const SWEEP_WAIT_MS = 10_000;
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A store with two linked objects (one under a nested key), one plain object, and a source segment file. */
async function storeWithObjects(options: { leftoverGraceMs?: number } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'strata-leftovers-'));
  const sources = await mkdtemp(join(tmpdir(), 'strata-leftovers-src-'));
  dirs.push(root, sources);
  const store = new LocalDirObjectStore(root, options);
  const segment = join(sources, 'segment.log');
  const data = randomBytes(50_000);
  await writeFile(segment, data);
  const tail = randomBytes(100);
  await store.putFile('topics/t/0/a.seg', { path: segment, start: 0, end: data.length, tail });
  await store.putFile('topics/t/1/deeper/b.seg', { path: segment, start: 0, end: 20_000, tail });
  await store.put('topics/t/manifest', Buffer.from('plain'));
  const expected = {
    'topics/t/0/a.seg': Buffer.concat([data, tail]),
    'topics/t/1/deeper/b.seg': Buffer.concat([data.subarray(0, 20_000), tail]),
    'topics/t/manifest': Buffer.from('plain'),
  };
  return { root, store, segment, expected };
}

/** What a crash leaves: a temp file never renamed into place and a linked body no pointer names. */
async function leaveCrashLeftovers(root: string, segment: string): Promise<{ temp: string; orphan: string }> {
  await mkdir(join(root, LOCAL_TMP_DIR), { recursive: true });
  const temp = join(root, LOCAL_TMP_DIR, 'a-put-that-crashed');
  await writeFile(temp, randomBytes(30_000));
  const orphan = join(root, BODIES_DIR, 'a-link-whose-pointer-never-came');
  await link(segment, orphan);
  return { temp, orphan };
}

async function expectObjectsWhole(store: LocalDirObjectStore, expected: Record<string, Buffer>): Promise<void> {
  for (const [key, bytes] of Object.entries(expected)) expect((await store.get(key))?.equals(bytes), key).toBe(true);
}

describe('LocalDirObjectStore leftovers', () => {
  it('removes a stale temp file and an unreferenced body, and keeps every object whole', async () => {
    const { root, store, segment, expected } = await storeWithObjects();
    const { temp, orphan } = await leaveCrashLeftovers(root, segment);
    const bodiesBefore = await readdir(join(root, BODIES_DIR));
    expect(bodiesBefore).toHaveLength(3);
    await delay(20); // past the leftovers' ctime, at the file system's timestamp granularity

    const swept = await store.sweepLeftovers({ olderThanMs: 0 });

    expect(swept).toEqual({ tempFiles: 1, bodies: 1, bytes: 30_000 + 50_000 });
    expect(await readdir(join(root, LOCAL_TMP_DIR))).not.toContain(temp.split('/').pop());
    const bodiesAfter = await readdir(join(root, BODIES_DIR));
    expect(bodiesAfter.sort()).toEqual(bodiesBefore.filter((name) => !orphan.endsWith(name)).sort());
    await expectObjectsWhole(store, expected);
    expect(await store.sweepLeftovers({ olderThanMs: 0 })).toEqual({ tempFiles: 0, bodies: 0, bytes: 0 });
    await store.close();
  });

  it('refuses a negative age', async () => {
    const { store } = await storeWithObjects();
    await expect(store.sweepLeftovers({ olderThanMs: -1 })).rejects.toThrow(/olderThanMs/);
    await store.close();
  });

  it('leaves files younger than the grace period alone (a put may still own them)', async () => {
    const { root, store, segment, expected } = await storeWithObjects();
    const { temp, orphan } = await leaveCrashLeftovers(root, segment);

    expect(await store.sweepLeftovers()).toEqual({ tempFiles: 0, bodies: 0, bytes: 0 });
    expect(await readdir(join(root, LOCAL_TMP_DIR))).toContain(temp.split('/').pop());
    expect(await readdir(join(root, BODIES_DIR))).toContain(orphan.split('/').pop());
    await expectObjectsWhole(store, expected);
    await store.close();
  });

  it('sweeps in the background from the first write of a new store over the same directory', async () => {
    const first = await storeWithObjects();
    await first.store.close();
    const { orphan, temp } = await leaveCrashLeftovers(first.root, first.segment);
    const graceMs = 1_000;
    await delay(graceMs + 100);

    // The first write's own temp file is younger than the grace period, so the sweep beside it leaves it be.
    const restarted = new LocalDirObjectStore(first.root, { leftoverGraceMs: graceMs });
    await expectObjectsWhole(restarted, first.expected);
    expect(await readdir(join(first.root, BODIES_DIR))).toContain(orphan.split('/').pop()); // reads do not sweep
    await restarted.put('topics/t/other', Buffer.from('x'));
    // The sweep runs beside the put, not inside it: wait for it (bounded), then close.
    const leftoversGone = async () => {
      const [bodies, temps] = await Promise.all([readdir(join(first.root, BODIES_DIR)), readdir(join(first.root, LOCAL_TMP_DIR))]);
      return !bodies.includes(orphan.split('/').pop()!) && !temps.includes(temp.split('/').pop()!);
    };
    for (let waitedMs = 0; !(await leftoversGone()) && waitedMs < SWEEP_WAIT_MS; waitedMs += 20) await delay(20);
    expect(await leftoversGone()).toBe(true);
    await expectObjectsWhole(restarted, first.expected);
    await restarted.close();
  });
});

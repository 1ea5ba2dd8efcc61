import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILE_NAME_BYTES, fileNameFor } from '@strata/protocol';
import { fsyncDir, writeFileAtomic } from '../src/index.js';

describe('writeFileAtomic (the one atomic write of the broker, the coordinator and the log)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, then replaces, a file, and leaves no temp file behind', async () => {
    const path = join(dir, 'state.json');
    await writeFileAtomic(path, '{"v":1}\n');
    expect(await readFile(path, 'utf8')).toBe('{"v":1}\n');
    await writeFileAtomic(path, Buffer.from('{"v":2}\n'));
    expect(await readFile(path, 'utf8')).toBe('{"v":2}\n');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('writes a file whose name takes all 255 bytes (the temp name is bounded too)', async () => {
    const name = fileNameFor('g'.repeat(400), '.json');
    expect(Buffer.byteLength(name)).toBe(MAX_FILE_NAME_BYTES);
    const sub = join(dir, 'long');
    await mkdir(sub);
    await writeFileAtomic(join(sub, name), 'x');
    expect(await readdir(sub)).toEqual([name]);
  });

  it('fails without a trace when the rename cannot happen, and keeps what was there', async () => {
    const sub = join(dir, 'blocked');
    await mkdir(join(sub, 'target'), { recursive: true });
    await expect(writeFileAtomic(join(sub, 'target'), 'x')).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(await readdir(sub)).toEqual(['target']);
    await expect(writeFileAtomic(join(dir, 'missing-dir', 'f'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fsyncs a directory', async () => {
    await expect(fsyncDir(dir)).resolves.toBeUndefined();
  });
});

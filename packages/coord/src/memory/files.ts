// JSON files for the in-process engine: a crash leaves the old file or the new one, never a torn
// one (writeFileAtomic of @strata/files, the one atomic write), with the failures as StrataErrors.

import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '@strata/files';
import { StrataError, isPermanentFsError, isTempFileName } from '@strata/protocol';

/** Replaces `path` with the JSON of `value`, atomically and durably. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  try {
    await writeFileAtomic(path, `${JSON.stringify(value)}\n`);
  } catch (e) {
    throw new StrataError('STORAGE_ERROR', `cannot write coordinator file ${shortName(path)}${errnoOf(e)}`, { cause: e, retriable: !isPermanentFsError(e) });
  }
}

export async function removeFile(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
    await fsyncDir(dirname(path));
  } catch (e) {
    throw new StrataError('STORAGE_ERROR', `cannot remove coordinator file ${shortName(path)}${errnoOf(e)}`, { cause: e, retriable: !isPermanentFsError(e) });
  }
}

/** The parsed JSON of `path`, or null when it does not exist. */
export async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StrataError('STORAGE_ERROR', `cannot read coordinator file ${shortName(path)}${errnoOf(e)}`, { cause: e, retriable: !isPermanentFsError(e) });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new StrataError('STORAGE_ERROR', `${path} is not JSON: refusing to start rather than lose coordination state`, { cause: e });
  }
}

/** ` (ENOSPC)`: the errno code of a failure, without the path its message carries. */
function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? ` (${code})` : '';
}

/**
 * `groups/<name>.json`: the file within the coordinator's directory, for messages a client may see
 * (the absolute path stays in the cause, which only the broker log shows).
 */
function shortName(path: string): string {
  return `${basename(dirname(path))}/${basename(path)}`;
}

/** The *.json files of a directory (none when it does not exist); leftover temp files are removed. */
export async function listJson(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StrataError('STORAGE_ERROR', `cannot list coordinator directory ${basename(dir)}${errnoOf(e)}`, { cause: e, retriable: !isPermanentFsError(e) });
  }
  // isTempFileName, not a substring test: a group id may itself contain ".json.tmp-".
  for (const name of names) if (isTempFileName(name)) await unlink(join(dir, name)).catch(() => undefined);
  return names.filter((n) => n.endsWith('.json')).sort();
}

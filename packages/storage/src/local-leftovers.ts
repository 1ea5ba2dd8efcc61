// What a crash (or a lost race) leaves behind in the local store, and the pass that removes it.
//
// Two kinds of file are nobody's object: a temporary file under `.strata-tmp` whose put never
// renamed it into place (a crash mid-put: up to a whole segment's bytes), and a body under
// `.strata-bodies` that no pointer names (a crash between the link and the pointer's rename, or two
// puts of one key racing; linked-object.ts). A put in flight owns such files for a moment, so only
// files left alone longer than a grace period are taken: a file's ctime moves with every write,
// link and unlink of it, and a put writes, links and renames within seconds.
//
// Temp files are never objects, so age alone condemns them. A body is kept while any pointer in the
// store names it: the pass lists old bodies first and walks the store's pointers only when there
// are any, stopping as soon as each of them is accounted for. In the usual case (no crash) it costs
// one readdir of each reserved directory.

import type { Dirent } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { invalidRequest, throwIfAborted } from './errors.js';
import { LINKED_BODIES_DIR, linkedBodyAt } from './linked-object.js';
import { MISSING_CODES, codeOf, fsError } from './local-files.js';

/** How long (ms) a file in a reserved directory must have been left alone before a sweep takes it. */
export const LEFTOVER_GRACE_MS = 3_600_000;

export interface LeftoverSweepOptions {
  /** Files whose ctime is at least this old (ms) are taken (default LEFTOVER_GRACE_MS). */
  olderThanMs?: number;
  signal?: AbortSignal;
}

/** What one sweep removed. */
export interface LeftoverSweep {
  tempFiles: number;
  bodies: number;
  /** Bytes of the files removed (a body's bytes are freed once the log drops its own link too). */
  bytes: number;
}

/** Removes the leftovers under `rootDir`'s reserved directories `tmpDirName` and LINKED_BODIES_DIR. */
export async function sweepLeftovers(rootDir: string, tmpDirName: string, options: LeftoverSweepOptions = {}): Promise<LeftoverSweep> {
  const what = `sweep of ${rootDir}`;
  const olderThanMs = options.olderThanMs ?? LEFTOVER_GRACE_MS;
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw invalidRequest(`olderThanMs must be a number of ms >= 0, not ${olderThanMs}`);
  const cutoffMs = Date.now() - olderThanMs;
  const result: LeftoverSweep = { tempFiles: 0, bodies: 0, bytes: 0 };

  for (const file of await oldFiles(join(rootDir, tmpDirName), cutoffMs, what)) {
    throwIfAborted(options.signal, what);
    if (await removed(file.path, what)) {
      result.tempFiles++;
      result.bytes += file.size;
    }
  }

  const bodiesDir = join(rootDir, LINKED_BODIES_DIR);
  const unclaimed = new Map((await oldFiles(bodiesDir, cutoffMs, what)).map((f) => [f.path, f.size]));
  if (unclaimed.size === 0) return result;
  for await (const object of objectFiles(rootDir, new Set([tmpDirName, LINKED_BODIES_DIR]), what)) {
    throwIfAborted(options.signal, what);
    const body = await linkedBodyAt(bodiesDir, object);
    if (body !== null) unclaimed.delete(body);
    if (unclaimed.size === 0) return result;
  }
  for (const [path, size] of unclaimed) {
    throwIfAborted(options.signal, what);
    if (await removed(path, what)) {
      result.bodies++;
      result.bytes += size;
    }
  }
  return result;
}

/** The plain files directly in `dir` last changed before `cutoffMs` (none when `dir` is missing). */
async function oldFiles(dir: string, cutoffMs: number, what: string): Promise<Array<{ path: string; size: number }>> {
  const out: Array<{ path: string; size: number }> = [];
  for (const entry of await entriesOf(dir, what)) {
    if (!entry.isFile()) continue;
    const path = join(dir, entry.name);
    const info = await lstat(path).catch(() => null); // gone meanwhile: nothing to take
    if (info !== null && info.isFile() && info.ctimeMs < cutoffMs) out.push({ path, size: info.size });
  }
  return out;
}

/** Every file of the store outside its reserved top-level directories, depth first. */
async function* objectFiles(rootDir: string, reserved: ReadonlySet<string>, what: string): AsyncGenerator<string> {
  const pending = [rootDir];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of await entriesOf(dir, what)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!(dir === rootDir && reserved.has(basename(path)))) pending.push(path);
      } else if (entry.isFile()) {
        yield path;
      }
    }
  }
}

async function entriesOf(dir: string, what: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (MISSING_CODES.has(codeOf(error) ?? '')) return [];
    throw fsError(error, what);
  }
}

/** Unlinks `path`; false when it was already gone. */
async function removed(path: string, what: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (MISSING_CODES.has(codeOf(error) ?? '')) return false;
    throw fsError(error, what);
  }
}

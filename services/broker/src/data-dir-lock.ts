import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/protocol';
import { META_DIR } from './topics/metadata-store.js';

const LOCK_FILE = 'broker.lock';
/** Data dirs this process holds: a second broker in the same process must fail too. */
const heldHere = new Set<string>();

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * One broker per data dir: two writing the same segments would corrupt them. The lock file holds
 * the owner's pid; a lock whose process is gone (a SIGKILLed broker) is stale and taken over.
 * Node has no flock, so a reused pid can make a stale lock look held: the error names the
 * file to remove.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(join(dataDir, META_DIR), { recursive: true });
  const path = join(dataDir, META_DIR, LOCK_FILE);
  if (heldHere.has(path)) throw inUse(dataDir, process.pid, path);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } catch (e) {
        // A full disk (the broker starts read-only): the lock file exists but cannot name its
        // owner, so another broker would take it as stale. Better than not starting at all.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOSPC' && code !== 'EDQUOT') {
          await handle.close();
          await unlink(path).catch(() => undefined);
          throw e;
        }
      }
      await handle.close();
      heldHere.add(path);
      return {
        release: async () => {
          heldHere.delete(path);
          await unlink(path).catch(() => undefined);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) throw inUse(dataDir, owner, path);
      await unlink(path).catch(() => undefined);
    }
  }
  throw inUse(dataDir, -1, path);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(dataDir: string, pid: number, path: string): StrataError {
  return new StrataError('STORAGE_ERROR', `data dir ${dataDir} is in use by another broker (pid ${pid}); if no broker runs there, remove ${path}`, {
    details: { dataDir, pid },
  });
}

// One atomic file write: a crash leaves the old file or the new one, never a torn one.
//
//   1. write `<dir>/<temp name>`, in the same directory (so the rename cannot cross file systems),
//      under a bounded name (tempFileNameFor: any `path` whose name fits has a temp that fits);
//   2. fsync the temp file: its bytes are on disk before its name is;
//   3. rename it over `path` (atomic on POSIX);
//   4. fsync the directory: the rename itself survives a power loss.
//
// A failure before the rename removes the temp file; a leftover of a crash is recognised by
// isTempFileName (@strata/protocol) and removed by whoever lists the directory.

import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tempFileNameFor } from '@strata/protocol';

/** Replaces `path` with `data` atomically and durably (the steps above). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await replaceFileAtomic(path, async (tmp) => {
    const handle = await open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Replaces `path` atomically and durably with a file `fill` makes at `tmp` (and syncs: step 2),
 * then steps 3 and 4. A failure before the rename removes `tmp`.
 */
export async function replaceFileAtomic(path: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, tempFileNameFor(basename(path)));
  let renamed = false;
  try {
    await fill(tmp);
    await rename(tmp, path);
    renamed = true;
    await fsyncDir(dir);
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}

/** fsyncs a directory, so that the names created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (e) {
    // Some platforms refuse fsync on a directory; the rename is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR') throw e;
  } finally {
    await handle.close();
  }
}

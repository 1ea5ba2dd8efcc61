// A sealed segment file may share its inode with an object: the embedded object store
// (LocalDirObjectStore.putFile) hard-links a sealed segment instead of copying it. Cutting such a
// file in place would cut the object too, so a truncation of a file with another link first makes
// the log a private copy and renames it over the log's name; the object keeps the old inode and
// every byte of it. Appends need no copy: they land past the object's length, which the object
// records (linked-object.ts in @strata/storage), and an append is cut back only to the segment's
// size, never below what a seal handed out.

import { constants } from 'node:fs';
import { copyFile, open, type FileHandle } from 'node:fs/promises';
import { replaceFileAtomic } from '@strata/files';

/**
 * Truncates the segment file at `path` (open as `file`) to `keepBytes`, durably. Returns true when
 * it was shared and `path` now names a private copy: `file` still names the shared inode, so the
 * caller must reopen `path` before touching the file again.
 */
export async function truncateUnshared(file: FileHandle, path: string, keepBytes: number): Promise<boolean> {
  if ((await file.stat()).nlink <= 1) {
    await file.truncate(keepBytes);
    await file.datasync();
    return false;
  }
  // A reflink where the file system has them; a kernel copy elsewhere. Rare: a follower's
  // truncation or a recovery, of a file that was uploaded.
  await replaceFileAtomic(path, async (tmp) => {
    await copyFile(path, tmp, constants.COPYFILE_FICLONE);
    const copy = await open(tmp, 'r+');
    try {
      await copy.truncate(keepBytes);
      await copy.sync();
    } finally {
      await copy.close();
    }
  });
  return true;
}

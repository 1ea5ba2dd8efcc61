/**
 * A small tmpfs for tests that need a file system that fills up (a full data disk, inodes that run
 * out part-way through a topic creation) without filling the machine's disk. Mounting needs root
 * (CAP_SYS_ADMIN): mountTmpfs answers null where it cannot mount, and the caller skips or falls back.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  readonly dir: string;
  /** Unmounts (lazily if busy) and removes the mount point; idempotent. */
  unmount(): void;
}

export function mountTmpfs(options: { sizeBytes: number; inodes?: number }): Tmpfs | null {
  const dir = mkdtempSync(join(tmpdir(), 'strata-tmpfs-'));
  const opts = [`size=${options.sizeBytes}`, ...(options.inodes === undefined ? [] : [`nr_inodes=${options.inodes}`])].join(',');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  let mounted = true;
  return {
    dir,
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

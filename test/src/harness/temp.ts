import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from './cleanup.js';

/** A fresh directory under the OS temp dir, removed by cleanupAll() or at exit (kept with STRATA_KEEP_TMP=1). */
export function tempDir(prefix = 'strata-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  trackDir(dir);
  return dir;
}

// The atomic write lives in @strata/files (one copy for the broker, the coordinator and the log);
// re-exported here for the broker's modules that import it from this file.
export { fsyncDir, writeFileAtomic } from '@strata/files';

export function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as NodeJS.ErrnoException).code === code;
}

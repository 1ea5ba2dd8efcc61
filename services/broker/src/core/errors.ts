// Any failure as a typed StrataError: what the core reports per partition and
// what every caller (HTTP today, the Kafka listener later) renders as its own error.

import { StrataError, isPermanentFsError, isStrataError } from '@strata/protocol';

/**
 * Any thrown value as a StrataError. `unexpected` is true for what is not an expected outcome
 * (a bug, or an I/O failure): those are logged with their stack.
 */
export function toStrataError(e: unknown): { error: StrataError; unexpected: boolean } {
  if (isStrataError(e)) return { error: e, unexpected: e.code === 'INTERNAL_ERROR' || e.code === 'STORAGE_ERROR' };
  const errno = e as NodeJS.ErrnoException | null;
  if (errno && typeof errno === 'object' && typeof errno.code === 'string' && typeof errno.syscall === 'string') {
    if (errno.code === 'ENOSPC' || errno.code === 'EDQUOT') {
      return { error: new StrataError('STORAGE_FULL', `no space left on the data disk (${errno.code})`, { cause: e }), unexpected: false };
    }
    // A file-system failure (EIO, EMFILE, ...): retriable from the client's side, unless
    // the same request can never succeed (a name the file system refuses).
    return {
      error: new StrataError('STORAGE_ERROR', `storage failure: ${errno.code} (${errno.syscall})`, { cause: e, retriable: !isPermanentFsError(e) }),
      unexpected: true,
    };
  }
  return { error: new StrataError('INTERNAL_ERROR', 'internal error (see the broker log)', { cause: e }), unexpected: true };
}

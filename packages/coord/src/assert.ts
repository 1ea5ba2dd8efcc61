import { StrataError } from '@strata/protocol';

/**
 * An invariant of this package's own code or of the data it stored, not a check of input:
 * failing it is a bug (or corruption), so it surfaces as INTERNAL_ERROR.
 */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new StrataError('INTERNAL_ERROR', `assertion failed: ${message}`);
}

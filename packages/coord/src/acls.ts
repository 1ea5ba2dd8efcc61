// ACL bindings in the coordinator (Kafka's ACL model, @strata/protocol acls.ts): what both engines
// share. The store is one set of bindings and a version that moves on every change, so a broker's
// cache (services/broker/src/auth/acl-cache.ts) asks only the version while nothing changed.

import { StrataError, aclBindingKey, checkAclBinding, type AclBinding } from '@strata/protocol';

/** Bindings the coordinator stores at most: each broker caches them all and matches in memory. */
export const ACLS_MAX = 10_000;
/** Bindings one createAcls or deleteAcls call may carry. */
export const ACLS_PER_CALL_MAX = 1000;

export interface AclSnapshot {
  /** Moves on every change that added or removed a binding (0: none ever did). */
  version: number;
  /** Sorted by key (aclBindingKey): the same set reads the same everywhere. */
  bindings: AclBinding[];
}

export interface AclChange {
  /** Bindings that were added (createAcls: absent before) or removed (deleteAcls: present before). */
  changed: number;
  /** The version after the call. */
  version: number;
}

/** Checks every binding (INVALID_REQUEST names the first bad one) and the call bound; the keys, deduplicated. */
export function aclKeysOf(what: string, bindings: readonly AclBinding[]): string[] {
  if (!Array.isArray(bindings) || bindings.length > ACLS_PER_CALL_MAX) {
    throw new StrataError('INVALID_REQUEST', `${what}: 0..${ACLS_PER_CALL_MAX} bindings per call`, { details: { reason: 'INVALID_ACL' } });
  }
  for (const b of bindings) checkAclBinding(b);
  return [...new Set(bindings.map(aclBindingKey))];
}

export function aclLimitReached(stored: number, adding: number): StrataError {
  return new StrataError('INVALID_REQUEST', `the coordinator holds ${stored} ACL bindings; adding ${adding} would pass the most it stores (${ACLS_MAX}): delete some first`, {
    details: { reason: 'ACL_LIMIT_REACHED', stored, adding, max: ACLS_MAX },
  });
}

// The int8 codes Kafka's ACL APIs carry (Kafka's ResourceType, PatternType, AclOperation and
// AclPermissionType) and Strata's names for them (@strata/protocol acls.ts). A code with no Strata
// name (UNKNOWN, a delegation token, a user, CLUSTER_ACTION, ...) is null: a binding naming it is
// refused, a filter naming it matches nothing.

import type { AclOperation, AclPatternType, AclPermission, AclResourceType } from '@strata/protocol';

export const ACL_ANY = 1;
export const ACL_PATTERN_MATCH = 2;

const RESOURCE_TYPES: ReadonlyArray<[number, AclResourceType]> = [[2, 'topic'], [3, 'group'], [4, 'cluster'], [5, 'transactional-id']];
const PATTERN_TYPES: ReadonlyArray<[number, AclPatternType]> = [[3, 'literal'], [4, 'prefixed']];
const OPERATIONS: ReadonlyArray<[number, AclOperation]> = [
  [2, 'all'],
  [3, 'read'],
  [4, 'write'],
  [5, 'create'],
  [6, 'delete'],
  [7, 'alter'],
  [8, 'describe'],
  [10, 'describe-configs'],
  [11, 'alter-configs'],
  [12, 'idempotent-write'],
];
const PERMISSIONS: ReadonlyArray<[number, AclPermission]> = [[2, 'deny'], [3, 'allow']];

function table<T extends string>(pairs: ReadonlyArray<[number, T]>): { name: (code: number) => T | null; code: (name: T) => number } {
  const byCode = new Map(pairs);
  const byName = new Map(pairs.map(([c, n]) => [n, c]));
  return { name: (code) => byCode.get(code) ?? null, code: (name) => byName.get(name)! };
}

export const aclResourceTypeCode = table(RESOURCE_TYPES);
export const aclPatternTypeCode = table(PATTERN_TYPES);
export const aclOperationCode = table(OPERATIONS);
export const aclPermissionCode = table(PERMISSIONS);

// Kafka's ACL model as data: a binding (who may or may not do what on which resources, from where),
// its validation, and the filters that list and delete bindings (Kafka's AclBindingFilter). Shared
// by the coordinator (storage), the HTTP schemas, the Kafka ACL APIs, the CLI and the broker's
// authorizer (services/broker/src/auth/), so the rule of a valid binding is written once, here.
// Deciding whether a request is allowed is the authorizer's job, not this module's.

import { isIP } from 'node:net';
import { StrataError } from './errors.js';

export const ACL_RESOURCE_TYPES = ['topic', 'group', 'cluster', 'transactional-id'] as const;
export const ACL_PATTERN_TYPES = ['literal', 'prefixed'] as const;
export const ACL_OPERATIONS = ['read', 'write', 'create', 'delete', 'alter', 'describe', 'describe-configs', 'alter-configs', 'idempotent-write', 'all'] as const;
export const ACL_PERMISSIONS = ['allow', 'deny'] as const;

export type AclResourceType = (typeof ACL_RESOURCE_TYPES)[number];
export type AclPatternType = (typeof ACL_PATTERN_TYPES)[number];
export type AclOperation = (typeof ACL_OPERATIONS)[number];
export type AclPermission = (typeof ACL_PERMISSIONS)[number];

/** The one name of the cluster resource, as Kafka's ("kafka-cluster"), so Kafka tools' bindings fit. */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';
/** A literal binding on this name matches every resource of its type; with this principal, every principal; this host, every host. */
export const ACL_WILDCARD = '*';
export const ACL_WILDCARD_PRINCIPAL = 'User:*';
/** The principal of a request nobody authenticated (Kafka's). */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';
/** Longest principal, resource name and host a binding may hold (UTF-16 units): bounds what one stored binding costs. */
export const ACL_FIELD_LENGTH_MAX = 1024;

export interface AclBinding {
  /** `<type>:<name>` (Kafka's form: `User:alice`), or `User:*` for every principal. */
  principal: string;
  /** `*` or one IP address. */
  host: string;
  resourceType: AclResourceType;
  patternType: AclPatternType;
  /** A name, a prefix (prefixed), `*` (literal: every resource of the type); the cluster's is "kafka-cluster". */
  resourceName: string;
  operation: AclOperation;
  permission: AclPermission;
}

/**
 * Kafka's AclBindingFilter: an absent field matches any value. patternType `match` (Kafka's MATCH)
 * selects every binding that applies to the named resource: its literal, the literal `*`, and each
 * prefix of the name; `any` (or absent) with a name selects that exact name under either pattern type.
 */
export interface AclFilter {
  principal?: string;
  host?: string;
  resourceType?: AclResourceType;
  patternType?: AclPatternType | 'match' | 'any';
  resourceName?: string;
  operation?: AclOperation;
  permission?: AclPermission;
}

const PRINCIPAL_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*:.+$/s;

/** What is wrong with the principal (`User:name`), or null. */
export function aclPrincipalProblem(principal: unknown): string | null {
  if (typeof principal !== 'string' || !PRINCIPAL_PATTERN.test(principal)) return `principal must be <type>:<name> (Kafka's form, e.g. "User:alice", or "User:*"), got ${JSON.stringify(principal)}`;
  if (principal.length > ACL_FIELD_LENGTH_MAX) return `principal is longer than ${ACL_FIELD_LENGTH_MAX} characters`;
  return null;
}

/** What is wrong with the host (`*` or an IP address), or null. */
export function aclHostProblem(host: unknown): string | null {
  if (host === ACL_WILDCARD) return null;
  if (typeof host !== 'string' || isIP(host) === 0) return `host must be "*" or an IP address, got ${JSON.stringify(host)}`;
  return null;
}

/** Every problem of a binding (empty: valid). */
export function aclBindingProblems(b: AclBinding): string[] {
  const problems: string[] = [];
  const principal = aclPrincipalProblem(b.principal);
  if (principal !== null) problems.push(principal);
  const host = aclHostProblem(b.host);
  if (host !== null) problems.push(host);
  if (!ACL_RESOURCE_TYPES.includes(b.resourceType)) problems.push(`resourceType must be one of ${ACL_RESOURCE_TYPES.join(', ')}`);
  if (!ACL_PATTERN_TYPES.includes(b.patternType)) problems.push(`patternType must be one of ${ACL_PATTERN_TYPES.join(', ')}`);
  if (!ACL_OPERATIONS.includes(b.operation)) problems.push(`operation must be one of ${ACL_OPERATIONS.join(', ')}`);
  if (!ACL_PERMISSIONS.includes(b.permission)) problems.push(`permission must be one of ${ACL_PERMISSIONS.join(', ')}`);
  if (typeof b.resourceName !== 'string' || b.resourceName === '' || b.resourceName.length > ACL_FIELD_LENGTH_MAX) {
    problems.push(`resourceName must be 1..${ACL_FIELD_LENGTH_MAX} characters`);
  } else if (b.resourceType === 'cluster' && (b.resourceName !== CLUSTER_RESOURCE_NAME || b.patternType !== 'literal')) {
    problems.push(`the cluster resource is the literal "${CLUSTER_RESOURCE_NAME}"`);
  } else if (b.patternType === 'prefixed' && b.resourceName === ACL_WILDCARD) {
    // Kafka refuses it too: a prefixed "*" would read as "names starting with *", never what was meant.
    problems.push('a prefixed pattern cannot be "*" (use the literal "*" for every resource)');
  }
  return problems;
}

/** Throws INVALID_REQUEST naming every problem of the binding; the caller changes nothing. */
export function checkAclBinding(b: AclBinding): void {
  const problems = aclBindingProblems(b);
  if (problems.length > 0) {
    throw new StrataError('INVALID_REQUEST', `invalid ACL binding: ${problems.join('; ')}`, { details: { reason: 'INVALID_ACL', problems } });
  }
}

/** The binding's identity (two bindings with equal fields are one): a stored key, never parsed back by hand. */
export function aclBindingKey(b: AclBinding): string {
  return JSON.stringify([b.principal, b.host, b.resourceType, b.patternType, b.resourceName, b.operation, b.permission]);
}

/** The binding back from its key; null when the key is not one (a corrupt store). */
export function aclBindingFromKey(key: string): AclBinding | null {
  let fields: unknown;
  try {
    fields = JSON.parse(key);
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields.length !== 7 || fields.some((f) => typeof f !== 'string')) return null;
  const [principal, host, resourceType, patternType, resourceName, operation, permission] = fields as string[];
  const binding = { principal, host, resourceType, patternType, resourceName, operation, permission } as AclBinding;
  return aclBindingProblems(binding).length === 0 ? binding : null;
}

/** Whether the binding is selected by the filter (Kafka's AclBindingFilter.matches). */
export function aclFilterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.principal !== undefined && f.principal !== b.principal) return false;
  if (f.host !== undefined && f.host !== b.host) return false;
  if (f.resourceType !== undefined && f.resourceType !== b.resourceType) return false;
  if (f.operation !== undefined && f.operation !== b.operation) return false;
  if (f.permission !== undefined && f.permission !== b.permission) return false;
  const pattern = f.patternType ?? 'any';
  if (pattern === 'match') {
    if (f.resourceName === undefined) return true;
    if (b.patternType === 'literal') return b.resourceName === f.resourceName || b.resourceName === ACL_WILDCARD;
    return f.resourceName.startsWith(b.resourceName);
  }
  if (pattern !== 'any' && pattern !== b.patternType) return false;
  return f.resourceName === undefined || f.resourceName === b.resourceName;
}

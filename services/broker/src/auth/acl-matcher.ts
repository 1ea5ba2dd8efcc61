// Kafka's authorization decision over a set of ACL bindings (Kafka's AclAuthorizer.authorize), pure:
// the bindings that apply to a resource are its literal ones, the literal "*" of its type, and every
// prefixed one whose prefix starts its name. Among those:
// - a deny that matches the principal (or User:*), the host (or *) and the operation (or all) wins;
// - else an allow that matches them and the operation, or an operation that implies it (read, write,
//   delete and alter imply describe; alter-configs implies describe-configs; all implies every one);
// - no binding at all on the resource: allowed only with allow.everyone.if.no.acl.found.
// Super users are allowed before any of this (authorizer.ts).

import {
  ACL_WILDCARD,
  ACL_WILDCARD_PRINCIPAL,
  type AclBinding,
  type AclOperation,
  type AclResourceType,
} from '@strata/protocol';

/** Operations whose allow also allows the key (Kafka's AclEntry.supportedOperations implication). */
const IMPLIED_BY: Readonly<Partial<Record<AclOperation, readonly AclOperation[]>>> = {
  describe: ['describe', 'read', 'write', 'delete', 'alter', 'all'],
  'describe-configs': ['describe-configs', 'alter-configs', 'all'],
};

export type AclDecision = 'allowed' | 'denied';

/** Why: a deny matched; an allow matched; nothing on the resource at all; bindings there, none allowing. */
export type AclReason = 'deny-acl' | 'allow-acl' | 'no-acl-found' | 'no-matching-allow';

interface TypeIndex {
  literal: Map<string, AclBinding[]>;
  prefixed: Map<string, AclBinding[]>;
  /** The longest prefix stored: names are looked up only up to it. */
  prefixLengthMax: number;
}

/** The bindings indexed for lookups by resource: what a broker holds in memory and matches every request against. */
export class AclMatcher {
  readonly #byType = new Map<AclResourceType, TypeIndex>();
  readonly size: number;

  constructor(bindings: readonly AclBinding[]) {
    this.size = bindings.length;
    for (const b of bindings) {
      let index = this.#byType.get(b.resourceType);
      if (index === undefined) {
        index = { literal: new Map(), prefixed: new Map(), prefixLengthMax: 0 };
        this.#byType.set(b.resourceType, index);
      }
      const map = b.patternType === 'literal' ? index.literal : index.prefixed;
      const list = map.get(b.resourceName);
      if (list === undefined) map.set(b.resourceName, [b]);
      else list.push(b);
      if (b.patternType === 'prefixed') index.prefixLengthMax = Math.max(index.prefixLengthMax, b.resourceName.length);
    }
  }

  /** Every binding that applies to the resource (any principal, host or operation). */
  bindingsFor(resourceType: AclResourceType, name: string): AclBinding[] {
    const index = this.#byType.get(resourceType);
    if (index === undefined) return [];
    const out: AclBinding[] = [...(index.literal.get(name) ?? [])];
    if (name !== ACL_WILDCARD) out.push(...(index.literal.get(ACL_WILDCARD) ?? []));
    // One lookup per prefix length of the name: bounded by the name, not by how many prefixes are stored.
    const longest = Math.min(name.length, index.prefixLengthMax);
    for (let length = 1; length <= longest; length++) out.push(...(index.prefixed.get(name.slice(0, length)) ?? []));
    return out;
  }

  decide(principal: string, host: string, operation: AclOperation, resourceType: AclResourceType, name: string, allowEveryoneIfNoAclFound: boolean): { decision: AclDecision; reason: AclReason } {
    const applicable = this.bindingsFor(resourceType, name);
    if (applicable.length === 0) return { decision: allowEveryoneIfNoAclFound ? 'allowed' : 'denied', reason: 'no-acl-found' };
    const who = (b: AclBinding): boolean => (b.principal === principal || b.principal === ACL_WILDCARD_PRINCIPAL) && (b.host === ACL_WILDCARD || b.host === host);
    // A deny names the operation itself or all: deny read does not deny describe (Kafka's rule).
    if (applicable.some((b) => b.permission === 'deny' && who(b) && (b.operation === operation || b.operation === 'all'))) return { decision: 'denied', reason: 'deny-acl' };
    const allowing = IMPLIED_BY[operation] ?? [operation, 'all'];
    if (applicable.some((b) => b.permission === 'allow' && who(b) && allowing.includes(b.operation))) return { decision: 'allowed', reason: 'allow-acl' };
    return { decision: 'denied', reason: 'no-matching-allow' };
  }
}

/** A client address as ACL hosts name it: an IPv4 address reached over an IPv6 socket (`::ffff:10.0.0.1`) is the IPv4 one. */
export function aclHostOf(address: string | undefined): string {
  if (address === undefined || address === '') return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

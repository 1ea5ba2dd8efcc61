// Kafka's authorization decision (auth/acl-matcher.ts) and the filters of listing and deleting
// bindings (@strata/protocol acls.ts), against Kafka's documented rules.

import { describe, expect, it } from 'vitest';
import { aclFilterMatches, type AclBinding, type AclOperation } from '@strata/protocol';
import { AclMatcher, aclHostOf } from '../src/auth/acl-matcher.js';
import { principalOf } from '../src/auth/principal.js';

function acl(overrides: Partial<AclBinding> = {}): AclBinding {
  return { principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'literal', resourceName: 'orders', operation: 'read', permission: 'allow', ...overrides };
}

function allowed(bindings: AclBinding[], operation: AclOperation, name = 'orders', options: { principal?: string; host?: string; type?: AclBinding['resourceType']; open?: boolean } = {}): boolean {
  const m = new AclMatcher(bindings);
  return m.decide(options.principal ?? 'User:alice', options.host ?? '10.0.0.1', operation, options.type ?? 'topic', name, options.open ?? false).decision === 'allowed';
}

describe('the ACL matcher', () => {
  it('allows what an allow binding names, and nothing else without one', () => {
    expect(allowed([acl()], 'read')).toBe(true);
    expect(allowed([acl()], 'write')).toBe(false);
    expect(allowed([acl()], 'read', 'orders', { principal: 'User:bob' })).toBe(false);
    expect(allowed([acl()], 'read', 'payments')).toBe(false);
    expect(allowed([acl()], 'read', 'orders', { type: 'group' })).toBe(false);
  });

  it('lets a deny beat any allow (deny names the operation or all; a deny of read leaves describe)', () => {
    const both = [acl({ operation: 'all' }), acl({ permission: 'deny' })];
    expect(allowed(both, 'read')).toBe(false);
    expect(allowed(both, 'write')).toBe(true);
    expect(allowed(both, 'describe')).toBe(true);
    expect(allowed([acl({ operation: 'all' }), acl({ permission: 'deny', operation: 'all', principal: 'User:*' })], 'write')).toBe(false);
    expect(allowed([acl({ operation: 'all' }), acl({ permission: 'deny', patternType: 'prefixed', resourceName: 'ord' })], 'read')).toBe(false);
  });

  it('implies describe from read, write, delete and alter, and describe-configs from alter-configs, as Kafka does', () => {
    for (const op of ['read', 'write', 'delete', 'alter'] as const) expect(allowed([acl({ operation: op })], 'describe'), op).toBe(true);
    expect(allowed([acl({ operation: 'create' })], 'describe')).toBe(false);
    expect(allowed([acl({ operation: 'alter-configs' })], 'describe-configs')).toBe(true);
    expect(allowed([acl({ operation: 'describe-configs' })], 'alter-configs')).toBe(false);
    expect(allowed([acl({ operation: 'describe' })], 'read')).toBe(false);
    expect(allowed([acl({ operation: 'all' })], 'idempotent-write', 'kafka-cluster', { type: 'cluster' })).toBe(false);
    expect(allowed([acl({ operation: 'all', resourceType: 'cluster', resourceName: 'kafka-cluster' })], 'idempotent-write', 'kafka-cluster', { type: 'cluster' })).toBe(true);
  });

  it('matches prefixed patterns as Kafka does: the name starts with the prefix, nothing else', () => {
    const prefixed = [acl({ patternType: 'prefixed', resourceName: 'orders.' })];
    expect(allowed(prefixed, 'read', 'orders.eu')).toBe(true);
    expect(allowed(prefixed, 'read', 'orders.')).toBe(true);
    expect(allowed(prefixed, 'read', 'orders')).toBe(false);
    expect(allowed(prefixed, 'read', 'xorders.eu')).toBe(false);
    // A literal is not a prefix: "orders" does not cover "orders.eu".
    expect(allowed([acl()], 'read', 'orders.eu')).toBe(false);
    // Several prefixes of one name all apply.
    const nested = [acl({ patternType: 'prefixed', resourceName: 'o', operation: 'write' }), acl({ patternType: 'prefixed', resourceName: 'orders.e' })];
    expect(allowed(nested, 'read', 'orders.eu')).toBe(true);
    expect(allowed(nested, 'write', 'orders.eu')).toBe(true);
    expect(allowed(nested, 'read', 'orders.us')).toBe(false);
  });

  it('matches the literal "*" resource, the User:* principal and the * host; a host binding only from that address', () => {
    expect(allowed([acl({ resourceName: '*' })], 'read', 'anything')).toBe(true);
    expect(allowed([acl({ principal: 'User:*' })], 'read', 'orders', { principal: 'User:bob' })).toBe(true);
    expect(allowed([acl({ host: '10.0.0.1' })], 'read')).toBe(true);
    expect(allowed([acl({ host: '10.0.0.2' })], 'read')).toBe(false);
  });

  it('answers a resource no binding names by allow.everyone.if.no.acl.found; one with any binding, by the bindings', () => {
    expect(allowed([], 'write', 'orders', { open: true })).toBe(true);
    expect(allowed([], 'write', 'orders', { open: false })).toBe(false);
    // A binding for bob on the topic makes it closed to alice, open or not.
    expect(allowed([acl({ principal: 'User:bob' })], 'read', 'orders', { open: true })).toBe(false);
    expect(new AclMatcher([]).decide('User:alice', '', 'read', 'topic', 'x', false).reason).toBe('no-acl-found');
    expect(new AclMatcher([acl({ principal: 'User:bob' })]).decide('User:alice', '', 'read', 'topic', 'orders', false).reason).toBe('no-matching-allow');
  });

  it('reads an IPv4 client on an IPv6 socket as its IPv4 address', () => {
    expect(aclHostOf('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(aclHostOf('::1')).toBe('::1');
    expect(aclHostOf(undefined)).toBe('');
  });

  it('names principals in Kafka\'s form: anonymous, a bare certificate subject, a User: name kept', () => {
    expect(principalOf(undefined)).toBe('User:ANONYMOUS');
    expect(principalOf('CN=alice,O=acme')).toBe('User:CN=alice,O=acme');
    expect(principalOf('User:alice')).toBe('User:alice');
  });
});

describe('ACL filters (Kafka\'s AclBindingFilter)', () => {
  const bindings = [
    acl(),
    acl({ resourceName: '*' }),
    acl({ patternType: 'prefixed', resourceName: 'ord' }),
    acl({ patternType: 'prefixed', resourceName: 'pay' }),
    acl({ principal: 'User:bob', operation: 'write', permission: 'deny' }),
  ];
  const select = (f: Parameters<typeof aclFilterMatches>[0]): AclBinding[] => bindings.filter((b) => aclFilterMatches(f, b));

  it('matches any value of a field left out', () => {
    expect(select({})).toHaveLength(bindings.length);
    expect(select({ principal: 'User:bob' })).toEqual([bindings[4]]);
    expect(select({ permission: 'deny' })).toEqual([bindings[4]]);
  });

  it('with a name and pattern any (or none): that exact name under either pattern type', () => {
    expect(select({ resourceName: 'ord' })).toEqual([bindings[2]]);
    expect(select({ resourceName: 'ord', patternType: 'literal' })).toEqual([]);
  });

  it('with pattern match: every binding that applies to the named resource', () => {
    expect(select({ resourceName: 'orders', patternType: 'match' })).toEqual([bindings[0], bindings[1], bindings[2], bindings[4]]);
  });
});

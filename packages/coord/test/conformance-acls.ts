// The ACL part of the Coordinator conformance suite (conformance.ts calls it for every engine).

import { describe, expect, it } from 'vitest';
import { ACLS_PER_CALL_MAX, type Coordinator } from '@strata/coord';
import type { AclBinding } from '@strata/protocol';
import { expectStrataError, type ConformanceTarget } from './conformance.js';

export function binding(overrides: Partial<AclBinding> = {}): AclBinding {
  return { principal: 'User:alice', host: '*', resourceType: 'topic', patternType: 'literal', resourceName: 'orders', operation: 'read', permission: 'allow', ...overrides };
}

export function describeAclConformance(current: () => { co: Coordinator; target: ConformanceTarget }): void {
  describe('ACL bindings', () => {
    it('starts empty at version 0', async () => {
      const { co } = current();
      expect(await co.listAcls()).toEqual({ version: 0, bindings: [] });
      expect(await co.aclsVersion()).toBe(0);
    });

    it('adds each binding once, moves the version only on a change, and lists them sorted', async () => {
      const { co } = current();
      const a = binding();
      const b = binding({ principal: 'User:bob', patternType: 'prefixed', resourceName: 'ord', permission: 'deny', operation: 'all' });
      expect(await co.createAcls([a, b, a])).toEqual({ changed: 2, version: 1 });
      expect(await co.createAcls([a])).toEqual({ changed: 0, version: 1 });
      const listed = await co.listAcls();
      expect(listed.version).toBe(1);
      expect(listed.bindings).toHaveLength(2);
      expect(listed.bindings).toEqual(expect.arrayContaining([a, b]));
      expect(await co.aclsVersion()).toBe(1);
    });

    it('deletes exactly the given bindings, ignoring those not stored', async () => {
      const { co } = current();
      const a = binding();
      const b = binding({ operation: 'write' });
      await co.createAcls([a, b]);
      expect(await co.deleteAcls([a, binding({ principal: 'User:nobody' })])).toEqual({ changed: 1, version: 2 });
      expect((await co.listAcls()).bindings).toEqual([b]);
      expect(await co.deleteAcls([a])).toEqual({ changed: 0, version: 2 });
    });

    it('refuses a bad binding (all or nothing) and writes nothing', async () => {
      const { co, target } = current();
      const before = await target.footprint();
      await expectStrataError(co.createAcls([binding(), binding({ host: 'not-an-ip' })]), 'INVALID_REQUEST', 'INVALID_ACL');
      await expectStrataError(co.createAcls([binding({ principal: 'alice' })]), 'INVALID_REQUEST', 'INVALID_ACL');
      await expectStrataError(co.createAcls([binding({ resourceType: 'cluster', resourceName: 'other' })]), 'INVALID_REQUEST', 'INVALID_ACL');
      await expectStrataError(co.createAcls([binding({ operation: 'fly' as AclBinding['operation'] })]), 'INVALID_REQUEST', 'INVALID_ACL');
      await expectStrataError(co.createAcls(Array.from({ length: ACLS_PER_CALL_MAX + 1 }, (_, i) => binding({ resourceName: `t${i}` }))), 'INVALID_REQUEST', 'INVALID_ACL');
      expect(await target.footprint()).toBe(before);
      expect(await co.listAcls()).toEqual({ version: 0, bindings: [] });
    });

    it('keeps odd but valid names and principals as they are', async () => {
      const { co } = current();
      const odd = [
        binding({ principal: 'User:CN=alice,O=acme\\, inc', resourceName: '__proto__' }),
        binding({ principal: 'User:*', host: '::1', resourceName: '*' }),
        binding({ resourceType: 'cluster', resourceName: 'kafka-cluster', operation: 'idempotent-write' }),
        binding({ resourceType: 'transactional-id', patternType: 'prefixed', resourceName: 'tx "quoted" b:1' }),
      ];
      await co.createAcls(odd);
      expect((await co.listAcls()).bindings).toEqual(expect.arrayContaining(odd));
      expect(await co.deleteAcls(odd)).toMatchObject({ changed: 4 });
      expect((await co.listAcls()).bindings).toEqual([]);
    });
  });
}

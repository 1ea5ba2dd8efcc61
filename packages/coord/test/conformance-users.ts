// The conformance suite's users and API tokens (conformance.ts runs it for every engine).

import { describe, expect, it } from 'vitest';
import { USER_LIMITS, type ApiTokenRecord, type Coordinator, type ScramCredential, type ScramMechanism, type UserRecord } from '@strata/coord';
import { expectStrataError, type ConformanceTarget } from './conformance.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

export function user(name: string, iterations = 4096, createdAtMs = 1_700_000_000_000): UserRecord {
  return {
    name,
    createdAtMs,
    credentials: [
      { mechanism: 'SCRAM-SHA-256', salt: 'c2FsdA==', iterations, storedKey: KEY, serverKey: KEY },
      { mechanism: 'SCRAM-SHA-512', salt: 'c2FsdA==', iterations, storedKey: KEY, serverKey: KEY },
    ],
  };
}

export function token(id: string, owner: string, expiresAtMs: number | null = null): ApiTokenRecord {
  return { id: id.padEnd(16, '0'), user: owner, name: `token ${id}`, hash: 'ab'.repeat(32), createdAtMs: 1_700_000_000_000, expiresAtMs };
}

export function describeUserConformance(get: () => { co: Coordinator; target: ConformanceTarget }): void {
  describe('users and API tokens', () => {
    it('creates, replaces (keeping createdAtMs), lists sorted and deletes users', async () => {
      const { co } = get();
      expect(await co.putUser(user('bob'))).toEqual({ created: true });
      expect(await co.putUser(user('alice@acme'))).toEqual({ created: true });
      expect(await co.putUser(user('bob', 8192, 1_800_000_000_000))).toEqual({ created: false });
      const bob = await co.getUser('bob');
      expect(bob?.createdAtMs).toBe(1_700_000_000_000);
      expect(bob?.credentials.map((c) => c.iterations)).toEqual([8192, 8192]);
      expect((await co.listUsers()).map((u) => u.name)).toEqual(['alice@acme', 'bob']);
      expect(await co.getUser('nobody')).toBeNull();
      expect(await co.deleteUser('bob')).toBe(true);
      expect(await co.deleteUser('bob')).toBe(false);
      expect((await co.listUsers()).map((u) => u.name)).toEqual(['alice@acme']);
    });

    it('names that are Object.prototype members are users like any other', async () => {
      const { co } = get();
      await co.putUser(user('__proto__'));
      await co.putUser(user('constructor'));
      expect((await co.getUser('__proto__'))?.name).toBe('__proto__');
      expect(await co.getUser('toString')).toBeNull();
    });

    it('refuses bad users (fewer iterations than RFC 7677 asks, a bad name, two credentials of one mechanism) and writes nothing', async () => {
      const { co, target } = get();
      const before = await target.footprint();
      await expectStrataError(co.putUser(user('carol', 4095)), 'INVALID_REQUEST');
      await expectStrataError(co.putUser(user('a,b')), 'INVALID_REQUEST');
      await expectStrataError(co.putUser(user('x'.repeat(USER_LIMITS.userNameLengthMax + 1))), 'INVALID_REQUEST');
      const twice = user('dave');
      twice.credentials[1]!.mechanism = 'SCRAM-SHA-256';
      await expectStrataError(co.putUser(twice), 'INVALID_REQUEST');
      await expectStrataError(co.putUser({ ...user('erin'), credentials: [] }), 'INVALID_REQUEST');
      expect(await target.footprint()).toBe(before);
    });

    it('issues, finds, lists and revokes tokens of an existing user only', async () => {
      const { co, target } = get();
      const before = await target.footprint();
      await expectStrataError(co.createToken(token('a1', 'ghost')), 'NOT_FOUND', 'UNKNOWN_USER');
      expect(await target.footprint()).toBe(before);
      await co.putUser(user('alice'));
      await co.putUser(user('bob'));
      await co.createToken(token('b2', 'alice', 1_900_000_000_000));
      await co.createToken(token('a1', 'alice'));
      await co.createToken(token('c3', 'bob'));
      await expectStrataError(co.createToken(token('a1', 'bob')), 'INVALID_REQUEST', 'DUPLICATE_TOKEN_ID');
      expect(await co.getToken(token('b2', 'alice').id)).toEqual(token('b2', 'alice', 1_900_000_000_000));
      expect((await co.listTokens('alice')).map((t) => t.id)).toEqual([token('a1', 'x').id, token('b2', 'x').id]);
      expect(await co.revokeToken('bob', token('a1', 'x').id)).toBe(false);
      expect(await co.revokeToken('alice', token('a1', 'x').id)).toBe(true);
      expect(await co.revokeToken('alice', token('a1', 'x').id)).toBe(false);
      expect(await co.getToken(token('a1', 'x').id)).toBeNull();
      expect(await co.deleteUser('alice')).toBe(true);
      expect(await co.getToken(token('b2', 'x').id)).toBeNull();
      expect((await co.listTokens('bob')).map((t) => t.id)).toEqual([token('c3', 'x').id]);
    });

    it('alters one user\'s SCRAM credentials at once (Kafka AlterUserScramCredentials): upsert creates, removal of a missing one changes nothing, the last removed leaves the user and its tokens', async () => {
      const { co } = get();
      const [sha256, sha512] = user('x', 8192).credentials as [ScramCredential, ScramCredential];
      const change = (upsert: ScramCredential[], remove: ScramMechanism[]) => ({ name: 'kafka-admin', upsert, remove, createdAtMs: 1_750_000_000_000 });
      expect(await co.alterScramCredentials(change([], ['SCRAM-SHA-256']))).toBe('missing');
      expect(await co.getUser('kafka-admin')).toBeNull();
      expect(await co.alterScramCredentials(change([sha512], []))).toBe('created');
      expect(await co.getUser('kafka-admin')).toEqual({ name: 'kafka-admin', createdAtMs: 1_750_000_000_000, credentials: [sha512] });
      await co.createToken(token('a9', 'kafka-admin'));
      expect(await co.alterScramCredentials({ ...change([{ ...sha256, iterations: 4096 }], ['SCRAM-SHA-512']), createdAtMs: 1 })).toBe('altered');
      expect(await co.getUser('kafka-admin')).toEqual({ name: 'kafka-admin', createdAtMs: 1_750_000_000_000, credentials: [{ ...sha256, iterations: 4096 }] });
      expect(await co.alterScramCredentials(change([sha512], []))).toBe('altered');
      expect((await co.getUser('kafka-admin'))?.credentials.map((c) => c.mechanism).sort()).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
      expect(await co.alterScramCredentials(change([], ['SCRAM-SHA-256', 'SCRAM-SHA-512']))).toBe('altered');
      expect(await co.getUser('kafka-admin')).toEqual({ name: 'kafka-admin', createdAtMs: 1_750_000_000_000, credentials: [] });
      expect((await co.listUsers()).find((u) => u.name === 'kafka-admin')?.credentials).toEqual([]);
      expect((await co.listTokens('kafka-admin')).map((t) => t.id)).toEqual([token('a9', 'x').id]);
    });

    it('refuses a bad SCRAM credential change (a mechanism twice, none, too few iterations, an unknown mechanism) and writes nothing', async () => {
      const { co, target } = get();
      const [sha256] = user('x').credentials as [ScramCredential];
      const before = await target.footprint();
      await expectStrataError(co.alterScramCredentials({ name: 'm', upsert: [sha256], remove: ['SCRAM-SHA-256'], createdAtMs: 1 }), 'INVALID_REQUEST');
      await expectStrataError(co.alterScramCredentials({ name: 'm', upsert: [], remove: [], createdAtMs: 1 }), 'INVALID_REQUEST');
      await expectStrataError(co.alterScramCredentials({ name: 'm', upsert: [{ ...sha256, iterations: 4095 }], remove: [], createdAtMs: 1 }), 'INVALID_REQUEST');
      await expectStrataError(co.alterScramCredentials({ name: 'm', upsert: [], remove: ['SCRAM-SHA-1' as ScramMechanism], createdAtMs: 1 }), 'INVALID_REQUEST');
      await expectStrataError(co.alterScramCredentials({ name: 'a,b', upsert: [sha256], remove: [], createdAtMs: 1 }), 'INVALID_REQUEST');
      expect(await target.footprint()).toBe(before);
    });

    it('holds a user to tokensPerUserMax tokens', async () => {
      const { co } = get();
      await co.putUser(user('busy'));
      for (let i = 0; i < USER_LIMITS.tokensPerUserMax; i++) await co.createToken(token(i.toString(16).padStart(4, '0'), 'busy'));
      await expectStrataError(co.createToken(token('ffff', 'busy')), 'INVALID_REQUEST', 'TOKEN_LIMIT_REACHED');
      expect(await co.listTokens('busy')).toHaveLength(USER_LIMITS.tokensPerUserMax);
    });
  });
}

// Who may manage users and tokens over /v1/users with STRATA_AUTHORIZER=acl (regression: any
// authenticated user could list users, create or delete them, and issue itself a token of a super
// user, which made it one). As Kafka's Alter/DescribeUserScramCredentials: ALTER on the cluster to
// change users, DESCRIBE to list them; a user's own tokens are its own; the first user of a new
// cluster is still made anonymously from loopback. /v1/whoami needs no ACL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestBroker, type TestBroker } from './helpers.js';

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const ADMIN = basic('admin', 'admin-password');
const ALICE = basic('alice', 'alice-password');

let t: TestBroker;

beforeAll(async () => {
  t = await startTestBroker({ STRATA_AUTH: 'required', STRATA_AUTHORIZER: 'acl', STRATA_SUPER_USERS: 'User:admin', STRATA_ACL_REFRESH_INTERVAL_MS: '200' });
  t.url = t.broker.url;
});
afterAll(async () => {
  await t.stop();
});

describe('/v1/users under ACLs', () => {
  it('makes the first user anonymously from loopback, and no other user that way', async () => {
    expect((await call(t.url, 'POST', '/v1/users', { name: 'admin', password: 'admin-password' })).status).toBe(201);
    expect((await call(t.url, 'POST', '/v1/users', { name: 'mallory', password: 'mallory-password' })).status).toBe(401);
    expect((await call(t.url, 'POST', '/v1/users', { name: 'alice', password: 'alice-password' }, ADMIN)).status).toBe(201);
  });

  it('refuses a user without cluster ALTER or DESCRIBE: listing, creating, deleting users, and another user\'s tokens', async () => {
    const refusals: Array<[string, string, unknown?]> = [
      ['GET', '/v1/users'],
      ['POST', '/v1/users', { name: 'eve', password: 'eve-password' }],
      ['POST', '/v1/users', { name: 'admin', password: 'taken-over' }],
      ['DELETE', '/v1/users/admin'],
      ['GET', '/v1/users/admin/tokens'],
      ['POST', '/v1/users/admin/tokens', { name: 'escalate' }],
    ];
    for (const [method, path, body] of refusals) {
      const answer = await call(t.url, method, path, body, ALICE);
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(403);
      expect(answer.body.error.code).toBe('CLUSTER_AUTHORIZATION_FAILED');
    }
    // Nothing changed: the same two users, admin's password and (no) tokens as they were.
    expect((await call(t.url, 'GET', '/v1/users', undefined, ADMIN)).body.users.map((u: { name: string }) => u.name)).toEqual(['admin', 'alice']);
    expect((await call(t.url, 'GET', '/v1/users/admin/tokens', undefined, ADMIN)).body.tokens).toEqual([]);
    expect((await call(t.url, 'GET', '/v1/whoami', undefined, ADMIN)).body).toEqual({ principal: 'User:admin', authentication: 'required' });
  });

  it('lets a user manage its own tokens and ask who it is; the super user manages anyone\'s', async () => {
    expect((await call(t.url, 'GET', '/v1/whoami', undefined, ALICE)).body).toEqual({ principal: 'User:alice', authentication: 'required' });
    const issued = await call(t.url, 'POST', '/v1/users/alice/tokens', { name: 'laptop' }, ALICE);
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    expect((await call(t.url, 'GET', '/v1/whoami', undefined, { authorization: `Bearer ${issued.body.token}` })).body.principal).toBe('User:alice');
    expect((await call(t.url, 'GET', '/v1/users/alice/tokens', undefined, ALICE)).body.tokens.map((k: { name: string }) => k.name)).toEqual(['laptop']);
    expect((await call(t.url, 'DELETE', `/v1/users/alice/tokens/${issued.body.id}`, undefined, ALICE)).status).toBe(200);
    expect((await call(t.url, 'POST', '/v1/users/alice/tokens', { name: 'ops' }, ADMIN)).status).toBe(201);
    expect((await call(t.url, 'DELETE', '/v1/users/alice', undefined, ADMIN)).status).toBe(200);
  });
});

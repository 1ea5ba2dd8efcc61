// The Redis engine's users and API tokens: two hashes under {users} holding JSON documents
// (users.ts: what verifies a secret, never the secret). Multi-key changes are one script each.

import { StrataError } from '@strata/protocol';
import type { CallOptions } from '../coordinator.js';
import { compareNames } from '../results.js';
import { USER_LIMITS, userArguments, type ApiTokenRecord, type ScramCredentialChange, type ScramCredentialOutcome, type UserRecord } from '../users.js';
import { int } from './codec.js';
import type { RedisConnection } from './connection.js';

function parse<T>(json: string, what: string): T {
  try {
    return JSON.parse(json) as T;
  } catch (e) {
    throw new StrataError('STORAGE_ERROR', `the coordinator holds a ${what} that is not JSON`, { cause: e });
  }
}

/** A stored user; Lua's cjson writes an empty list as {} (alter-scram-credentials-1.lua leaves a user with none). */
function parseUser(json: string): UserRecord {
  const user = parse<UserRecord>(json, 'user');
  if (!Array.isArray(user.credentials)) user.credentials = [];
  return user;
}

const SCRAM_OUTCOMES: readonly ScramCredentialOutcome[] = ['missing', 'altered', 'created'];

export async function alterScramCredentials(c: RedisConnection, change: ScramCredentialChange, options?: CallOptions): Promise<ScramCredentialOutcome> {
  userArguments.alterScramCredentials(change);
  return c.call(`alterScramCredentials ${change.name}`, { user: change.name }, options, async () => {
    const args = [change.name, change.createdAtMs, USER_LIMITS.usersMax, change.remove.join(','), JSON.stringify(change.upsert)];
    const outcome = SCRAM_OUTCOMES[int(await c.eval('alter-scram-credentials', [c.keys.users()], args), 'outcome')];
    if (outcome === undefined) throw new StrataError('STORAGE_ERROR', 'alter-scram-credentials answered an unknown outcome');
    return outcome;
  });
}

export async function putUser(c: RedisConnection, user: UserRecord, options?: CallOptions): Promise<{ created: boolean }> {
  userArguments.putUser(user);
  return c.call(`putUser ${user.name}`, { user: user.name }, options, async () => {
    const created = int(await c.eval('put-user', [c.keys.users()], [user.name, JSON.stringify(user), USER_LIMITS.usersMax]), 'created');
    return { created: created === 1 };
  });
}

export async function getUser(c: RedisConnection, name: string, options?: CallOptions): Promise<UserRecord | null> {
  userArguments.userName('getUser', name);
  return c.call(`getUser ${name}`, { user: name }, options, async () => {
    const json = await c.redis.hget(c.keys.users(), name);
    return json === null ? null : parseUser(json);
  });
}

export async function listUsers(c: RedisConnection, options?: CallOptions): Promise<UserRecord[]> {
  return c.call('listUsers', {}, options, async () => {
    const all = (await c.redis.hvals(c.keys.users())).map(parseUser);
    return all.sort((a, b) => compareNames(a.name, b.name));
  });
}

export async function deleteUser(c: RedisConnection, name: string, options?: CallOptions): Promise<boolean> {
  userArguments.userName('deleteUser', name);
  return c.call(`deleteUser ${name}`, { user: name }, options, async () => {
    return int(await c.eval('delete-user', [c.keys.users(), c.keys.tokens()], [name]), 'deleted') === 1;
  });
}

export async function createToken(c: RedisConnection, token: ApiTokenRecord, options?: CallOptions): Promise<void> {
  userArguments.createToken(token);
  return c.call(`createToken ${token.user}`, { user: token.user }, options, async () => {
    await c.eval('create-token', [c.keys.users(), c.keys.tokens()], [token.id, token.user, JSON.stringify(token), USER_LIMITS.tokensPerUserMax]);
  });
}

export async function getToken(c: RedisConnection, id: string, options?: CallOptions): Promise<ApiTokenRecord | null> {
  userArguments.tokenId('getToken', id);
  return c.call('getToken', {}, options, async () => {
    const json = await c.redis.hget(c.keys.tokens(), id);
    return json === null ? null : parse<ApiTokenRecord>(json, 'token');
  });
}

export async function listTokens(c: RedisConnection, user: string, options?: CallOptions): Promise<ApiTokenRecord[]> {
  userArguments.userName('listTokens', user);
  return c.call(`listTokens ${user}`, { user }, options, async () => {
    const all = (await c.redis.hvals(c.keys.tokens())).map((json) => parse<ApiTokenRecord>(json, 'token'));
    return all.filter((t) => t.user === user).sort((a, b) => compareNames(a.id, b.id));
  });
}

export async function revokeToken(c: RedisConnection, user: string, id: string, options?: CallOptions): Promise<boolean> {
  userArguments.revokeToken(user, id);
  return c.call(`revokeToken ${user}`, { user }, options, async () => {
    return int(await c.eval('revoke-token', [c.keys.tokens()], [user, id]), 'revoked') === 1;
  });
}

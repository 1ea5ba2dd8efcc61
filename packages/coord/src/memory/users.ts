// The in-process engine's users and API tokens: two sorted lists in cluster.json (few, small,
// rarely changed), each change durable before it is applied (state.ts).

import type { CallOptions } from '../coordinator.js';
import { coordError } from '../errors.js';
import { compareNames } from '../results.js';
import { USER_LIMITS, userArguments, type ApiTokenRecord, type ScramCredentialChange, type ScramCredentialOutcome, type UserRecord } from '../users.js';
import type { MemoryState } from './state.js';

export async function putUser(s: MemoryState, user: UserRecord, options?: CallOptions): Promise<{ created: boolean }> {
  userArguments.putUser(user);
  return s.serialize('putUser', options, () =>
    s.changeCluster<{ created: boolean }>((draft) => {
      const users = draft.users ?? [];
      const at = users.findIndex((u) => u.name === user.name);
      if (at >= 0) {
        users[at] = { ...structuredClone(user), createdAtMs: users[at]!.createdAtMs };
        return { next: { ...draft, users }, value: { created: false } };
      }
      if (users.length >= USER_LIMITS.usersMax) return { error: coordError('USER_LIMIT', { user: user.name, users: users.length }) };
      users.push(structuredClone(user));
      users.sort((a, b) => compareNames(a.name, b.name));
      return { next: { ...draft, users }, value: { created: true } };
    }),
  );
}

export async function alterScramCredentials(s: MemoryState, change: ScramCredentialChange, options?: CallOptions): Promise<ScramCredentialOutcome> {
  userArguments.alterScramCredentials(change);
  return s.serialize('alterScramCredentials', options, () =>
    s.changeCluster<ScramCredentialOutcome>((draft) => {
      const users = draft.users ?? [];
      const at = users.findIndex((u) => u.name === change.name);
      const current = at >= 0 ? users[at]!.credentials : [];
      if (change.remove.some((m) => !current.some((c) => c.mechanism === m))) return { value: 'missing' };
      const touched = new Set<string>([...change.remove, ...change.upsert.map((c) => c.mechanism)]);
      const credentials = [...current.filter((c) => !touched.has(c.mechanism)), ...structuredClone(change.upsert)];
      if (at >= 0) {
        users[at] = { ...users[at]!, credentials };
        return { next: { ...draft, users }, value: 'altered' };
      }
      if (users.length >= USER_LIMITS.usersMax) return { error: coordError('USER_LIMIT', { user: change.name, users: users.length }) };
      users.push({ name: change.name, credentials, createdAtMs: change.createdAtMs });
      users.sort((a, b) => compareNames(a.name, b.name));
      return { next: { ...draft, users }, value: 'created' };
    }),
  );
}

export async function getUser(s: MemoryState, name: string, options?: CallOptions): Promise<UserRecord | null> {
  userArguments.userName('getUser', name);
  return s.read('getUser', options, () => s.cluster.users?.find((u) => u.name === name) ?? null);
}

export async function listUsers(s: MemoryState, options?: CallOptions): Promise<UserRecord[]> {
  return s.read('listUsers', options, () => s.cluster.users ?? []);
}

export async function deleteUser(s: MemoryState, name: string, options?: CallOptions): Promise<boolean> {
  userArguments.userName('deleteUser', name);
  return s.serialize('deleteUser', options, () =>
    s.changeCluster<boolean>((draft) => {
      const users = draft.users ?? [];
      if (!users.some((u) => u.name === name)) return { value: false };
      return { next: { ...draft, users: users.filter((u) => u.name !== name), tokens: (draft.tokens ?? []).filter((t) => t.user !== name) }, value: true };
    }),
  );
}

export async function createToken(s: MemoryState, token: ApiTokenRecord, options?: CallOptions): Promise<void> {
  userArguments.createToken(token);
  return s.serialize('createToken', options, () =>
    s.changeCluster<void>((draft) => {
      if (!(draft.users ?? []).some((u) => u.name === token.user)) return { error: coordError('UNKNOWN_USER', { user: token.user }) };
      const tokens = draft.tokens ?? [];
      if (tokens.some((t) => t.id === token.id)) return { error: coordError('TOKEN_EXISTS', { id: token.id }) };
      const owned = tokens.filter((t) => t.user === token.user).length;
      if (owned >= USER_LIMITS.tokensPerUserMax) return { error: coordError('TOKEN_LIMIT', { user: token.user, tokens: owned }) };
      tokens.push(structuredClone(token));
      tokens.sort((a, b) => compareNames(a.id, b.id));
      return { next: { ...draft, tokens }, value: undefined };
    }),
  );
}

export async function getToken(s: MemoryState, id: string, options?: CallOptions): Promise<ApiTokenRecord | null> {
  userArguments.tokenId('getToken', id);
  return s.read('getToken', options, () => s.cluster.tokens?.find((t) => t.id === id) ?? null);
}

export async function listTokens(s: MemoryState, user: string, options?: CallOptions): Promise<ApiTokenRecord[]> {
  userArguments.userName('listTokens', user);
  return s.read('listTokens', options, () => (s.cluster.tokens ?? []).filter((t) => t.user === user));
}

export async function revokeToken(s: MemoryState, user: string, id: string, options?: CallOptions): Promise<boolean> {
  userArguments.revokeToken(user, id);
  return s.serialize('revokeToken', options, () =>
    s.changeCluster<boolean>((draft) => {
      const tokens = draft.tokens ?? [];
      if (!tokens.some((t) => t.id === id && t.user === user)) return { value: false };
      return { next: { ...draft, tokens: tokens.filter((t) => t.id !== id) }, value: true };
    }),
  );
}

// Users and their credentials (issue #14): one model for every front door (HTTP Basic and bearer
// tokens, Kafka SASL PLAIN and SCRAM). The coordinator stores only what verifies a secret, never
// the secret: per SCRAM mechanism the salt, the iteration count, StoredKey and ServerKey (RFC 5802,
// RFC 7677), and per API token the SHA-256 of its secret. The broker derives these (it owns the
// cryptography); both engines store them as given and hold them to the same checks and bounds.

import type { CallOptions } from './coordinator.js';
import { Checks, checkInt, describeValue } from './validate.js';

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** What verifies a password for one mechanism. Byte strings are base64. */
export interface ScramCredential {
  mechanism: ScramMechanism;
  salt: string;
  /** RFC 7677 asks for at least 4096. */
  iterations: number;
  storedKey: string;
  serverKey: string;
}

export interface UserRecord {
  /** USER_NAME_PATTERN. */
  name: string;
  /** At most one per mechanism; none once Kafka's AlterUserScramCredentials deleted them all (the user, its tokens and ACLs stay). */
  credentials: ScramCredential[];
  createdAtMs: number;
}

/** An API token as stored: its secret is shown once when issued, then only its hash remains. */
export interface ApiTokenRecord {
  /** Public id (part of the token itself, so a lookup needs no scan): TOKEN_ID_PATTERN. */
  id: string;
  user: string;
  /** What the owner called it ("ci", "laptop"). */
  name: string;
  /** Hex SHA-256 of the secret part. */
  hash: string;
  createdAtMs: number;
  /** null: never expires. */
  expiresAtMs: number | null;
}

export const USER_LIMITS = Object.freeze({
  /** Users the coordinator holds. */
  usersMax: 10_000,
  /** API tokens per user (revoked ones do not count: they are removed). */
  tokensPerUserMax: 100,
  userNameLengthMax: 128,
  tokenNameLengthMax: 128,
  /** RFC 7677's floor. */
  scramIterationsMin: 4096,
  /** A ceiling that keeps one login from taking seconds of a broker's CPU. */
  scramIterationsMax: 1_000_000,
  /** Base64 characters of a salt or key (a SHA-512 key is 88). */
  scramFieldLengthMax: 256,
});

/** Letters, digits and . _ @ + - : no "," or "=" (SCRAM would escape them) and nothing a shell or URL mangles. */
export const USER_NAME_PATTERN = /^[A-Za-z0-9._@+-]+$/;
export const TOKEN_ID_PATTERN = /^[a-f0-9]{16,64}$/;
const TOKEN_HASH_PATTERN = /^[a-f0-9]{64}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

export function checkUserName(c: Checks, field: string, name: unknown): name is string {
  if (typeof name === 'string' && name.length >= 1 && name.length <= USER_LIMITS.userNameLengthMax && USER_NAME_PATTERN.test(name)) return true;
  c.add('INVALID_REQUEST', field, `${field} must be 1..${USER_LIMITS.userNameLengthMax} of [A-Za-z0-9._@+-], got ${describeValue(name)}`);
  return false;
}

export function checkTokenId(c: Checks, field: string, id: unknown): id is string {
  if (typeof id === 'string' && TOKEN_ID_PATTERN.test(id)) return true;
  c.add('INVALID_REQUEST', field, `${field} must be 16..64 lowercase hex digits, got ${describeValue(id)}`);
  return false;
}

function checkBase64(c: Checks, field: string, value: unknown): void {
  if (typeof value === 'string' && value.length <= USER_LIMITS.scramFieldLengthMax && BASE64_PATTERN.test(value)) return;
  c.add('INVALID_REQUEST', field, `${field} must be base64 of at most ${USER_LIMITS.scramFieldLengthMax} characters`);
}

function checkCredential(c: Checks, at: string, cred: ScramCredential): void {
  if (!(SCRAM_MECHANISMS as readonly unknown[]).includes(cred?.mechanism)) c.add('INVALID_REQUEST', `${at}.mechanism`, `${at}.mechanism must be one of ${SCRAM_MECHANISMS.join(', ')}`);
  checkInt(c, `${at}.iterations`, cred?.iterations, USER_LIMITS.scramIterationsMin, USER_LIMITS.scramIterationsMax);
  checkBase64(c, `${at}.salt`, cred?.salt);
  checkBase64(c, `${at}.storedKey`, cred?.storedKey);
  checkBase64(c, `${at}.serverKey`, cred?.serverKey);
}

/**
 * One user's SCRAM credentials changed at once (Kafka's AlterUserScramCredentials): each upserted
 * credential replaces the user's one of its mechanism, each removed mechanism's credential goes.
 * A mechanism appears once in all. An upsert creates a missing user (createdAtMs is then its creation time).
 */
export interface ScramCredentialChange {
  name: string;
  upsert: ScramCredential[];
  remove: ScramMechanism[];
  createdAtMs: number;
}

/** created: the user did not exist; missing: a removal named a credential the user does not have (nothing changed). */
export type ScramCredentialOutcome = 'created' | 'altered' | 'missing';

function checkScramChange(c: Checks, change: ScramCredentialChange): void {
  if (typeof change !== 'object' || change === null || !Array.isArray(change.upsert) || !Array.isArray(change.remove)) {
    c.add('INVALID_REQUEST', 'change', 'change must be an object with upsert and remove lists');
    return;
  }
  checkUserName(c, 'change.name', change.name);
  checkInt(c, 'change.createdAtMs', change.createdAtMs, 0, Number.MAX_SAFE_INTEGER);
  const mechanisms = [...change.upsert.map((cred) => cred?.mechanism), ...change.remove];
  if (mechanisms.length === 0 || mechanisms.length > SCRAM_MECHANISMS.length || new Set(mechanisms).size !== mechanisms.length) {
    c.add('INVALID_REQUEST', 'change', `a change names 1..${SCRAM_MECHANISMS.length} mechanisms, each once`);
  }
  change.upsert.forEach((cred, i) => checkCredential(c, `change.upsert[${i}]`, cred));
  change.remove.forEach((m, i) => {
    if (!(SCRAM_MECHANISMS as readonly unknown[]).includes(m)) c.add('INVALID_REQUEST', `change.remove[${i}]`, `change.remove[${i}] must be one of ${SCRAM_MECHANISMS.join(', ')}`);
  });
}

function checkUser(c: Checks, user: UserRecord): void {
  if (typeof user !== 'object' || user === null) {
    c.add('INVALID_REQUEST', 'user', 'user must be an object');
    return;
  }
  checkUserName(c, 'user.name', user.name);
  checkInt(c, 'user.createdAtMs', user.createdAtMs, 0, Number.MAX_SAFE_INTEGER);
  if (!Array.isArray(user.credentials) || user.credentials.length === 0 || user.credentials.length > SCRAM_MECHANISMS.length) {
    c.add('INVALID_REQUEST', 'user.credentials', `user.credentials must hold 1..${SCRAM_MECHANISMS.length} credentials`);
    return;
  }
  const seen = new Set<string>();
  user.credentials.forEach((cred, i) => {
    const at = `user.credentials[${i}]`;
    checkCredential(c, at, cred);
    if (seen.has(cred?.mechanism)) c.add('INVALID_REQUEST', `${at}.mechanism`, `${at}: two credentials for ${cred.mechanism}`);
    seen.add(cred?.mechanism);
  });
}

function checkToken(c: Checks, token: ApiTokenRecord): void {
  if (typeof token !== 'object' || token === null) {
    c.add('INVALID_REQUEST', 'token', 'token must be an object');
    return;
  }
  checkTokenId(c, 'token.id', token.id);
  checkUserName(c, 'token.user', token.user);
  if (typeof token.name !== 'string' || token.name.length < 1 || token.name.length > USER_LIMITS.tokenNameLengthMax || hasControlCharacter(token.name)) {
    c.add('INVALID_REQUEST', 'token.name', `token.name must be 1..${USER_LIMITS.tokenNameLengthMax} printable characters`);
  }
  if (typeof token.hash !== 'string' || !TOKEN_HASH_PATTERN.test(token.hash)) c.add('INVALID_REQUEST', 'token.hash', 'token.hash must be 64 lowercase hex digits (SHA-256)');
  checkInt(c, 'token.createdAtMs', token.createdAtMs, 0, Number.MAX_SAFE_INTEGER);
  if (token.expiresAtMs !== null) checkInt(c, 'token.expiresAtMs', token.expiresAtMs, 0, Number.MAX_SAFE_INTEGER);
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}

function run(what: string, body: (c: Checks) => void): void {
  const c = new Checks(what);
  body(c);
  c.done();
}

/** The argument checks of the user calls, shared by both engines. */
export const userArguments = {
  putUser: (user: UserRecord): void => run('putUser', (c) => checkUser(c, user)),
  alterScramCredentials: (change: ScramCredentialChange): void => run('alterScramCredentials', (c) => checkScramChange(c, change)),
  userName: (what: string, name: string): void => run(what, (c) => checkUserName(c, 'name', name)),
  createToken: (token: ApiTokenRecord): void => run('createToken', (c) => checkToken(c, token)),
  tokenId: (what: string, id: string): void => run(what, (c) => checkTokenId(c, 'id', id)),
  revokeToken: (user: string, id: string): void =>
    run('revokeToken', (c) => {
      checkUserName(c, 'user', user);
      checkTokenId(c, 'id', id);
    }),
};

/** The user calls of the Coordinator (coordinator.ts extends it). */
export interface UserStore {
  /** Creates the user or replaces its credentials (createdAtMs of an existing user is kept). USER_LIMIT past usersMax. */
  putUser(user: UserRecord, options?: CallOptions): Promise<{ created: boolean }>;
  /** One user's SCRAM credentials changed at once; USER_LIMIT when an upsert would create a user past usersMax. */
  alterScramCredentials(change: ScramCredentialChange, options?: CallOptions): Promise<ScramCredentialOutcome>;
  getUser(name: string, options?: CallOptions): Promise<UserRecord | null>;
  /** Sorted by name. */
  listUsers(options?: CallOptions): Promise<UserRecord[]>;
  /** Removes the user and every token of it; false if it did not exist. */
  deleteUser(name: string, options?: CallOptions): Promise<boolean>;
  /** UNKNOWN_USER when the user does not exist; TOKEN_LIMIT past tokensPerUserMax; TOKEN_EXISTS for a used id. */
  createToken(token: ApiTokenRecord, options?: CallOptions): Promise<void>;
  getToken(id: string, options?: CallOptions): Promise<ApiTokenRecord | null>;
  /** The user's tokens, sorted by id (expired ones included until revoked). */
  listTokens(user: string, options?: CallOptions): Promise<ApiTokenRecord[]>;
  /** false: the user has no such token. */
  revokeToken(user: string, id: string, options?: CallOptions): Promise<boolean>;
}

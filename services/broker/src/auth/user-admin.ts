// Managing users and API tokens (HTTP /v1/users, the CLI through it): passwords become SCRAM
// credentials here (scram.ts) and tokens are drawn here (tokens.ts), so the coordinator only ever
// receives what verifies a secret. Every change is audited: one line with the acting principal,
// its source address and what changed, never the secret.

import { SCRAM_MECHANISMS, type ApiTokenRecord, type Coordinator, type ScramCredential, type ScramCredentialOutcome, type ScramMechanism, type UserRecord } from '@strata/coord';
import { StrataError } from '@strata/protocol';
import type { Logger } from '../logger.js';
import { deriveCredential } from './scram.js';
import { newToken } from './tokens.js';

export interface Actor {
  principal: string;
  source: string;
}

export interface UserView {
  name: string;
  mechanisms: { mechanism: ScramMechanism; iterations: number }[];
  createdAtMs: number;
}

export interface TokenView {
  id: string;
  name: string;
  user: string;
  createdAtMs: number;
  expiresAtMs: number | null;
  expired: boolean;
}

export class UserAdmin {
  readonly #co: Coordinator;
  readonly #logger: Logger;
  readonly #iterations: number;
  readonly #now: () => number;

  constructor(coordinator: Coordinator, logger: Logger, defaultIterations: number, now: () => number = Date.now) {
    this.#co = coordinator;
    this.#logger = logger;
    this.#iterations = defaultIterations;
    this.#now = now;
  }

  async putUser(actor: Actor, request: { name: string; password: string; mechanisms?: ScramMechanism[]; iterations?: number }, signal?: AbortSignal): Promise<{ created: boolean; user: UserView }> {
    const iterations = request.iterations ?? this.#iterations;
    const mechanisms = request.mechanisms ?? [...SCRAM_MECHANISMS];
    const credentials = await Promise.all(mechanisms.map((m) => deriveCredential(m, request.password, iterations)));
    const record: UserRecord = { name: request.name, credentials, createdAtMs: this.#now() };
    const { created } = await this.#co.putUser(record, { ...(signal === undefined ? {} : { signal }) });
    this.#audit(actor, created ? 'user created' : 'user password replaced', { user: request.name, mechanisms });
    const stored = await this.#co.getUser(request.name);
    return { created, user: viewOf(stored ?? record) };
  }

  /**
   * Kafka's AlterUserScramCredentials for one user: credentials the client derived (upsert) and
   * mechanisms to remove, at once; an upsert creates a missing user. 'missing': a removal named a
   * credential the user does not have, and nothing changed.
   */
  async alterScramCredentials(actor: Actor, name: string, upsert: ScramCredential[], remove: ScramMechanism[], signal?: AbortSignal): Promise<ScramCredentialOutcome> {
    const outcome = await this.#co.alterScramCredentials({ name, upsert, remove, createdAtMs: this.#now() }, { ...(signal === undefined ? {} : { signal }) });
    if (outcome !== 'missing') {
      this.#audit(actor, outcome === 'created' ? 'user created' : 'user SCRAM credentials changed', {
        user: name,
        upserted: upsert.map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })),
        removed: remove,
      });
    }
    return outcome;
  }

  async deleteUser(actor: Actor, name: string): Promise<void> {
    if (!(await this.#co.deleteUser(name))) throw new StrataError('NOT_FOUND', `user "${name}" does not exist`);
    this.#audit(actor, 'user deleted', { user: name });
  }

  async listUsers(): Promise<UserView[]> {
    return (await this.#co.listUsers()).map(viewOf);
  }

  async issueToken(actor: Actor, user: string, name: string, expiresInMs: number | undefined): Promise<TokenView & { token: string }> {
    const drawn = newToken();
    const createdAtMs = this.#now();
    const expiresAtMs = expiresInMs === undefined ? null : createdAtMs + expiresInMs;
    if (expiresAtMs !== null && !Number.isSafeInteger(expiresAtMs)) throw new StrataError('INVALID_REQUEST', 'expiresInMs is too large');
    const record: ApiTokenRecord = { id: drawn.id, user, name, hash: drawn.hash, createdAtMs, expiresAtMs };
    await this.#co.createToken(record);
    this.#audit(actor, 'API token issued', { user, tokenId: drawn.id, tokenName: name, expiresAtMs });
    return { ...this.#tokenView(record), token: drawn.token };
  }

  async listTokens(user: string): Promise<TokenView[]> {
    if ((await this.#co.getUser(user)) === null) throw new StrataError('NOT_FOUND', `user "${user}" does not exist`);
    return (await this.#co.listTokens(user)).map((t) => this.#tokenView(t));
  }

  async revokeToken(actor: Actor, user: string, id: string): Promise<void> {
    if (!(await this.#co.revokeToken(user, id))) throw new StrataError('NOT_FOUND', `user "${user}" has no API token "${id}"`);
    this.#audit(actor, 'API token revoked', { user, tokenId: id });
  }

  #tokenView(t: ApiTokenRecord): TokenView {
    return { id: t.id, name: t.name, user: t.user, createdAtMs: t.createdAtMs, expiresAtMs: t.expiresAtMs, expired: t.expiresAtMs !== null && t.expiresAtMs <= this.#now() };
  }

  #audit(actor: Actor, msg: string, fields: Record<string, unknown>): void {
    this.#logger.info(msg, { audit: 'users', principal: actor.principal, source: actor.source, outcome: 'allowed', ...fields });
  }
}

function viewOf(u: UserRecord): UserView {
  return { name: u.name, mechanisms: u.credentials.map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })), createdAtMs: u.createdAtMs };
}

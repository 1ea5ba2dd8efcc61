// Who a client is, for every front door (HTTP Basic and bearer tokens, Kafka SASL PLAIN and SCRAM):
// credentials are checked against the coordinator's user model (@strata/coord users.ts), the same
// way for all. Every failed login is audited (one structured line: principal, source, reason, never
// a secret), counted (strata_authentication_failures_total) and charged to its source address
// (failed-logins.ts): an address past its budget is refused without its credentials being checked.

import { createHmac, randomBytes } from 'node:crypto';
import type { Coordinator, ScramCredential, ScramMechanism } from '@strata/coord';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuthConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { FailedLogins } from './failed-logins.js';
import { userPrincipal } from './principal.js';
import { ScramExchange, passwordMatches } from './scram.js';
import { parseToken, secretMatches } from './tokens.js';

/** Why a login failed: a fixed set (the metric's label); the audit line may add detail. */
export type AuthFailureReason =
  | 'unknown_user'
  | 'wrong_password'
  | 'unknown_token'
  | 'expired_token'
  | 'malformed'
  | 'unsupported_mechanism'
  | 'replayed_or_forged'
  | 'rate_limited'
  | 'session_expired';

export type FrontDoor = 'http' | 'kafka';

export type AuthOutcome = { ok: true; principal: string } | { ok: false; reason: AuthFailureReason };

export interface AuthenticatorOptions {
  coordinator: Coordinator;
  config: AuthConfig;
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

/** The SHA-512 credential where a user has one (the stronger), else SHA-256. */
const PASSWORD_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-512', 'SCRAM-SHA-256'];

export class Authenticator {
  readonly config: AuthConfig;
  readonly #co: Coordinator;
  readonly #logger: Logger;
  readonly #failures: Counter<'listener' | 'reason'>;
  readonly #now: () => number;
  readonly #limiter: FailedLogins;
  /** Keys an unknown user's decoy salt and the password cache: never leaves the process. */
  readonly #processKey = randomBytes(32);
  /** HMAC(processKey, user, password, storedKey) of recently verified passwords, oldest first. */
  readonly #verified = new Map<string, true>();

  constructor(options: AuthenticatorOptions) {
    this.config = options.config;
    this.#co = options.coordinator;
    this.#logger = options.logger;
    this.#failures = new Counter({
      name: 'strata_authentication_failures_total',
      help: 'Failed logins (HTTP and Kafka), by listener and reason (wrong_password, unknown_token, expired_token, rate_limited, ...).',
      labelNames: ['listener', 'reason'],
      registers: [options.registry],
    });
    const limiter = (): FailedLogins => this.#limiter;
    new Gauge({
      name: 'strata_authentication_failure_sources',
      help: 'Source addresses the failed-login table holds (bounded by STRATA_AUTH_FAILURE_SOURCES_MAX).',
      registers: [options.registry],
      collect() {
        this.set(limiter().size);
      },
    });
    this.#now = options.now ?? Date.now;
    this.#limiter = new FailedLogins({ failuresMax: options.config.failuresMax, windowMs: options.config.failureWindowMs, sourcesMax: options.config.failureSourcesMax }, this.#now);
  }

  /** Whether a front door asks for (and checks) credentials at all. */
  get enabled(): boolean {
    return this.config.mode !== 'none';
  }

  /** Whether a request without credentials (nor a client certificate) is refused. */
  get required(): boolean {
    return this.config.mode === 'required';
  }

  /** Source addresses the failed-login table holds (bounded by STRATA_AUTH_FAILURE_SOURCES_MAX). */
  get failureSources(): number {
    return this.#limiter.size;
  }

  /** A user name and password (HTTP Basic, SASL/PLAIN), against the user's SCRAM-stored keys. */
  async password(user: string, password: string, source: string, via: FrontDoor): Promise<AuthOutcome> {
    if (this.#limiter.refused(source)) return this.#deny(via, source, user, 'rate_limited');
    const record = await this.#co.getUser(user).catch((e: unknown) => (isInvalidName(e) ? null : Promise.reject(e)));
    const credential = record === null ? undefined : PASSWORD_MECHANISMS.map((m) => record.credentials.find((c) => c.mechanism === m)).find((c) => c !== undefined);
    if (credential === undefined) return this.#deny(via, source, user, 'unknown_user');
    const cacheKey = createHmac('sha256', this.#processKey).update(`${user}\u0000${password}\u0000${credential.storedKey}`).digest('base64');
    if (this.#verified.has(cacheKey)) return { ok: true, principal: userPrincipal(user) };
    // Failures that landed while the user was read may have cut this address off: no PBKDF2 for it.
    if (this.#limiter.refused(source)) return this.#deny(via, source, user, 'rate_limited');
    if (!(await passwordMatches(credential, password))) return this.#deny(via, source, user, 'wrong_password');
    this.#remember(cacheKey);
    return { ok: true, principal: userPrincipal(user) };
  }

  /** An API token (HTTP bearer; Kafka SASL/PLAIN with the token as the password of user "token"). */
  async token(text: string, source: string, via: FrontDoor): Promise<AuthOutcome> {
    if (this.#limiter.refused(source)) return this.#deny(via, source, null, 'rate_limited');
    const parsed = parseToken(text);
    if (parsed === null) return this.#deny(via, source, null, 'malformed');
    const record = await this.#co.getToken(parsed.id);
    if (record === null || !secretMatches(record, parsed.secret)) return this.#deny(via, source, null, 'unknown_token');
    if (record.expiresAtMs !== null && record.expiresAtMs <= this.#now()) return this.#deny(via, source, userPrincipal(record.user), 'expired_token');
    return { ok: true, principal: userPrincipal(record.user) };
  }

  /** A new SASL/SCRAM exchange; its outcome goes through scramOutcome. */
  scram(mechanism: ScramMechanism): ScramExchange {
    const lookup = async (user: string, m: ScramMechanism): Promise<ScramCredential | null> => {
      const record = await this.#co.getUser(user).catch((e: unknown) => (isInvalidName(e) ? null : Promise.reject(e)));
      return record?.credentials.find((c) => c.mechanism === m) ?? null;
    };
    return new ScramExchange(mechanism, lookup, this.#processKey, this.config.scramIterations);
  }

  /** Whether any user exists (the bootstrap rule of http-auth.ts). */
  async hasUsers(): Promise<boolean> {
    return (await this.#co.listUsers()).length > 0;
  }

  /** Whether this source may try to log in now (checked before a SCRAM exchange starts). */
  refused(source: string, via: FrontDoor, user: string | null): AuthOutcome | null {
    return this.#limiter.refused(source) ? this.#deny(via, source, user === null ? null : userPrincipal(user), 'rate_limited') : null;
  }

  /** Audits, counts and charges one failed login (reasons the caller found itself). */
  fail(via: FrontDoor, source: string, principal: string | null, reason: AuthFailureReason, detail?: string): AuthOutcome {
    return this.#deny(via, source, principal, reason, detail);
  }

  #deny(via: FrontDoor, source: string, who: string | null, reason: AuthFailureReason, detail?: string): AuthOutcome {
    const principal = who === null ? null : who.startsWith('User:') ? who : userPrincipal(who);
    this.#failures.inc({ listener: via, reason });
    // A refused address is not charged again, and is audited once per window (when it crossed the
    // limit), not once per attempt: a flood must not become a flood of log lines.
    if (reason !== 'rate_limited') {
      const cutOff = this.#limiter.record(source);
      this.#logger.warn('authentication failed', { audit: 'authentication', principal, source, listener: via, outcome: 'denied', reason, ...(detail === undefined ? {} : { detail }) });
      if (cutOff) {
        this.#logger.warn('authentication refused for this address until its window ends', { audit: 'authentication', principal, source, listener: via, outcome: 'denied', reason: 'rate_limited', windowMs: this.config.failureWindowMs });
      }
    }
    return { ok: false, reason };
  }

  #remember(key: string): void {
    if (this.config.passwordCacheEntries === 0) return;
    if (this.#verified.size >= this.config.passwordCacheEntries) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(key, true);
  }
}

/** A name that cannot be a user (refused by the coordinator's checks) is an unknown user, not an error. */
function isInvalidName(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'INVALID_REQUEST';
}

// Per-broker credentials for every broker-to-broker request (replica fetches on the internal port,
// requests forwarded to a leader's public port). The cluster secret itself never travels: each
// broker's key is HMAC-SHA256(secret, "strata-broker-key/v1\0" + brokerId), and each request
// carries
//
//   Authorization: Strata-Broker <brokerId>:<unix ms>:<nonce>:<signature>
//   signature = base64url(HMAC-SHA256(broker key, "v1\n" METHOD "\n" path?query "\n" brokerId "\n" ms "\n" nonce))
//
// so the receiver learns which broker sent it (a follower's fetch progress is then accepted only
// for that follower: cluster/internal-server.ts), a header captured on the wire cannot be used for
// another request (method and target are signed), nor for the same one again: the timestamp must
// be within STRATA_INTERNAL_AUTH_MAX_SKEW_MS of the receiver's clock and the nonce not seen in that
// window (bounded: NonceWindow). The body is not signed (bodies stream through); where the wire
// must be private and whole, TLS on the internal and public ports does that.
//
// What it does not do: a holder of the cluster secret can derive every broker's key. Under mTLS the
// request's client certificate must also name the broker (certificate-binding.ts), so one broker's
// certificate cannot speak for another; see docs/architecture.md#internal-port.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { InternalCertBinding } from '../config/types.js';
import type { Logger } from '../logger.js';
import { certificateBindingProblem } from './certificate-binding.js';
import type { ClusterSecrets } from './cluster-secrets.js';
import { peerPrincipal } from './tls.js';

function sourceOf(peer: unknown): string {
  return (peer as { remoteAddress?: string } | null)?.remoteAddress ?? '';
}

export const BROKER_AUTH_SCHEME = 'Strata-Broker';
const KEY_LABEL = 'strata-broker-key/v1\0';
const NONCE_BYTES = 16;
/** Broker ids are 1..64 of [A-Za-z0-9._-] (config/load.ts): nothing else is worth an HMAC. */
const BROKER_ID = /^[A-Za-z0-9._-]{1,64}$/;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
/** Derived keys kept per secret (one per broker of the cluster; a flood of made-up ids clears it). */
const DERIVED_KEYS_MAX = 1_024;

export type CredentialCheck =
  | { ok: true; brokerId: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'bad signature' | 'replayed' | 'certificate of another broker'; detail?: string };

export interface BrokerCredentialOptions {
  /** How far a credential's timestamp may be from this broker's clock, in ms. */
  maxSkewMs: number;
  /** Nonces remembered at most (see NonceWindow). */
  noncesMax: number;
  /** Wall clock, in ms (tests move it). */
  now?: () => number;
  /** Under mTLS, what of a peer's certificate must name the broker it signs as (certificate-binding.ts; default cn). */
  certificateBinding?: InternalCertBinding;
  /** Where each refusal of a valid signature for its certificate is audited. */
  logger?: Logger;
}

export class BrokerCredentials {
  readonly brokerId: string;
  readonly #secrets: ClusterSecrets;
  readonly #maxSkewMs: number;
  readonly #now: () => number;
  readonly #nonces: NonceWindow;
  readonly #binding: InternalCertBinding;
  readonly #logger: Logger | undefined;
  /** Refused broker credentials by reason; registered in the broker's registry by attachMetrics. */
  readonly #refused = new Counter({ name: 'strata_broker_authentication_failures_total', help: 'Broker-to-broker requests refused (internal port and forwards), by reason.', labelNames: ['reason'], registers: [] });
  /** secret -> brokerId -> key. */
  readonly #keys = new Map<string, Map<string, Buffer>>();

  constructor(brokerId: string, secrets: ClusterSecrets, options: BrokerCredentialOptions) {
    this.brokerId = brokerId;
    this.#secrets = secrets;
    this.#maxSkewMs = options.maxSkewMs;
    this.#now = options.now ?? Date.now;
    this.#nonces = new NonceWindow(options.noncesMax);
    this.#binding = options.certificateBinding ?? 'cn';
    this.#logger = options.logger;
  }

  /** Counts refusals in `registry` (once: the listeners start after the credentials exist). */
  attachMetrics(registry: Registry): void {
    if (registry.getSingleMetric('strata_broker_authentication_failures_total') === undefined) registry.registerMetric(this.#refused);
  }

  /** The Authorization value for one request of this broker (`pathAndQuery` in origin form, as sent). */
  header(method: string, pathAndQuery: string): string {
    const ms = String(this.#now());
    const nonce = randomBytes(NONCE_BYTES).toString('base64url');
    const signature = this.#sign(this.#secrets.signing, method, pathAndQuery, this.brokerId, ms, nonce).toString('base64url');
    return `${BROKER_AUTH_SCHEME} ${this.brokerId}:${ms}:${nonce}:${signature}`;
  }

  /**
   * Which broker signed this request, or why it is refused. The nonce is remembered only once the
   * signature holds, so unauthenticated requests cannot fill the window.
   */
  verify(header: string | undefined, method: string, pathAndQuery: string, peer?: unknown): CredentialCheck {
    const check = this.#verify(header, method, pathAndQuery, peer);
    if (!check.ok) this.#refused.inc({ reason: check.reason });
    return check;
  }

  /** `peer`: the request's socket; under mTLS its certificate must name the broker (certificate-binding.ts). */
  #verify(header: string | undefined, method: string, pathAndQuery: string, peer: unknown): CredentialCheck {
    if (header === undefined || header === '') return { ok: false, reason: 'missing' };
    const prefix = `${BROKER_AUTH_SCHEME} `;
    if (!header.startsWith(prefix)) return { ok: false, reason: 'malformed' };
    const parts = header.slice(prefix.length).split(':');
    if (parts.length !== 4) return { ok: false, reason: 'malformed' };
    const [brokerId, ms, nonce, signature] = parts as [string, string, string, string];
    if (!BROKER_ID.test(brokerId) || !/^\d{1,16}$/.test(ms) || !NONCE.test(nonce) || !SIGNATURE.test(signature)) return { ok: false, reason: 'malformed' };
    const signedAt = Number(ms);
    const now = this.#now();
    if (Math.abs(now - signedAt) > this.#maxSkewMs) return { ok: false, reason: 'expired' };
    const given = Buffer.from(signature, 'base64url');
    let valid = false;
    // Every accepted secret is tried (no early exit), so the time taken does not say which one matched.
    for (const secret of this.#secrets.accepted) {
      if (timingSafeEqual(given, this.#sign(secret, method, pathAndQuery, brokerId, ms, nonce))) valid = true;
    }
    if (!valid) return { ok: false, reason: 'bad signature' };
    if (!this.#nonces.admit(nonce, signedAt, now - this.#maxSkewMs)) return { ok: false, reason: 'replayed' };
    const problem = certificateBindingProblem(this.#binding, peer, brokerId);
    if (problem !== null) {
      // A valid signature from the wrong certificate: a broker (or a holder of the secret) speaking for another.
      this.#logger?.warn('broker authentication failed', { audit: 'authentication', principal: peerPrincipal(peer) ?? null, source: sourceOf(peer), listener: 'broker', outcome: 'denied', reason: 'certificate of another broker', claimed: brokerId });
      return { ok: false, reason: 'certificate of another broker', detail: problem };
    }
    return { ok: true, brokerId };
  }

  #sign(secret: string, method: string, pathAndQuery: string, brokerId: string, ms: string, nonce: string): Buffer {
    return createHmac('sha256', this.#keyOf(secret, brokerId)).update(`v1\n${method}\n${pathAndQuery}\n${brokerId}\n${ms}\n${nonce}`).digest();
  }

  #keyOf(secret: string, brokerId: string): Buffer {
    let keys = this.#keys.get(secret);
    if (keys === undefined) {
      // A rotated-out secret's keys go with it: at most the accepted secrets' maps are kept.
      for (const old of this.#keys.keys()) if (!this.#secrets.accepted.includes(old)) this.#keys.delete(old);
      keys = new Map();
      this.#keys.set(secret, keys);
    }
    let key = keys.get(brokerId);
    if (key === undefined) {
      if (keys.size >= DERIVED_KEYS_MAX) keys.clear();
      key = createHmac('sha256', secret).update(`${KEY_LABEL}${brokerId}`).digest();
      keys.set(brokerId, key);
    }
    return key;
  }
}

/**
 * The nonces seen within the skew window, at most `max`. Entries older than the window are dropped
 * (their credentials are refused as expired anyway). When full, the oldest is dropped and `floor`
 * rises to its timestamp: a credential signed at or before the floor is refused, because its nonce
 * may be one that was forgotten. So the bound can refuse a genuine request under a flood, never
 * admit a replay.
 */
export class NonceWindow {
  readonly #max: number;
  /** nonce -> signed at (ms), in arrival order. */
  readonly #seen = new Map<string, number>();
  #floor = Number.NEGATIVE_INFINITY;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True (and remembered) when the nonce is new and signed after the floor. */
  admit(nonce: string, signedAt: number, expiredBefore: number): boolean {
    for (const [old, at] of this.#seen) {
      if (at >= expiredBefore) break;
      this.#seen.delete(old);
    }
    if (signedAt <= this.#floor || this.#seen.has(nonce)) return false;
    while (this.#seen.size >= this.#max) {
      const [oldest, at] = this.#seen.entries().next().value as [string, number];
      this.#seen.delete(oldest);
      this.#floor = Math.max(this.#floor, at);
    }
    this.#seen.set(nonce, signedAt);
    return true;
  }
}

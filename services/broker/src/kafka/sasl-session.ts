// One Kafka connection's authentication (SASL, KIP-152 and KIP-368): its principal, where its
// handshake stands, and when its session expires. The connection makes it; dispatch.ts asks it
// whether a request may run (gate); handlers/sasl.ts moves it along.
//
// States: unauthenticated -> (SaslHandshake) handshake -> (SaslAuthenticate...) authenticated;
// an authenticated connection may re-authenticate (SaslHandshake v1 again) as the same principal,
// and keeps its principal and its requests meanwhile. A failed authentication ends the
// connection: its next request closes it, whatever it is.

import { ApiKey } from '@strata/kafka-protocol';
import type { SaslMechanism } from '../config.js';
import type { Authenticator } from '../auth/authenticator.js';
import { ANONYMOUS_PRINCIPAL } from '../auth/principal.js';
import type { ScramExchange } from '../auth/scram.js';
import type { PrincipalSeat } from './principal-connections.js';

export class SaslSession {
  /** The client's address (without its port): what failed logins are charged to. */
  readonly source: string;
  /** The verified client certificate's principal (mTLS), if any. */
  readonly certificate: string | undefined;
  #principal: string;
  #authenticated = false;
  #failed = false;
  #mechanism: SaslMechanism | null = null;
  #exchange: ScramExchange | null = null;
  #expiresAtMs: number | null = null;

  readonly #seat: PrincipalSeat | undefined;

  constructor(source: string, certificate: string | undefined, seat?: PrincipalSeat) {
    this.source = source;
    this.certificate = certificate;
    this.#principal = certificate ?? ANONYMOUS_PRINCIPAL;
    this.#seat = seat;
  }

  /**
   * Counts the connection for `principal` (STRATA_MAX_CONNECTIONS_PER_PRINCIPAL) before it is
   * authenticated as it: false when that principal holds the most connections it may.
   */
  claim(principal: string): boolean {
    return this.#seat?.move(principal) ?? true;
  }

  get principal(): string {
    return this.#principal;
  }

  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** The mechanism of the handshake in progress (null: none in progress). */
  get mechanism(): SaslMechanism | null {
    return this.#mechanism;
  }

  get exchange(): ScramExchange | null {
    return this.#exchange;
  }

  /**
   * Whether a request of `apiKey` may run now; the reason to close the connection when not.
   * Before authentication only ApiVersions, SaslHandshake and SaslAuthenticate run (under
   * STRATA_AUTH=required; optional lets a client that does not authenticate be anonymous).
   */
  gate(auth: Authenticator, apiKey: number, nowMs: number): string | null {
    if (!auth.enabled) return null;
    if (this.#failed) return 'its SASL authentication failed';
    const sasl = apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate;
    if (this.#authenticated) {
      if (this.#expiresAtMs !== null && nowMs >= this.#expiresAtMs && !sasl) return 'its SASL session expired without re-authentication (KIP-368)';
      return null;
    }
    if (sasl || apiKey === ApiKey.ApiVersions) return null;
    if (auth.required && this.certificate === undefined) return 'SASL authentication is required (STRATA_AUTH=required) before any other request';
    return null;
  }

  /** SaslHandshake accepted: the tokens that follow are for this mechanism. */
  begin(mechanism: SaslMechanism, exchange: ScramExchange | null): void {
    this.#mechanism = mechanism;
    this.#exchange = exchange;
  }

  /** Authenticated as `principal`, for `lifetimeMs` (0: no expiry). */
  complete(principal: string, lifetimeMs: number, nowMs: number): void {
    this.#principal = principal;
    this.#authenticated = true;
    this.#mechanism = null;
    this.#exchange = null;
    this.#expiresAtMs = lifetimeMs > 0 ? nowMs + lifetimeMs : null;
  }

  fail(): void {
    this.#failed = true;
    this.#mechanism = null;
    this.#exchange = null;
  }
}

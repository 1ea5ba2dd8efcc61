// Who a forwarded request came from, carried across the hop so the leader checks the ACLs of the
// client that sent it, not of the broker that forwarded it (issue #14: "forwarding carries the
// original principal"). The entering broker checks the request first (core); the leader checks
// again with the same principal. A leader believes the carried principal and host only with a proof
// no client can make: an HMAC over them keyed by the cluster secret. Without a valid proof the
// request is the connection's own (its mTLS principal, or User:ANONYMOUS), so a client that sets
// these headers itself gains nothing.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const FORWARDED_PRINCIPAL_HEADER = 'strata-forwarded-principal';
export const FORWARDED_HOST_HEADER = 'strata-forwarded-host';
export const FORWARDED_PROOF_HEADER = 'strata-forwarded-proof';

export interface CarriedIdentity {
  principal: string | undefined;
  host: string | undefined;
}

export class ForwardedIdentity {
  readonly #secret: string;

  constructor(clusterSecret: string) {
    this.#secret = clusterSecret;
  }

  /** The headers a forward carries for the client's identity. */
  headers(forwardedBy: string, identity: CarriedIdentity): Record<string, string> {
    const principal = identity.principal ?? '';
    const host = identity.host ?? '';
    return {
      // Percent-encoded: a certificate subject may hold characters a header value may not.
      [FORWARDED_PRINCIPAL_HEADER]: encodeURIComponent(principal),
      [FORWARDED_HOST_HEADER]: encodeURIComponent(host),
      [FORWARDED_PROOF_HEADER]: this.#proof(forwardedBy, principal, host),
    };
  }

  /** The carried identity when its proof holds for `forwardedBy`; null otherwise (absent, forged, or another cluster's). */
  verify(forwardedBy: string, headers: IncomingHttpHeaders): CarriedIdentity | null {
    const principalText = headers[FORWARDED_PRINCIPAL_HEADER];
    const hostText = headers[FORWARDED_HOST_HEADER];
    const proof = headers[FORWARDED_PROOF_HEADER];
    if (typeof principalText !== 'string' || typeof hostText !== 'string' || typeof proof !== 'string') return null;
    let principal: string;
    let host: string;
    try {
      principal = decodeURIComponent(principalText);
      host = decodeURIComponent(hostText);
    } catch {
      return null;
    }
    const expected = Buffer.from(this.#proof(forwardedBy, principal, host));
    const given = Buffer.from(proof);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { principal: principal === '' ? undefined : principal, host: host === '' ? undefined : host };
  }

  #proof(forwardedBy: string, principal: string, host: string): string {
    return createHmac('sha256', this.#secret).update(JSON.stringify(['strata-forward/1', forwardedBy, principal, host])).digest('base64url');
  }
}

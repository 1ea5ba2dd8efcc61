// Who sent a request on the public port: a client, or another broker forwarding a client's request
// (cluster/forwarder.ts). The forwarding broker's claims (Strata-Forwarded-By: never forward again;
// Strata-Forwarded-Principal: the client it came from) are believed only when its credential
// (security/broker-credentials.ts) verifies and names the same broker. A request that claims to be
// forwarded without one is refused: treated as a client's, it could be forwarded back and forth.

import { StrataError } from '@strata/protocol';
import { FORWARDED_HEADER, FORWARDED_PRINCIPAL_HEADER } from '../../cluster/forwarder.js';
import type { RequestOrigin } from '../../core/leader-client.js';
import type { BrokerCredentials } from '../../security/broker-credentials.js';
import { peerPrincipal } from '../../security/tls.js';
import type { RequestContext } from '../router.js';

/** The longest principal a forwarded request may carry, in characters (a certificate subject fits). */
export const FORWARDED_PRINCIPAL_CHARS_MAX = 1_024;

/** The origin of a data request: `forwardedBy` and the client's principal from a verified broker, else the client's own. */
export function requestOrigin(rc: RequestContext, credentials: BrokerCredentials): RequestOrigin {
  const forwardedBy = rc.req.headers[FORWARDED_HEADER];
  if (forwardedBy === undefined) {
    const principal = peerPrincipal(rc.req.socket);
    return { replay: rc.target, ...(principal === undefined ? {} : { principal }) };
  }
  const check = credentials.verify(rc.req.headers.authorization, rc.req.method ?? 'GET', rc.target);
  if (!check.ok || check.brokerId !== forwardedBy) {
    const reason = check.ok ? 'the credential names another broker' : check.reason;
    throw new StrataError('BROKER_AUTHENTICATION_FAILED', `a request forwarded by another broker must carry that broker's valid credential (${reason})`, { details: { reason } });
  }
  const encoded = rc.req.headers[FORWARDED_PRINCIPAL_HEADER];
  if (typeof encoded !== 'string') return { forwardedBy, replay: rc.target };
  let principal: string;
  try {
    principal = decodeURIComponent(encoded);
  } catch {
    throw new StrataError('INVALID_REQUEST', `${FORWARDED_PRINCIPAL_HEADER} is not percent-encoded UTF-8`);
  }
  if (principal === '' || principal.length > FORWARDED_PRINCIPAL_CHARS_MAX) {
    throw new StrataError('INVALID_REQUEST', `${FORWARDED_PRINCIPAL_HEADER} must be 1..${FORWARDED_PRINCIPAL_CHARS_MAX} characters`);
  }
  return { forwardedBy, replay: rc.target, principal };
}

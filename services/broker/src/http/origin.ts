// Who sent an HTTP request, as the core checks it (core/leader-client.ts RequestOrigin): the client's
// authenticated principal and address; for a request another broker forwarded (cluster/forwarder.ts),
// the principal and address of the client that sent it there. The forwarding broker's claims
// (Strata-Forwarded-By: never forward again; Strata-Forwarded-Principal and -Host: the client) are
// believed only when its credential (security/broker-credentials.ts) verifies and names the same
// broker. A request that claims to be forwarded without one is refused: treated as a client's, it
// could be forwarded back and forth, and a client could claim any principal.

import type { IncomingMessage } from 'node:http';
import { StrataError } from '@strata/protocol';
import { FORWARDED_HEADER, FORWARDED_HOST_HEADER, FORWARDED_PRINCIPAL_HEADER } from '../cluster/forwarder.js';
import type { RequestOrigin } from '../core/leader-client.js';
import type { BrokerCredentials } from '../security/broker-credentials.js';

/** The longest principal or address a forwarded request may carry, in characters (a certificate subject fits). */
export const FORWARDED_IDENTITY_CHARS_MAX = 1_024;

/**
 * `credentials`: what a forwarding broker's credential is checked with. `replay`: the request target
 * in origin form (how the leader is asked the same read; what the credential signs). `authenticate`:
 * the client's own credentials, asked only when the request is not a forward (the entering broker
 * authenticated that client).
 */
export function httpOrigin(
  credentials: BrokerCredentials,
): (req: IncomingMessage, replay: string, authenticate: () => string | Promise<string>) => RequestOrigin | Promise<RequestOrigin> {
  // A promise only when authentication needs one (a token or password check), not per request;
  // a refusal is always a rejected promise, never a throw.
  return (req, replay, authenticate) => {
    try {
      return originOf(credentials, req, replay, authenticate);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  };
}

function originOf(credentials: BrokerCredentials, req: IncomingMessage, replay: string, authenticate: () => string | Promise<string>): RequestOrigin | Promise<RequestOrigin> {
  const forwardedBy = req.headers[FORWARDED_HEADER];
  if (forwardedBy === undefined) {
    const clientOrigin = (principal: string): RequestOrigin => {
      const host = req.socket.remoteAddress;
      return { replay, principal, ...(host === undefined ? {} : { host }) };
    };
    const principal = authenticate();
    return typeof principal === 'string' ? clientOrigin(principal) : principal.then(clientOrigin);
  }
  const check = credentials.verify(req.headers.authorization, req.method ?? 'GET', replay, req.socket);
  if (!check.ok || check.brokerId !== forwardedBy) {
    const reason = check.ok ? 'the credential names another broker' : check.reason;
    const detail = check.ok || check.detail === undefined ? '' : `: ${check.detail}`;
    throw new StrataError('BROKER_AUTHENTICATION_FAILED', `a request forwarded by another broker must carry that broker's valid credential (${reason}${detail})`, { details: { reason } });
  }
  const principal = carried(req, FORWARDED_PRINCIPAL_HEADER);
  const host = carried(req, FORWARDED_HOST_HEADER);
  return { forwardedBy, replay, ...(principal === undefined ? {} : { principal }), ...(host === undefined ? {} : { host }) };
}

function carried(req: IncomingMessage, header: string): string | undefined {
  const encoded = req.headers[header];
  if (typeof encoded !== 'string') return undefined;
  let value: string;
  try {
    value = decodeURIComponent(encoded);
  } catch {
    throw new StrataError('INVALID_REQUEST', `${header} is not percent-encoded UTF-8`);
  }
  if (value === '' || value.length > FORWARDED_IDENTITY_CHARS_MAX) throw new StrataError('INVALID_REQUEST', `${header} must be 1..${FORWARDED_IDENTITY_CHARS_MAX} characters`);
  return value;
}

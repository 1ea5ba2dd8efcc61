// Who an HTTP request comes from: `Authorization: Bearer <API token>`, `Authorization: Basic`
// (a user's password, checked against its SCRAM-stored keys), or the client certificate (mTLS).
// Credentials in the header win over the certificate (as SASL does over SSL in Kafka).
//
// STRATA_AUTH=none: the header is not read (the principal is the certificate's, or anonymous).
// optional: a header is checked (wrong credentials are 401, never silently anonymous).
// required: a request with neither is 401, except the public routes (health, readiness, the
// OpenAPI document; /metrics with STRATA_METRICS_PUBLIC=true) and one bootstrap case: while the coordinator holds no user at
// all, POST /v1/users from a loopback address (how the first user is made on a new cluster).

import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { StrataError } from '@strata/protocol';
import { peerPrincipal } from '../security/tls.js';
import type { AuthFailureReason, Authenticator } from './authenticator.js';
import { ANONYMOUS_PRINCIPAL } from './principal.js';

/** The challenge a 401 carries: both schemes this broker accepts. */
export const WWW_AUTHENTICATE = 'Basic realm="strata", charset="UTF-8", Bearer realm="strata"';

/**
 * The challenge a 401 carries to a page's script (the console). A browser meets a Basic challenge
 * to fetch() with its own login popup, drawn over the console's sign-in form, and then keeps what
 * was typed there and sends it to this origin until it closes (a sign-out could not forget it).
 * A Bearer challenge raises no popup. Scripts say so with `X-Requested-With: XMLHttpRequest` (the
 * convention of jQuery, Spring Security and others); curl, the CLI and a browser opening an API
 * URL itself send no such header and are still offered both schemes.
 */
export const SCRIPT_WWW_AUTHENTICATE = 'Bearer realm="strata"';

export function challengeFor(req: IncomingMessage): string {
  const requestedWith = req.headers['x-requested-with'];
  return typeof requestedWith === 'string' && requestedWith.toLowerCase() === 'xmlhttprequest' ? SCRIPT_WWW_AUTHENTICATE : WWW_AUTHENTICATE;
}

export interface HttpRouteInfo {
  id: string;
  public?: boolean;
}

const BASIC_CREDENTIALS_BYTES_MAX = 2048;

export function sourceOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export function httpPrincipal(auth: Authenticator, req: IncomingMessage, route: HttpRouteInfo): string | Promise<string> {
  // Without authentication, no promise per request (issue #16); a refusal is a rejected promise.
  let certificate: string | undefined;
  try {
    certificate = peerPrincipal(req.socket);
  } catch (e) {
    return Promise.reject(e as Error);
  }
  if (!auth.enabled) return certificate ?? ANONYMOUS_PRINCIPAL;
  return authenticatedPrincipal(auth, req, route, certificate);
}

async function authenticatedPrincipal(auth: Authenticator, req: IncomingMessage, route: HttpRouteInfo, certificate: string | undefined): Promise<string> {
  const header = req.headers.authorization;
  const source = sourceOf(req);
  if (header !== undefined) {
    const outcome = await fromHeader(auth, header, source);
    if (outcome.ok) return outcome.principal;
    throw refusal(outcome.reason);
  }
  if (certificate !== undefined) return certificate;
  if (!auth.required || route.public === true) return ANONYMOUS_PRINCIPAL;
  if (route.id === 'createUser' && isLoopback(source) && !(await auth.hasUsers())) return ANONYMOUS_PRINCIPAL;
  throw new StrataError('AUTHENTICATION_FAILED', 'authentication required: send Authorization: Bearer <token> or Basic <user:password>, or a client certificate', { details: { reason: 'no_credentials' } });
}

async function fromHeader(auth: Authenticator, header: string, source: string): Promise<{ ok: true; principal: string } | { ok: false; reason: AuthFailureReason }> {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer' && value !== '') return auth.token(value, source, 'http');
  if (scheme === 'basic' && value !== '' && value.length <= BASIC_CREDENTIALS_BYTES_MAX) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return auth.password(decoded.slice(0, colon), decoded.slice(colon + 1), source, 'http');
  }
  return auth.fail('http', source, null, 'malformed', `an Authorization header of scheme "${scheme.slice(0, 16)}" that is not Bearer or Basic <user:password>`);
}

function refusal(reason: AuthFailureReason): StrataError {
  const message =
    reason === 'rate_limited'
      ? 'authentication refused: too many failed logins from this address; retry later'
      : reason === 'expired_token'
        ? 'authentication failed: the API token has expired'
        : 'authentication failed';
  return new StrataError('AUTHENTICATION_FAILED', message, { details: { reason: reason === 'rate_limited' || reason === 'expired_token' || reason === 'malformed' ? reason : 'invalid_credentials' } });
}

/** 127.0.0.0/8 or ::1 (an IPv4-mapped address counts as its IPv4 address). */
export function isLoopback(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

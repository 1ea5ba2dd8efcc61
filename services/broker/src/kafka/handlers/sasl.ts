// SaslHandshake (key 17, v0-1) and SaslAuthenticate (key 36, v0-2): PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512 against the coordinator's users (auth/), KIP-152's framing (the SASL tokens travel
// in SaslAuthenticate requests; after a v0 handshake too: Strata does not read bare tokens) and
// KIP-368's re-authentication (SaslAuthenticate v1+ answers the session lifetime; the client must
// authenticate again, as the same principal, before it ends).
//
// PLAIN takes a user's password, or one of its API tokens as the password (`strata_...`).
// A failed authentication is answered SASL_AUTHENTICATION_FAILED and ends the connection (the
// session refuses its next request, as Kafka's broker closes it). A principal that already holds
// STRATA_MAX_CONNECTIONS_PER_PRINCIPAL connections is answered the same code with a message saying
// so, and the connection closes after that answer.

import { ApiKey, KafkaError } from '@strata/kafka-protocol';
import type { AuthFailureReason, AuthOutcome } from '../../auth/authenticator.js';
import { userPrincipal } from '../../auth/principal.js';
import { parsePlain } from '../../auth/scram.js';
import { parseToken } from '../../auth/tokens.js';
import type { SaslMechanism } from '../../config.js';
import type { KafkaReply } from '../connection.js';
import type { SaslSession } from '../sasl-session.js';
import { decodeBody, respond, type HandlerDeps, type KafkaHandler, type KafkaRequest } from './context.js';

const EMPTY = Buffer.alloc(0);

function sessionOf(request: KafkaRequest): SaslSession {
  if (request.session === undefined) throw new Error('a SASL request without its connection session');
  return request.session;
}

export function saslHandshakeHandler(deps: HandlerDeps): KafkaHandler {
  const { auth } = deps.ctx;
  return async (request) => {
    const body = decodeBody(ApiKey.SaslHandshake, request);
    const session = sessionOf(request);
    const offered = auth.enabled ? auth.config.saslMechanisms : [];
    const answer = (errorCode: number): KafkaReply => respond(ApiKey.SaslHandshake, request, { errorCode, mechanisms: offered });
    // A second handshake before the first one's tokens, or re-authentication without KIP-368's v1.
    if (session.mechanism !== null || (session.authenticated && request.header.apiVersion < 1)) return answer(KafkaError.ILLEGAL_SASL_STATE);
    const mechanism = offered.find((m) => m === body.mechanism);
    if (mechanism === undefined) return answer(KafkaError.UNSUPPORTED_SASL_MECHANISM);
    session.begin(mechanism, mechanism === 'PLAIN' ? null : auth.scram(mechanism));
    return answer(KafkaError.NONE);
  };
}

export function saslAuthenticateHandler(deps: HandlerDeps): KafkaHandler {
  const { ctx } = deps;
  const { auth } = ctx;
  const lifetimeMs = auth.config.saslSessionLifetimeMs;

  const answer = (request: KafkaRequest, errorCode: number, errorMessage: string | null, authBytes: Buffer, sessionLifetimeMs = 0): KafkaReply =>
    respond(ApiKey.SaslAuthenticate, request, { errorCode, errorMessage, authBytes, sessionLifetimeMs: BigInt(sessionLifetimeMs) });

  const failed = (request: KafkaRequest, session: SaslSession, reason: AuthFailureReason): KafkaReply => {
    session.fail();
    const message = reason === 'rate_limited' ? 'Authentication failed: too many failed logins from this address; retry later' : 'Authentication failed: invalid credentials';
    return answer(request, KafkaError.SASL_AUTHENTICATION_FAILED, message, EMPTY);
  };

  // The credentials were right, but the principal holds the most connections it may: not a failed
  // login (the address is not charged), a refusal that is audited and ends the connection.
  const overLimit = (request: KafkaRequest, session: SaslSession, principal: string): KafkaReply => {
    session.fail();
    const max = ctx.config.quotas.maxConnectionsPerPrincipal;
    const message = `${principal} already holds ${max} connections, the most it may (STRATA_MAX_CONNECTIONS_PER_PRINCIPAL)`;
    ctx.logger.warn('kafka connection refused', { audit: 'authentication', principal, source: session.source, listener: 'kafka', outcome: 'denied', reason: 'connections_per_principal' });
    const reply = answer(request, KafkaError.SASL_AUTHENTICATION_FAILED, `Connection refused: ${message}`, EMPTY);
    return reply.kind === 'respond' ? { ...reply, closeAfter: { reason: 'connections_per_principal', message } } : reply;
  };

  const succeeded = (request: KafkaRequest, session: SaslSession, principal: string, finalMessage: Buffer): KafkaReply => {
    if (session.authenticated && principal !== session.principal) {
      auth.fail('kafka', session.source, principal, 'malformed', `re-authentication as ${principal}, not ${session.principal}`);
      session.fail();
      return answer(request, KafkaError.SASL_AUTHENTICATION_FAILED, 'Re-authentication must be as the same principal', EMPTY);
    }
    if (!session.claim(principal)) return overLimit(request, session, principal);
    session.complete(principal, lifetimeMs, ctx.now());
    return answer(request, KafkaError.NONE, null, finalMessage, lifetimeMs);
  };

  const plain = async (session: SaslSession, bytes: Buffer): Promise<AuthOutcome> => {
    const parsed = parsePlain(bytes);
    if (parsed === null) return auth.fail('kafka', session.source, null, 'malformed', 'a malformed SASL/PLAIN message');
    if (parseToken(parsed.password) === null) return auth.password(parsed.user, parsed.password, session.source, 'kafka');
    const outcome = await auth.token(parsed.password, session.source, 'kafka');
    if (outcome.ok && outcome.principal !== userPrincipal(parsed.user)) return auth.fail('kafka', session.source, parsed.user, 'unknown_token', "an API token of another user");
    return outcome;
  };

  return async (request) => {
    const body = decodeBody(ApiKey.SaslAuthenticate, request);
    const session = sessionOf(request);
    const mechanism: SaslMechanism | null = session.mechanism;
    if (mechanism === null) return answer(request, KafkaError.ILLEGAL_SASL_STATE, 'SaslAuthenticate before a SaslHandshake', EMPTY);
    if (mechanism === 'PLAIN') {
      const outcome = await plain(session, body.authBytes);
      return outcome.ok ? succeeded(request, session, outcome.principal, EMPTY) : failed(request, session, outcome.reason);
    }
    const exchange = session.exchange!;
    if (exchange.user === null) {
      const refused = auth.refused(session.source, 'kafka', null);
      if (refused !== null && !refused.ok) return failed(request, session, refused.reason);
    }
    const step = await exchange.step(body.authBytes);
    if (step.kind === 'continue') return answer(request, KafkaError.NONE, null, Buffer.from(step.message, 'utf8'));
    if (step.kind === 'done') return succeeded(request, session, userPrincipal(step.user), Buffer.from(step.message, 'utf8'));
    auth.fail('kafka', session.source, step.user, step.reason, step.detail);
    return failed(request, session, step.reason);
  };
}

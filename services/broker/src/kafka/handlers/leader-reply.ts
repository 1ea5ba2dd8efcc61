// A leader's HTTP answer to a read asked on a Kafka client's behalf (one-address mode): its
// status, bytes and Strata-* headers as a typed value the Kafka handlers encode.

import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '@strata/protocol';
import type { ForwardedReply } from '../../core/leader-client.js';

/** The error a leader answered with (its JSON error body), or NOT_LEADER when the body says nothing usable. */
export function leaderError(reply: ForwardedReply, what: string): StrataError {
  type ErrorReply = { error?: { code?: unknown; message?: unknown } } | null;
  let parsed: ErrorReply;
  try {
    parsed = JSON.parse(reply.body.toString('utf8')) as ErrorReply;
  } catch {
    parsed = null;
  }
  const code = parsed?.error?.code;
  const message = typeof parsed?.error?.message === 'string' ? parsed.error.message : `HTTP ${reply.status}`;
  if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code)) return new StrataError(code as ErrorCode, `${what} at its leader: ${message}`);
  return new StrataError('NOT_LEADER', `${what} at its leader failed: ${message}`);
}

/** A Strata-* header as a number (-1 when absent or malformed). */
export function numberHeader(reply: ForwardedReply, name: string): number {
  const value = Number(reply.headers[name]);
  return Number.isSafeInteger(value) ? value : -1;
}

/** The offset (and timestamp) of a leader's offsets answer. */
export function leaderOffset(reply: ForwardedReply, what: string): { offset: number; timestamp?: number } {
  if (reply.status !== 200) throw leaderError(reply, what);
  const body = JSON.parse(reply.body.toString('utf8')) as { offset?: unknown; timestamp?: unknown };
  if (!Number.isSafeInteger(body.offset)) throw new StrataError('NOT_LEADER', `${what}: the leader's answer has no offset`);
  return Number.isSafeInteger(body.timestamp) ? { offset: body.offset as number, timestamp: body.timestamp as number } : { offset: body.offset as number };
}

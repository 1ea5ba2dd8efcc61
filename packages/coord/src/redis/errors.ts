// The one place where what Redis (or the connection to it) answered becomes a StrataError.
//
// - "STRATA <KIND> <json>": a script refused (lua/_prelude.lua fail()); KIND is a FailureKind of
//   ../errors.ts, which makes the error the in-process engine makes for the same case.
// - Redis that cannot serve now (LOADING after a restart, READONLY on a demoted master during a
//   failover, BUSY, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, OOM) and every connection failure:
//   STORAGE_ERROR, retriable (Kafka: COORDINATOR_NOT_AVAILABLE).
// - A script that failed at run time (it met a corrupt field: scripts check before they write,
//   so nothing was changed) or any other reply error: INTERNAL_ERROR.

import { StrataError, isStrataError } from '@strata/protocol';
import { coordError, isFailureKind, unavailable } from '../errors.js';

const RETRIABLE_REPLIES = /^(LOADING|READONLY|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS|MOVED|ASK)\b/;

/** ioredis' ReplyError (from redis-errors): an error answered by the server. */
function isReplyError(e: unknown): e is Error {
  return e instanceof Error && e.name === 'ReplyError';
}

export function isNoScript(e: unknown): boolean {
  return isReplyError(e) && e.message.startsWith('NOSCRIPT');
}

/**
 * `context` names what was being done ("acquireLeadership orders/3") and adds details every
 * error of the call carries (topic, partition, group, ...).
 */
export function fromRedisError(e: unknown, what: string, context: Record<string, unknown> = {}): StrataError {
  if (isStrataError(e)) return e;
  if (isReplyError(e)) {
    const m = /^STRATA ([A-Z_]+)(?: (\{.*\}))?$/s.exec(e.message);
    const kind = m?.[1];
    if (m !== null && kind !== undefined && isFailureKind(kind)) {
      let details: Record<string, unknown> = {};
      if (m[2] !== undefined) {
        try {
          details = JSON.parse(m[2]) as Record<string, unknown>;
        } catch {
          details = { raw: m[2] };
        }
      }
      return coordError(kind, { ...context, ...details }, e);
    }
    if (RETRIABLE_REPLIES.test(e.message)) return unavailable(`${what}: Redis cannot serve now (${firstLine(e.message)})`, e);
    return new StrataError('INTERNAL_ERROR', `${what}: Redis answered an error: ${firstLine(e.message)}`, { cause: e, details: context });
  }
  const message = e instanceof Error ? e.message : String(e);
  return unavailable(`${what}: Redis is unreachable (${firstLine(message)})`, e);
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

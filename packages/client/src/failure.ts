// How a failed request is classified before anyone sees it. Callers of the
// client only ever see StrataError (or their own AbortSignal's reason): the
// server's code and message when it answered with an error body, and a mapped
// code otherwise. Internally a RequestFailure also carries what the retry loop
// needs: whether trying again can help, and whether the request may have been
// applied (a retry of such a request can duplicate it).

import { ERROR_CATALOGUE, StrataError, type ErrorCode } from '@strata/protocol';

export type FailureKind =
  /** The connection could not be opened: nothing was sent, so another broker can be tried at once. */
  | 'connect'
  /** The connection broke after the request may have been sent (reset, closed mid-answer). */
  | 'network'
  /** No complete answer within the attempt's timeout. */
  | 'timeout'
  /** The broker (or something in front of it) answered with an error status. */
  | 'status';

/** Error codes of a failure to open a connection: the request never left this process. */
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Statuses that say "try again later" even without a Strata error body (a load balancer's, say). */
const RETRIABLE_STATUSES = new Set([408, 429, 502, 503, 504]);

/** Statuses without a Strata error body, mapped to the catalogue's nearest code. */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'INVALID_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMED_OUT',
  413: 'MESSAGE_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  401: 'AUTHENTICATION_FAILED',
  416: 'OFFSET_OUT_OF_RANGE',
  504: 'REQUEST_TIMED_OUT',
};

export class RequestFailure extends Error {
  readonly kind: FailureKind;
  /** What the caller sees if this failure is final. */
  readonly error: StrataError;
  /** Whether the same request can succeed later unchanged. */
  readonly retriable: boolean;
  readonly origin: string;
  readonly status: number | null;

  constructor(kind: FailureKind, error: StrataError, retriable: boolean, origin: string, status: number | null, cause?: unknown) {
    super(error.message, cause === undefined ? undefined : { cause });
    this.name = 'RequestFailure';
    this.kind = kind;
    this.error = error;
    this.retriable = retriable;
    this.origin = origin;
    this.status = status;
  }
}

/** A thrown transport error (undici, node:net) as a RequestFailure. */
export function transportFailure(e: unknown, origin: string, what: string): RequestFailure {
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : '';
  const reason = e instanceof Error ? e.message : String(e);
  const kind: FailureKind = CONNECT_ERROR_CODES.has(code) ? 'connect' : 'network';
  const error = new StrataError('REQUEST_TIMED_OUT', `${what} to ${origin} failed: ${code ? `${code}: ` : ''}${reason}`, {
    cause: e,
    details: { origin, ...(code ? { errno: code } : {}) },
  });
  return new RequestFailure(kind, error, true, origin, null, e);
}

export function timeoutFailure(origin: string, what: string, timeoutMs: number): RequestFailure {
  const error = new StrataError('REQUEST_TIMED_OUT', `${what} to ${origin} got no answer within ${timeoutMs} ms`, {
    details: { origin, timeoutMs },
  });
  return new RequestFailure('timeout', error, true, origin, null);
}

function isKnownCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code);
}

/**
 * An error answer as a RequestFailure. With a Strata error body the server's code, message and
 * details are kept, and `retriable` is the body's (so a newer server's codes are handled right);
 * 429 and 503 are retriable whatever the body says.
 */
export function statusFailure(status: number, contentType: string, body: Buffer, origin: string, what: string): RequestFailure {
  type WireError = { code?: unknown; message?: unknown; retriable?: unknown; details?: unknown };
  let wire: WireError | null = null;
  if (contentType.includes('json') && body.length > 0) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown };
      if (parsed !== null && typeof parsed === 'object' && parsed.error !== null && typeof parsed.error === 'object') {
        wire = parsed.error as WireError;
      }
    } catch {
      wire = null;
    }
  }
  const statusRetriable = status === 429 || status === 503;
  if (wire !== null && typeof wire.code === 'string') {
    const message = typeof wire.message === 'string' ? wire.message : `${wire.code} (HTTP ${status})`;
    const details =
      wire.details !== null && typeof wire.details === 'object' && !Array.isArray(wire.details) ? (wire.details as Record<string, unknown>) : undefined;
    const retriable = wire.retriable === true || statusRetriable;
    if (isKnownCode(wire.code)) {
      return new RequestFailure('status', new StrataError(wire.code, message, { details }), retriable, origin, status);
    }
    // A code this client does not know (a newer broker): keep it in the details and message.
    const error = new StrataError('INTERNAL_ERROR', `${wire.code}: ${message}`, { details: { ...details, serverCode: wire.code, status } });
    return new RequestFailure('status', error, retriable, origin, status);
  }
  const retriable = RETRIABLE_STATUSES.has(status);
  const code: ErrorCode = CODE_BY_STATUS[status] ?? (retriable ? 'REQUEST_TIMED_OUT' : 'INTERNAL_ERROR');
  const snippet = body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
  const error = new StrataError(code, `${what} to ${origin}: HTTP ${status} without a Strata error body${snippet ? `: ${snippet}` : ''}`, {
    details: { origin, status },
  });
  return new RequestFailure('status', error, retriable, origin, status);
}

/** A 2xx answer that is not what the API promises (a proxy's page, a truncated body). */
export function badResponse(origin: string, what: string, problem: string): StrataError {
  return new StrataError('INTERNAL_ERROR', `${what} to ${origin}: unexpected answer: ${problem}`, { details: { origin } });
}

/**
 * The error a caller sees when retries stop at the deadline: the server's code when it gave one
 * (with the attempts in the message and the last failure as the cause), REQUEST_TIMED_OUT otherwise.
 */
export function gaveUp(failure: RequestFailure, attempts: number, elapsedMs: number, what: string): StrataError {
  const summary = `${what}: gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${elapsedMs} ms`;
  if (failure.kind === 'status' && failure.error.code !== 'REQUEST_TIMED_OUT') {
    return new StrataError(failure.error.code, `${summary}; last error: ${failure.error.message}`, {
      cause: failure.error,
      details: failure.error.details,
    });
  }
  return new StrataError('REQUEST_TIMED_OUT', `${summary}; last error: ${failure.error.message}`, {
    cause: failure.error,
    details: { ...failure.error.details, attempts, elapsedMs },
  });
}

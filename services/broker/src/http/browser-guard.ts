// What a web page on another origin may do with this broker. A browser sends "simple" cross-origin
// requests (a form post, fetch() with a text/plain body) without asking first, and the broker
// would act on them although the page can never read the answer: topics created, records
// produced, group offsets reset from any tab that visits a hostile page. So:
//   - a request that can change state (any method but GET, HEAD, OPTIONS) carrying an Origin is
//     refused (403 ORIGIN_NOT_ALLOWED) unless the Origin is this broker's own (the console at
//     /console is same-origin) or one of STRATA_CORS_ORIGINS; `Origin: null` (a sandboxed frame, a
//     file:// page) is never allowed. Clients that are not browsers send no Origin.
//   - CORS preflights are answered (204, with the Access-Control-Allow-* headers) only for those
//     configured origins; any other is 403 and the browser refuses to send the request.
//   - answers to a configured origin carry Access-Control-Allow-Origin, so its pages read them.
// Request bodies are held to the media types the API defines (http/body.ts), which closes the
// text/plain and form-post ways around a preflight as well.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { StrataError } from '@strata/protocol';

/** Methods a browser treats as safe: they never change state here, so any origin may send them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** What a configured origin's preflight is allowed (the API's methods and request headers). */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'authorization, content-type, x-requested-with';
/** Read headers a page may see (fetch answers' Strata-* headers). */
const EXPOSED_HEADERS = 'strata-high-watermark, strata-log-start-offset, strata-next-offset, strata-batch-count, retry-after';
/** How long a browser may cache a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE_S = 600;

export type BrowserVerdict = { kind: 'pass' } | { kind: 'preflight' } | { kind: 'refuse'; error: StrataError };

export class BrowserGuard {
  readonly #allowed: ReadonlySet<string>;

  /** `corsOrigins`: origins (scheme://host[:port], as a browser sends them) whose pages may call the API. */
  constructor(corsOrigins: readonly string[]) {
    this.#allowed = new Set(corsOrigins);
  }

  /** What to do with a request before it is routed: let it through, answer its preflight, or refuse it. */
  judge(req: IncomingMessage): BrowserVerdict {
    const origin = req.headers.origin;
    const method = req.method ?? 'GET';
    if (origin === undefined) return { kind: 'pass' };
    const preflight = method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (preflight) return this.#allowed.has(origin) ? { kind: 'preflight' } : { kind: 'refuse', error: refused(origin, 'preflight') };
    if (SAFE_METHODS.has(method) || this.#allowed.has(origin) || sameOrigin(origin, req)) return { kind: 'pass' };
    return { kind: 'refuse', error: refused(origin, method) };
  }

  /** The CORS headers of an answer to `req` (none unless its Origin is configured). */
  corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (origin === undefined || !this.#allowed.has(origin)) return {};
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS, vary: 'Origin' };
  }

  /** Answers an allowed preflight. */
  answerPreflight(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(204, {
      ...this.corsHeaders(req),
      'access-control-allow-methods': ALLOWED_METHODS,
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
      'content-length': '0',
    });
    res.end();
  }
}

/**
 * The Origin names the host the request was sent to (the console, served by this broker). The
 * Host header is what the browser connected to; the scheme is not compared, as a TLS-terminating
 * proxy in front changes it and the page still came from this broker.
 */
function sameOrigin(origin: string, req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined || origin === 'null') return false;
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}

function refused(origin: string, what: string): StrataError {
  return new StrataError('ORIGIN_NOT_ALLOWED', `requests from pages of origin ${origin} may not ${what === 'preflight' ? 'call this API' : `use ${what} here`}; allow it with STRATA_CORS_ORIGINS`, {
    details: { origin },
  });
}

// The request lifecycle: route, check the path parameters (against @strata/api's schemas), run the
// handler, write the reply or the error body, record metrics, and never let an exception escape
// (500 + a logged stack).

import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pathParams } from '@strata/api';
import { StrataError } from '@strata/protocol';
import { challengeFor } from '../auth/http-auth.js';
import { principalOf } from '../auth/principal.js';
import type { Logger } from '../logger.js';
import type { BrokerMetrics } from '../metrics.js';
import { errorBody, statusFor, toStrataError } from './errors.js';
import type { Reply, RequestContext, Router } from './router.js';
import type { RequestOrigin } from '../core/leader-client.js';
import type { BrowserGuard } from './browser-guard.js';
import { HttpRequestContext, RequestAbort } from './request-abort.js';
import { parseRequestTarget } from './request-target.js';

export interface RequestListenerOptions {
  router: Router;
  metrics: BrokerMetrics;
  logger: Logger;
  /** True once close() began: API routes answer 503 BROKER_SHUTTING_DOWN, connections close. */
  isShuttingDown: () => boolean;
  /** Registers in-flight work so close() can wait for it. */
  track: (work: Promise<unknown>) => void;
  /** Who sent a request (auth/http-auth.ts); throws AUTHENTICATION_FAILED (401). */
  authenticate: (req: IncomingMessage, route: { id: string; public?: boolean }) => string | Promise<string>;
  /** Who sent the request (http/origin.ts): a proven forward's client, else `authenticate`'s principal. */
  originOf: (req: IncomingMessage, target: string, authenticate: () => string | Promise<string>) => RequestOrigin | Promise<RequestOrigin>;
  /** What pages of other origins may do (CORS, Origin checks); absent: no browser checks (tests of the router alone). */
  browser?: BrowserGuard;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function createRequestListener(options: RequestListenerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { router, metrics, logger } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    let routeLabel = 'unmatched';
    const abort = new RequestAbort(res);
    try {
      // Before routing: a foreign page's request is refused before anything reads its body or acts.
      const verdict = options.browser?.judge(req) ?? { kind: 'pass' };
      if (verdict.kind === 'refuse') throw verdict.error;
      if (verdict.kind === 'preflight') {
        routeLabel = 'preflight';
        options.browser!.answerPreflight(req, res);
        return;
      }
      for (const [name, value] of Object.entries(options.browser?.corsHeaders(req) ?? {})) res.setHeader(name, value);
      const url = parseRequestTarget(req.url ?? '/');
      const { route, params: pathTexts } = router.match(method, url.pathname);
      routeLabel = route.path;
      if (options.isShuttingDown() && !route.operational) {
        throw new StrataError('BROKER_SHUTTING_DOWN', 'the broker is shutting down; retry on another broker or after restart');
      }
      const params = pathParams(pathTexts);
      const target = `${url.pathname}${url.search}`;
      const known = options.originOf(req, target, () => options.authenticate(req, route));
      const origin = known instanceof Promise ? await known : known;
      const principal = principalOf(origin.principal);
      const ctx: RequestContext = new HttpRequestContext(req, res, params, url.searchParams, target, principal, origin, abort);
      const reply = await route.handler(ctx);
      if (res.destroyed) return; // the client left; nothing to write
      writeReply(req, res, reply, options.isShuttingDown());
    } catch (e) {
      const { error, unexpected } = toStrataError(e);
      if (unexpected) {
        logger.error('request failed', { method, url: req.url, route: routeLabel, code: error.code, err: error.cause ?? error });
      } else {
        logger.debug('request refused', { method, url: req.url, route: routeLabel, code: error.code, message: error.message });
      }
      if (!res.headersSent && !res.destroyed) {
        const headers: Record<string, string> = {};
        if (error.code === 'METHOD_NOT_ALLOWED' && Array.isArray(error.details?.allow)) headers.Allow = (error.details.allow as string[]).join(', ');
        // A quota's throttle time says how long (whole seconds, rounded up); other retriable errors say 1 s.
        const retryAfterMs = error.details?.retryAfterMs;
        if (error.retriable) headers['Retry-After'] = typeof retryAfterMs === 'number' ? String(Math.max(1, Math.ceil(retryAfterMs / 1000))) : '1';
        if (error.code === 'AUTHENTICATION_FAILED') headers['WWW-Authenticate'] = challengeFor(req);
        writeReply(req, res, { status: statusFor(error.code), json: errorBody(error), headers }, options.isShuttingDown());
      } else if (!res.writableEnded) {
        res.destroy();
      }
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = abort.aborted && !res.headersSent ? 'aborted' : String(res.statusCode);
      const labels = { method, route: routeLabel, status };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      if (logger.isEnabled('debug')) logger.debug('request', { ...labels, ms: Math.round(seconds * 1e6) / 1e3 });
    }
  };

  return (req, res) => {
    const work = handle(req, res).catch((e: unknown) => {
      // Only a bug in the error path itself lands here; keep the process up.
      logger.error('request handler crashed', { err: e });
      if (!res.destroyed) res.destroy();
    });
    options.track(work);
  };
}

function writeReply(req: IncomingMessage, res: ServerResponse, reply: Reply, closing: boolean): void {
  const headers: Record<string, string | number> = { ...reply.headers };
  // A body we did not read (an early error) or a broker going down: do not reuse the connection.
  if (closing || !req.complete) headers.Connection = 'close';
  let body: Buffer | string | undefined;
  if ('json' in reply) {
    body = JSON.stringify(reply.json);
    headers['Content-Type'] = JSON_TYPE;
  } else if ('body' in reply) {
    body = reply.body;
    headers['Content-Type'] = reply.contentType;
    // 'close' comes after the last byte went to the socket, or after the connection died.
    if (reply.onDone) res.once('close', reply.onDone);
  }
  if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
  if (!req.complete && req.socket !== null) lingerBeforeClose(req.socket);
  res.writeHead(reply.status, headers);
  res.end(body);
}

/**
 * How long a connection whose request body was refused unread stays open after the answer,
 * discarding what the client still sends. Closing a socket with unread bytes in its receive buffer
 * sends a reset, and the client loses the answer it was about to read (EPIPE/ECONNRESET instead of
 * a clear 413 or 429): RFC 9112 §9.6 asks servers to linger. Bounded in time; nothing is kept.
 */
export const UNREAD_BODY_LINGER_MS = 2_000;

/**
 * Node closes a `Connection: close` socket with destroySoon() once the answer is written: for this
 * socket, end our side instead, discard what still arrives, and destroy it when the client closes
 * its side or the linger time is up.
 */
function lingerBeforeClose(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), UNREAD_BODY_LINGER_MS);
    timer.unref();
    this.once('end', () => this.destroy());
    this.once('close', () => clearTimeout(timer));
    this.on('data', discard);
    this.resume();
  };
}

function discard(): void {}

/**
 * What Node's HTTP parser refuses before any route sees it (a malformed request line or header,
 * headers over the size limit, a bad Content-Length or Transfer-Encoding, an unknown method) and
 * CONNECT (which Node hands to a 'connect' listener, or else drops the socket without a word):
 * answered like every other error, `{"error": {"code", ...}}` with the code's status, and the
 * connection closed. Node's own answer here is a bare status line without a body.
 */
export function answerProtocolErrors(server: Server, logger: Logger): void {
  server.on('clientError', (e: NodeJS.ErrnoException, socket: Duplex) => {
    logger.debug('malformed request', { code: e.code, message: e.message });
    writeRawError(socket, protocolError(e));
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    writeRawError(socket, new StrataError('METHOD_NOT_ALLOWED', 'CONNECT is not allowed: this is not a proxy'));
  });
}

function protocolError(e: NodeJS.ErrnoException): StrataError {
  switch (e.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new StrataError('MESSAGE_TOO_LARGE', 'the request line and headers exceed the server\'s header size limit');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new StrataError('REQUEST_TIMED_OUT', 'the request was not received in time');
    case 'HPE_INVALID_METHOD':
      return new StrataError('METHOD_NOT_ALLOWED', 'unknown HTTP method');
    default:
      // The parser's reason names what broke ("Invalid header value char"), never the bytes sent.
      return new StrataError('INVALID_REQUEST', `malformed HTTP request: ${(e as { reason?: string }).reason ?? e.code ?? 'unparseable'}`);
  }
}

function writeRawError(socket: Duplex, error: StrataError): void {
  // The parser may fail in a body, after the request went to its handler: an answer can still go
  // out unless that handler's response began (Node's own rule; `_httpMessage` is the response
  // attached to the socket). Bytes after a started response would corrupt it: close instead.
  const inFlight = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const status = statusFor(error.code);
  const body = JSON.stringify(errorBody(error));
  const retryAfter = error.retriable ? 'Retry-After: 1\r\n' : '';
  // Closed once the answer is flushed, whatever the client does next (as Node does after its own answer).
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}Connection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

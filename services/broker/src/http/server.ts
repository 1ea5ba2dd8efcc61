// The request lifecycle: route, run the handler, write the reply or the error
// body, record metrics, and never let an exception escape (500 + a logged stack).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { StrataError } from '@strata/protocol';
import type { Logger } from '../logger.js';
import type { BrokerMetrics } from '../metrics.js';
import { errorBody, statusFor, toStrataError } from './errors.js';
import type { Reply, RequestContext, Router } from './router.js';

export interface RequestListenerOptions {
  router: Router;
  metrics: BrokerMetrics;
  logger: Logger;
  /** True once close() began: API routes answer 503 BROKER_SHUTTING_DOWN, connections close. */
  isShuttingDown: () => boolean;
  /** Registers in-flight work so close() can wait for it. */
  track: (work: Promise<unknown>) => void;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function createRequestListener(options: RequestListenerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { router, metrics, logger } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    let routeLabel = 'unmatched';
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://broker');
      } catch {
        throw new StrataError('INVALID_REQUEST', 'malformed request URL');
      }
      const { route, params } = router.match(method, url.pathname);
      routeLabel = route.path;
      if (options.isShuttingDown() && !route.operational) {
        throw new StrataError('BROKER_SHUTTING_DOWN', 'the broker is shutting down; retry on another broker or after restart');
      }
      const ctx: RequestContext = { req, res, params, query: url.searchParams, target: `${url.pathname}${url.search}`, signal: controller.signal };
      const reply = await route.handler(ctx);
      if (controller.signal.aborted || res.destroyed) return; // the client left; nothing to write
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
        if (error.retriable) headers['Retry-After'] = '1';
        writeReply(req, res, { status: statusFor(error.code), json: errorBody(error), headers }, options.isShuttingDown());
      } else if (!res.writableEnded) {
        res.destroy();
      }
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = controller.signal.aborted && !res.headersSent ? 'aborted' : String(res.statusCode);
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
  res.writeHead(reply.status, headers);
  res.end(body);
}

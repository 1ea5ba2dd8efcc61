// A small router: fixed route table, `{name}` path parameters, 404 for an
// unknown path and 405 (with Allow) for a known path and a wrong method.

import type { RequestOrigin } from '../core/leader-client.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PathParams } from '@strata/api';
import { StrataError } from '@strata/protocol';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteSpec<Id extends string = string> {
  readonly id: Id;
  readonly method: HttpMethod;
  /** e.g. `/v1/topics/{topic}/partitions/{partition}/records` */
  readonly path: string;
  /** Served while the broker is shutting down (health, metrics, docs). */
  readonly operational?: boolean;
  /** Answered without credentials under STRATA_AUTH=required. */
  readonly public?: boolean;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The path parameters, checked against @strata/api's parameter schemas before the handler runs (`partition` is a number). */
  readonly params: PathParams;
  readonly query: URLSearchParams;
  /**
   * The request target in origin form (`/path?query`), whatever form the client sent: an
   * absolute-form target (`GET http://evil/...`) keeps only its path and query. Forwarding uses
   * this, never `req.url`, so a client cannot point a forwarded request at another host.
   */
  readonly target: string;
  /**
   * Aborted when the client disconnects before the answer is written. Made on first read
   * (http/request-abort.ts): pass the context itself where a signal may not be needed (an AbortSource).
   */
  readonly signal: AbortSignal;
  /** Who sent it (auth/http-auth.ts), in Kafka's form: `User:<name>`, or `User:ANONYMOUS`. */
  readonly principal: string;
  /** Who sent it (principal, address, a forwarding broker): what the core authorizes (http/origin.ts). */
  readonly origin: RequestOrigin;
}

export type Reply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | {
      status: number;
      body: Buffer | string;
      contentType: string;
      headers?: Record<string, string>;
      /** Called once the response is written or abandoned: the body's memory may then be reused. */
      onDone?: () => void;
    }
  | { status: 204; headers?: Record<string, string> };

export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;

export interface Route extends RouteSpec {
  readonly handler: Handler;
}

interface CompiledRoute {
  route: Route;
  segments: Array<{ literal: string } | { param: string }>;
}

export type RouteMatch = { route: Route; params: Record<string, string> };

export class Router {
  readonly #routes: CompiledRoute[];
  /**
   * The routes by their number of path segments, in table order. A path with no '%' (every request
   * of the hot paths) is matched only against the routes of its own length, without decoding:
   * decodeURIComponent is the identity there and cannot fail, so the answer is the full scan's.
   */
  readonly #bySegmentCount = new Map<number, CompiledRoute[]>();

  constructor(routes: readonly Route[]) {
    this.#routes = routes.map((route) => ({
      route,
      segments: route.path
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s })),
    }));
    for (const compiled of this.#routes) {
      const sameLength = this.#bySegmentCount.get(compiled.segments.length);
      if (sameLength === undefined) this.#bySegmentCount.set(compiled.segments.length, [compiled]);
      else sameLength.push(compiled);
    }
  }

  get routes(): readonly Route[] {
    return this.#routes.map((r) => r.route);
  }

  /** Throws NOT_FOUND / METHOD_NOT_ALLOWED / INVALID_REQUEST (bad percent-encoding). */
  match(method: string, pathname: string): RouteMatch {
    const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    const parts = path.split('/').slice(1);
    const allowed: string[] = [];
    const plain = !path.includes('%');
    for (const compiled of plain ? (this.#bySegmentCount.get(parts.length) ?? []) : this.#routes) {
      const params = plain ? matchPlainSegments(compiled.segments, parts) : matchSegments(compiled.segments, parts);
      if (!params) continue;
      if (compiled.route.method === method) return { route: compiled.route, params };
      allowed.push(compiled.route.method);
    }
    if (allowed.length > 0) {
      throw new StrataError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allowed.join(', ')}`, {
        details: { allow: allowed },
      });
    }
    throw new StrataError('NOT_FOUND', `no route for ${method} ${path}`);
  }
}

/** matchSegments for parts with no percent-encoding, of the route's length. */
function matchPlainSegments(segments: CompiledRoute['segments'], parts: readonly string[]): Record<string, string> | null {
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if ('literal' in segment ? segment.literal !== parts[i] : parts[i] === '') return null;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if ('param' in segment) params[segment.param] = parts[i]!;
  }
  return params;
}

function matchSegments(segments: CompiledRoute['segments'], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ('literal' in segment) {
      if (segment.literal !== part) return null;
    } else {
      if (part === '') return null;
      try {
        params[segment.param] = decodeURIComponent(part);
      } catch {
        throw new StrataError('INVALID_REQUEST', `path parameter ${segment.param} is not valid percent-encoding`);
      }
    }
  }
  return params;
}

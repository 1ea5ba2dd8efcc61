// The request target's path and query, as the WHATWG URL parser gives them (`new URL(target,
// 'http://broker')`), without building a URL for the targets that clients send on every produce and
// fetch. A URL costs microseconds per request; the targets of the hot paths need none of its work.

import { StrataError } from '@strata/protocol';

export interface RequestTarget {
  /** As URL.pathname: still percent-encoded, never empty. */
  readonly pathname: string;
  /** As URL.search: '' or '?' and the query. */
  readonly search: string;
  readonly searchParams: URLSearchParams;
}

/**
 * Targets the URL parser returns unchanged: origin form (one leading '/'), no dot segment, and only
 * characters outside the path's and the query's percent-encode sets (no space, quote, '<', '>', '#',
 * '`', '{', '}', '\\', no control or non-ASCII character), so that nothing would be encoded,
 * resolved or cut. Anything else (absolute form, '..', a fragment, ...) goes through URL.
 */
const PLAIN_TARGET = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*(\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*)?$/;
/** A '.' or '..' segment, maybe percent-encoded: URL resolves them. */
const DOT_SEGMENT = /\/(\.|%2e)/i;

/** Throws INVALID_REQUEST for a target URL cannot parse. */
export function parseRequestTarget(target: string): RequestTarget {
  if (PLAIN_TARGET.test(target)) {
    const queryAt = target.indexOf('?');
    const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
    if (!DOT_SEGMENT.test(pathname)) {
      // URL.search is '' for an empty query ('/path?').
      const search = queryAt < 0 || queryAt === target.length - 1 ? '' : target.slice(queryAt);
      return { pathname, search, searchParams: new URLSearchParams(search) };
    }
  }
  try {
    return new URL(target, 'http://broker');
  } catch {
    throw new StrataError('INVALID_REQUEST', 'malformed request URL');
  }
}

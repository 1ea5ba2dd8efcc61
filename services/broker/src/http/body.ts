// Bounded request bodies: the limit is checked against Content-Length before
// reading and against the bytes actually received while reading; past it,
// reading stops and the request fails with MESSAGE_TOO_LARGE.

import type { IncomingMessage } from 'node:http';
import { StrataError } from '@strata/protocol';
import { JSON_MAX_DEPTH } from '../config.js';
import { jsonDepthExcess } from '../json-depth.js';

export const RECORD_BATCH_MEDIA_TYPE = 'application/vnd.kafka.record-batch';

function tooLarge(limitBytes: number, size: number | null): StrataError {
  const got = size === null ? 'more than that' : `${size} bytes`;
  return new StrataError('MESSAGE_TOO_LARGE', `request body exceeds the limit of ${limitBytes} bytes (got ${got})`, {
    details: { maxBytes: limitBytes, ...(size === null ? {} : { size }) },
  });
}

/** Reads the whole body, at most `limitBytes`. */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  let expected: number | null = null;
  if (declared !== undefined) {
    expected = Number(declared);
    if (!Number.isSafeInteger(expected) || expected < 0) {
      return Promise.reject(new StrataError('INVALID_REQUEST', `bad Content-Length "${declared}"`));
    }
    if (expected > limitBytes) return Promise.reject(tooLarge(limitBytes, expected));
  }
  return new Promise<Buffer>((resolve, reject) => {
    // With a known length, one allocation and no concatenation (the raw produce hot path).
    const whole = expected !== null ? Buffer.allocUnsafe(expected) : null;
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const fail = (error: Error): void => {
      cleanup();
      // Stop buffering; the server answers and closes the connection.
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      if (received + chunk.length > limitBytes) return fail(tooLarge(limitBytes, null));
      if (whole) {
        if (received + chunk.length > whole.length) return fail(new StrataError('INVALID_REQUEST', 'body is longer than its Content-Length'));
        chunk.copy(whole, received);
      } else chunks.push(chunk);
      received += chunk.length;
    };
    const onEnd = (): void => {
      cleanup();
      if (whole) {
        if (received !== whole.length) return reject(new StrataError('INVALID_REQUEST', 'body is shorter than its Content-Length'));
        return resolve(whole);
      }
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    const onError = (e: Error): void => fail(new StrataError('INVALID_REQUEST', `reading the request body failed: ${e.message}`, { cause: e }));
    const onAborted = (): void => fail(new StrataError('INVALID_REQUEST', 'the client aborted the request'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** The media type without parameters, lower-cased; '' when absent. */
export function mediaType(req: IncomingMessage): string {
  const header = req.headers['content-type'];
  if (header === undefined) return '';
  return header.split(';')[0]!.trim().toLowerCase();
}

/**
 * JSON bodies: application/json (or any +json type). A missing Content-Type and text/plain (what
 * fetch() sends for a string body) are tolerated; anything else is 415.
 */
export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const type = mediaType(req);
  if (!(type === '' || type === 'application/json' || type.endsWith('+json') || type === 'text/plain')) {
    throw new StrataError('UNSUPPORTED_MEDIA_TYPE', `expected Content-Type application/json, got "${type}"`);
  }
  const body = await readBody(req, limitBytes);
  if (body.length === 0) throw new StrataError('INVALID_REQUEST', 'the request body is empty; expected JSON');
  // One check for every JSON route: nothing built from a body may be too deep to serialise again.
  const tooDeepAt = jsonDepthExcess(body, JSON_MAX_DEPTH);
  if (tooDeepAt >= 0) {
    throw new StrataError('INVALID_REQUEST', `JSON nests deeper than ${JSON_MAX_DEPTH} levels (at byte ${tooDeepAt}); flatten it or send the value as a string`, {
      details: { maxDepth: JSON_MAX_DEPTH, position: tooDeepAt },
    });
  }
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (e) {
    throw new StrataError('INVALID_REQUEST', `malformed JSON: ${(e as Error).message}`);
  }
}

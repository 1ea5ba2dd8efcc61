// Bounded request bodies. The size limit is checked against Content-Length before reading and
// against the bytes actually received while reading; past it, reading stops and the request fails
// with MESSAGE_TOO_LARGE. Memory follows the bytes that arrived, never the Content-Length a client
// declared: small bodies (the raw-produce hot path) take one allocation of their declared size,
// larger ones grow by doubling as they arrive. Through the listener's guard (admission.ts), every
// body first reserves its size against the in-flight budgets (refused with 429 without reading it)
// and fails with REQUEST_TIMED_OUT when no byte arrives for STRATA_BODY_IDLE_TIMEOUT_MS.

import type { IncomingMessage } from 'node:http';
import { requestBody, type JsonBodyRouteId, type RequestBody } from '@strata/api';
import { StrataError } from '@strata/protocol';
import { JSON_MAX_DEPTH } from '../config.js';
import { jsonDepthExcess } from '../json-depth.js';
import { guardOf, type BodyReservation } from './admission.js';
import type { BodyBufferPool } from './body-pool.js';

export const RECORD_BATCH_MEDIA_TYPE = 'application/vnd.kafka.record-batch';
/** The media type of every JSON request body the API defines. */
export const JSON_MEDIA_TYPE = 'application/json';

/** A declared Content-Length up to this is allocated at once; beyond it, the buffer grows as bytes arrive. */
export const BODY_PREALLOCATE_BYTES_MAX = 256 * 1024;
/** An idle check delayed this long by other work is not trusted: the body gets another idle period. */
const IDLE_CHECK_BUSY_MS = 50;
/** The first allocation of a body without Content-Length (or past the preallocation), bytes. */
const BODY_FIRST_STEP_BYTES = 64 * 1024;

function tooLarge(limitBytes: number, size: number | null): StrataError {
  const got = size === null ? 'more than that' : `${size} bytes`;
  return new StrataError('MESSAGE_TOO_LARGE', `request body exceeds the limit of ${limitBytes} bytes (got ${got})`, {
    details: { maxBytes: limitBytes, ...(size === null ? {} : { size }) },
  });
}

/**
 * Reads the whole body, at most `limitBytes`. With a `pool`, a body whose Content-Length fits its
 * buffers is read into one of them: the caller gives it back once nothing refers to it.
 */
export function readBody(req: IncomingMessage, limitBytes: number, pool: BodyBufferPool | null = null): Promise<Buffer> {
  const declared = req.headers['content-length'];
  let expected: number | null = null;
  if (declared !== undefined) {
    expected = Number(declared);
    if (!Number.isSafeInteger(expected) || expected < 0) {
      return Promise.reject(new StrataError('INVALID_REQUEST', `bad Content-Length "${declared}"`));
    }
    if (expected > limitBytes) return Promise.reject(tooLarge(limitBytes, expected));
  }
  const guard = guardOf(req);
  let reservation: BodyReservation | null = null;
  try {
    // Without Content-Length, the chunks reserve their bytes as they arrive.
    reservation = guard?.reserve(req, expected ?? 0) ?? null;
  } catch (e) {
    return Promise.reject(e as Error);
  }
  const idleTimeoutMs = guard?.limits.bodyIdleTimeoutMs ?? 0;
  // The most this body can need: its declared length, else the limit.
  const capacityMax = expected ?? limitBytes;
  return new Promise<Buffer>((resolve, reject) => {
    const preallocate = expected !== null && expected <= BODY_PREALLOCATE_BYTES_MAX ? expected : 0;
    let buffer = (preallocate > 0 ? pool?.take(preallocate) : null) ?? Buffer.allocUnsafe(preallocate);
    let received = 0;
    let settled = false;
    let idleTimer: NodeJS.Timeout | null = null;
    let lastByteAtMs = performance.now();
    const armIdleTimer = (): void => {
      if (idleTimeoutMs <= 0) return;
      if (idleTimer !== null) idleTimer.refresh();
      else idleTimer = setTimeout(onIdleTimer, idleTimeoutMs);
    };
    // Timers run before the loop reads its sockets: after a long synchronous stretch (another
    // request's parse) bytes may be waiting unread. So decide after this turn's reads (setImmediate),
    // and only if the loop was not busy meanwhile; if it was, the body gets another period.
    const onIdleTimer = (): void => {
      const firedAtMs = performance.now();
      setImmediate(() => {
        if (settled) return;
        const now = performance.now();
        if (now - lastByteAtMs < idleTimeoutMs || now - firedAtMs > IDLE_CHECK_BUSY_MS) armIdleTimer();
        else onIdle();
      });
    };
    const cleanup = (): void => {
      settled = true;
      if (idleTimer !== null) clearTimeout(idleTimer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const fail = (error: Error): void => {
      cleanup();
      reservation?.release();
      pool?.give(buffer); // never handed out
      // Stop buffering; the server answers and closes the connection.
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      const needed = received + chunk.length;
      if (needed > limitBytes) return fail(tooLarge(limitBytes, null));
      if (expected !== null && needed > expected) return fail(new StrataError('INVALID_REQUEST', 'body is longer than its Content-Length'));
      if (expected === null && reservation !== null) {
        try {
          reservation.grow(chunk.length);
        } catch (e) {
          return fail(e as Error);
        }
      }
      if (needed > buffer.length) {
        // Doubling keeps the copies linear in the body; the cap keeps the last step within what can come.
        const grown = Buffer.allocUnsafe(Math.min(capacityMax, Math.max(needed, BODY_FIRST_STEP_BYTES, buffer.length * 2)));
        buffer.copy(grown, 0, 0, received);
        buffer = grown;
      }
      chunk.copy(buffer, received);
      received = needed;
      lastByteAtMs = performance.now();
      armIdleTimer();
    };
    const onEnd = (): void => {
      cleanup();
      if (expected !== null && received !== expected) {
        reservation?.release();
        pool?.give(buffer);
        return reject(new StrataError('INVALID_REQUEST', 'body is shorter than its Content-Length'));
      }
      resolve(received === buffer.length ? buffer : buffer.subarray(0, received));
    };
    const onIdle = (): void => {
      fail(
        new StrataError('REQUEST_TIMED_OUT', `the request body stopped arriving: no byte for ${idleTimeoutMs} ms (received ${received} of ${expected ?? 'an unknown number of'} bytes)`, {
          details: { idleTimeoutMs, receivedBytes: received },
        }),
      );
      // The client stalled: do not wait for it to read the answer either.
      setTimeout(() => req.socket.destroy(), 1_000).unref();
    };
    const onError = (e: Error): void => fail(new StrataError('INVALID_REQUEST', `reading the request body failed: ${e.message}`, { cause: e }));
    const onAborted = (): void => fail(new StrataError('INVALID_REQUEST', 'the client aborted the request'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    armIdleTimer();
  });
}

/** A JSON body this large waits for its turn to be parsed (largeJsonTurn). */
const JSON_TURN_BYTES_MIN = 1024 * 1024;
const jsonTurnsWaiting: Array<() => void> = [];
let jsonTurnsRunning = false;

/**
 * Large JSON bodies are parsed one at a time, one per turn of the event loop. Parsing megabytes of
 * JSON is synchronous (a 12 MB body of tiny records takes about half a second and ~6x its size in
 * objects); bodies that finish arriving together would otherwise be parsed back to back, holding
 * every parsed tree at once and every other client waiting for all of them.
 */
function largeJsonTurn(): Promise<void> {
  return new Promise((resolve) => {
    jsonTurnsWaiting.push(resolve);
    if (!jsonTurnsRunning) {
      jsonTurnsRunning = true;
      setImmediate(nextJsonTurn);
    }
  });
}

function nextJsonTurn(): void {
  const resolve = jsonTurnsWaiting.shift();
  if (resolve === undefined) {
    jsonTurnsRunning = false;
    return;
  }
  // Its parse runs in this callback's microtasks; the next one after the loop has turned (its reads, other requests).
  resolve();
  setImmediate(nextJsonTurn);
}

/** The media type without parameters, lower-cased; '' when absent. */
export function mediaType(req: IncomingMessage): string {
  const header = req.headers['content-type'];
  if (header === undefined) return '';
  return header.split(';')[0]!.trim().toLowerCase();
}

/**
 * JSON bodies: application/json only, the type the API defines. A missing Content-Type, text/plain
 * and form types are 415: they are what a page of another origin can send without a CORS preflight
 * (http/browser-guard.ts), so accepting them would let any web page post here.
 */
export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const type = mediaType(req);
  if (type !== JSON_MEDIA_TYPE) {
    throw new StrataError('UNSUPPORTED_MEDIA_TYPE', `expected Content-Type ${JSON_MEDIA_TYPE}, got ${type === '' ? 'none' : `"${type}"`}`);
  }
  const body = await readBody(req, limitBytes);
  if (body.length === 0) throw new StrataError('INVALID_REQUEST', 'the request body is empty; expected JSON');
  if (body.length >= JSON_TURN_BYTES_MIN) await largeJsonTurn();
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

/**
 * A route's JSON body: read and parsed with every check above (media type, size budgets, nesting),
 * then checked against the route's schema in @strata/api. A body that does not fit is refused
 * with INVALID_REQUEST (or the code its field names) naming each field; nothing has changed yet.
 */
export async function readRequestJson<Id extends JsonBodyRouteId>(req: IncomingMessage, route: Id, limitBytes: number): Promise<RequestBody<Id>> {
  return requestBody(route, await readJson(req, limitBytes));
}

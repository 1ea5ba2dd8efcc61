// A request's abort signal, made on first use (abort-source.ts): aborted when the client
// disconnects before the answer is written. A request that never waits on anything never makes
// one, nor listens for the response's close: the server asks `aborted` instead, from the response.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AbortSource } from '../abort-source.js';
import type { RequestOrigin } from '../core/leader-client.js';
import type { PathParams } from '@strata/api';
import type { RequestContext } from './router.js';

export class RequestAbort implements AbortSource {
  readonly #res: ServerResponse;
  #controller: AbortController | null = null;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      const controller = new AbortController();
      this.#controller = controller;
      const res = this.#res;
      if (clientLeft(res)) controller.abort();
      else res.once('close', () => {
        if (!res.writableFinished) controller.abort();
      });
    }
    return this.#controller.signal;
  }

  /** The client disconnected before the whole answer was written (the signal's state, without making it). */
  get aborted(): boolean {
    return clientLeft(this.#res);
  }
}

/** A response is destroyed when its connection closes (or when it is done): left early means not finished. */
function clientLeft(res: ServerResponse): boolean {
  return res.destroyed && !res.writableFinished;
}

/**
 * A handler's RequestContext whose signal is the request's RequestAbort. A class, not an object
 * literal with `get signal()`: such a getter's closure holds the listener's whole per-request scope,
 * which kept every request's objects past V8's minor GC (admission-gc.test.ts measures it).
 */
export class HttpRequestContext implements RequestContext {
  readonly #abort: RequestAbort;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly params: PathParams,
    readonly query: URLSearchParams,
    readonly target: string,
    readonly principal: string,
    readonly origin: RequestOrigin,
    abort: RequestAbort,
  ) {
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}


// A request's abort signal, made on first use (abort-source.ts): aborted when the client
// disconnects before the answer is written. A request that never waits on anything never makes
// one, nor listens for the response's close: the server asks `aborted` instead, from the response.

import type { ServerResponse } from 'node:http';
import type { AbortSource } from '../abort-source.js';

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

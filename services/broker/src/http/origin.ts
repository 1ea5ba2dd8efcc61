// Who sent an HTTP request, as the core checks it (core/leader-client.ts RequestOrigin): the client's
// authenticated principal and address; for a request another broker forwarded, the principal and
// address of the client that sent it there, when the forward proves them (auth/forwarded-identity.ts).

import type { IncomingMessage } from 'node:http';
import { ForwardedIdentity } from '../auth/forwarded-identity.js';
import { FORWARDED_HEADER } from '../cluster/forwarder.js';
import type { RequestOrigin } from '../core/leader-client.js';

/**
 * `clusterSecret`: what a forward's proof is checked with. `replay`: the request target in origin
 * form, how the leader is asked the same read. `authenticate`: the client's own credentials, asked
 * only when the request is not a proven forward (the entering broker authenticated that client).
 */
export function httpOrigin(clusterSecret: string): (req: IncomingMessage, replay: string, authenticate: () => Promise<string>) => Promise<RequestOrigin> {
  const identity = new ForwardedIdentity(clusterSecret);
  return async (req, replay, authenticate) => {
    const forwardedBy = req.headers[FORWARDED_HEADER];
    const carried = typeof forwardedBy === 'string' ? identity.verify(forwardedBy, req.headers) : null;
    const principal = carried !== null ? carried.principal : await authenticate();
    const host = carried !== null ? carried.host : req.socket.remoteAddress;
    return {
      ...(typeof forwardedBy === 'string' ? { forwardedBy } : {}),
      replay,
      ...(principal === undefined ? {} : { principal }),
      ...(host === undefined ? {} : { host }),
    };
  };
}

// The HTTP listeners' server: node:http, or node:https with the broker's TLS material (adopted, so
// a reload reaches it). The public and the internal listener are made here, the same way.

import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { serverOptions, type ConnectionLimits } from '../http/admission.js';
import type { TlsMaterial } from './tls.js';

export function createHttpServer(limits: ConnectionLimits, tls: TlsMaterial | null, listener: RequestListener): Server {
  if (tls === null) return createServer(serverOptions(limits), listener);
  // The handshake is bounded as a request's headers are: a connection that never finishes it is closed.
  const server = createHttpsServer({ ...serverOptions(limits), ...tls.serverOptions(), handshakeTimeout: limits.headersTimeoutMs }, listener);
  tls.adopt(server);
  return server;
}

/** The URL scheme of a listener. */
export function schemeOf(tls: TlsMaterial | null): 'http' | 'https' {
  return tls === null ? 'http' : 'https';
}

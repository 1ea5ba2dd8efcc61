// How this broker's own HTTP clients (forwarding, replica fetches) open connections to other
// brokers: plain TCP, or TLS trusting STRATA_TLS_CA_FILE and, under mTLS, presenting this broker's
// certificate. The TLS options are read at each new connection, so a reloaded certificate is the
// one the next connection presents (kept-alive connections keep theirs).

import { buildConnector, type Pool } from 'undici';
import type { TlsMaterial } from './tls.js';

/** Options for an undici Pool or Agent: its connect timeout, and the TLS it connects with. */
export function peerConnectOptions(tls: TlsMaterial | null, connectTimeoutMs: number): Pick<Pool.Options, 'connect' | 'connectTimeout'> {
  if (tls === null) return { connectTimeout: connectTimeoutMs };
  return { connect: (options, callback) => buildConnector({ ...tls.clientOptions(), timeout: connectTimeoutMs })(options, callback) };
}

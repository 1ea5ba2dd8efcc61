// The public HTTP listener (http or https), and with TLS on the optional plaintext listener on
// loopback for local tools; each admits clients under the same connection limits (admission.ts).

import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrokerConfig } from '../config.js';
import { ListenerGuard, type ConnectionQuotas } from '../http/admission.js';
import { answerProtocolErrors } from '../http/server.js';
import type { Logger } from '../logger.js';
import type { BrokerMetrics } from '../metrics.js';
import { createHttpServer } from '../security/http-server.js';
import { peerPrincipal, type TlsMaterial } from '../security/tls.js';
import type { QuotaManager } from '../quotas/quota-manager.js';
import { LOOPBACK, connectionLimits, listenOn } from './listen.js';

export interface PublicListeners {
  /** The port the public listener is bound to (the configured one, or the one the OS chose for 0). */
  port: number;
  /** Stops accepting connections and ends idle ones; resolves once every connection has ended. */
  close(): Promise<void>;
  /** Ends every connection still open, idle or not (the shutdown timeout has passed). */
  closeAllConnections(): void;
}

/** Listens on STRATA_HOST:STRATA_HTTP_PORT (and the plaintext loopback port when set); rejects with the listen error. */
export async function startPublicListeners(
  config: BrokerConfig,
  tls: TlsMaterial | null,
  listener: RequestListener,
  metrics: BrokerMetrics,
  logger: Logger,
  quotas: Pick<QuotaManager, 'admitConnection'>,
): Promise<PublicListeners> {
  const limits = connectionLimits(config);
  const connectionQuotas: ConnectionQuotas = {
    admitConnection: (ip) => quotas.admitConnection(ip),
    maxConnectionsPerPrincipal: config.quotas.maxConnectionsPerPrincipal,
    principalOf: peerPrincipal,
  };
  const guarded = (made: Server): Server => {
    answerProtocolErrors(made, logger);
    new ListenerGuard(limits, (reason) => metrics.httpRefused.inc({ reason }), connectionQuotas).attach(made);
    return made;
  };
  const opened: Server[] = [];
  const close = async (): Promise<void> => {
    const closed = opened.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of opened) s.closeIdleConnections();
    await Promise.all(closed);
  };
  const server = guarded(createHttpServer(limits, tls, listener));
  server.on('tlsClientError', () => metrics.httpRefused.inc({ reason: 'tls_handshake' }));
  try {
    await listenOn(server, config.httpPort, config.host);
  } catch (e) {
    logger.error('cannot listen', { host: config.host, port: config.httpPort, err: e });
    throw e;
  }
  opened.push(server);
  server.on('error', (e) => logger.error('http server error', { err: e }));
  const plaintextPort = tls === null ? 0 : tls.config.plaintextHttpPort;
  if (plaintextPort !== 0) {
    const plaintext = guarded(createHttpServer(limits, null, listener));
    try {
      await listenOn(plaintext, plaintextPort, LOOPBACK);
    } catch (e) {
      logger.error('cannot listen on the plaintext loopback port', { port: plaintextPort, err: e });
      await close();
      throw e;
    }
    opened.push(plaintext);
    logger.warn('plaintext HTTP listener on loopback beside TLS (STRATA_PLAINTEXT_HTTP_PORT)', { host: LOOPBACK, port: plaintextPort });
  }
  return {
    port: (server.address() as AddressInfo).port,
    close,
    closeAllConnections: () => {
      for (const s of opened) s.closeAllConnections();
    },
  };
}

// The Kafka listener: a TCP server, or a TLS one when the broker has a certificate (Kafka's SSL
// listener; SASL comes with the rest of the security issue), whose connections frame requests and
// answer them in order (connection.ts). It admits connections
// within the total and per-address limits (the spirit of http/admission.ts: the excess is closed
// at once), the connection_creation_rate quota of each IP address and the per-principal limit
// (docs/architecture.md#quotas: a certificate's principal at once, a SASL one once it authenticated,
// principal-connections.ts), shares one request-byte budget across them, and closes gracefully.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Registry } from 'prom-client';
import type { KafkaConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { peerPrincipal, type TlsMaterial } from '../security/tls.js';
import { ByteBudget } from './byte-budget.js';
import { KafkaConnection, type Dispatch } from './connection.js';
import { KafkaListenerMetrics } from './metrics.js';
import { PrincipalConnections } from './principal-connections.js';

export interface KafkaServerOptions {
  config: KafkaConfig;
  host: string;
  dispatch: Dispatch;
  logger: Logger;
  registry: Registry;
  /** A frame whose bytes stop arriving for this long closes its connection (the HTTP body idle timeout). */
  frameIdleTimeoutMs: number;
  /** TLS on this listener (null: plaintext). Connections are admitted once their handshake is done. */
  tls?: TlsMaterial | null;
  /** A TLS handshake not done in this long closes its connection (the HTTP headers timeout; default 20 s). */
  handshakeTimeoutMs?: number;
  /** Counts a new connection from an IP address against its connection_creation_rate; false: refused (QuotaManager.admitConnection). */
  admitConnection?: (ip: string) => boolean;
  /** Connections one principal may hold (0: no limit; STRATA_MAX_CONNECTIONS_PER_PRINCIPAL). */
  maxConnectionsPerPrincipal?: number;
}

export class KafkaServer {
  readonly metrics: KafkaListenerMetrics;
  readonly #o: KafkaServerOptions;
  readonly #server: Server;
  readonly #budget: ByteBudget;
  readonly #connections = new Set<KafkaConnection>();
  readonly #byAddress = new Map<string, number>();
  readonly #principals: PrincipalConnections;
  #port = 0;

  constructor(options: KafkaServerOptions) {
    this.#o = options;
    this.#budget = new ByteBudget(options.config.requestBytesInFlight);
    this.#principals = new PrincipalConnections(options.maxConnectionsPerPrincipal ?? 0);
    this.metrics = new KafkaListenerMetrics(options.registry, { connections: () => this.#connections.size, requestBytesInFlight: () => this.#budget.used });
    const tls = options.tls ?? null;
    if (tls === null) this.#server = createServer({ noDelay: true }, (socket) => this.#admit(socket));
    else {
      const server = createTlsServer({ ...tls.serverOptions(), handshakeTimeout: options.handshakeTimeoutMs ?? 20_000 }, (socket) => {
        socket.setNoDelay(true);
        this.#admit(socket);
      });
      // A failed handshake (no certificate, one from another CA, plaintext bytes): the socket is already closed.
      server.on('tlsClientError', (e) => {
        this.metrics.refused.inc({ reason: 'tls_handshake' });
        options.logger.debug('kafka TLS handshake failed', { err: e });
      });
      tls.adopt(server);
      this.#server = server;
    }
    this.#server.on('error', (e) => options.logger.error('kafka listener error', { err: e }));
  }

  get port(): number {
    return this.#port;
  }

  /** Request bytes reserved now by every connection. */
  get requestBytesInFlight(): number {
    return this.#budget.used;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.config.port, this.#o.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  /**
   * Stops accepting, lets every connection answer what it has read (no new request is read), then
   * ends them; whatever is still open at the deadline is cut.
   */
  async close(timeoutMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of this.#connections) connection.drain();
    const all = Promise.all([...this.#connections].map((c) => c.closed));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    if ((await Promise.race([all, deadline])) === 'timeout') {
      this.#o.logger.warn('kafka connections still busy at the shutdown deadline; closing them', { count: this.#connections.size, timeoutMs });
      for (const connection of this.#connections) connection.destroy();
    }
    clearTimeout(timer);
    await stopped;
  }

  #admit(socket: Socket): void {
    const { config } = this.#o;
    const address = socket.remoteAddress ?? '';
    if (this.#connections.size >= config.maxConnections) {
      this.metrics.refused.inc({ reason: 'connections_total' });
      socket.destroy();
      return;
    }
    const fromAddress = (this.#byAddress.get(address) ?? 0) + 1;
    if (config.maxConnectionsPerAddress > 0 && fromAddress > config.maxConnectionsPerAddress) {
      this.metrics.refused.inc({ reason: 'connections_per_address' });
      socket.destroy();
      return;
    }
    if (this.#o.admitConnection !== undefined && !this.#o.admitConnection(address)) {
      this.#refuseConnection(socket, 'connection_creation_rate', { address });
      return;
    }
    // Known here only under mTLS; a SASL principal is counted when SaslAuthenticate succeeds (the seat moves).
    const principal = peerPrincipal(socket);
    const seat = this.#principals.seat(principal);
    if (seat === null) {
      this.#refuseConnection(socket, 'connections_per_principal', { address, principal: principal ?? '' });
      return;
    }
    this.#byAddress.set(address, fromAddress);
    const connection = new KafkaConnection(socket, {
      dispatch: this.#o.dispatch,
      budget: this.#budget,
      maxRequestBytes: config.maxRequestBytes,
      maxInFlight: config.maxInFlightPerConnection,
      idleTimeoutMs: config.connectionsMaxIdleMs,
      frameIdleTimeoutMs: this.#o.frameIdleTimeoutMs,
      logger: this.#o.logger,
      metrics: this.metrics,
      seat,
    });
    this.#connections.add(connection);
    socket.once('close', () => {
      this.#connections.delete(connection);
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.#byAddress.delete(address);
      else this.#byAddress.set(address, left);
      seat.leave();
    });
  }

  /** A connection past a quota or a limit: closed before anything is read, counted, logged once per reason. */
  #refuseConnection(socket: Socket, reason: 'connection_creation_rate' | 'connections_per_principal', fields: Record<string, string>): void {
    this.metrics.refused.inc({ reason });
    this.metrics.logRefusal(this.#o.logger, reason, { ...fields, message: reason === 'connection_creation_rate' ? 'past the connection_creation_rate of its IP address' : 'past STRATA_MAX_CONNECTIONS_PER_PRINCIPAL' });
    socket.destroy();
  }
}

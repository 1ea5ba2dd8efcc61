// What one client may hold of a broker: connections and request-body bytes.
//
// Every listener is guarded here, once, so the bound holds for every route:
// - connections: at most `maxConnectionsPerAddress` from one remote address (the excess is closed
//   at once, so one client's idle connections cannot lock the others out; the total is the
//   server's own `maxConnections`), and a connection that sends no request within
//   `headersTimeoutMs` is closed (Node's own timeouts start only once a request has begun);
// - request bodies: before a body is read, its declared size (Content-Length), or each chunk as it
//   arrives when there is none, is reserved against three budgets: the connection's (pipelined
//   requests), the remote address's and the broker's. A body that does not fit is refused at once
//   with THROTTLING_QUOTA_EXCEEDED (429, retriable) without reading it. The reservation, not the
//   bytes received, is what counts: a client that declares 16 MiB and stalls holds 16 MiB of the
//   budget, so the memory such clients can pin is bounded by the budget whatever they send.
//
// readBody() finds the guard of its request through the socket (a WeakMap), so its signature, and
// every caller, stay as they are.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { StrataError } from '@strata/protocol';

export interface ConnectionLimits {
  /** Connections from one remote address; 0 = no per-address limit (the internal listener). */
  maxConnectionsPerAddress: number;
  /** Connections in total (Node's server.maxConnections: the excess is closed at once). */
  maxConnections: number;
  /** Request-body bytes reserved at once by one connection (pipelined requests). */
  bodyBytesInFlightPerConnectionMax: number;
  /** Request-body bytes reserved at once by one remote address. */
  bodyBytesInFlightPerAddressMax: number;
  /** Request-body bytes reserved at once across the listener. */
  bodyBytesInFlightMax: number;
  /** A body that receives no byte for this long fails (REQUEST_TIMED_OUT) and its connection closes. */
  bodyIdleTimeoutMs: number;
  /** Time to receive a request's headers, and for a new connection to start its first request. */
  headersTimeoutMs: number;
  /** Time to receive a whole request (headers and body). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
}

/**
 * Client quotas on connections (docs/architecture.md#quotas): the connection_creation_rate of each
 * IP address (QuotaManager.admitConnection) and the connections one principal may hold (its
 * verified certificate's subject, known once the TLS handshake is done). The excess is closed at
 * once, as the per-address excess is: a refused connection has sent no request to answer 429 to.
 */
export interface ConnectionQuotas {
  admitConnection(ip: string): boolean;
  /** 0: no limit. */
  maxConnectionsPerPrincipal: number;
  principalOf(socket: Socket): string | undefined;
}

/** Why a body was refused (429). */
export type BodyRefusal = 'body_bytes_per_connection' | 'body_bytes_per_address' | 'body_bytes_total';
/** Why a connection was closed or a body refused (the label of strata_http_refused_total). */
export type RefusalReason = BodyRefusal | 'connections_per_address' | 'connections_per_principal' | 'connection_creation_rate' | 'idle_connection' | 'tls_handshake';

/** Bytes a body holds of the budgets until release(), which is idempotent. */
export interface BodyReservation {
  /** Reserves `bytes` more (a body without Content-Length, as it arrives); throws when they do not fit. */
  grow(bytes: number): void;
  release(): void;
}

/**
 * What one remote address holds: its connections and its bodies' reserved bytes, in one entry while
 * either is above zero. A request only changes numbers here, never the map: a map emptied and
 * refilled on every request reallocates its table each time.
 */
interface AddressState {
  address: string;
  connections: number;
  bodyBytes: number;
}

interface ConnectionState {
  address: AddressState;
  bodyBytes: number;
}

const guards = new WeakMap<Socket, { guard: ListenerGuard; state: ConnectionState }>();
const firstRequestTimers = new WeakMap<Socket, NodeJS.Timeout>();
/**
 * Each request's response, on the request itself: a body's reservation lasts until its response ends
 * (the handler holds the bytes until then). Not a WeakMap keyed by request: the value (the response)
 * refers to its key (`res.req`), a cycle V8's minor GC cannot see through, so every entry survived
 * its scavenge until the next full GC, and with it each request's whole graph (headers, parser
 * state, the handler's closures): ~3.4 KB promoted per request, and scavenges that copied it all
 * were the tail of produce latency (issue #16).
 */
const RESPONSE = Symbol('strata.response');
type WithResponse = IncomingMessage & { [RESPONSE]?: ServerResponse };

/** The guard of one listener; `attach` wires it to a Node server. */
export class ListenerGuard {
  readonly limits: ConnectionLimits;
  private readonly addresses = new Map<string, AddressState>();
  private bodyBytesTotal = 0;
  private readonly onRefused: (reason: RefusalReason) => void;
  private readonly quotas: ConnectionQuotas | null;
  private readonly connectionsByPrincipal = new Map<string, number>();

  constructor(limits: ConnectionLimits, onRefused: (reason: RefusalReason) => void = () => undefined, quotas: ConnectionQuotas | null = null) {
    this.quotas = quotas;
    if (limits.bodyBytesInFlightPerConnectionMax > limits.bodyBytesInFlightPerAddressMax || limits.bodyBytesInFlightPerAddressMax > limits.bodyBytesInFlightMax) {
      throw new Error('body budgets must nest: per connection <= per address <= total');
    }
    this.limits = limits;
    this.onRefused = onRefused;
  }

  /** Applies the limits to `server`: its timeouts, the per-address count, the first-request timer. */
  attach(server: Server): void {
    const { limits } = this;
    server.maxConnections = limits.maxConnections;
    server.headersTimeout = limits.headersTimeoutMs;
    server.requestTimeout = limits.requestTimeoutMs;
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    // Node checks the two timeouts above on a period set at construction: see serverOptions().
    // A TLS server's requests come on the socket made once the handshake is done, not on the TCP
    // one of 'connection': admit that one, or no request would find its guard (readBody's budgets).
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => this.admit(socket));
    // Before the request listener: a handler may read its body in the same tick.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      (req as WithResponse)[RESPONSE] = res;
      const timer = firstRequestTimers.get(req.socket);
      if (timer !== undefined) {
        clearTimeout(timer);
        firstRequestTimers.delete(req.socket);
      }
    });
  }

  private admit(socket: Socket): void {
    // A socket without a remote address has already closed.
    const address = socket.remoteAddress ?? '';
    const count = (this.addresses.get(address)?.connections ?? 0) + 1;
    if (this.limits.maxConnectionsPerAddress > 0 && count > this.limits.maxConnectionsPerAddress) {
      this.onRefused('connections_per_address');
      socket.destroy();
      return;
    }
    if (this.quotas !== null && !this.quotas.admitConnection(address)) {
      this.onRefused('connection_creation_rate');
      socket.destroy();
      return;
    }
    const principal = this.quotas?.principalOf(socket);
    const held = principal === undefined ? 0 : (this.connectionsByPrincipal.get(principal) ?? 0) + 1;
    if (principal !== undefined && this.quotas!.maxConnectionsPerPrincipal > 0 && held > this.quotas!.maxConnectionsPerPrincipal) {
      this.onRefused('connections_per_principal');
      socket.destroy();
      return;
    }
    if (principal !== undefined) this.connectionsByPrincipal.set(principal, held);
    const from = this.addresses.get(address) ?? { address, connections: 0, bodyBytes: 0 };
    from.connections = count;
    this.addresses.set(address, from);
    guards.set(socket, { guard: this, state: { address: from, bodyBytes: 0 } });
    const timer = setTimeout(() => {
      firstRequestTimers.delete(socket);
      this.onRefused('idle_connection');
      socket.destroy();
    }, this.limits.headersTimeoutMs);
    timer.unref();
    firstRequestTimers.set(socket, timer);
    socket.once('close', () => {
      const t = firstRequestTimers.get(socket);
      if (t !== undefined) clearTimeout(t);
      firstRequestTimers.delete(socket);
      from.connections -= 1;
      this.forgetIfIdle(from);
      if (principal !== undefined) {
        const still = (this.connectionsByPrincipal.get(principal) ?? 1) - 1;
        if (still <= 0) this.connectionsByPrincipal.delete(principal);
        else this.connectionsByPrincipal.set(principal, still);
      }
    });
  }

  /** Connections open from `address` (for tests and metrics). */
  connectionsFrom(address: string): number {
    return this.addresses.get(address)?.connections ?? 0;
  }

  /** Request-body bytes reserved now across the listener. */
  get bodyBytesInFlight(): number {
    return this.bodyBytesTotal;
  }

  /**
   * Reserves `bytes` for the body of `req`; throws THROTTLING_QUOTA_EXCEEDED when they do not fit.
   * Released when its response ends (or the connection dies), or earlier by release().
   */
  reserve(req: IncomingMessage, bytes: number): BodyReservation {
    const entry = guards.get(req.socket);
    if (entry === undefined || entry.guard !== this) throw new Error('reserve() on a connection this guard did not admit');
    const { state } = entry;
    let held = 0;
    let released = false;
    const take = (n: number): void => {
      const reason = this.wouldExceed(state, n);
      if (reason !== null) {
        this.onRefused(reason);
        throw busy(reason, this.limits);
      }
      state.bodyBytes += n;
      state.address.bodyBytes += n;
      this.bodyBytesTotal += n;
      held += n;
    };
    take(bytes);
    const release = (): void => {
      if (released) return;
      released = true;
      state.bodyBytes -= held;
      state.address.bodyBytes -= held;
      this.forgetIfIdle(state.address);
      this.bodyBytesTotal -= held;
      held = 0;
    };
    const res = (req as WithResponse)[RESPONSE];
    if (res !== undefined) res.once('close', release);
    else req.once('close', release);
    return {
      grow: (n) => {
        if (released) throw new Error('grow() after release()');
        take(n);
      },
      release,
    };
  }

  /** An address with no connection and no body left is forgotten (a body may outlive its connection by a moment). */
  private forgetIfIdle(at: AddressState): void {
    if (at.connections <= 0 && at.bodyBytes <= 0 && this.addresses.get(at.address) === at) this.addresses.delete(at.address);
  }

  private wouldExceed(state: ConnectionState, bytes: number): BodyRefusal | null {
    if (state.bodyBytes + bytes > this.limits.bodyBytesInFlightPerConnectionMax) return 'body_bytes_per_connection';
    if (state.address.bodyBytes + bytes > this.limits.bodyBytesInFlightPerAddressMax) return 'body_bytes_per_address';
    if (this.bodyBytesTotal + bytes > this.limits.bodyBytesInFlightMax) return 'body_bytes_total';
    return null;
  }
}

/** The guard that admitted `req`'s connection, if any (a server without one has none). */
export function guardOf(req: IncomingMessage): ListenerGuard | null {
  const socket = req.socket as Socket | null;
  if (socket === null) return null;
  return guards.get(socket)?.guard ?? null;
}

/** Options for http.createServer that go with `limits` (those Node takes only at construction). */
export function serverOptions(limits: ConnectionLimits): { keepAlive: true; connectionsCheckingInterval: number; headersTimeout: number; requestTimeout: number } {
  return {
    keepAlive: true,
    // Node checks headersTimeout/requestTimeout on this period: a quarter of the shorter one, at most 30 s (Node's default).
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
  };
}

const SETTING_OF: Record<BodyRefusal, { setting: string; limit: (l: ConnectionLimits) => number; scope: string }> = {
  body_bytes_per_connection: { setting: 'STRATA_BODY_BYTES_IN_FLIGHT_PER_CONNECTION', limit: (l) => l.bodyBytesInFlightPerConnectionMax, scope: 'this connection' },
  body_bytes_per_address: { setting: 'STRATA_BODY_BYTES_IN_FLIGHT_PER_ADDRESS', limit: (l) => l.bodyBytesInFlightPerAddressMax, scope: 'your address' },
  body_bytes_total: { setting: 'STRATA_BODY_BYTES_IN_FLIGHT', limit: (l) => l.bodyBytesInFlightMax, scope: 'this broker' },
};

function busy(reason: BodyRefusal, limits: ConnectionLimits): StrataError {
  const { setting, limit, scope } = SETTING_OF[reason];
  return new StrataError(
    'THROTTLING_QUOTA_EXCEEDED',
    `the request bodies in flight on ${scope} already hold the limit of ${limit(limits)} bytes (${setting}); retry after a moment`,
    { details: { reason, limitBytes: limit(limits) } },
  );
}

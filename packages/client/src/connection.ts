// One HTTP exchange with the brokers: a kept-alive undici Pool per broker
// origin, failover to the next origin when a connection cannot be opened, a
// timeout per attempt, bounded response bodies, and every failure classified
// (failure.ts). Retrying is the caller's business (retry.ts): only the caller
// knows its deadline and whether a request may be repeated.

import { channel } from 'node:diagnostics_channel';
import { Client, Pool } from 'undici';
import { StrataError } from '@strata/protocol';
import { RequestFailure, statusFailure, timeoutFailure, transportFailure } from './failure.js';
import { resolveConnectionOptions, type ConnectionOptions, type ResolvedConnectionOptions } from './options.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  /** Path and query, already encoded. */
  path: string;
  body?: Buffer | string;
  contentType?: string;
  /** This attempt's budget, including the time to read the answer. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** What the request is, for messages ("produce to t/3"). */
  what: string;
  /** Send on this lane's connection, pipelined behind its earlier requests, instead of the shared pool. */
  lane?: Lane;
}

export interface HttpResponse {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
  origin: string;
}

/** Published once per exchange with an origin (diagnostics_channel; free when nobody subscribes). */
export interface RequestEvent {
  method: HttpMethod;
  origin: string;
  path: string;
  /** The status, or null when no answer came. */
  status: number | null;
  durationMs: number;
  failure: RequestFailure | null;
}

export const requestChannel = channel('strata:client:request');

/** Keep-alive just under Node's default server keepAliveTimeout (5 s), so the client closes first. */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;

/**
 * One ordered stream of requests (a producer's partition): one kept-alive connection per broker
 * origin, on which up to `pipelining` requests are written before the first answer comes back.
 * HTTP/1.1 keeps them in order on the wire and answers them in order; the broker's node:http server
 * hands pipelined requests to its handler in the order they arrived. Several pooled connections
 * would not: two requests on two sockets reach the broker in either order. When the connection
 * breaks, undici fails the first request pipelined on it and sends the others again on a new
 * connection (why they are marked `idempotent`), ahead of the caller's retry of the first: an
 * idempotent producer's broker refuses them as out of order, or answers them as duplicates, and
 * the producer sends the refused ones again after the first (producer.ts).
 */
export class Lane {
  readonly pipelining: number;
  readonly #clients = new Map<string, Client>();
  readonly #connection: Connection;

  constructor(connection: Connection, pipelining: number) {
    if (!Number.isSafeInteger(pipelining) || pipelining < 1) throw new StrataError('INVALID_CONFIG', `a lane pipelines 1 or more requests, got ${pipelining}`);
    this.#connection = connection;
    this.pipelining = pipelining;
  }

  dispatcher(origin: string): Client {
    let client = this.#clients.get(origin);
    if (client === undefined) {
      const o = this.#connection.options;
      client = new Client(origin, {
        pipelining: this.pipelining,
        connectTimeout: o.connectTimeoutMs,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        ...(o.tls === null ? {} : { connect: o.tls }),
      });
      this.#clients.set(origin, client);
    }
    return client;
  }

  /** Closes the lane's connections; requests in flight finish first. */
  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    this.#connection.forgetLane(this);
    await Promise.all(clients.map((c) => c.close()));
  }
}

/**
 * Lanes that ordered streams share: each stream (a producer's partition) keeps the lane it took
 * first, so its order holds, while a producer of many partitions opens at most `lanesMax`
 * connections per broker (Kafka's producer opens one per broker; a broker also caps connections
 * per client address). Streams on one lane share its pipelining window.
 */
export class LanePool {
  readonly #lanes: Lane[] = [];
  #next = 0;

  constructor(
    private readonly connection: Connection,
    private readonly pipelining: number,
    private readonly lanesMax: number,
  ) {}

  /** A lane for a new stream: a fresh one while fewer than lanesMax exist, else the existing ones in turn. */
  take(): Lane {
    if (this.#lanes.length < this.lanesMax) {
      const lane = this.connection.lane(this.pipelining);
      this.#lanes.push(lane);
      return lane;
    }
    return this.#lanes[this.#next++ % this.#lanes.length]!;
  }

  /** Closes every lane taken; requests in flight finish first. */
  async close(): Promise<void> {
    await Promise.all(this.#lanes.splice(0).map((lane) => lane.close()));
  }
}

export class Connection {
  readonly options: ResolvedConnectionOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #lanes = new Set<Lane>();
  /** Index of the origin that answered last: requests start there. */
  #preferred = 0;
  #closed = false;
  /** Whether any broker ever answered (anything, an error status too): then the URLs are right. */
  #reached = false;
  /** When every URL first refused, while none was ever reached (null: not failing now). */
  #unreachableSince: number | null = null;

  constructor(options: ConnectionOptions) {
    this.options = resolveConnectionOptions(options);
  }

  get origins(): readonly string[] {
    return this.options.origins;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A new ordered, pipelined stream of requests (Lane), closed with this connection or by its own close(). */
  lane(pipelining: number): Lane {
    const lane = new Lane(this, pipelining);
    this.#lanes.add(lane);
    return lane;
  }

  /** Lane.close()'s: the lane no longer needs closing with the connection. */
  forgetLane(lane: Lane): void {
    this.#lanes.delete(lane);
  }

  /**
   * One exchange: a 2xx answer, or a RequestFailure. When a connection to an origin cannot be
   * opened (nothing was sent) the next origin is tried at once; any other failure is thrown.
   */
  async request(request: HttpRequest): Promise<HttpResponse> {
    if (this.#closed) throw new StrataError('INVALID_REQUEST', `${request.what}: the client is closed`);
    const origins = this.options.origins;
    const first = this.#preferred;
    let lastConnectFailure: RequestFailure | null = null;
    for (let i = 0; i < origins.length; i++) {
      const index = (first + i) % origins.length;
      try {
        const response = await this.#exchange(origins[index]!, request);
        this.#preferred = index;
        this.#reached = true;
        return response;
      } catch (e) {
        if (e instanceof RequestFailure && e.kind !== 'connect') this.#reached = true;
        if (!(e instanceof RequestFailure) || e.kind !== 'connect') {
          // Any broker serves any request: after a retriable failure, the retry starts at the next one.
          if (e instanceof RequestFailure && e.retriable) this.#preferred = (index + 1) % origins.length;
          throw e;
        }
        lastConnectFailure = e;
        request.signal?.throwIfAborted();
      }
    }
    // Every origin refused: start with the next one next time.
    this.#preferred = (first + 1) % origins.length;
    throw this.#reached ? lastConnectFailure! : this.#unreachable(lastConnectFailure!);
  }

  /**
   * No broker was ever reached and every URL refused again: said once at once (a process warning:
   * a wrong URL must not wait silently), retried until unreachableTimeoutMs, then final.
   */
  #unreachable(last: RequestFailure): RequestFailure {
    const now = Date.now();
    const { unreachableTimeoutMs, origins } = this.options;
    if (this.#unreachableSince === null) {
      this.#unreachableSince = now;
      process.emitWarning(`cannot connect to any broker (${origins.join(', ')}): ${last.error.message}; retrying for up to ${unreachableTimeoutMs} ms (unreachableTimeoutMs)`, {
        type: 'StrataClientWarning',
        code: 'STRATA_BROKERS_UNREACHABLE',
      });
    }
    const failingMs = now - this.#unreachableSince;
    if (failingMs < unreachableTimeoutMs) return last;
    const error = new StrataError(
      'REQUEST_TIMED_OUT',
      `cannot reach any broker at ${origins.join(', ')} for ${failingMs} ms (unreachableTimeoutMs ${unreachableTimeoutMs}): check the brokers URL and that a broker is running there; last error: ${last.error.message}`,
      { cause: last.error, retriable: false, details: { origins: [...origins], unreachableTimeoutMs, failingMs } },
    );
    return new RequestFailure('connect', error, false, last.origin, null, last.error);
  }

  async #exchange(origin: string, request: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(request.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const headers: Record<string, string> = { ...this.options.headers, accept: 'application/json, application/vnd.kafka.record-batch' };
    if (request.contentType !== undefined) headers['content-type'] = request.contentType;
    let status: number | null = null;
    let failure: RequestFailure | null = null;
    try {
      const dispatcher = request.lane === undefined ? this.#pool(origin) : request.lane.dispatcher(origin);
      const answer = await dispatcher.request({
        // undici pipelines only requests it may repeat (a lane's caller handles repeats: idempotence),
        // and, unless told they answer quickly, not behind a POST until its answer's headers came.
        idempotent: request.lane !== undefined || request.method === 'GET',
        blocking: request.lane === undefined,
        method: request.method,
        path: request.path,
        headers,
        body: request.body,
        signal,
        // Backstops only: the signal above bounds the whole exchange.
        headersTimeout: request.timeoutMs + 1_000,
        bodyTimeout: request.timeoutMs + 1_000,
      });
      status = answer.statusCode;
      const body = await readBounded(answer.body, this.options.maxResponseBytes, origin, request.what);
      const contentType = String(answer.headers['content-type'] ?? '');
      if (status < 200 || status > 299) throw statusFailure(status, contentType, body, origin, request.what);
      return { status, headers: answer.headers, body, origin };
    } catch (e) {
      if (request.signal?.aborted) throw request.signal.reason; // the caller's own abort: not a failure
      if (e instanceof RequestFailure) failure = e;
      else if (e instanceof StrataError) throw e;
      else failure = timeout.aborted ? timeoutFailure(origin, request.what, request.timeoutMs) : transportFailure(e, origin, request.what);
      throw failure;
    } finally {
      if (requestChannel.hasSubscribers) {
        const event: RequestEvent = {
          method: request.method,
          origin,
          path: request.path,
          status,
          durationMs: performance.now() - started,
          failure,
        };
        requestChannel.publish(event);
      }
    }
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: this.options.connectionsPerBroker,
        pipelining: 1,
        connectTimeout: this.options.connectTimeoutMs,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        ...(this.options.tls === null ? {} : { connect: this.options.tls }),
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes every pool; requests in flight finish first. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all([...pools.map((p) => p.close()), ...[...this.#lanes].map((lane) => lane.close())]);
  }
}

/** Options of a client: its own brokers and connection settings, or a Connection shared with other clients. */
export type ConnectWith = ConnectionOptions | { connection: Connection };

/** The client's Connection, and whether the client owns it (and so closes it). */
export function connectionFor(options: ConnectWith): { connection: Connection; owned: boolean } {
  if ('connection' in options && options.connection instanceof Connection) return { connection: options.connection, owned: false };
  return { connection: new Connection(options as ConnectionOptions), owned: true };
}

/** The whole body, refusing more than maxBytes (then the connection is dropped, not drained). */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }, maxBytes: number, origin: string, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      const error = new StrataError('MESSAGE_TOO_LARGE', `${what} to ${origin}: the answer exceeds maxResponseBytes (${maxBytes})`, {
        details: { origin, maxResponseBytes: maxBytes },
      });
      body.destroy(error);
      throw error;
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

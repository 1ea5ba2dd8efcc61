// Forwarding to a partition's leader: one hop over kept-alive connections.
// Produce goes as raw RecordBatch bytes (the JSON path was already encoded here);
// reads are proxied as they are. A forwarded request carries the
// Strata-Forwarded-By header, and a broker never forwards such a request again. It is signed with
// this broker's credential (security/broker-credentials.ts) and carries the client's principal in
// Strata-Forwarded-Principal: the leader believes both only when the credential holds
// (http/handlers/forwarded.ts).

import { StrataError, isStrataError, type ErrorCode } from '@strata/protocol';
import type { Readable } from 'node:stream';
import { Counter, type Registry } from 'prom-client';
import { Agent, request, type Dispatcher } from 'undici';
import { RECORD_BATCH_MEDIA_TYPE } from '../http/body.js';
import type { ForwardedReply, LeaderClient, RequestOrigin } from '../core/leader-client.js';
import { peerConnectOptions } from '../security/peer-connector.js';
import type { TlsMaterial } from '../security/tls.js';
import type { BrokerCredentials } from '../security/broker-credentials.js';

export const FORWARDED_HEADER = 'strata-forwarded-by';
/** The client's principal and address where the request entered, percent-encoded (header values are ASCII). */
export const FORWARDED_PRINCIPAL_HEADER = 'strata-forwarded-principal';
export const FORWARDED_HOST_HEADER = 'strata-forwarded-host';

/** Response headers a proxied read passes on. */
const PASSED_HEADERS = ['strata-high-watermark', 'strata-log-start-offset', 'strata-next-offset', 'strata-batch-count'];

export type { ForwardedReply };

export interface ForwardedAppend {
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  /** The leader had every batch already (an idempotent producer's retry): nothing was written. */
  duplicate: boolean;
}

/** The HTTP transport of the core's LeaderClient: a forward or a proxied read to the leader. */
export class Forwarder implements LeaderClient {
  readonly #brokerId: string;
  readonly #credentials: BrokerCredentials;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #forwarded: Counter<'kind'> | null;

  /** `options.tls`: the brokers' public listeners speak TLS (leader URLs are https://). `credentials`: this broker's, signing each request. */
  constructor(credentials: BrokerCredentials, options: { connectionsPerLeader?: number; timeoutMs?: number; metrics?: Registry; tls?: TlsMaterial | null } = {}) {
    this.#brokerId = credentials.brokerId;
    this.#credentials = credentials;
    this.#forwarded =
      options.metrics === undefined
        ? null
        : new Counter({
            name: 'strata_cluster_forwarded_requests_total',
            help: 'Requests this broker forwarded to a partition leader, by kind (produce, read, delete_records).',
            labelNames: ['kind'],
            registers: [options.metrics],
          });
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#agent = new Agent({
      connections: options.connectionsPerLeader ?? 32,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      ...peerConnectOptions(options.tls ?? null, 2_000),
    });
  }

  /** POSTs batches to the leader's raw produce endpoint; the leader's error comes back as a StrataError. */
  async produce(leaderUrl: string, topic: string, partition: number, acks: string, batches: Buffer, origin: RequestOrigin, signal?: AbortSignal): Promise<ForwardedAppend> {
    const path = `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/batches?acks=${encodeURIComponent(acks)}`;
    this.#forwarded?.inc({ kind: 'produce' });
    const reply = await this.#send(leaderUrl, path, 'POST', batches, { 'content-type': RECORD_BATCH_MEDIA_TYPE }, origin, signal);
    const parsed = parseJson(reply.body);
    if (reply.status >= 400) throw remoteError(parsed, reply.status, leaderUrl);
    const body = parsed as Partial<ForwardedAppend>;
    return { baseOffset: body.baseOffset ?? -1, lastOffset: body.lastOffset ?? -1, recordCount: body.recordCount ?? 0, duplicate: body.duplicate === true };
  }

  /**
   * A raw produce passed through as it came: the body streams from the client to the leader (never
   * held whole here, and not validated twice: the leader validates), and the leader's answer comes back as is.
   */
  async produceStream(leaderUrl: string, pathAndQuery: string, body: Readable, contentType: string, contentLength: string | undefined, origin: RequestOrigin, signal?: AbortSignal): Promise<ForwardedReply> {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (contentLength !== undefined) headers['content-length'] = contentLength;
    this.#forwarded?.inc({ kind: 'produce' });
    return this.#send(leaderUrl, pathAndQuery, 'POST', body, headers, origin, signal);
  }

  /** POSTs a DeleteRecords to the leader's route; the new log start, or the leader's error as a StrataError. */
  async deleteRecords(leaderUrl: string, topic: string, partition: number, beforeOffset: number, origin: RequestOrigin, signal?: AbortSignal): Promise<number> {
    const path = `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/delete-records`;
    this.#forwarded?.inc({ kind: 'delete_records' });
    const reply = await this.#send(leaderUrl, path, 'POST', Buffer.from(JSON.stringify({ beforeOffset })), { 'content-type': 'application/json' }, origin, signal);
    const parsed = parseJson(reply.body);
    if (reply.status >= 400) throw remoteError(parsed, reply.status, leaderUrl);
    const lowWatermark = (parsed as { lowWatermark?: unknown } | null)?.lowWatermark;
    if (typeof lowWatermark !== 'number' || !Number.isSafeInteger(lowWatermark)) throw remoteError(null, reply.status, leaderUrl);
    return lowWatermark;
  }

  /** A read (or offsets lookup) proxied as it is: status, body and the Strata-* headers. */
  async proxy(leaderUrl: string, pathAndQuery: string, origin: RequestOrigin, signal?: AbortSignal): Promise<ForwardedReply> {
    this.#forwarded?.inc({ kind: 'read' });
    return this.#send(leaderUrl, pathAndQuery, 'GET', undefined, {}, origin, signal);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #send(
    base: string,
    path: string,
    method: Dispatcher.HttpMethod,
    body: Buffer | Readable | undefined,
    headers: Record<string, string>,
    origin: RequestOrigin,
    signal: AbortSignal | undefined,
  ): Promise<ForwardedReply> {
    const { principal, host } = origin;
    const target = leaderTarget(base, path);
    const signed: Record<string, string> = {
      ...headers,
      [FORWARDED_HEADER]: this.#brokerId,
      // Signed over the target as undici sends it (the URL's normalised path and query).
      authorization: this.#credentials.header(method, `${target.pathname}${target.search}`),
      ...(principal === undefined ? {} : { [FORWARDED_PRINCIPAL_HEADER]: encodeURIComponent(principal) }),
      ...(host === undefined ? {} : { [FORWARDED_HOST_HEADER]: encodeURIComponent(host) }),
    };
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    try {
      const response = await request(target, {
        method,
        body,
        headers: signed,
        dispatcher: this.#agent,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      const passed: Record<string, string> = {};
      for (const name of PASSED_HEADERS) {
        const value = response.headers[name];
        if (typeof value === 'string') passed[name] = value;
      }
      const type = response.headers['content-type'];
      return { status: response.statusCode, body: bytes, contentType: typeof type === 'string' ? type : 'application/octet-stream', headers: passed };
    } catch (e) {
      if (isStrataError(e)) throw e;
      // Not reached, or gone mid-request: the client retries, by when leadership has been looked up again.
      throw new StrataError('NOT_LEADER', `the partition leader at ${base} could not be reached: ${(e as Error).message}`, {
        cause: e,
        details: { leaderUrl: base, unreachable: true },
      });
    }
  }
}

/**
 * The URL of `path` at the leader `base`. `path` must be origin-form (`/...`, not `//host/...`
 * nor `http://...`): anything else is the caller's bug or a client's trick, refused as
 * INVALID_REQUEST before any connection, so it can never look like an unreachable leader.
 */
function leaderTarget(base: string, path: string): URL {
  let target: URL | null = null;
  try {
    target = path.startsWith('/') && !path.startsWith('//') ? new URL(`${base}${path}`) : null;
  } catch {
    target = null;
  }
  if (target === null || target.origin !== new URL(base).origin) {
    throw new StrataError('INVALID_REQUEST', 'the request target must be a path on this broker (origin form)', { details: { target: path.slice(0, 64) } });
  }
  return target;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/** The leader's error answer as the same StrataError, so the client sees what the leader said. */
function remoteError(parsed: unknown, status: number, leaderUrl: string): StrataError {
  const error = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
  if (error?.code === 'BROKER_SHUTTING_DOWN') {
    // For the client the partition has no leader that takes requests right now: retry, as for any election.
    return new StrataError('NOT_LEADER', `the partition leader at ${leaderUrl} is shutting down (handing its partitions over)`, { details: { leaderUrl } });
  }
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new StrataError(error.code as ErrorCode, error.message, { details: { ...error.details, forwardedTo: leaderUrl } });
  }
  return new StrataError('NOT_LEADER', `the partition leader at ${leaderUrl} answered ${status}`, { details: { leaderUrl, status } });
}

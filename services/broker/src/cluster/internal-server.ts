// The internal listener (STRATA_INTERNAL_HOST:STRATA_INTERNAL_PORT): broker-to-broker replication
// only, every request signed with the sending broker's credential (security/broker-credentials.ts:
// derived from the cluster secret and its id, never the secret itself; one use per header). A
// follower's fetch names the replica whose progress it reports: only that broker may send it, or
// one forged fetch could move the high watermark and acknowledge acks=all records nobody copied.
// The wire is described in replica-client.ts. Data answers are the log's bytes, as read.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ListenerGuard, type ConnectionLimits } from '../http/admission.js';
import { createHttpServer } from '../security/http-server.js';
import type { TlsMaterial } from '../security/tls.js';
import type { BrokerCredentials, CredentialCheck } from '../security/broker-credentials.js';
import type { Logger } from '../logger.js';
import type { TopicRegistry } from '../topics/topic-registry.js';
import type { ClusterNode } from './cluster-node.js';
import { eventQueryOf } from '../events/event-log.js';
import { INTERNAL_EVENTS_PATH } from '../events/peer-events.js';
import { INTERNAL_PREFIX, REPLICA_HEADERS } from './replica-client.js';

export interface InternalServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface InternalServerOptions {
  host: string;
  port: number;
  /** Verifies each request's broker credential. */
  credentials: BrokerCredentials;
  registry: TopicRegistry;
  node: () => ClusterNode | null;
  logger: Logger;
  maxBytesCap: number;
  maxWaitMsCap: number;
  /** Connections and timeouts, as on the public listener (no request here has a body). */
  limits: ConnectionLimits;
  /** HTTPS with the broker's certificate (under mTLS a peer must present one the client CA signed, naming its broker id); null: plaintext. */
  tls: TlsMaterial | null;
  /** The broker's metrics (refused broker credentials are counted there). */
  metrics: Registry;
}

export async function startInternalServer(options: InternalServerOptions): Promise<InternalServer> {
  const refusals = new RefusalLog(options.logger);
  options.credentials.attachMetrics(options.metrics);
  const server: Server = createHttpServer(options.limits, options.tls, (req, res) => {
    void handle(req, res).catch((e: unknown) => {
      options.logger.warn('internal request failed', { url: req.url, err: e });
      if (!res.headersSent && !res.destroyed) json(res, 500, { error: (e as Error).message });
      else res.destroy();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const check = options.credentials.verify(req.headers.authorization, req.method ?? 'GET', req.url ?? '/', req.socket);
    if (!check.ok) {
      refusals.note(check, req);
      const message = `unauthorized: ${check.reason}${check.detail === undefined ? '' : ` (${check.detail})`}`;
      return json(res, 401, { error: message, code: 'BROKER_AUTHENTICATION_FAILED' });
    }
    const url = new URL(req.url ?? '/', 'http://internal');
    if (req.method === 'GET' && url.pathname === INTERNAL_EVENTS_PATH) return events(res, url.searchParams);
    if (req.method !== 'GET' || !url.pathname.startsWith(INTERNAL_PREFIX)) return json(res, 404, { error: 'not found' });
    const [topicText, partitionText, action] = url.pathname.slice(INTERNAL_PREFIX.length).split('/');
    const topic = decodeURIComponent(topicText ?? '');
    const partition = Number(partitionText);
    const node = options.node();
    if (node === null || !options.registry.has(topic) || !Number.isSafeInteger(partition) || partition < 0 || partition >= options.registry.get(topic).partitionCount) {
      return json(res, 409, { fenced: null });
    }
    const handleOf = options.registry.partition(topic, partition);
    const int = (name: string): number => {
      const v = Number(url.searchParams.get(name));
      return Number.isSafeInteger(v) ? v : -1;
    };
    if (action === 'epoch-end') {
      const answer = node.epochEnd(handleOf, int('epoch'), int('leaderEpoch'));
      return answer === null ? json(res, 409, { fenced: null }) : json(res, 200, answer);
    }
    if (action !== 'fetch') return json(res, 404, { error: 'not found' });
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const replica = url.searchParams.get('replica') ?? '';
    const offset = int('offset');
    if (replica === '' || offset < 0) return json(res, 400, { error: 'replica and offset are required' });
    if (replica !== check.brokerId) {
      refusals.note({ ok: false, reason: 'replica is not the sender' }, req, check.brokerId);
      return json(res, 403, { error: `broker ${check.brokerId} may fetch as itself only` });
    }
    const answer = await node.replicaFetch(
      handleOf,
      {
        replica,
        epoch: int('epoch'),
        offset,
        maxBytes: Math.min(Math.max(int('maxBytes'), 1024), options.maxBytesCap),
        maxWaitMs: Math.min(Math.max(int('maxWaitMs'), 0), options.maxWaitMsCap),
      },
      controller.signal,
    );
    switch (answer.kind) {
      case 'fenced':
        return json(res, 409, { fenced: answer.leaderEpoch });
      case 'reset':
        return json(res, 416, { resetTo: answer.to });
      case 'truncate':
        return json(res, 416, { truncateTo: answer.to });
      case 'data':
        res.writeHead(200, {
          'content-type': 'application/vnd.kafka.record-batch',
          'content-length': String(answer.data.length),
          [REPLICA_HEADERS.highWatermark]: String(answer.highWatermark),
          [REPLICA_HEADERS.leaderEpoch]: String(answer.leaderEpoch),
          [REPLICA_HEADERS.uploadedEnd]: String(answer.uploadedEnd),
        });
        res.end(answer.data, () => answer.release());
        return;
    }
  };

  /** This broker's own events, for the broker answering GET /v1/events (peer-events.ts). */
  const events = (res: ServerResponse, search: URLSearchParams): void => {
    const node = options.node();
    if (node === null) return json(res, 503, { error: 'starting' });
    let query;
    try {
      query = eventQueryOf(search);
    } catch (e) {
      return json(res, 400, { error: (e as Error).message });
    }
    json(res, 200, { events: node.events.query(query) });
  };

  new ListenerGuard(options.limits).attach(server);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => options.logger.error('internal server error', { err: e }));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Refused requests are logged at most once per interval per reason (a flood must not flood the log). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

class RefusalLog {
  readonly #logger: Logger;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  note(check: Exclude<CredentialCheck, { ok: true }> | { ok: false; reason: string }, req: IncomingMessage, sender?: string): void {
    const now = Date.now();
    const last = this.#last.get(check.reason);
    if (last !== undefined && now - last.at < REFUSAL_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.#last.set(check.reason, { at: now, suppressed: 0 });
    // The path only (never the Authorization header): which partition, not what credential.
    const path = (req.url ?? '/').split('?')[0];
    this.#logger.warn('internal request refused', { reason: check.reason, from: req.socket.remoteAddress, path, ...(sender === undefined ? {} : { sender }), suppressedBefore: last?.suppressed ?? 0 });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

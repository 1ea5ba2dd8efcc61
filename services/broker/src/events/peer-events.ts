// The other brokers' events, for the broker that answers GET /v1/events: one signed request to each
// live broker's internal port (GET /internal/v1/events, the same query), all at once, each bounded
// in time (STRATA_EVENTS_PEER_TIMEOUT_MS) and in bytes (STRATA_EVENTS_PEER_REPLY_BYTES_MAX). A broker
// that does not answer, answers too much or answers nonsense is reported in the answer's `brokers`,
// never fatal: the feed is for a person, who should see what the others say and who was silent.
//
// Why a fan-out and not a shared store (the coordinator): events are recorded where they happen,
// often many per second during a failover, and a Redis write per event would put the feed on the
// path of the very leadership moves it reports. Reading is rare (a console page), so it pays.

import { BrokerEvents, problemsOf, type ClusterEvent, type EventSource } from '@strata/api';
import { Pool } from 'undici';
import type { EventsConfig } from '../config/types.js';
import type { BrokerCredentials } from '../security/broker-credentials.js';
import { peerConnectOptions } from '../security/peer-connector.js';
import type { TlsMaterial } from '../security/tls.js';
import type { EventQuery } from './event-log.js';

export const INTERNAL_EVENTS_PATH = '/internal/v1/events';

/** Connections kept to each broker for events (a console page asks every couple of seconds: one is plenty, two cover an overlap). */
const EVENTS_CONNECTIONS_PER_PEER = 2;

export interface Peer {
  id: string;
  internalUrl: string;
}

export interface PeerAnswers {
  lists: ClusterEvent[][];
  sources: EventSource[];
}

/** The query as the internal request's text (the same parameters as GET /v1/events). */
export function eventsQueryText(q: EventQuery): string {
  const params = new URLSearchParams({ limit: String(q.limit) });
  if (q.since !== undefined) params.set('since', String(q.since));
  if (q.kind !== undefined) params.set('kind', q.kind);
  if (q.topic !== undefined) params.set('topic', q.topic);
  return params.toString();
}

export class PeerEvents {
  readonly #credentials: BrokerCredentials;
  readonly #tls: TlsMaterial | null;
  readonly #config: Pick<EventsConfig, 'peerTimeoutMs' | 'peerReplyBytesMax'>;
  readonly #pools = new Map<string, Pool>();

  constructor(credentials: BrokerCredentials, tls: TlsMaterial | null, config: Pick<EventsConfig, 'peerTimeoutMs' | 'peerReplyBytesMax'>) {
    this.#credentials = credentials;
    this.#tls = tls;
    this.#config = config;
  }

  async ask(peers: readonly Peer[], q: EventQuery, signal: AbortSignal): Promise<PeerAnswers> {
    const path = `${INTERNAL_EVENTS_PATH}?${eventsQueryText(q)}`;
    const settled = await Promise.allSettled(peers.map((p) => this.#askOne(p, path, signal)));
    const lists: ClusterEvent[][] = [];
    const sources: EventSource[] = [];
    settled.forEach((result, i) => {
      const broker = peers[i]!.id;
      if (result.status === 'fulfilled') {
        lists.push(result.value);
        sources.push({ broker, ok: true });
      } else {
        sources.push({ broker, ok: false, error: reasonOf(result.reason, this.#config.peerTimeoutMs) });
      }
    });
    return { lists, sources };
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  async #askOne(peer: Peer, path: string, signal: AbortSignal): Promise<ClusterEvent[]> {
    const timeoutMs = this.#config.peerTimeoutMs;
    let pool = this.#pools.get(peer.internalUrl);
    if (pool === undefined) {
      pool = new Pool(peer.internalUrl, { connections: EVENTS_CONNECTIONS_PER_PEER, keepAliveTimeout: 30_000, ...peerConnectOptions(this.#tls, timeoutMs) });
      this.#pools.set(peer.internalUrl, pool);
    }
    const response = await pool.request({
      path,
      method: 'GET',
      headers: { authorization: this.#credentials.header('GET', path) },
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > this.#config.peerReplyBytesMax) {
        response.body.destroy();
        throw new Error(`answered more than ${this.#config.peerReplyBytesMax} bytes (STRATA_EVENTS_PEER_REPLY_BYTES_MAX)`);
      }
      chunks.push(chunk);
    }
    if (response.statusCode !== 200) throw new Error(`answered HTTP ${response.statusCode}`);
    let reply: unknown;
    try {
      reply = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new Error('answered something that is not JSON');
    }
    const problems = problemsOf(BrokerEvents, reply);
    if (problems.length > 0) throw new Error(`answered an events list that does not fit the schema (${problems[0]!.message})`);
    // A broker speaks for itself only.
    return (reply as { events: ClusterEvent[] }).events.filter((e) => e.broker === peer.id);
  }
}

function reasonOf(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'HeadersTimeoutError' || e.name === 'BodyTimeoutError' || e.name === 'AbortError')) {
    return `did not answer within ${timeoutMs} ms`;
  }
  const message = e instanceof Error ? e.message : String(e);
  return `could not be asked: ${message}`.slice(0, 200);
}

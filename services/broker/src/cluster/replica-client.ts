// The replication wire, broker to broker, on the internal port (STRATA_INTERNAL_PORT), every
// request carrying this broker's credential (`Authorization: Strata-Broker ...`,
// security/broker-credentials.ts); a fetch's `replica` must be the broker that signed it (403 otherwise):
//
//   GET /internal/v1/replicas/{topic}/{partition}/fetch?replica=&epoch=&offset=&maxBytes=&maxWaitMs=
//     The follower's long-poll. `offset` is its log end (it tells the leader how far it is);
//     `epoch` the leader epoch it follows. 200: the leader's batches as stored, raw (no JSON on the
//     data path), from `offset`, with headers Strata-High-Watermark, Strata-Leader-Epoch,
//     Strata-Uploaded-End (below it the bucket holds everything, snapshotted). Otherwise a small
//     JSON answer: 409 {fenced: leaderEpoch|null} (not the leader in that epoch),
//     416 {resetTo} (below what the leader keeps for followers: start over there, only the
//     unuploaded tail is replicated) or {truncateTo} (past the leader's log end).
//   GET /internal/v1/replicas/{topic}/{partition}/epoch-end?epoch=&leaderEpoch=
//     Kafka's OffsetForLeaderEpoch (KIP-101/279): {epoch, endOffset, logStartOffset} in the leader's log.
//
// One undici Pool per leader: persistent connections shared by every partition followed from it.

import { StrataError } from '@strata/protocol';
import { Pool } from 'undici';
import { peerConnectOptions } from '../security/peer-connector.js';
import type { TlsMaterial } from '../security/tls.js';
import type { BrokerCredentials } from '../security/broker-credentials.js';

export const INTERNAL_PREFIX = '/internal/v1/replicas/';

export const REPLICA_HEADERS = {
  highWatermark: 'strata-high-watermark',
  leaderEpoch: 'strata-leader-epoch',
  uploadedEnd: 'strata-uploaded-end',
} as const;

export type ReplicaFetchReply =
  | { kind: 'data'; data: Buffer; highWatermark: number; uploadedEnd: number }
  | { kind: 'fenced'; leaderEpoch: number | null }
  | { kind: 'reset'; to: number }
  | { kind: 'truncate'; to: number };

export interface EpochEndReply {
  epoch: number;
  endOffset: number;
  logStartOffset: number;
}

export class ReplicaClient {
  readonly #credentials: BrokerCredentials;
  readonly #pools = new Map<string, Pool>();
  readonly #connections: number;
  readonly #tls: TlsMaterial | null;

  /** `tls`: the internal port speaks TLS (the leader's URL is https://); null: plaintext. */
  constructor(credentials: BrokerCredentials, tls: TlsMaterial | null, connectionsPerLeader = 64) {
    this.#credentials = credentials;
    this.#tls = tls;
    this.#connections = connectionsPerLeader;
  }

  async fetch(
    leaderUrl: string,
    topic: string,
    partition: number,
    request: { replica: string; epoch: number; offset: number; maxBytes: number; maxWaitMs: number },
    signal: AbortSignal,
  ): Promise<ReplicaFetchReply> {
    const q = `replica=${encodeURIComponent(request.replica)}&epoch=${request.epoch}&offset=${request.offset}&maxBytes=${request.maxBytes}&maxWaitMs=${request.maxWaitMs}`;
    const { status, body, headers } = await this.#get(leaderUrl, `${INTERNAL_PREFIX}${encodeURIComponent(topic)}/${partition}/fetch?${q}`, request.maxWaitMs + 10_000, signal);
    if (status === 200) {
      return {
        kind: 'data',
        data: body,
        highWatermark: Number(headers[REPLICA_HEADERS.highWatermark] ?? -1),
        uploadedEnd: Number(headers[REPLICA_HEADERS.uploadedEnd] ?? -1),
      };
    }
    const json = parse(body);
    if (status === 409) return { kind: 'fenced', leaderEpoch: typeof json.fenced === 'number' ? json.fenced : null };
    if (status === 416 && typeof json.resetTo === 'number') return { kind: 'reset', to: json.resetTo };
    if (status === 416 && typeof json.truncateTo === 'number') return { kind: 'truncate', to: json.truncateTo };
    throw new StrataError('STORAGE_ERROR', `replica fetch from ${leaderUrl} answered ${status}: ${body.toString('utf8', 0, 300)}`);
  }

  async epochEnd(leaderUrl: string, topic: string, partition: number, epoch: number, leaderEpoch: number, signal: AbortSignal): Promise<EpochEndReply | { fenced: true }> {
    const path = `${INTERNAL_PREFIX}${encodeURIComponent(topic)}/${partition}/epoch-end?epoch=${epoch}&leaderEpoch=${leaderEpoch}`;
    const { status, body } = await this.#get(leaderUrl, path, 5_000, signal);
    const json = parse(body);
    if (status === 409) return { fenced: true };
    if (status !== 200 || typeof json.epoch !== 'number' || typeof json.endOffset !== 'number' || typeof json.logStartOffset !== 'number') {
      throw new StrataError('STORAGE_ERROR', `epoch-end from ${leaderUrl} answered ${status}: ${body.toString('utf8', 0, 300)}`);
    }
    return { epoch: json.epoch, endOffset: json.endOffset, logStartOffset: json.logStartOffset };
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  async #get(base: string, path: string, timeoutMs: number, signal: AbortSignal): Promise<{ status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }> {
    let pool = this.#pools.get(base);
    if (pool === undefined) {
      pool = new Pool(base, { connections: this.#connections, pipelining: 1, keepAliveTimeout: 30_000, ...peerConnectOptions(this.#tls, 2_000) });
      this.#pools.set(base, pool);
    }
    const response = await pool.request({
      path,
      method: 'GET',
      headers: { authorization: this.#credentials.header('GET', path) },
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const body = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, body, headers: response.headers };
  }
}

function parse(body: Buffer): Record<string, unknown> {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// Test support: a real broker in-process, and a real HTTP proxy in front of it
// that counts requests and injects faults. Both listen on loopback ports the
// kernel picks.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, startBroker, type Broker } from '@strata/broker';
import { Admin } from '../src/index.js';

export interface TestBroker {
  broker: Broker;
  url: string;
  stop(): Promise<void>;
}

export async function startTestBroker(env: Record<string, string> = {}): Promise<TestBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-client-'));
  const broker = await startBroker(
    loadConfig({ STRATA_KAFKA_PORT: '0', STRATA_HTTP_PORT: '0', STRATA_HOST: '127.0.0.1', STRATA_DATA_DIR: dataDir, STRATA_LOG_LEVEL: 'error', ...env }, []),
  );
  return {
    broker,
    url: broker.url,
    async stop() {
      await broker.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The fixture of a test file's producer tests: one broker and an Admin on it, started before the
 * file's tests; `closers` (producers, proxies) run last first, before both stop.
 */
export interface BrokerFixture {
  broker: TestBroker;
  admin: Admin;
  closers: Array<() => Promise<void>>;
}

export function useBrokerFixture(): BrokerFixture {
  const fixture = { closers: [] as Array<() => Promise<void>> } as BrokerFixture;
  beforeAll(async () => {
    fixture.broker = await startTestBroker();
    fixture.admin = new Admin({ brokers: fixture.broker.url });
  });
  afterAll(async () => {
    for (const close of fixture.closers.reverse()) await close();
    await fixture.admin.close();
    await fixture.broker.stop();
  });
  return fixture;
}

/** What the proxy does with one request. */
export type ProxyAction =
  /** Forward it. */
  | 'pass'
  /** Read the body, answer 503 BROKER_SHUTTING_DOWN (retriable) without forwarding: the broker never sees it. */
  | 'reject503'
  /**
   * Destroy the client's connection without forwarding: the broker never sees it. (A cut after the
   * broker appended would make the client's retry a duplicate: without idempotent producers that is
   * at-least-once, as Kafka without enable.idempotence. These tests cut before, so they can demand
   * exactly-once delivery of every record.)
   */
  | 'cut'
  /**
   * Forward it, let the broker answer, then destroy the client's connection instead of passing the
   * answer on: the append happened, the client never learns it (its retry is the duplicate an
   * idempotent producer prevents).
   */
  | 'loseAnswer'
  /** Keep it until release(), then forward it. */
  | 'hold';

export type RequestKind = 'produce' | 'fetch' | 'describe' | 'other';

export interface ProxiedRequest {
  method: string;
  path: string;
  kind: RequestKind;
  /** 1-based count of requests of this kind so far, this one included. */
  n: number;
}

export function kindOf(method: string, path: string): RequestKind {
  const pathname = path.split('?')[0]!;
  if (pathname.endsWith('/batches')) return method === 'POST' ? 'produce' : 'fetch';
  if (method === 'GET' && /^\/v1\/topics\/[^/]+$/.test(pathname)) return 'describe';
  return 'other';
}

/** A real HTTP reverse proxy (bodies stream both ways) that counts requests and applies `decide`. */
export class TestProxy {
  readonly url: string;
  readonly counts: Record<RequestKind, number> = { produce: 0, fetch: 0, describe: 0, other: 0 };
  /** Actions taken other than 'pass', by action. */
  readonly faults: Record<Exclude<ProxyAction, 'pass'>, number> = { reject503: 0, cut: 0, loseAnswer: 0, hold: 0 };
  /** Bytes of produce request bodies that were forwarded. */
  producedBytes = 0;
  decide: (request: ProxiedRequest) => ProxyAction = () => 'pass';
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 });
  readonly #target: URL;
  #held: Array<() => void> = [];

  private constructor(server: Server, target: string) {
    this.#server = server;
    this.#target = new URL(target);
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(target: string, port = 0): Promise<TestProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const proxy = new TestProxy(server, target);
    server.on('request', (req, res) => proxy.#handle(req, res));
    return proxy;
  }

  get heldCount(): number {
    return this.#held.length;
  }

  /** Forwards every held request. */
  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const go of held) go();
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const kind = kindOf(method, path);
    const n = ++this.counts[kind];
    const action = this.decide({ method, path, kind, n });
    if (action !== 'pass') this.faults[action]++;
    if (action === 'cut') {
      req.socket.destroy();
      return;
    }
    if (action === 'reject503') {
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ error: { code: 'BROKER_SHUTTING_DOWN', message: 'injected by the test proxy', retriable: true } });
        res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'retry-after': '1' });
        res.end(body);
      });
      return;
    }
    if (action === 'hold') {
      req.pause();
      this.#held.push(() => this.#forward(req, res, kind));
      return;
    }
    this.#forward(req, res, kind, action === 'loseAnswer');
  }

  #forward(req: IncomingMessage, res: ServerResponse, kind: RequestKind, loseAnswer = false): void {
    const headers = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    const upstream = httpRequest(
      { host: this.#target.hostname, port: this.#target.port, method: req.method, path: req.url, headers, agent: this.#agent },
      (answer) => {
        if (loseAnswer) {
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (kind === 'produce') req.on('data', (chunk: Buffer) => (this.producedBytes += chunk.length));
    req.pipe(upstream);
    req.resume();
  }
}

export interface JsonRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

/** Every record of a partition, read over the broker's JSON API (independent of the client under test). */
export async function readPartition(url: string, topic: string, partition: number): Promise<JsonRecord[]> {
  const out: JsonRecord[] = [];
  let offset = 0;
  for (;;) {
    const res = await fetch(`${url}/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=10000`);
    if (res.status !== 200) throw new Error(`read ${topic}/${partition}@${offset}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { records: JsonRecord[]; nextOffset: number; highWatermark: number };
    out.push(...body.records);
    offset = body.nextOffset;
    if (offset >= body.highWatermark) return out;
  }
}

export async function until<T>(what: string, probe: () => T | null | false | Promise<T | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Watches a promise: `settled` turns true once it resolves or rejects (the rejection is kept, not thrown). */
export function watch<T>(promise: Promise<T>): { settled: boolean; error: unknown; promise: Promise<T> } {
  const state = { settled: false, error: undefined as unknown, promise };
  promise.then(
    () => void (state.settled = true),
    (e: unknown) => {
      state.settled = true;
      state.error = e;
    },
  );
  return state;
}

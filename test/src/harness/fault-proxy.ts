/**
 * FaultProxy: an HTTP reverse proxy on a free loopback port, in front of an object store (S3Server,
 * MinIO), that injects the faults an S3 client meets in production, switched at run time and drawn
 * with seeded probabilities so a failing run replays with its seed.
 *
 * Point the broker (or an S3 client) at `proxy.endpoint`. The request goes upstream as the client sent
 * it: method, path and query byte for byte, every header with its case and order, the Host header
 * unchanged. That is what SigV4 needs: the client signs the Host it connects to (the proxy's
 * 127.0.0.1:<port>) and the server recomputes the signature from the Host it receives, so a proxy that
 * rewrote Host to the target's would break every request on MinIO or AWS (s3rver does not check
 * signatures, so only the SigV4 test in fault-proxy.test.ts would notice). Only hop-by-hop headers
 * (Connection, Keep-Alive, Proxy-Connection, TE, Upgrade, Expect) are dropped; none is ever signed.
 * Bodies stream both ways with backpressure; nothing is buffered whole.
 *
 * Per request, one outcome is drawn (probabilities in FaultSettings, the rest is `pass`):
 * - `drop`: the client's socket is reset (RST) without an answer; nothing goes upstream.
 *   The client sees ECONNRESET / "socket hang up" (or EPIPE while it still uploads).
 * - `status503SlowDown`: 503 with S3's `<Error><Code>SlowDown</Code>` XML (after reading the body);
 *   nothing goes upstream. The AWS SDK classifies it as a throttling error.
 * - `status500`: 500 with `<Error><Code>InternalError</Code>`; nothing goes upstream. Transient.
 * - `resetMidBody`: the request goes upstream and the connection is cut partway through a body
 *   (`resetMidBodyIn`): `request` cuts the upload after a random part of the body was forwarded (the
 *   server sees an aborted upload and must store nothing; the client is reset mid-upload); `response`
 *   forwards the whole request, then cuts the answer after its headers and part of its body, or,
 *   when the answer has no body (a PUT's 200), drops it before the status line: the write happened
 *   but the client saw a network error ("applied but unacknowledged"). `auto` (default): request
 *   when the request has a body, else response.
 * Independently, with `delayProbability` (default 1), `delayMs` holds the proxy's answer back: after
 * the upstream answered (so the write already happened if the client gives up), or before a
 * synthesized error or a drop.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { trackCloser } from './cleanup.js';
import { SeededRandom, seedFromEnv } from './random.js';

export type FaultOutcome = 'pass' | 'drop' | 'status503SlowDown' | 'status500' | 'resetMidBody';

/** What a `match` predicate sees of a request. */
export interface FaultRequest {
  method: string;
  /** Path and query as the client sent them. */
  url: string;
  headers: IncomingMessage['headers'];
}

export interface FaultSettings {
  /** Probabilities in [0, 1]; their sum must not exceed 1 (the rest is `pass`). */
  drop?: number;
  status503SlowDown?: number;
  status500?: number;
  resetMidBody?: number;
  /** Where resetMidBody cuts (default `auto`: the request body if there is one, else the response). */
  resetMidBodyIn?: 'auto' | 'request' | 'response';
  /** Hold the answer back this long (default 0: no delay). */
  delayMs?: number;
  /** Chance that a request is delayed when delayMs > 0 (default 1). */
  delayProbability?: number;
  /** Only requests for which this is true are faulted or delayed; the others pass (default: all). */
  match?: (request: FaultRequest) => boolean;
}

export interface FaultCounts {
  /** Every request the proxy received. */
  requests: number;
  pass: number;
  drop: number;
  status503SlowDown: number;
  status500: number;
  resetMidBody: number;
  /** Requests whose answer was delayed (on top of their outcome). */
  delayed: number;
  /** Passed requests whose upstream failed (connection refused or reset): the client was dropped. */
  upstreamErrors: number;
}

export interface FaultRecord {
  method: string;
  url: string;
  outcome: FaultOutcome;
  delayed: boolean;
}

export interface FaultProxyOptions {
  /** The origin to forward to, e.g. s3.endpoint (`http://127.0.0.1:<port>`; http only). */
  target: string;
  /** PRNG seed (default: STRATA_SEED, else random; printed by tests that fail). */
  seed?: number;
  /** Faults from the start (default none). */
  faults?: FaultSettings;
  /** Port on 127.0.0.1 (default: one the kernel picks). */
  port?: number;
  /** Records kept for history() (default 1000, oldest dropped). */
  historyLimit?: number;
}

/** Headers that describe one hop, never the message (RFC 9110 §7.6.1), and Expect (handled per hop). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'expect']);
/** A body of unknown length (chunked) is cut within its first this many bytes. */
const UNKNOWN_LENGTH_CUT_MAX_BYTES = 64 * 1024;
const UPSTREAM_SOCKETS_MAX = 64;

const EMPTY_COUNTS: FaultCounts = {
  requests: 0,
  pass: 0,
  drop: 0,
  status503SlowDown: 0,
  status500: 0,
  resetMidBody: 0,
  delayed: 0,
  upstreamErrors: 0,
};

export class FaultProxy {
  readonly target: string;
  readonly seed: number;
  readonly port: number;
  readonly endpoint: string;
  private readonly targetUrl: URL;
  private readonly server: Server;
  private readonly agent: Agent;
  private readonly random: SeededRandom;
  private readonly historyLimit: number;
  private readonly records: FaultRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly untrack: () => void;
  private settings: FaultSettings = {};
  private tally: FaultCounts = { ...EMPTY_COUNTS };
  private requestSeq = 0;
  private stopped = false;

  private constructor(server: Server, port: number, options: FaultProxyOptions) {
    this.server = server;
    this.port = port;
    this.endpoint = `http://127.0.0.1:${port}`;
    this.target = options.target;
    this.targetUrl = new URL(options.target);
    this.seed = options.seed ?? seedFromEnv();
    this.random = new SeededRandom(this.seed);
    this.historyLimit = options.historyLimit ?? 1000;
    this.agent = new Agent({ keepAlive: true, maxSockets: UPSTREAM_SOCKETS_MAX });
    this.untrack = trackCloser(() => this.closeNow());
    if (options.faults !== undefined) this.setFaults(options.faults);
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const target = new URL(options.target);
    if (target.protocol !== 'http:') throw new Error(`FaultProxy: target must be http://, got ${options.target}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('FaultProxy: no port');
    const proxy = new FaultProxy(server, address.port, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    // A client that resets its own connection is not an error of the proxy.
    server.on('clientError', (_error, socket: Socket) => socket.destroy());
    return proxy;
  }

  /** Replace the fault settings (not merge): `setFaults({ drop: 0.1 })` also turns every other fault off. */
  setFaults(settings: FaultSettings): void {
    const probabilities = [settings.drop, settings.status503SlowDown, settings.status500, settings.resetMidBody];
    let sum = 0;
    for (const p of [...probabilities, settings.delayProbability]) {
      if (p !== undefined && !(p >= 0 && p <= 1)) throw new Error(`FaultProxy: a probability must be in [0, 1], got ${p}`);
    }
    for (const p of probabilities) sum += p ?? 0;
    if (sum > 1 + 1e-9) throw new Error(`FaultProxy: fault probabilities add up to ${sum} > 1`);
    if (settings.delayMs !== undefined && !(Number.isFinite(settings.delayMs) && settings.delayMs >= 0)) {
      throw new Error(`FaultProxy: delayMs must be a finite number >= 0, got ${settings.delayMs}`);
    }
    this.settings = { ...settings };
  }

  /** No faults, no delay: every request passes. */
  clear(): void {
    this.settings = {};
  }

  get faults(): Readonly<FaultSettings> {
    return this.settings;
  }

  counts(): FaultCounts {
    return { ...this.tally };
  }

  /** The last `historyLimit` requests with their outcomes, oldest first. */
  history(): readonly FaultRecord[] {
    return [...this.records];
  }

  resetCounts(): void {
    this.tally = { ...EMPTY_COUNTS };
    this.records.length = 0;
  }

  /** Stop listening and cut every open connection (both sides). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.closeNow();
    await closed;
  }

  private closeNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.untrack();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.server.listening) this.server.close();
    this.server.closeAllConnections();
    this.agent.destroy();
  }

  private draw(req: IncomingMessage): { outcome: FaultOutcome; delayMs: number } {
    const s = this.settings;
    const faulted = s.match === undefined || s.match({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    if (!faulted) return { outcome: 'pass', delayMs: 0 };
    let outcome: FaultOutcome = 'pass';
    const r = this.random.next();
    let edge = 0;
    for (const candidate of ['drop', 'status503SlowDown', 'status500', 'resetMidBody'] as const) {
      edge += s[candidate] ?? 0;
      if (r < edge) {
        outcome = candidate;
        break;
      }
    }
    let delayMs = 0;
    if ((s.delayMs ?? 0) > 0 && this.random.next() < (s.delayProbability ?? 1)) delayMs = s.delayMs ?? 0;
    return { outcome, delayMs };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const { outcome, delayMs } = this.draw(req);
    this.tally.requests++;
    this.tally[outcome]++;
    if (delayMs > 0) this.tally.delayed++;
    this.records.push({ method: req.method ?? 'GET', url: req.url ?? '/', outcome, delayed: delayMs > 0 });
    if (this.records.length > this.historyLimit) this.records.shift();
    req.on('error', () => undefined); // a client reset mid-upload; the socket is gone, nothing to answer
    res.on('error', () => undefined);

    switch (outcome) {
      case 'drop':
        this.later(delayMs, res, () => resetSocket(req.socket));
        return;
      case 'status503SlowDown':
      case 'status500':
        // Read the body first (as S3 does before it answers a PUT), so the client is not reset mid-upload.
        req.resume();
        req.once('end', () => this.later(delayMs, res, () => this.answerError(req, res, outcome)));
        return;
      case 'resetMidBody': {
        const phase = this.settings.resetMidBodyIn ?? 'auto';
        const inRequest = phase === 'request' || (phase === 'auto' && hasBody(req));
        this.forward(req, res, delayMs, inRequest ? 'request' : 'response');
        return;
      }
      case 'pass':
        this.forward(req, res, delayMs, undefined);
        return;
    }
  }

  /** Forward upstream; optionally cut the request body or the response body partway. */
  private forward(req: IncomingMessage, res: ServerResponse, delayMs: number, cut: 'request' | 'response' | undefined): void {
    const upstream = httpRequest({
      protocol: 'http:',
      hostname: this.targetUrl.hostname,
      port: this.targetUrl.port === '' ? 80 : Number(this.targetUrl.port),
      method: req.method,
      path: req.url,
      // An array goes out exactly as given (Node adds no Host of its own): the client's Host stays.
      headers: stripHopByHop(req.rawHeaders),
      agent: this.agent,
    });
    let done = false;
    const abandon = (): void => {
      if (done) return;
      done = true;
      upstream.destroy();
      resetSocket(req.socket);
    };
    upstream.on('error', () => {
      if (done) return;
      if (cut === undefined) this.tally.upstreamErrors++;
      abandon();
    });
    res.once('close', () => {
      if (!res.writableFinished) abandon(); // the client went away (or was cut) first
    });

    if (cut === 'request') {
      const length = contentLength(req);
      const cutAt = length === undefined ? this.random.int(1, UNKNOWN_LENGTH_CUT_MAX_BYTES) : this.partway(length);
      copyThenCut(req, upstream, cutAt, abandon);
      return;
    }
    copyThenCut(req, upstream, Infinity, abandon);

    upstream.once('response', (answer: IncomingMessage) => {
      answer.on('error', () => abandon());
      this.later(delayMs, res, () => {
        if (done) return;
        const noBody = req.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304 || contentLength(answer) === 0;
        if (cut === 'response' && noBody) {
          answer.resume();
          abandon(); // the server did the work; the client never hears of it
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, stripHopByHop(answer.rawHeaders));
        if (cut === 'response') {
          const length = contentLength(answer);
          const cutAt = length === undefined ? this.random.int(1, UNKNOWN_LENGTH_CUT_MAX_BYTES) : this.partway(length);
          copyThenCut(answer, res, cutAt, () => {
            // FIN, not RST: the client reads the status, headers and the part sent, then a premature end.
            done = true;
            upstream.destroy();
            req.socket.destroy();
          });
          return;
        }
        copyThenCut(answer, res, Infinity, abandon);
        res.once('finish', () => {
          done = true;
        });
      });
    });
  }

  /** A cut point strictly inside a body of `length` bytes (at least 1 byte goes through when it can). */
  private partway(length: number): number {
    if (length <= 1) return 0;
    return this.random.int(1, length - 1);
  }

  private answerError(req: IncomingMessage, res: ServerResponse, outcome: 'status503SlowDown' | 'status500'): void {
    const seq = ++this.requestSeq;
    const [status, code, message] =
      outcome === 'status503SlowDown'
        ? [503, 'SlowDown', 'Please reduce your request rate.']
        : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
    const requestId = `FAULTPROXY${String(seq).padStart(8, '0')}`;
    const body = Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escapeXml(req.url ?? '/')}</Resource>` +
        `<RequestId>${requestId}</RequestId><HostId>strata-fault-proxy</HostId></Error>`,
    );
    res.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': String(body.length),
      'x-amz-request-id': requestId,
    });
    res.end(req.method === 'HEAD' ? undefined : body); // a HEAD error has no body, as on S3
  }

  /** Run `action` after `delayMs` (at once when 0), unless the proxy stopped or the client left. */
  private later(delayMs: number, res: ServerResponse, action: () => void): void {
    if (delayMs <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped && !res.destroyed) action();
    }, delayMs);
    this.timers.add(timer);
  }
}

/**
 * Stream `from` into `to` with backpressure. After `cutAt` bytes (Infinity: never), stop, let what
 * was written reach the socket, then call `cut` instead of ending `to`; a body that ends before
 * `cutAt` is cut at its end (the receiver never sees it complete). Otherwise end `to` at the end.
 */
function copyThenCut(from: IncomingMessage, to: ClientRequest | ServerResponse, cutAt: number, cut: () => void): void {
  let sent = 0;
  let cutting = false;
  const cutAfterFlush = (last: Buffer): void => {
    cutting = true;
    from.pause();
    from.removeAllListeners('data');
    if (last.length === 0) {
      // Nothing left to write: make sure the head went out, then cut on the next turn.
      if ('flushHeaders' in to) to.flushHeaders();
      setImmediate(cut);
      return;
    }
    to.write(last, () => setImmediate(cut));
  };
  if (cutAt <= 0) {
    cutAfterFlush(Buffer.alloc(0));
    return;
  }
  from.on('data', (chunk: Buffer) => {
    if (cutting) return;
    if (sent + chunk.length >= cutAt) {
      cutAfterFlush(chunk.subarray(0, cutAt - sent));
      sent = cutAt;
      return;
    }
    sent += chunk.length;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.once('end', () => {
    if (cutting) return;
    if (Number.isFinite(cutAt)) cutAfterFlush(Buffer.alloc(0));
    else to.end();
  });
}

function stripHopByHop(raw: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!HOP_BY_HOP.has(name.toLowerCase())) kept.push(name, raw[i + 1] as string);
  }
  return kept;
}

function contentLength(message: IncomingMessage): number | undefined {
  const raw = message.headers['content-length'];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

function hasBody(req: IncomingMessage): boolean {
  const length = contentLength(req);
  return length !== undefined ? length > 0 : req.headers['transfer-encoding'] !== undefined;
}

/** RST where the platform can (a real "connection reset by peer"), else a plain close. */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

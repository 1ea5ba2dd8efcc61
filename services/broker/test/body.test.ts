// The request-body reader and the listener guard (http/body.ts, http/admission.ts), on a real
// Node server and raw sockets: memory follows the bytes that arrived, not the Content-Length; the
// in-flight budgets refuse a body without reading it; a stalled body and a silent connection are
// cut; one address cannot take every connection.

import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenerGuard, serverOptions, type ConnectionLimits } from '../src/http/admission.js';
import { readBody } from '../src/http/body.js';
import { errorBody, statusFor, toStrataError } from '../src/http/errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const LIMITS: ConnectionLimits = {
  maxConnections: 1_000,
  maxConnectionsPerAddress: 100,
  bodyBytesInFlightPerConnectionMax: 32 * MiB,
  bodyBytesInFlightPerAddressMax: 64 * MiB,
  bodyBytesInFlightMax: 512 * MiB,
  bodyIdleTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
};

interface TestServer {
  port: number;
  server: Server;
  guard: ListenerGuard;
  /** Why the guard closed or refused connections, in order. */
  refusals: string[];
  /** Bytes of each body read to its end, in order. */
  bodies: number[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
});

/** A server whose one route reads the body (limit 16 MiB) and answers its length, or the error as the broker does. */
async function startServer(overrides: Partial<ConnectionLimits> = {}): Promise<TestServer> {
  const limits = { ...LIMITS, ...overrides };
  const bodies: number[] = [];
  const server: Server = createServer(serverOptions(limits), (req, res) => {
    readBody(req, 16 * MiB).then(
      (body) => {
        bodies.push(body.length);
        const text = JSON.stringify({ length: body.length });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) }).end(text);
      },
      (e: unknown) => {
        const { error } = toStrataError(e);
        const text = JSON.stringify(errorBody(error));
        const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), connection: 'close' };
        if (error.retriable) headers['retry-after'] = '1';
        res.writeHead(statusFor(error.code), headers).end(text);
      },
    );
  });
  const refusals: string[] = [];
  const guard = new ListenerGuard(limits, (reason) => refusals.push(reason));
  guard.attach(server);
  // 127.0.0.1, not 0.0.0.0: a silent connection to 0.0.0.0:port was twice never seen by this server
  // in CI (the guard counted nothing and the client stayed connected), as if a listener bound more
  // specifically to 127.0.0.1 on the same port in another test process took it; an exact bind
  // cannot share the port. Not proven: the clients connect to 127.0.0.1 either way.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const t: TestServer = {
    port: (server.address() as AddressInfo).port,
    server,
    guard,
    refusals,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(t);
  return t;
}

async function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** The first answer on `socket` (or null if it closed without one). */
function answerOf(socket: Socket): Promise<RawAnswer | null> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      socket.off('data', onData);
      const [head, ...rest] = text.split('\r\n\r\n');
      if (!head || !/^HTTP\/1\.1 \d{3}/.test(head)) return resolve(null);
      resolve({ status: Number(head.slice(9, 12)), headers: head.toLowerCase(), body: rest.join('\r\n\r\n') });
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text);
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) done();
    };
    socket.on('data', onData);
    socket.once('close', done);
    socket.once('error', () => undefined);
  });
}

const head = (length: number | null, extra = ''): string =>
  `POST /body HTTP/1.1\r\nHost: x\r\n${length === null ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`}${extra}\r\n`;

const closed = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    if (socket.destroyed || socket.readyState === 'closed') return resolve();
    socket.once('close', () => resolve());
  });

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('readBody', () => {
  it('reads bodies with and without Content-Length, small and large, and gives the budget back', async () => {
    const t = await startServer();
    for (const size of [0, 1, 1000, 300 * KiB, 5 * MiB + 3]) {
      const socket = await open(t.port);
      const answer = answerOf(socket);
      socket.write(head(size));
      socket.write(Buffer.alloc(size, 7));
      expect((await answer)?.status, `${size} bytes`).toBe(200);
      socket.destroy();
    }
    const chunked = await open(t.port);
    const answer = answerOf(chunked);
    chunked.write(head(null));
    for (let i = 0; i < 10; i++) chunked.write(`${(100 * KiB).toString(16)}\r\n${'x'.repeat(100 * KiB)}\r\n`);
    chunked.write('0\r\n\r\n');
    expect((await answer)?.status).toBe(200);
    expect(t.bodies).toEqual([0, 1, 1000, 300 * KiB, 5 * MiB + 3, 1000 * KiB]);
    await until(() => t.guard.bodyBytesInFlight === 0, 'the budget to be released');
  });

  it('gives a keep-alive connection its budget back after each response', async () => {
    const t = await startServer({ bodyBytesInFlightPerConnectionMax: 16 * MiB });
    const socket = await open(t.port);
    for (let i = 0; i < 3; i++) {
      const answer = answerOf(socket);
      socket.write(head(10 * MiB));
      socket.write(Buffer.alloc(10 * MiB));
      expect((await answer)?.status, `request ${i} on the same connection`).toBe(200);
    }
    expect(t.bodies).toEqual([10 * MiB, 10 * MiB, 10 * MiB]);
  });

  it('allocates as bytes arrive, not from the declared Content-Length (regression: 100 stalled 16 MiB bodies held 1.78 GB)', async () => {
    const t = await startServer({ bodyBytesInFlightPerAddressMax: 512 * MiB });
    const before = process.memoryUsage().arrayBuffers;
    // 20 connections declare 16 MiB - 1 each (320 MiB if allocated up front) and send 10 bytes.
    for (let i = 0; i < 20; i++) {
      const socket = await open(t.port);
      socket.write(head(16 * MiB - 1) + '0123456789');
    }
    await until(() => t.guard.bodyBytesInFlight === 20 * (16 * MiB - 1), 'every body to be admitted');
    const grewBytes = process.memoryUsage().arrayBuffers - before;
    console.log(`20 stalled bodies declaring 16 MiB each: array buffers grew ${(grewBytes / MiB).toFixed(1)} MiB`);
    expect(grewBytes).toBeLessThan(64 * MiB);
  });

  it('fails a body that stops arriving after the idle timeout and closes its connection', async () => {
    const t = await startServer({ bodyIdleTimeoutMs: 300 });
    const socket = await open(t.port);
    const answer = answerOf(socket);
    socket.write(head(1000) + 'only a few bytes');
    const got = await answer;
    expect(got?.status).toBe(503);
    expect(JSON.parse(got!.body).error).toMatchObject({ code: 'REQUEST_TIMED_OUT', retriable: true });
    expect(got!.body).toContain('stopped arriving');
    await closed(socket);
    await until(() => t.guard.bodyBytesInFlight === 0, 'the budget to be released');
  });

  it('refuses a body past the budget of its address or of the broker at once, unread, and admits it once there is room', async () => {
    const t = await startServer({ bodyBytesInFlightPerConnectionMax: 1 * MiB, bodyBytesInFlightPerAddressMax: 1 * MiB, bodyBytesInFlightMax: 2 * MiB });
    // One stalled body holds 800 KiB of 127.0.0.1's 1 MiB.
    const holder = await open(t.port);
    const holderAnswer = answerOf(holder);
    holder.write(head(800 * KiB) + 'x');
    await until(() => t.guard.bodyBytesInFlight === 800 * KiB, 'the first body to be admitted');

    // The same address: refused before any byte of its body was sent.
    const refused = await open(t.port);
    const refusedAnswer = answerOf(refused);
    refused.write(head(800 * KiB));
    const got = await refusedAnswer;
    expect(got?.status).toBe(429);
    expect(got!.headers).toContain('retry-after: 1');
    expect(JSON.parse(got!.body).error).toMatchObject({ code: 'THROTTLING_QUOTA_EXCEEDED', retriable: true, details: { reason: 'body_bytes_per_address' } });

    // Another address still has room (the broker's 2 MiB), until the total is held.
    const other = await open(t.port, '127.0.0.2');
    const otherAnswer = answerOf(other);
    other.write(head(800 * KiB) + 'y');
    await until(() => t.guard.bodyBytesInFlight === 1600 * KiB, 'the other address to be admitted');
    const third = await open(t.port, '127.0.0.3');
    const thirdAnswer = answerOf(third);
    third.write(head(800 * KiB));
    expect(JSON.parse((await thirdAnswer)!.body).error.details.reason).toBe('body_bytes_total');

    // The holders finish; the budget comes back and the same request is admitted.
    holder.write(Buffer.alloc(800 * KiB - 1));
    other.write(Buffer.alloc(800 * KiB - 1));
    expect((await holderAnswer)?.status).toBe(200);
    expect((await otherAnswer)?.status).toBe(200);
    await until(() => t.guard.bodyBytesInFlight === 0, 'the budget to be released');
    const retry = await open(t.port);
    const retryAnswer = answerOf(retry);
    retry.write(head(800 * KiB));
    retry.write(Buffer.alloc(800 * KiB));
    expect((await retryAnswer)?.status).toBe(200);
    expect(t.bodies).toEqual([800 * KiB, 800 * KiB, 800 * KiB]);
  });

  it('counts a chunked body as it arrives and refuses it past the budget', async () => {
    const t = await startServer({ bodyBytesInFlightPerConnectionMax: 256 * KiB, bodyBytesInFlightPerAddressMax: 256 * KiB, bodyBytesInFlightMax: 256 * KiB });
    const socket = await open(t.port);
    const answer = answerOf(socket);
    socket.write(head(null));
    for (let i = 0; i < 4; i++) socket.write(`${(100 * KiB).toString(16)}\r\n${'x'.repeat(100 * KiB)}\r\n`);
    const got = await answer;
    expect(got?.status).toBe(429);
    expect(JSON.parse(got!.body).error.details.reason).toBe('body_bytes_per_connection');
    await until(() => t.guard.bodyBytesInFlight === 0, 'the budget to be released');
    expect(t.bodies).toEqual([]);
  });

  it('refuses a body over the size limit from its Content-Length (413), as before', async () => {
    const t = await startServer();
    const socket = await open(t.port);
    const answer = answerOf(socket);
    socket.write(head(16 * MiB + 1));
    const got = await answer;
    expect(got?.status).toBe(413);
    expect(JSON.parse(got!.body).error.code).toBe('MESSAGE_TOO_LARGE');
    expect(t.guard.bodyBytesInFlight).toBe(0);
  });
});

describe('connections', () => {
  it('closes connections past the per-address limit at once; another address is still served', async () => {
    const t = await startServer({ maxConnectionsPerAddress: 5 });
    const held = await Promise.all(Array.from({ length: 5 }, () => open(t.port)));
    await until(() => t.guard.connectionsFrom(held[0]!.localAddress!) === 5 || t.guard.connectionsFrom(`::ffff:${held[0]!.localAddress!}`) === 5, 'five connections');
    const excess = await open(t.port);
    await closed(excess);
    const other = await open(t.port, '127.0.0.2');
    const answer = answerOf(other);
    other.write(head(2) + 'ok');
    expect((await answer)?.status).toBe(200);
    // One closes: the address may connect again.
    held[0]!.destroy();
    await until(() => t.guard.connectionsFrom(held[1]!.localAddress!) === 4 || t.guard.connectionsFrom(`::ffff:${held[1]!.localAddress!}`) === 4, 'four connections');
    const again = await open(t.port);
    const againAnswer = answerOf(again);
    again.write(head(2) + 'ok');
    expect((await againAnswer)?.status).toBe(200);
  });

  it('closes a connection that sends no request within the headers timeout', async () => {
    const t = await startServer({ headersTimeoutMs: 300, requestTimeoutMs: 1_000 });
    let admitted = 0;
    t.server.on('connection', () => admitted++);
    // In CI (four times in many runs, never reproduced here) a connection whose 'connect' had fired
    // was never seen by this server: nothing admitted, and the client stayed connected. That is a
    // connection that did not reach the server under test, not a server that kept it open, so it is
    // tried again on a fresh connection (bounded, logged); one the server admitted must be closed.
    for (let attempt = 1; ; attempt++) {
      const admittedBefore = admitted;
      const silent = await open(t.port);
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const stillOpen = new Promise<'open'>((resolve) => (timer = setTimeout(() => resolve('open'), 10_000)));
      const outcome = await Promise.race([closed(silent).then(() => 'closed' as const), stillOpen]).finally(() => clearTimeout(timer));
      if (outcome === 'closed') {
        console.log(`a silent connection was closed after ${Math.round(performance.now() - started)} ms (headers timeout 300 ms)`);
        expect(silent.destroyed).toBe(true);
        break;
      }
      const seen = admitted - admittedBefore;
      const openNow = t.guard.connectionsFrom('127.0.0.1') + t.guard.connectionsFrom('::ffff:127.0.0.1');
      if (seen > 0 || attempt === 3) {
        throw new Error(`a silent connection still open after 10 s (attempt ${attempt}); the server admitted ${seen} connection(s) meanwhile, the guard counts ${openNow} open, refusals: ${t.refusals.join(', ') || 'none'}`);
      }
      console.log(`attempt ${attempt}: the connection never reached the server (nothing admitted in 10 s); trying a fresh one`);
      silent.destroy();
    }
  });
});

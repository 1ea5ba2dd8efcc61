// The Kafka listener's transport (services/broker/src/kafka/server.ts, connection.ts): framing,
// answers in request order, the in-flight cap, the shared byte budget, and garbage closing the
// connection before anything is dispatched. The dispatcher here is a test double of the broker's
// handlers (not of a client): it answers each request with its correlation id, when the test says.

import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { DEFAULTS, type KafkaConfig } from '../../src/config.js';
import type { InboundRequest, KafkaReply } from '../../src/kafka/connection.js';
import { KafkaServer } from '../../src/kafka/server.js';
import { captureLogger } from '../helpers.js';

const CONFIG: KafkaConfig = {
  port: 0,
  advertisedAddress: '',
  metadataMode: 'brokers',
  autoCreateTopics: false,
  maxRequestBytes: 1024 * 1024,
  maxInFlightPerConnection: 4,
  requestBytesInFlight: 4 * 1024 * 1024,
  maxConnections: 100,
  maxConnectionsPerAddress: 50,
  connectionsMaxIdleMs: DEFAULTS.kafkaConnectionsMaxIdleMs,
  scramUsersPerRequestMax: DEFAULTS.kafkaScramUsersPerRequestMax,
  groupSessionTimeoutMs: DEFAULTS.kafkaGroupSessionTimeoutMs,
  groups: {
    initialRebalanceDelayMs: DEFAULTS.kafkaGroupInitialRebalanceDelayMs,
    minSessionTimeoutMs: DEFAULTS.kafkaGroupMinSessionTimeoutMs,
    maxSessionTimeoutMs: DEFAULTS.kafkaGroupMaxSessionTimeoutMs,
    protocolsMax: DEFAULTS.kafkaGroupProtocolsMax,
    memberMetadataMaxBytes: DEFAULTS.kafkaGroupMemberMetadataMaxBytes,
    assignmentMaxBytes: DEFAULTS.kafkaGroupAssignmentMaxBytes,
    takeoverIntervalMs: DEFAULTS.kafkaGroupTakeoverIntervalMs,
  },
};

interface Held {
  request: InboundRequest;
  answer: (reply?: KafkaReply) => void;
}

const servers: KafkaServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close(1_000)));
});

/** A listener whose dispatcher parks every request until the test answers it. */
async function listener(overrides: Partial<KafkaConfig> = {}, frameIdleTimeoutMs = 10_000) {
  const held: Held[] = [];
  const arrivals: Array<() => void> = [];
  const logs: string[] = [];
  const server = new KafkaServer({
    config: { ...CONFIG, ...overrides },
    host: '127.0.0.1',
    logger: captureLogger(logs),
    registry: new Registry(),
    frameIdleTimeoutMs,
    dispatch: (request) =>
      new Promise<KafkaReply>((resolve) => {
        // An answer frame: size prefix, the correlation id, the request's body echoed.
        const body = request.frame.subarray(8);
        const head = Buffer.alloc(8);
        head.writeInt32BE(4 + body.length, 0);
        head.writeInt32BE(request.correlationId, 4);
        held.push({ request, answer: (reply) => resolve(reply ?? { kind: 'respond', chunks: [head, body] }) });
        arrivals.shift()?.();
      }),
  });
  servers.push(server);
  const port = await server.listen();
  /** Resolves once `n` requests have reached the dispatcher. */
  const dispatched = async (n: number): Promise<void> => {
    while (held.length < n) await new Promise<void>((resolve) => arrivals.push(resolve));
  };
  return { server, port, held, dispatched, logs };
}

async function client(port: number): Promise<{ socket: Socket; responses: Buffer[]; closed: Promise<void>; next(n: number): Promise<Buffer[]> }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  const responses: Buffer[] = [];
  let pending = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0);
      responses.push(pending.subarray(4, 4 + size));
      pending = pending.subarray(4 + size);
    }
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const next = async (n: number): Promise<Buffer[]> => {
    while (responses.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    return responses.slice(0, n);
  };
  return { socket, responses, closed, next };
}

/** A counter's value for `labels` (0 when never incremented). */
async function count(counter: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await counter.get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value ?? 0;
}

/** Waits (bounded) until the server has seen every connection close. */
async function noConnections(server: KafkaServer): Promise<void> {
  for (let i = 0; i < 200 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(server.connectionCount).toBe(0);
}

/** A frame: size, api key, version, correlation id, then `body`. */
function frame(apiKey: number, version: number, correlationId: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(12);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt16BE(apiKey, 4);
  header.writeInt16BE(version, 6);
  header.writeInt32BE(correlationId, 8);
  return Buffer.concat([header, body]);
}

describe('kafka transport', () => {
  it('answers in request order although later requests finish first', async () => {
    const { port, held, dispatched } = await listener();
    const c = await client(port);
    c.socket.write(Buffer.concat([frame(18, 0, 1, Buffer.from('a')), frame(18, 0, 2, Buffer.from('b')), frame(18, 0, 3, Buffer.from('c'))]));
    await dispatched(3);
    held[2]!.answer();
    held[1]!.answer();
    // Nothing may be written before the first request's answer.
    await new Promise((r) => setImmediate(r));
    expect(c.responses).toHaveLength(0);
    held[0]!.answer();
    const answers = await c.next(3);
    expect(answers.map((a) => [a.readInt32BE(0), a.subarray(4).toString()])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it('reassembles a frame split across writes, byte by byte', async () => {
    const { port, held, dispatched } = await listener();
    const c = await client(port);
    const bytes = frame(3, 1, 77, Buffer.from('split'));
    for (const b of bytes) {
      c.socket.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await dispatched(1);
    expect(held[0]!.request.frame.subarray(8).toString()).toBe('split');
    held[0]!.answer();
    expect((await c.next(1))[0]!.readInt32BE(0)).toBe(77);
  });

  it('reads no more than the in-flight cap until an answer goes out', async () => {
    const { port, held, dispatched } = await listener({ maxInFlightPerConnection: 2 });
    const c = await client(port);
    c.socket.write(Buffer.concat([1, 2, 3, 4].map((id) => frame(18, 0, id))));
    await dispatched(2);
    // Give the connection every chance to read a third request: it must not.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(held).toHaveLength(2);
    held[0]!.answer();
    await dispatched(3);
    held[1]!.answer();
    await dispatched(4);
    held[2]!.answer();
    held[3]!.answer();
    expect((await c.next(4)).map((a) => a.readInt32BE(0))).toEqual([1, 2, 3, 4]);
  });

  it('holds a frame that does not fit the byte budget until bytes are given back', async () => {
    const { port, server, held, dispatched } = await listener({ maxRequestBytes: 64 * 1024, requestBytesInFlight: 100 * 1024 });
    const big = Buffer.alloc(60 * 1024, 1);
    const a = await client(port);
    const b = await client(port);
    a.socket.write(frame(0, 9, 1, big));
    await dispatched(1);
    b.socket.write(frame(0, 9, 2, big));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(held).toHaveLength(1);
    expect(await count(server.metrics.budgetWaits)).toBe(1);
    held[0]!.answer();
    await dispatched(2);
    held[1]!.answer();
    expect((await b.next(1))[0]!.readInt32BE(0)).toBe(2);
    expect(server.requestBytesInFlight).toBe(0);
  });

  it('answers nothing for a silent reply (acks=0) and keeps the order of the rest', async () => {
    const { port, held, dispatched } = await listener();
    const c = await client(port);
    c.socket.write(Buffer.concat([frame(0, 9, 1), frame(0, 9, 2), frame(18, 0, 3)]));
    await dispatched(3);
    held[1]!.answer({ kind: 'silent' });
    held[2]!.answer();
    held[0]!.answer();
    expect((await c.next(2)).map((a) => a.readInt32BE(0))).toEqual([1, 3]);
  });

  for (const [name, bytes] of [
    ['a size of 2 GiB', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])],
    ['a negative size', Buffer.from([0xff, 0xff, 0xff, 0xf0])],
    ['a zero size', Buffer.from([0, 0, 0, 0])],
    ['a header shorter than api key, version and correlation id', Buffer.from([0, 0, 0, 3, 0, 18, 0])],
  ] as const) {
    it(`closes the connection for ${name}, dispatching nothing`, async () => {
      const { port, server, held } = await listener();
      const c = await client(port);
      c.socket.write(bytes);
      await c.closed;
      expect(held).toHaveLength(0);
      await noConnections(server);
      expect(await count(server.metrics.refused)).toBe(1);
    });
  }

  it('closes a connection whose frame stops arriving, and gives its reservation back', async () => {
    const { port, server, held } = await listener({}, 200);
    const c = await client(port);
    c.socket.write(frame(0, 9, 1, Buffer.alloc(1000)).subarray(0, 500));
    await c.closed;
    expect(held).toHaveLength(0);
    expect(await count(server.metrics.refused, { reason: 'request_timeout' })).toBe(1);
    await noConnections(server);
    expect(server.requestBytesInFlight).toBe(0);
  });

  it('closes the connection when the dispatcher refuses a request (unknown api), after earlier answers', async () => {
    const { port, held, dispatched } = await listener();
    const c = await client(port);
    c.socket.write(Buffer.concat([frame(18, 0, 1), frame(999, 0, 2), frame(18, 0, 3)]));
    await dispatched(3);
    held[1]!.answer({ kind: 'close', reason: 'unknown_api', message: 'unknown api key 999' });
    held[2]!.answer();
    held[0]!.answer();
    await c.closed;
    expect(c.responses.map((a) => a.readInt32BE(0))).toEqual([1]);
  });

  it('refuses connections past the per-address limit', async () => {
    const { port, server } = await listener({ maxConnectionsPerAddress: 2 });
    await client(port);
    await client(port);
    const third = await client(port);
    await third.closed;
    expect(await count(server.metrics.refused, { reason: 'connections_per_address' })).toBe(1);
  });

  it('a dispatcher that throws closes that connection only; the listener serves the next', async () => {
    const { port, server, held, dispatched } = await listener();
    const c = await client(port);
    c.socket.write(frame(18, 0, 1));
    await dispatched(1);
    held[0]!.answer(undefined);
    await c.next(1);
    // A handler failure: the promise rejects.
    const failing = new KafkaServer({
      config: CONFIG,
      host: '127.0.0.1',
      logger: captureLogger([]),
      registry: new Registry(),
      frameIdleTimeoutMs: 10_000,
      dispatch: () => Promise.reject(new Error('a bug in a handler')),
    });
    servers.push(failing);
    const failingPort = await failing.listen();
    const f = await client(failingPort);
    f.socket.write(frame(3, 1, 2));
    await f.closed;
    expect(f.responses).toHaveLength(0);
    expect(await count(failing.metrics.refused, { reason: 'handler_error' })).toBe(1);
    const again = await client(failingPort);
    again.socket.write(frame(3, 1, 3));
    await again.closed;
    expect(server.connectionCount).toBe(1);
  });

  it('closes a connection idle past connections.max.idle.ms, but not one whose request is still running', async () => {
    const { port, server, held, dispatched } = await listener({ connectionsMaxIdleMs: 200 });
    const idle = await client(port);
    const busy = await client(port);
    busy.socket.write(frame(1, 11, 9));
    await dispatched(1);
    await idle.closed;
    expect(await count(server.metrics.refused, { reason: 'idle' })).toBe(1);
    // The long-poll of `busy` outlived the idle timeout: it is answered, not cut.
    await new Promise((r) => setTimeout(r, 400));
    expect(busy.socket.destroyed).toBe(false);
    held[0]!.answer();
    expect((await busy.next(1))[0]!.readInt32BE(0)).toBe(9);
  });

  it('closes gracefully: in-flight requests are answered, then the connection ends', async () => {
    const { port, server, held, dispatched } = await listener();
    const c = await client(port);
    c.socket.write(frame(18, 0, 5));
    await dispatched(1);
    const closing = server.close(5_000);
    held[0]!.answer();
    await closing;
    await c.closed;
    expect(c.responses.map((a) => a.readInt32BE(0))).toEqual([5]);
  });
});

// Issue #16: every raw-produce request allocated a fresh body buffer (64-256 KiB of external
// memory per request, GC work on the hot path). Bodies that fit are now read into pooled buffers.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody } from '../src/http/body.js';
import { BodyBufferPool } from '../src/http/body-pool.js';

const KiB = 1024;
let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/** A server that reads each body through `pool` and hands it to `onBody`. */
async function serve(pool: BodyBufferPool, onBody: (body: Buffer) => void): Promise<number> {
  server = createServer((req, res) => {
    readBody(req, 1024 * KiB, pool).then(
      (body) => {
        onBody(body);
        res.end('ok');
      },
      () => res.writeHead(400).end('bad'),
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function post(port: number, body: Buffer, declaredLength = body.length): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers: { 'content-length': String(declaredLength), connection: 'close' } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', (e) => (declaredLength === body.length ? reject(e) : resolve(-1)));
    req.end(body);
  });
}

describe('pooled produce bodies', () => {
  it('reads bodies that fit into the same reused memory once each is given back, and bodies that do not into their own', async () => {
    const pool = new BodyBufferPool(256 * KiB, 4);
    const memories: ArrayBufferLike[] = [];
    const port = await serve(pool, (body) => {
      memories.push(body.buffer);
      pool.give(body);
    });
    for (let i = 0; i < 3; i++) expect(await post(port, Buffer.alloc(64 * KiB, i))).toBe(200);
    expect(new Set(memories).size).toBe(1);
    expect(pool.idle).toBe(1);
    expect(await post(port, Buffer.alloc(300 * KiB))).toBe(200);
    expect(memories[3]).not.toBe(memories[0]);
    expect(pool.idle).toBe(1);
  });

  it('hands out a body still held to nobody else, and ignores a second give or a foreign buffer', () => {
    const pool = new BodyBufferPool(1 * KiB, 2);
    const a = pool.take(100)!;
    const b = pool.take(100)!;
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.length).toBe(100);
    pool.give(a);
    pool.give(a);
    pool.give(Buffer.alloc(1 * KiB));
    expect(pool.idle).toBe(1);
    expect(pool.take(2 * KiB)).toBeNull();
    expect(new BodyBufferPool(1 * KiB, 0).take(10)).toBeNull();
    // The one given back is the next one out; the one still held is never handed out again.
    const c = pool.take(50)!;
    expect(c.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(b.buffer);
  });
});

// http/request-abort.ts: a request's abort signal made on first read (issue #11's latency) still
// tells a handler that its client left, whether it asks before or after the disconnect.

import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestAbort } from '../src/http/request-abort.js';

let server: Server | null = null;

afterEach(async () => {
  server?.closeAllConnections();
  if (server !== null) await new Promise((resolve) => server!.close(resolve));
  server = null;
});

/** A server whose one request is handed to the test; the client sends it and returns the request object. */
async function oneRequest(): Promise<{ served: Promise<{ req: IncomingMessage; res: ServerResponse }>; client: ReturnType<typeof httpRequest> }> {
  let handOver!: (r: { req: IncomingMessage; res: ServerResponse }) => void;
  const served = new Promise<{ req: IncomingMessage; res: ServerResponse }>((resolve) => (handOver = resolve));
  server = createServer((req, res) => handOver({ req, res }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = httpRequest({ host: '127.0.0.1', port, method: 'GET', path: '/' });
  client.on('error', () => undefined); // the tests destroy it
  client.end();
  return { served, client };
}

describe('RequestAbort', () => {
  it('a signal first read after the client left is already aborted', async () => {
    const { served, client } = await oneRequest();
    const { res } = await served;
    const abort = new RequestAbort(res);
    expect(abort.aborted).toBe(false);
    client.destroy();
    await once(res, 'close');
    expect(abort.aborted).toBe(true);
    expect(abort.signal.aborted).toBe(true);
  });

  it('a signal read before the client leaves aborts when it does', async () => {
    const { served, client } = await oneRequest();
    const { res } = await served;
    const abort = new RequestAbort(res);
    const { signal } = abort;
    expect(signal.aborted).toBe(false);
    const aborted = once(signal, 'abort');
    client.destroy();
    await aborted;
    expect(abort.aborted).toBe(true);
    expect(abort.signal).toBe(signal); // made once
  });

  it('an answered request is not aborted, before or after its connection closes', async () => {
    const { served, client } = await oneRequest();
    const { res } = await served;
    const abort = new RequestAbort(res);
    const { signal } = abort;
    const answered = once(client, 'response');
    const closed = once(res, 'close');
    res.end('ok');
    const [response] = (await answered) as [IncomingMessage];
    response.resume();
    await closed;
    client.destroy();
    expect(abort.aborted).toBe(false);
    expect(signal.aborted).toBe(false);
    expect(new RequestAbort(res).signal.aborted).toBe(false);
  });
});

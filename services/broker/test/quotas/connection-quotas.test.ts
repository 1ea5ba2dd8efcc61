// The connection quotas of the public HTTP listeners (http/admission.ts ConnectionQuotas) on a real
// loopback server: connections past STRATA_MAX_CONNECTIONS_PER_PRINCIPAL and past an IP address's
// connection_creation_rate are closed at once and counted; a principal's closed connection frees
// its place. The principal comes from an injected principalOf (under TLS it is the certificate's subject).

import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenerGuard, serverOptions, type ConnectionLimits, type ConnectionQuotas, type RefusalReason } from '../../src/http/admission.js';

const LIMITS: ConnectionLimits = {
  maxConnections: 1_000,
  maxConnectionsPerAddress: 100,
  bodyBytesInFlightPerConnectionMax: 1024 * 1024,
  bodyBytesInFlightPerAddressMax: 2 * 1024 * 1024,
  bodyBytesInFlightMax: 4 * 1024 * 1024,
  bodyIdleTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
};

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function serve(quotas: ConnectionQuotas, refused: RefusalReason[]): Promise<number> {
  const server = createServer(serverOptions(LIMITS), (_req, res) => res.end('ok'));
  new ListenerGuard(LIMITS, (reason) => refused.push(reason), quotas).attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/** Opens a connection and asks GET / on it (kept alive): closed = the server closed it without an answer. */
async function closedByServer(port: number): Promise<{ socket: Socket; closed: boolean }> {
  const socket = connect({ port, host: '127.0.0.1' });
  sockets.push(socket);
  socket.on('error', () => undefined);
  socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nhost: test\r\n\r\n'));
  const closed = await new Promise<boolean>((resolve) => {
    socket.once('data', () => resolve(false));
    socket.once('close', () => resolve(true));
  });
  return { socket, closed };
}

describe('connection quotas on an HTTP listener', () => {
  it('closes the connection past STRATA_MAX_CONNECTIONS_PER_PRINCIPAL, and frees the place when one closes', async () => {
    const refused: RefusalReason[] = [];
    const port = await serve({ admitConnection: () => true, maxConnectionsPerPrincipal: 2, principalOf: () => 'CN=alice' }, refused);
    const first = await closedByServer(port);
    const second = await closedByServer(port);
    const third = await closedByServer(port);
    expect([first.closed, second.closed, third.closed]).toEqual([false, false, true]);
    expect(refused).toEqual(['connections_per_principal']);
    await new Promise((resolve) => {
      first.socket.once('close', resolve);
      first.socket.destroy();
    });
    // The server sees the close a moment later: the place is free once it has.
    let reopened = true;
    for (let attempt = 0; attempt < 50 && reopened; attempt++) reopened = (await closedByServer(port)).closed;
    expect(reopened).toBe(false);
  });

  it('closes the connection its IP address may not open (connection_creation_rate), counted', async () => {
    const refused: RefusalReason[] = [];
    let allowed = 1;
    const port = await serve({ admitConnection: () => allowed-- > 0, maxConnectionsPerPrincipal: 0, principalOf: () => undefined }, refused);
    expect((await closedByServer(port)).closed).toBe(false);
    expect((await closedByServer(port)).closed).toBe(true);
    expect(refused).toEqual(['connection_creation_rate']);
  });
});

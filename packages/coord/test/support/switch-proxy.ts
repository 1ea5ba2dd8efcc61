// A TCP proxy whose upstream can be switched while client connections stay open: what a client
// behind a virtual IP or a proxy sees when the Redis behind it fails over. No error and no
// reconnect on the client's side: only the server answering has changed.

import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class SwitchProxy {
  readonly port: number;
  #target: number;
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();

  private constructor(server: Server, port: number, target: number) {
    this.#server = server;
    this.port = port;
    this.#target = target;
  }

  static async start(target: number): Promise<SwitchProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const proxy = new SwitchProxy(server, address.port, target);
    server.on('connection', (client) => proxy.#accept(client));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  #accept(client: Socket): void {
    const pair = { client, upstream: this.#connect(client) };
    this.#pairs.add(pair);
    client.on('data', (chunk) => pair.upstream.write(chunk));
    client.on('close', () => {
      pair.upstream.destroy();
      this.#pairs.delete(pair);
    });
    client.on('error', () => undefined);
  }

  #connect(client: Socket): Socket {
    const upstream = createConnection({ host: '127.0.0.1', port: this.#target });
    upstream.on('data', (chunk) => client.write(chunk));
    upstream.on('error', () => client.destroy());
    return upstream;
  }

  /** Point every connection (open ones included, between two requests) at another server. */
  switchTo(target: number): void {
    this.#target = target;
    for (const pair of this.#pairs) {
      const old = pair.upstream;
      old.removeAllListeners('data');
      old.removeAllListeners('error');
      old.on('error', () => undefined);
      old.destroy();
      pair.upstream = this.#connect(pair.client);
    }
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

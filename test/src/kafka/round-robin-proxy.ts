/**
 * A plain TCP load balancer for the one-address tests: each connection goes to the next live
 * target in turn (a target that refuses is skipped), bytes pass through untouched. What a
 * cloud TCP load balancer in front of an autoscaled group of brokers does.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class RoundRobinProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #next = 0;

  private constructor(server: Server, private readonly targets: () => number[]) {
    this.#server = server;
  }

  /** Listens on 127.0.0.1 (a free port); `targets` is read at each connection (brokers come and go). */
  static async start(targets: () => number[]): Promise<RoundRobinProxy> {
    const server = createServer();
    const proxy = new RoundRobinProxy(server, targets);
    server.on('connection', (client: Socket) => proxy.route(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  private route(client: Socket, attempt = 0): void {
    this.#track(client);
    const ports = this.targets();
    if (ports.length === 0 || attempt >= ports.length) {
      client.destroy();
      return;
    }
    const port = ports[this.#next++ % ports.length]!;
    const upstream = connect(port, '127.0.0.1');
    this.#track(upstream);
    client.pause();
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    upstream.on('error', () => {
      // A target that is down (killed, not yet started): try the next one.
      if (!connected && !client.destroyed) this.route(client, attempt + 1);
      else client.destroy();
    });
    client.on('error', () => upstream.destroy());
  }

  #track(socket: Socket): void {
    if (this.#sockets.has(socket)) return;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

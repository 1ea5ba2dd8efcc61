// A TCP proxy for the producer's pipelining tests: each client connection gets its own upstream
// connection and bytes pass through unchanged, so requests pipelined on one connection reach the
// broker on one connection, in order (an HTTP proxy would forward them on several and reorder them).
// It can hold the broker's answers back and cut the connection once a number of them are held:
// those requests were all appended, and the client saw none of their answers.

import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** Counts HTTP/1.1 status lines in a byte stream (answers to produce requests have small JSON bodies). */
const STATUS_LINE = Buffer.from('HTTP/1.1 ');

function countStatusLines(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(STATUS_LINE); at >= 0; at = bytes.indexOf(STATUS_LINE, at + 1)) n++;
  return n;
}

const PRODUCE_REQUEST_LINE = Buffer.from('POST /v1/topics/');

export class TcpProxy {
  readonly url: string;
  /** Set: the next connection whose held answers reach this count is cut, then it resets to null. */
  cutAfterHeldAnswers: number | null = null;
  /** Connections cut, and the most answers any cut connection held (requests the broker took at once). */
  cuts = 0;
  heldAtCut = 0;
  /** Connections that carried a produce request. */
  producingConnections = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(target: string): Promise<TcpProxy> {
    const { hostname, port } = new URL(target);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => proxy.#pair(client, hostname, Number(port)));
    return proxy;
  }

  #pair(client: Socket, host: string, port: number): void {
    const upstream = connect({ host, port });
    this.#sockets.add(client).add(upstream);
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    client.pipe(upstream);
    // Only a connection that carries produce requests is held and cut (not the producer id's or metadata's).
    let producing = false;
    client.on('data', (chunk: Buffer) => {
      if (!producing && chunk.includes(PRODUCE_REQUEST_LINE)) {
        producing = true;
        this.producingConnections++;
      }
    });
    let held: Buffer[] | null = null;
    upstream.on('data', (chunk: Buffer) => {
      const holdFor = producing ? this.cutAfterHeldAnswers : null;
      if (holdFor === null && held === null) {
        client.write(chunk);
        return;
      }
      held ??= [];
      held.push(chunk);
      const answers = countStatusLines(Buffer.concat(held));
      if (holdFor !== null && answers >= holdFor) {
        this.cutAfterHeldAnswers = null;
        this.cuts++;
        this.heldAtCut = Math.max(this.heldAtCut, answers);
        closeBoth();
      }
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

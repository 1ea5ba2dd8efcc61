/**
 * A TCP proxy in front of a broker's Kafka port that, once armed, lets the next Produce request
 * through, waits for the broker's answer (so the broker has appended), drops that answer and cuts
 * both connections: the client sees its connection closed with no acknowledgement, for a write
 * that happened ("applied but unacknowledged"). Every other frame passes through untouched.
 * Frames are read only for their header: size (int32), then a request's api key (int16), version
 * (int16) and correlation id (int32), or a response's correlation id (int32).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const PRODUCE_API_KEY = 0;
/** Bytes of a frame's size field. */
const SIZE_BYTES = 4;

/** Calls `onFrame` with each whole size-prefixed frame (size field included) as bytes arrive. */
function frameSplitter(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= SIZE_BYTES && pending.length >= SIZE_BYTES + pending.readInt32BE(0)) {
      const end = SIZE_BYTES + pending.readInt32BE(0);
      onFrame(pending.subarray(0, end));
      pending = pending.subarray(end);
    }
  };
}

export class CutAfterAppendProxy {
  /** Produce answers dropped with their connection cut. */
  cuts = 0;
  /** The broker's Kafka port: set once it is known (the broker advertises this proxy's port). */
  targetPort = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #armed = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<CutAfterAppendProxy> {
    const server = createServer();
    const proxy = new CutAfterAppendProxy(server);
    server.on('connection', (client: Socket) => proxy.#pipe(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The next Produce request (on any connection) has its answer dropped and its connection cut. */
  arm(): void {
    this.#armed = true;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pipe(client: Socket): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    let doomedCorrelationId: number | null = null;
    client.on(
      'data',
      frameSplitter((frame) => {
        if (this.#armed && frame.readInt16BE(SIZE_BYTES) === PRODUCE_API_KEY) {
          this.#armed = false;
          doomedCorrelationId = frame.readInt32BE(SIZE_BYTES + 4);
        }
        upstream.write(frame);
      }),
    );
    upstream.on(
      'data',
      frameSplitter((frame) => {
        if (doomedCorrelationId !== null && frame.readInt32BE(SIZE_BYTES) === doomedCorrelationId) {
          this.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (!client.destroyed) client.write(frame);
      }),
    );
  }
}

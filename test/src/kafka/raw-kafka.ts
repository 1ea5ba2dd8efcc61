/**
 * A bare Kafka connection for the hostile tests: write any bytes (valid requests made with
 * @strata/kafka-protocol's encoder, or garbage), read whole response frames, see the close.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

export class RawKafkaConnection {
  readonly frames: Buffer[] = [];
  closed = false;
  readonly #socket: Socket;
  #pending = Buffer.alloc(0);
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, chunk]);
      while (this.#pending.length >= 4 && this.#pending.length >= 4 + this.#pending.readInt32BE(0)) {
        const size = this.#pending.readInt32BE(0);
        this.frames.push(this.#pending.subarray(4, 4 + size));
        this.#pending = this.#pending.subarray(4 + size);
      }
      this.#wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static async open(port: number): Promise<RawKafkaConnection> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawKafkaConnection(socket);
  }

  write(bytes: Buffer | Buffer[]): void {
    for (const b of Array.isArray(bytes) ? bytes : [bytes]) this.#socket.write(b);
  }

  /** The next `n` response frames, or fewer when the connection closes first (bounded by timeoutMs). */
  async frameCount(n: number, timeoutMs = 10_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n && !this.closed && Date.now() < deadline) await this.#wait(deadline - Date.now());
    return this.frames.slice(0, n);
  }

  /** Resolves true once the broker closed the connection (false after timeoutMs). */
  async closedByBroker(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.#wait(deadline - Date.now());
    return this.closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, ms));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

// A loopback TCP server that frames Kafka requests and answers each with a
// function of the frame: this package's decoder and encoder with no broker
// behind them, so a real client can read the encoder's responses.

import { createServer, type Socket } from 'node:net';

const FRAME_MAX_BYTES = 1 << 20;

export interface LoopbackBroker {
  readonly port: number;
  close(): Promise<void>;
}

/** `answer` returns the response chunks (size prefix included), or undefined for no response (acks=0). */
export async function startLoopbackBroker(answer: (frame: Buffer, port: number) => Buffer[] | undefined): Promise<LoopbackBroker> {
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (size < 0 || size > FRAME_MAX_BYTES) return void socket.destroy();
        if (pending.length < 4 + size) return;
        // A copy: decoded bytes and records are slices of it and outlive `pending`.
        const frame = Buffer.from(pending.subarray(4, 4 + size));
        pending = pending.subarray(4 + size);
        const chunks = answer(frame, port);
        if (chunks === undefined) continue;
        socket.cork();
        for (const chunk of chunks) socket.write(chunk);
        socket.uncork();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// A GetObject body read into one Buffer of the length its response announced. The SDK's
// transformToByteArray keeps every socket chunk in a list and then copies them all into a new
// zero-filled array: for each 2 MiB chunk a replay reads from the bucket that is a memset of 2 MiB
// and a list of ~32 chunks alive at once. Here each chunk is copied once, as it arrives, into
// memory that is not zeroed first (every byte of it is written before anyone reads it). The body
// flows ('data' events), as the SDK's collector does: a paused stream's read() joins whatever
// chunks queued up meanwhile into a new buffer, one more copy under load.

import { finished, type Readable } from 'node:stream';
import { StorageError } from './errors.js';

/**
 * The bytes of `body`, which announced `announcedBytes`. A body that ends early comes back short
 * (the caller compares its length with the announced one and retries); one that runs past it is
 * an error here, before it writes out of bounds. Into `into` when it is long enough (the answer
 * is then a view of it), else into a new buffer. `attemptSignal` is the request's own: once it is
 * aborted (a timeout, a retry taking over) nothing more is written, so a caller that reuses `into`
 * after this attempt failed is never written to by it.
 */
export async function readAnnouncedBody(body: Readable, announcedBytes: number, what: string, attemptSignal: AbortSignal, into?: Buffer): Promise<Buffer> {
  if (!Number.isSafeInteger(announcedBytes) || announcedBytes < 0) throw new StorageError(`${what}: Content-Length ${announcedBytes} is not a byte count`, { retriable: true });
  const out = into !== undefined && into.length >= announcedBytes ? into.subarray(0, announcedBytes) : Buffer.allocUnsafe(announcedBytes);
  let receivedBytes = 0;
  await new Promise<void>((resolve, reject) => {
    body.on('data', (chunk: Uint8Array) => {
      if (attemptSignal.aborted) {
        body.destroy(attemptSignal.reason instanceof Error ? attemptSignal.reason : new Error(String(attemptSignal.reason)));
      } else if (receivedBytes + chunk.byteLength > announcedBytes) {
        body.destroy(new StorageError(`${what}: the body runs past its Content-Length of ${announcedBytes} bytes`, { retriable: true }));
      } else {
        out.set(chunk, receivedBytes);
        receivedBytes += chunk.byteLength;
      }
    });
    finished(body, (error) => (error ? reject(error) : resolve()));
  });
  return receivedBytes === announcedBytes ? out : out.subarray(0, receivedBytes);
}

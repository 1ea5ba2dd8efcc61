/**
 * What a command may touch of the outside world. `main.ts` passes the process's; tests pass streams
 * and an EventEmitter, so every command runs in-process.
 */
import type { Readable, Writable } from 'node:stream';

export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

/** process fits this shape; so does any EventEmitter. */
export interface SignalSource {
  on(signal: ShutdownSignal, listener: () => void): unknown;
  off(signal: ShutdownSignal, listener: () => void): unknown;
}

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
  signals: SignalSource;
  /** Leave now (a second shutdown signal during `serve`); main.ts passes process.exit. */
  forceExit: (code: number) => void;
}

export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    forceExit: (code) => process.exit(code),
  };
}

/** Call `handler` on the first SIGINT/SIGTERM; returns the function that removes the listeners. */
export function onShutdownSignal(signals: SignalSource, handler: (signal: ShutdownSignal) => void): () => void {
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  signals.on('SIGINT', onInt);
  signals.on('SIGTERM', onTerm);
  return () => {
    signals.off('SIGINT', onInt);
    signals.off('SIGTERM', onTerm);
  };
}

export function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
}

/**
 * Write with backpressure: resolves once the stream can take more (a slow reader slows the
 * consumer down instead of growing memory). Rejects if the stream fails (EPIPE when the reader
 * went away) or `signal` aborts.
 */
export async function writeWithBackpressure(stream: Writable, text: string, signal?: AbortSignal): Promise<void> {
  if (stream.destroyed || stream.writableEnded) {
    throw Object.assign(new Error('output stream closed'), { code: 'ERR_STREAM_DESTROYED' });
  }
  if (stream.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    // 'close' without 'drain' means the reader went away.
    const onClose = (): void =>
      onError(Object.assign(new Error('output stream closed'), { code: 'ERR_STREAM_DESTROYED' }));
    const onAbort = (): void => onError(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

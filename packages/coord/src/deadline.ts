import { aborted, throwIfAborted, unavailable } from './errors.js';

/**
 * Runs `task` until it settles, the caller's signal aborts (REQUEST_TIMED_OUT) or `timeoutMs`
 * passes (STORAGE_ERROR, retriable: the backend did not answer in time). The task itself is not
 * cancelled: a write may still be applied after the caller gave up (every write here is
 * idempotent or fenced, so a retry or a read-back settles it).
 */
export async function withDeadline<T>(what: string, signal: AbortSignal | undefined, timeoutMs: number, task: () => Promise<T>): Promise<T> {
  throwIfAborted(what, signal);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`${what}: no answer from the coordinator within ${timeoutMs} ms`)), timeoutMs);
    if (signal !== undefined) {
      onAbort = () => reject(aborted(what, signal));
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([task(), stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}


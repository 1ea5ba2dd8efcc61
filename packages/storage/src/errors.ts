// How this package fails. Two codes from the one catalogue in @strata/protocol:
//
// - STORAGE_ERROR: the store failed (I/O, the network, the service). Whether a
//   retry can help differs per failure (a 503 yes, AccessDenied no), so these are
//   StorageError, a StrataError whose `retriable` is decided per instance rather
//   than taken from the catalogue's default for the code.
// - REQUEST_TIMED_OUT: the caller's AbortSignal fired (its deadline, or a
//   cancel); the cause is the signal's reason.
//
// Expected outcomes (a missing object) are return values, never errors.

import { StrataError } from '@strata/protocol';

export interface StorageErrorOptions {
  retriable: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** A STORAGE_ERROR whose `retriable` says whether the same call can succeed later. */
export class StorageError extends StrataError {
  override readonly retriable: boolean;

  constructor(message: string, options: StorageErrorOptions) {
    super('STORAGE_ERROR', message, { cause: options.cause, details: options.details });
    this.name = 'StorageError';
    this.retriable = options.retriable;
  }
}

/** The error every operation rejects with once the caller's signal has fired. */
export function abortedError(signal: AbortSignal, what: string): StrataError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error && reason.name === 'TimeoutError' ? 'its deadline passed' : 'it was aborted';
  return new StrataError('REQUEST_TIMED_OUT', `${what}: ${why}`, { cause: reason });
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(signal, what);
}

/**
 * Settles with `promise`, or rejects with abortedError as soon as `signal` fires.
 * The losing promise is left to settle on its own (its rejection is handled).
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortedError(signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A bad argument from the caller (a bug on their side): never retriable. */
export function invalidRequest(message: string, details?: Record<string, unknown>): StrataError {
  return new StrataError('INVALID_REQUEST', message, { details });
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

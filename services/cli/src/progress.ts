/**
 * A one-line progress count on stderr for long produce/consume runs, shown only when stderr is a
 * terminal: a pipe or a log file gets the final summary line alone, never carriage returns.
 */
import type { Writable } from 'node:stream';

/** Least time between two redraws of the progress line, in milliseconds. */
export const PROGRESS_INTERVAL_MS = 500;

export interface Progress {
  /** The count so far; redraws at most every PROGRESS_INTERVAL_MS. */
  update(count: number): void;
  /** Erase the line (before the summary or an error is printed). */
  clear(): void;
}

const NO_PROGRESS: Progress = { update: () => undefined, clear: () => undefined };

export function isTerminal(stream: Writable): boolean {
  return (stream as { isTTY?: unknown }).isTTY === true;
}

/**
 * `records` is where the records themselves go (consume's stdout): when that is a terminal too,
 * the records are the progress, and a redrawn line would tear them.
 */
export function progressLine(stream: Writable, verb: string, records?: Writable, now: () => number = Date.now): Progress {
  if (!isTerminal(stream) || (records !== undefined && isTerminal(records))) return NO_PROGRESS;
  let lastDrawMs = now();
  let shown = false;
  return {
    update(count) {
      const at = now();
      if (at - lastDrawMs < PROGRESS_INTERVAL_MS) return;
      lastDrawMs = at;
      shown = true;
      stream.write(`\r\x1b[K${verb} ${count} record${count === 1 ? '' : 's'}...`);
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}

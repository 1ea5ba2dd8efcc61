// A tiny structured logger: one JSON object per line (ts, level, msg, then the
// event's fields). Libraries do not log; the broker wires one of these and
// passes it down, so tests can capture or silence it. No line carries a registered secret
// (redact.ts): a library's error that quotes a connection URL is printed with `***` in its place.

import { redactSecrets } from './redact.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
  isEnabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LoggerOptions {
  level: LogLevel;
  /** Where a finished line goes (without its newline). Default: process.stdout. */
  write?: (line: string) => void;
  /** Fields on every line, e.g. the broker id. */
  base?: LogFields;
  /** Clock, injectable for tests. */
  now?: () => number;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line + '\n'));
  const now = options.now ?? Date.now;
  const threshold = RANK[options.level];
  const make = (base: LogFields): Logger => {
    const emit = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
      if (RANK[level] < threshold) return;
      const entry: LogFields = { ts: new Date(now()).toISOString(), level, msg, ...base, ...fields };
      let line: string;
      try {
        line = JSON.stringify(entry, replacer);
      } catch (e) {
        // A cyclic or otherwise unserialisable field must not lose the event.
        line = JSON.stringify({ ts: entry.ts, level, msg, logError: String(e) });
      }
      write(redactSecrets(line));
    };
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...base, ...fields }),
      isEnabled: (level) => RANK[level] >= threshold,
    };
  };
  return make(options.base ?? {});
}

/** Errors become {name, message, code?, details?, stack, cause?}; bigints become strings. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return serializeError(value, 0);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function serializeError(error: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  const extra = error as Error & { code?: unknown; details?: unknown; syscall?: unknown; path?: unknown };
  if (extra.code !== undefined) out.code = extra.code;
  if (extra.details !== undefined) out.details = extra.details;
  if (extra.syscall !== undefined) out.syscall = extra.syscall;
  if (extra.path !== undefined) out.path = extra.path;
  out.stack = error.stack;
  if (error.cause !== undefined && depth < 5) {
    out.cause = error.cause instanceof Error ? serializeError(error.cause, depth + 1) : error.cause;
  }
  return out;
}

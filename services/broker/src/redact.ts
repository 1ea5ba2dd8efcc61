// What an error may tell a client: never the server's paths, never a secret, never unbounded
// echoes of input. Error bodies (http/errors.ts errorBody) and stored error texts shown by the API
// (lastUploadError) pass through here; the broker log keeps the whole error, but without secrets:
// every log line passes redactSecrets too (logger.ts).
//
// Secrets are registered by value where they are read (broker.ts: the Redis password, the S3
// secret key; security/cluster-secrets.ts: the cluster secrets), so a library's error that quotes
// a connection URL or a signed header cannot carry one out.

/** The longest string an error body carries in one place (a message or a detail value), in characters. */
export const MAX_ECHOED_INPUT_CHARS = 256;
/** The longest error message an error body carries, in characters (it may quote several inputs). */
export const MAX_ERROR_MESSAGE_CHARS = 1024;
/** Entries of a detail list an error body carries (per-partition errors, problems); the rest are counted. */
export const MAX_ERROR_DETAIL_ITEMS = 100;

const ELLIPSIS = '…';
/** Node's file-system errors quote their paths: `ENOENT: no such file or directory, open '/srv/data/x'`. */
const QUOTED_ABSOLUTE_PATH = /'\/[^']*'/g;

/** Secret values no log line or answer may contain. */
const secretValues = new Set<string>();
/** Shorter values are not registered: replacing them would mangle ordinary text (and they are refused as secrets anyway). */
const SECRET_CHARS_MIN = 6;
const REDACTED = '***';

/** Registers a secret value (idempotent); empty or very short values are ignored. */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= SECRET_CHARS_MIN) secretValues.add(value);
}

/** `text` with every registered secret replaced by `***`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secretValues) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** Directories whose absolute paths must not reach a client (the data dir, the local object store). */
const privateRoots = new Set<string>();

/** Registers a server directory whose path error texts must not show (idempotent). */
export function registerPrivatePath(dir: string): void {
  const trimmed = dir.replace(/\/+$/, '');
  if (trimmed.startsWith('/') && trimmed.length > 1) privateRoots.add(trimmed);
}

/** `text` with server paths replaced: registered directories by a placeholder, quoted absolute paths by `'<path>'`. */
export function redactPaths(text: string): string {
  let out = text;
  // Longest first, so a nested root is not half-replaced by its parent.
  for (const root of [...privateRoots].sort((a, b) => b.length - a.length)) {
    if (out.includes(root)) out = out.split(root).join('<data>');
  }
  return out.replace(QUOTED_ABSOLUTE_PATH, "'<path>'");
}

/** `text` cut to `maxChars` characters, with an ellipsis when cut. */
export function cutText(text: string, maxChars: number = MAX_ECHOED_INPUT_CHARS): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}${ELLIPSIS}`;
}

/** A message fit for a client: secrets and paths redacted, cut to MAX_ERROR_MESSAGE_CHARS. */
export function publicMessage(text: string): string {
  return cutText(redactPaths(redactSecrets(text)), MAX_ERROR_MESSAGE_CHARS);
}

/**
 * Error details fit for a client: strings redacted and cut to MAX_ECHOED_INPUT_CHARS, lists to
 * MAX_ERROR_DETAIL_ITEMS, nesting to a few levels. Keys are kept (the code's own field names).
 */
export function publicDetails(details: Record<string, unknown>): Record<string, unknown> {
  return boundValue(details, 0) as Record<string, unknown>;
}

const MAX_DETAIL_DEPTH = 4;

function boundValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return cutText(redactPaths(redactSecrets(value)));
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DETAIL_DEPTH) return ELLIPSIS;
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_ERROR_DETAIL_ITEMS).map((v) => boundValue(v, depth + 1));
    if (value.length > MAX_ERROR_DETAIL_ITEMS) kept.push(`${ELLIPSIS} and ${value.length - MAX_ERROR_DETAIL_ITEMS} more`);
    return kept;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value).slice(0, MAX_ERROR_DETAIL_ITEMS)) {
    Object.defineProperty(out, cutText(key), { value: boundValue(v, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

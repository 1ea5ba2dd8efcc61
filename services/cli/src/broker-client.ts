/**
 * The CLI's broker calls: @strata/client's Admin (the API's types and checks from @strata/api),
 * with one attempt per call and the deadline the CLI always had. A command does its own retrying
 * where it wants some (consume), and a produce is never repeated behind the user's back (a retry
 * after a lost answer could append twice).
 */
import { readFileSync } from 'node:fs';
import { Admin, isStrataError, type AdminCallOptions, type ClientAuth, type ClientTls } from '@strata/client';
import { UsageError } from './args.js';

/** Deadline of one request that is not a long poll. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Slack added to a long poll's maxWaitMs before the CLI gives up on it. */
export const LONG_POLL_SLACK_MS = 15_000;

export type BrokerClient = Admin;

export function brokerClient(brokerUrl: string, tls?: ClientTls, auth?: ClientAuth): BrokerClient {
  return new Admin({ brokers: brokerUrl, requestTimeoutMs: REQUEST_TIMEOUT_MS, ...(tls === undefined ? {} : { tls }), ...(auth === undefined ? {} : { auth }) });
}

/** Credentials from the environment: STRATA_TOKEN (an API token), or STRATA_USER with STRATA_PASSWORD. */
export function clientAuthOf(env: Readonly<Record<string, string | undefined>>): ClientAuth | undefined {
  const token = env['STRATA_TOKEN'];
  const username = env['STRATA_USER'];
  const password = env['STRATA_PASSWORD'];
  if (token !== undefined && token !== '') {
    if (username !== undefined && username !== '') throw new UsageError('set STRATA_TOKEN or STRATA_USER (with STRATA_PASSWORD), not both');
    return { token };
  }
  if (username === undefined || username === '') return undefined;
  if (password === undefined) throw new UsageError('STRATA_USER needs STRATA_PASSWORD');
  return { username, password };
}

/**
 * TLS to an https:// broker from the environment: STRATA_CA_FILE (the CA that signed the brokers'
 * certificates, instead of Node's roots) and, for mTLS, STRATA_CLIENT_CERT_FILE with STRATA_CLIENT_KEY_FILE.
 */
export function clientTlsOf(env: Readonly<Record<string, string | undefined>>): ClientTls | undefined {
  const read = (name: string): Buffer | undefined => {
    const path = env[name];
    if (path === undefined || path === '') return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new UsageError(`${name}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const ca = read('STRATA_CA_FILE');
  const cert = read('STRATA_CLIENT_CERT_FILE');
  const key = read('STRATA_CLIENT_KEY_FILE');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('STRATA_CLIENT_CERT_FILE and STRATA_CLIENT_KEY_FILE go together');
  if (ca === undefined && cert === undefined) return undefined;
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert, key: key! }) };
}

/** Per-call options: one attempt, the CLI's deadline, and the caller's signal. */
export function once(signal?: AbortSignal, timeoutMs = REQUEST_TIMEOUT_MS): AdminCallOptions {
  return { attemptsMax: 1, timeoutMs, ...(signal === undefined ? {} : { signal }) };
}

/** Errors of a connection that could not be opened: nothing reached the broker. */
const CONNECT_ERRNOS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** The system error of a failed exchange (ECONNREFUSED, ECONNRESET, ...), when the failure was one. */
export function errnoOf(error: unknown): string | undefined {
  if (!isStrataError(error)) return undefined;
  const errno = error.details?.['errno'];
  return typeof errno === 'string' ? errno : undefined;
}

/**
 * The message for a broker that could not be reached or whose connection broke, or undefined for
 * any other error.
 */
export function unreachableMessage(error: unknown): string | undefined {
  const errno = errnoOf(error);
  if (errno === undefined || !isStrataError(error)) return undefined;
  const origin = typeof error.details?.['origin'] === 'string' ? (error.details['origin'] as string) : 'the broker';
  return CONNECT_ERRNOS.has(errno)
    ? `cannot connect to the broker at ${origin} (${errno}): is it running? (set --broker URL or STRATA_URL)`
    : `lost the connection to the broker at ${origin} (${errno})`;
}

/** The connection could not be opened (the broker is not there): retrying will not help soon. */
export function isRefused(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno !== undefined && CONNECT_ERRNOS.has(errno);
}

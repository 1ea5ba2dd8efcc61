// Who the console is signed in as, for this tab only. The credentials are kept as the
// Authorization header they make, in sessionStorage: a reload (or a shared link opened in this
// tab) stays signed in, another tab or a closed one asks again. Never localStorage, never the URL.
// Every API and /metrics request carries them (api.ts); a 401 to a request that carried the tab's
// current credentials (revoked token, changed password) ends the session with the API's message.
//
// No UI here and no requests: api.ts reads this store, signin.tsx drives it.

import type { WhoAmI } from '@strata/api';

export type Credentials =
  | { readonly kind: 'password'; readonly user: string; readonly authorization: string }
  | { readonly kind: 'token'; readonly authorization: string };

export type Session =
  /** Asking the broker who the tab is (at start, after a sign-out). */
  | { readonly kind: 'checking' }
  /** `whoami` null: the broker did not say (unreachable, or a broker without /v1/whoami). */
  | { readonly kind: 'signed-in'; readonly whoami: WhoAmI | null }
  /** The sign-in form: `refusal` is why the broker ended the session; `notice` a neutral word (signed out). */
  | { readonly kind: 'signed-out'; readonly refusal: string | null; readonly notice: string | null };

const STORAGE_KEY = 'strata-console-credentials';

let credentials: Credentials | null = readStored();
let session: Session = { kind: 'checking' };
const listeners = new Set<(session: Session) => void>();

/** HTTP Basic over the user's SCRAM-stored password: user:password as UTF-8, base64 (RFC 7617). */
export function passwordCredentials(user: string, password: string): Credentials {
  let binary = '';
  for (const byte of new TextEncoder().encode(`${user}:${password}`)) binary += String.fromCharCode(byte);
  return { kind: 'password', user, authorization: `Basic ${btoa(binary)}` };
}

/** An API token (`strata_<id>_<secret>`) as a bearer token. */
export function tokenCredentials(token: string): Credentials {
  return { kind: 'token', authorization: `Bearer ${token.trim()}` };
}

export function currentCredentials(): Credentials | null {
  return credentials;
}

export function currentSession(): Session {
  return session;
}

export function setSession(next: Session): void {
  session = next;
  for (const listener of listeners) listener(next);
}

export function subscribe(listener: (session: Session) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Keeps credentials the broker accepted (null forgets them). */
export function keepCredentials(next: Credentials | null): void {
  credentials = next;
  try {
    if (next === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  } catch {
    // Storage off (a private mode, a policy): the tab keeps them in memory only.
  }
}

/**
 * The broker answered 401 to a request sent with `sentAuthorization` (undefined: none). Only an
 * answer to the tab's current credentials ends the session: one to credentials a sign-in is trying,
 * or to those of a session already ended, changes nothing.
 */
export function refused(sentAuthorization: string | undefined, message: string): void {
  if (sentAuthorization !== credentials?.authorization) return;
  const had = credentials !== null;
  keepCredentials(null);
  setSession({ kind: 'signed-out', refusal: had ? message : null, notice: null });
}

function readStored(): Credentials | null {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Credentials> | null;
    if (parsed?.kind === 'password' && typeof parsed.user === 'string' && typeof parsed.authorization === 'string') return { kind: 'password', user: parsed.user, authorization: parsed.authorization };
    if (parsed?.kind === 'token' && typeof parsed.authorization === 'string') return { kind: 'token', authorization: parsed.authorization };
  } catch {
    // No storage here (tests under Node, storage off), or not ours: signed out.
  }
  return null;
}

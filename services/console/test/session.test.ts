// The tab's session (session.ts): how credentials become an Authorization header, and which 401
// ends the session. Under Node there is no sessionStorage: the store keeps them in memory.

import { describe, expect, it } from 'vitest';
import {
  currentCredentials, currentSession, keepCredentials, passwordCredentials, refused, subscribe, tokenCredentials, type Session,
} from '../src/session.js';

const decoded = (authorization: string) => new TextDecoder().decode(Uint8Array.from(atob(authorization.replace(/^Basic /, '')), (c) => c.charCodeAt(0)));

describe('credentials', () => {
  it('a password is HTTP Basic over UTF-8 (RFC 7617), whatever its characters', () => {
    const c = passwordCredentials('zoë', 'pässwörd: with a colon');
    expect(c.kind).toBe('password');
    expect(c.authorization).toMatch(/^Basic [A-Za-z0-9+/=]+$/);
    expect(decoded(c.authorization)).toBe('zoë:pässwörd: with a colon');
  });

  it('a token is a bearer token, without the blanks a paste brings', () => {
    expect(tokenCredentials('  strata_0123456789abcdef_secret\n').authorization).toBe('Bearer strata_0123456789abcdef_secret');
  });
});

describe('a 401 ends the session only when it answers the tab\'s current credentials', () => {
  it('ignores answers to other credentials, ends on its own, and says why only when it had some', () => {
    const seen: Session[] = [];
    const stop = subscribe((s) => seen.push(s));
    const alice = passwordCredentials('alice', 'alice-password');
    keepCredentials(alice);

    refused(tokenCredentials('strata_0123456789abcdef_wrong').authorization, 'AUTHENTICATION_FAILED: a sign-in attempt');
    expect(currentCredentials()).toBe(alice);
    expect(seen).toEqual([]);

    refused(alice.authorization, 'AUTHENTICATION_FAILED: authentication failed');
    expect(currentCredentials()).toBeNull();
    expect(currentSession()).toEqual({ kind: 'signed-out', refusal: 'AUTHENTICATION_FAILED: authentication failed', notice: null });

    // A late answer to the ended session changes nothing; a request without credentials refused
    // (STRATA_AUTH=required, nothing kept) asks for a sign-in without calling it an ended session.
    refused(alice.authorization, 'AUTHENTICATION_FAILED: late');
    expect(seen).toHaveLength(1);
    refused(undefined, 'AUTHENTICATION_FAILED: authentication required');
    expect(currentSession()).toEqual({ kind: 'signed-out', refusal: null, notice: null });
    stop();
  });
});

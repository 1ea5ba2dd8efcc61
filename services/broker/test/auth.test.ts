// The authentication units (services/broker/src/auth/): SCRAM against RFC 7677's own example, a
// replayed client-final refused, PLAIN's message, API tokens, and the bounded failed-login table.

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ScramCredential } from '@strata/coord';
import { FailedLogins } from '../src/auth/failed-logins.js';
import { ScramExchange, deriveCredential, parsePlain, passwordMatches } from '../src/auth/scram.js';
import { newToken, parseToken, secretMatches } from '../src/auth/tokens.js';

/** A SCRAM-SHA-256 client (RFC 5802), for the exchanges below. */
function clientFinal(password: string, clientFirstBare: string, serverFirst: string): string {
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs['s']!, 'base64'), Number(attrs['i']), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs['r']}`;
  const signature = createHmac('sha256', storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  return `${withoutProof},p=${Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64')}`;
}

const decoy = randomBytes(32);

describe('SCRAM (RFC 5802, RFC 7677)', () => {
  it("reproduces RFC 7677's SCRAM-SHA-256 example byte for byte", async () => {
    const credential = await deriveCredential('SCRAM-SHA-256', 'pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    const exchange = new ScramExchange('SCRAM-SHA-256', async (user) => (user === 'user' ? credential : null), decoy, 4096, () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
    const first = await exchange.step(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(first).toEqual({ kind: 'continue', message: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096' });
    const final = await exchange.step(Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
    expect(final).toEqual({ kind: 'done', message: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', user: 'user' });
  });

  it('refuses a client-final replayed on a new exchange, and any message after the last', async () => {
    const credential = await deriveCredential('SCRAM-SHA-256', 'a-password', 4096);
    const lookup = async (): Promise<ScramCredential> => credential;
    const first = new ScramExchange('SCRAM-SHA-256', lookup, decoy, 4096);
    const bare = 'n=alice,r=fixed-client-nonce';
    const serverFirst = await first.step(Buffer.from(`n,,${bare}`));
    if (serverFirst.kind !== 'continue') throw new Error('no server-first');
    const captured = clientFinal('a-password', bare, serverFirst.message);
    expect((await first.step(Buffer.from(captured))).kind).toBe('done');
    expect(await first.step(Buffer.from(captured))).toMatchObject({ kind: 'failed', reason: 'malformed' });
    // The same client-first on a new exchange gets a new server nonce: the old proof matches nothing.
    const second = new ScramExchange('SCRAM-SHA-256', lookup, decoy, 4096);
    const again = await second.step(Buffer.from(`n,,${bare}`));
    expect(again.kind === 'continue' && again.message !== serverFirst.message).toBe(true);
    expect(await second.step(Buffer.from(captured))).toMatchObject({ kind: 'failed', reason: 'replayed_or_forged', user: 'alice' });
  });

  it('answers an unknown user as a known one until the proof, then fails; a wrong password fails', async () => {
    const credential = await deriveCredential('SCRAM-SHA-256', 'right-password', 4096);
    const lookup = async (user: string): Promise<ScramCredential | null> => (user === 'alice' ? credential : null);
    const ghost = new ScramExchange('SCRAM-SHA-256', lookup, decoy, 4096);
    const ghostFirst = await ghost.step(Buffer.from('n,,n=ghost,r=abc'));
    expect(ghostFirst).toMatchObject({ kind: 'continue', message: expect.stringMatching(/^r=abc[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/) });
    expect(await ghost.step(Buffer.from(clientFinal('x', 'n=ghost,r=abc', (ghostFirst as { message: string }).message)))).toMatchObject({ kind: 'failed', reason: 'unknown_user' });
    const wrong = new ScramExchange('SCRAM-SHA-256', lookup, decoy, 4096);
    const wrongFirst = (await wrong.step(Buffer.from('n,,n=alice,r=abc'))) as { message: string };
    expect(await wrong.step(Buffer.from(clientFinal('wrong-password', 'n=alice,r=abc', wrongFirst.message)))).toMatchObject({ kind: 'failed', reason: 'wrong_password' });
  });

  it('refuses malformed client-first messages and channel binding', async () => {
    for (const text of ['', 'n,', 'x,,n=a,r=b', 'n,,r=b', 'n,,n=a', 'n,,n=a=ZZ,r=b', 'n,a=bob,n=alice,r=b', 'n,,n=a,r=b,m=ext']) {
      const exchange = new ScramExchange('SCRAM-SHA-512', async () => null, decoy, 4096);
      expect((await exchange.step(Buffer.from(text))).kind, text).toBe('failed');
    }
    const binding = new ScramExchange('SCRAM-SHA-512', async () => null, decoy, 4096);
    expect(await binding.step(Buffer.from('p=tls-unique,,n=a,r=b'))).toMatchObject({ kind: 'failed', reason: 'unsupported_mechanism' });
  });

  it('checks a password against the stored keys (HTTP Basic, SASL/PLAIN)', async () => {
    const credential = await deriveCredential('SCRAM-SHA-512', 'hunter2-hunter2', 4096);
    expect(await passwordMatches(credential, 'hunter2-hunter2')).toBe(true);
    expect(await passwordMatches(credential, 'hunter2-hunter3')).toBe(false);
    expect(JSON.stringify(credential)).not.toContain('hunter2');
  });
});

describe('SASL/PLAIN messages (RFC 4616)', () => {
  it('reads [authzid] NUL user NUL password, and refuses anything else', () => {
    expect(parsePlain(Buffer.from('\u0000alice\u0000pw'))).toEqual({ user: 'alice', password: 'pw' });
    expect(parsePlain(Buffer.from('alice\u0000alice\u0000pw'))).toEqual({ user: 'alice', password: 'pw' });
    expect(parsePlain(Buffer.from('bob\u0000alice\u0000pw'))).toBeNull();
    expect(parsePlain(Buffer.from('alice\u0000pw'))).toBeNull();
    expect(parsePlain(Buffer.from('\u0000\u0000pw'))).toBeNull();
    expect(parsePlain(Buffer.from('\u0000a\u0000b\u0000c'))).toBeNull();
  });
});

describe('API tokens', () => {
  it('stores only a hash; the secret matches it, another does not', () => {
    const drawn = newToken();
    const parsed = parseToken(drawn.token)!;
    expect(parsed.id).toBe(drawn.id);
    expect(drawn.hash).not.toContain(parsed.secret);
    const record = { id: drawn.id, user: 'alice', name: 'ci', hash: drawn.hash, createdAtMs: 0, expiresAtMs: null };
    expect(secretMatches(record, parsed.secret)).toBe(true);
    expect(secretMatches(record, parseToken(newToken().token)!.secret)).toBe(false);
    expect(parseToken('strata_xyz')).toBeNull();
  });
});

describe('the failed-login table', () => {
  it('refuses an address past its budget, 10,000 failures from it hold one entry, and others stay served', () => {
    let now = 1_000;
    const table = new FailedLogins({ failuresMax: 10, windowMs: 60_000, sourcesMax: 100 }, () => now);
    for (let i = 0; i < 10_000; i++) {
      if (!table.refused('10.0.0.1')) table.record('10.0.0.1');
    }
    expect(table.refused('10.0.0.1')).toBe(true);
    expect(table.size).toBe(1);
    expect(table.refused('10.0.0.2')).toBe(false);
    now += 60_000;
    expect(table.refused('10.0.0.1')).toBe(false);
  });

  it('holds at most sourcesMax addresses, forgetting the oldest', () => {
    const table = new FailedLogins({ failuresMax: 1, windowMs: 60_000, sourcesMax: 100 }, () => 0);
    for (let i = 0; i < 10_000; i++) table.record(`10.0.${i >> 8}.${i & 255}`);
    expect(table.size).toBe(100);
    expect(table.refused('10.0.39.15')).toBe(true); // the 10,000th
    expect(table.refused('10.0.0.0')).toBe(false); // the first, forgotten
  });
});

// Broker credentials (security/broker-credentials.ts) and the cluster secrets they derive from
// (security/cluster-secrets.ts): what a receiver accepts, what it refuses, and the bounds.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerCredentials, NonceWindow } from '../../src/security/broker-credentials.js';
import { ClusterSecrets } from '../../src/security/cluster-secrets.js';
import { createLogger } from '../../src/logger.js';
import type { IncomingMessage } from 'node:http';
import { httpOrigin } from '../../src/http/origin.js';

const logger = createLogger({ level: 'error' });
const A = 'cluster-secret-a-0123456789';
const B = 'cluster-secret-b-0123456789';

async function secretsOf(signing: string, previous = ''): Promise<ClusterSecrets> {
  return ClusterSecrets.load({ clusterSecret: signing, clusterSecretPrevious: previous, clusterSecretFile: '', clusterSecretReloadIntervalMs: 1_000 }, logger);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A socket as a TLS server hands it over after a verified client certificate (mTLS). */
function mtlsPeer(subject: Record<string, string>, subjectaltname = ''): unknown {
  return { encrypted: true, authorized: true, remoteAddress: '127.0.0.1', getPeerCertificate: () => ({ subject, subjectaltname }) };
}

describe('BrokerCredentials', () => {
  it('under mTLS, accepts a credential only over a certificate that names its broker (cn, dns-san), any with none, and no certificate without mTLS', async () => {
    const path = '/internal/v1/replicas/t/0/fetch?replica=b1';
    const signer = new BrokerCredentials('b1', await secretsOf(A), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const receiver = async (certificateBinding: 'cn' | 'dns-san' | 'none') => new BrokerCredentials('b2', await secretsOf(A), { maxSkewMs: 30_000, noncesMax: 1_000, certificateBinding, logger });
    const cn = await receiver('cn');
    expect(cn.verify(signer.header('GET', path), 'GET', path, mtlsPeer({ CN: 'b1' }))).toEqual({ ok: true, brokerId: 'b1' });
    const wrong = cn.verify(signer.header('GET', path), 'GET', path, mtlsPeer({ CN: 'b2', O: 'strata' }, 'DNS:b1'));
    expect(wrong).toMatchObject({ ok: false, reason: 'certificate of another broker' });
    expect(wrong.ok ? '' : wrong.detail).toMatch(/User:CN=b2,O=strata.*not broker b1's/);
    // Without mTLS (no verified certificate) the credential alone names the broker.
    expect(cn.verify(signer.header('GET', path), 'GET', path, { encrypted: false, remoteAddress: '127.0.0.1' })).toEqual({ ok: true, brokerId: 'b1' });
    const san = await receiver('dns-san');
    expect(san.verify(signer.header('GET', path), 'GET', path, mtlsPeer({ CN: 'broker' }, 'IP Address:127.0.0.1, DNS:b1'))).toEqual({ ok: true, brokerId: 'b1' });
    expect(san.verify(signer.header('GET', path), 'GET', path, mtlsPeer({ CN: 'b1' }, 'DNS:b10, DNS:localhost'))).toMatchObject({ ok: false, reason: 'certificate of another broker' });
    const none = await receiver('none');
    expect(none.verify(signer.header('GET', path), 'GET', path, mtlsPeer({ CN: 'broker' }))).toEqual({ ok: true, brokerId: 'b1' });
  });

  it('names the signing broker, and binds the credential to the method, the target and one use', async () => {
    const b1 = new BrokerCredentials('b1', await secretsOf(A), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const b2 = new BrokerCredentials('b2', await secretsOf(A), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const header = b1.header('GET', '/internal/v1/replicas/t/0/fetch?replica=b1');
    expect(header).not.toContain(A);
    expect(b2.verify(header, 'POST', '/internal/v1/replicas/t/0/fetch?replica=b1')).toEqual({ ok: false, reason: 'bad signature' });
    expect(b2.verify(header, 'GET', '/internal/v1/replicas/t/0/fetch?replica=b3')).toEqual({ ok: false, reason: 'bad signature' });
    expect(b2.verify(header, 'GET', '/internal/v1/replicas/t/0/fetch?replica=b1')).toEqual({ ok: true, brokerId: 'b1' });
    expect(b2.verify(header, 'GET', '/internal/v1/replicas/t/0/fetch?replica=b1')).toEqual({ ok: false, reason: 'replayed' });
    // Another broker id in the header breaks the signature (the key derives from the id).
    expect(b2.verify(header.replace('Strata-Broker b1:', 'Strata-Broker b3:'), 'GET', '/internal/v1/replicas/t/0/fetch?replica=b1')).toEqual({ ok: false, reason: 'bad signature' });
    expect(b2.verify(undefined, 'GET', '/')).toEqual({ ok: false, reason: 'missing' });
    expect(b2.verify(`Bearer ${A}`, 'GET', '/')).toEqual({ ok: false, reason: 'malformed' });
    expect(b2.verify('Strata-Broker b1:1:x:y', 'GET', '/')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a credential signed too far from its clock, either way', async () => {
    let now = 1_000_000;
    const signer = new BrokerCredentials('b1', await secretsOf(A), { maxSkewMs: 5_000, noncesMax: 1_000, now: () => now });
    const verifier = new BrokerCredentials('b2', await secretsOf(A), { maxSkewMs: 5_000, noncesMax: 1_000, now: () => now });
    const old = signer.header('GET', '/x');
    now += 5_001;
    expect(verifier.verify(old, 'GET', '/x')).toEqual({ ok: false, reason: 'expired' });
    const future = signer.header('GET', '/x');
    now -= 5_001;
    expect(verifier.verify(future, 'GET', '/x')).toEqual({ ok: false, reason: 'expired' });
  });

  it('accepts the previous secret during a rotation, and only the secrets it holds', async () => {
    const oldSigner = new BrokerCredentials('b1', await secretsOf(A), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const newSigner = new BrokerCredentials('b1', await secretsOf(B), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const both = new BrokerCredentials('b2', await secretsOf(B, A), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const newOnly = new BrokerCredentials('b2', await secretsOf(B), { maxSkewMs: 30_000, noncesMax: 1_000 });
    expect(both.verify(oldSigner.header('GET', '/x'), 'GET', '/x').ok).toBe(true);
    expect(both.verify(newSigner.header('GET', '/x'), 'GET', '/x').ok).toBe(true);
    expect(newOnly.verify(oldSigner.header('GET', '/x'), 'GET', '/x')).toEqual({ ok: false, reason: 'bad signature' });
  });
});

describe('NonceWindow', () => {
  it('stays within its bound and, full, refuses what it can no longer tell from a replay', () => {
    const window = new NonceWindow(3);
    expect(window.admit('n1', 100, 0)).toBe(true);
    expect(window.admit('n2', 101, 0)).toBe(true);
    expect(window.admit('n3', 102, 0)).toBe(true);
    expect(window.admit('n2', 101, 0)).toBe(false);
    // Full: n1 is forgotten, so anything signed at or before it is refused from now on.
    expect(window.admit('n4', 103, 0)).toBe(true);
    expect(window.size).toBe(3);
    expect(window.admit('n1', 100, 0)).toBe(false);
    expect(window.admit('n5', 100, 0)).toBe(false);
    // Entries past the skew window go first (their credentials are expired anyway).
    expect(window.admit('n6', 500, 200)).toBe(true);
    expect(window.size).toBe(1);
  });
});

describe('ClusterSecrets from a file', () => {
  it('reads the signing and the accepted secret, reloads on change, and keeps the old ones when the file is unusable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-secrets-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'secret');
    await writeFile(file, `${A}\n`);
    const lines: string[] = [];
    const secrets = await ClusterSecrets.load(
      { clusterSecret: '', clusterSecretPrevious: '', clusterSecretFile: file, clusterSecretReloadIntervalMs: 1_000 },
      createLogger({ level: 'info', write: (l) => void lines.push(l) }),
    );
    expect([secrets.signing, secrets.accepted]).toEqual([A, [A]]);
    await writeFile(file, `${B}\r\n${A}\n\n`);
    expect(await secrets.reload('test')).toBe(true);
    expect([secrets.signing, secrets.accepted]).toEqual([B, [B, A]]);
    for (const bad of ['', 'short\n', `${A}\n${B}\n${A}x\n`]) {
      await writeFile(file, bad);
      expect(await secrets.reload('test'), JSON.stringify(bad)).toBe(false);
      expect([secrets.signing, secrets.accepted]).toEqual([B, [B, A]]);
    }
    expect(lines.join('\n')).not.toContain(A);
    expect(lines.join('\n')).not.toContain(B);
    await expect(ClusterSecrets.load({ clusterSecret: '', clusterSecretPrevious: '', clusterSecretFile: join(dir, 'missing'), clusterSecretReloadIntervalMs: 1_000 }, logger)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});

describe('a forwarded request on the public port (http/origin.ts)', () => {
  const request = (headers: Record<string, string>): IncomingMessage => ({ headers, method: 'POST', socket: { remoteAddress: '10.0.0.9' } }) as unknown as IncomingMessage;
  const client = async (): Promise<string> => 'User:client';

  it("believes Strata-Forwarded-By and the client's principal and host only with the named broker's credential", async () => {
    const leader = new BrokerCredentials('b2', await secretsOf(A), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const forwarding = new BrokerCredentials('b1', await secretsOf(A), { maxSkewMs: 30_000, noncesMax: 1_000 });
    const originOf = httpOrigin(leader);
    const target = '/v1/topics/t/partitions/0/batches?acks=all';
    expect(await originOf(request({}), target, client)).toEqual({ replay: target, principal: 'User:client', host: '10.0.0.9' });
    const signed = {
      'strata-forwarded-by': 'b1',
      authorization: forwarding.header('POST', target),
      'strata-forwarded-principal': encodeURIComponent('User:alice'),
      'strata-forwarded-host': encodeURIComponent('10.0.0.7'),
    };
    expect(await originOf(request(signed), target, client)).toEqual({ forwardedBy: 'b1', replay: target, principal: 'User:alice', host: '10.0.0.7' });
    // A claim without a credential, with another broker's, or replayed: refused, never treated as a client's.
    const refused: Array<Record<string, string>> = [
      { 'strata-forwarded-by': 'b1', 'strata-forwarded-principal': 'User:admin' },
      { 'strata-forwarded-by': 'b3', authorization: forwarding.header('POST', target) },
      signed,
    ];
    for (const headers of refused) {
      await expect(originOf(request(headers), target, client)).rejects.toMatchObject({ code: 'BROKER_AUTHENTICATION_FAILED' });
    }
  });
});

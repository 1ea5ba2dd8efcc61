// TLS material (security/tls.ts) and the listeners built on it, with certificates made by openssl:
// the settings' checks, unusable files refused at start, a reload that swaps the certificate for new
// connections (and one that reads a mismatched pair keeps the old), the mTLS principal, and the
// body-budget guard finding its connection on an https server.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { isStrataError } from '@strata/protocol';
import { createLogger, loadConfig } from '@strata/broker';
import { DEFAULTS, type TlsConfig } from '../src/config.js';
import { KafkaServer } from '../src/kafka/server.js';
import { guardOf, ListenerGuard, type ConnectionLimits } from '../src/http/admission.js';
import { createHttpServer } from '../src/security/http-server.js';
import { peerPrincipal, TlsMaterial } from '../src/security/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-tls-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => join(dir, name);
const openssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-ca']);
writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\n');
function leaf(name: string, subject: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'leaf.ext']);
}
leaf('server', '/CN=broker');
leaf('renewed', '/CN=broker-renewed');
leaf('client', '/O=acme/CN=alice');
const ca = readFileSync(file('ca.crt'));
const client = { cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) };
const quiet = createLogger({ level: 'error', write: () => undefined });

const LIMITS: ConnectionLimits = {
  maxConnections: 100,
  maxConnectionsPerAddress: 0,
  bodyBytesInFlightPerConnectionMax: 1024,
  bodyBytesInFlightPerAddressMax: 1024,
  bodyBytesInFlightMax: 1024,
  bodyIdleTimeoutMs: 5_000,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 1_000,
};

function tlsConfig(overrides: Partial<TlsConfig> = {}): TlsConfig {
  return { certFile: file('live.crt'), keyFile: file('live.key'), clientCaFile: '', caFile: '', reloadIntervalMs: 60_000, plaintextHttpPort: 0, ...overrides };
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (isStrataError(e) && e.code === 'INVALID_CONFIG') return e.details!.problems as string[];
    throw e;
  }
  throw new Error('expected INVALID_CONFIG');
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The serial of the certificate a new connection is given. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function get(port: number, withClientCert: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/', ca, agent: false, ...(withClientCert ? client : {}) }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS settings', () => {
  it('turns TLS on with a certificate and a key, and checks the fields against each other', () => {
    expect(loadConfig({}, []).tls).toBeNull();
    const on = loadConfig({ STRATA_TLS_CERT_FILE: 'c.pem', STRATA_TLS_KEY_FILE: 'k.pem', STRATA_PLAINTEXT_HTTP_PORT: '8079' }, []).tls!;
    expect(on.certFile.endsWith('/c.pem')).toBe(true);
    expect(on.plaintextHttpPort).toBe(8079);
    expect(on.reloadIntervalMs).toBe(10_000);
    expect(problemsOf(() => loadConfig({ STRATA_TLS_CERT_FILE: 'c.pem' }, []))).toEqual([expect.stringContaining('set both')]);
    // Accepted and ignored would be a defect: these need TLS on.
    expect(problemsOf(() => loadConfig({ STRATA_TLS_CLIENT_CA_FILE: 'ca.pem', STRATA_PLAINTEXT_HTTP_PORT: '1' }, []))).toEqual([
      expect.stringContaining('STRATA_TLS_CLIENT_CA_FILE: set, but TLS is off'),
      expect.stringContaining('STRATA_PLAINTEXT_HTTP_PORT: set, but TLS is off'),
    ]);
    expect(problemsOf(() => loadConfig({ STRATA_REDIS_URL: 'redis://127.0.0.1:1', STRATA_CLUSTER_SECRET: 'a-test-secret-of-some-length', STRATA_REDIS_CA_FILE: 'ca.pem' }, []))).toEqual([
      expect.stringContaining('not a rediss:// URL'),
    ]);
    expect(problemsOf(() => loadConfig({ STRATA_S3_BUCKET: 'bucket', STRATA_S3_ENDPOINT: 'http://127.0.0.1:1', STRATA_S3_CA_FILE: 'ca.pem' }, []))).toEqual([
      expect.stringContaining('not an https:// URL'),
    ]);
  });

  it('refuses files it cannot use, naming the setting', async () => {
    const missing = await TlsMaterial.load(tlsConfig({ certFile: file('nope.crt') }), quiet).catch((e: unknown) => e);
    expect(isStrataError(missing) && missing.code === 'INVALID_CONFIG' && missing.message.includes('STRATA_TLS_CERT_FILE')).toBe(true);
    const mismatched = await TlsMaterial.load(tlsConfig({ certFile: file('server.crt'), keyFile: file('client.key') }), quiet).catch((e: unknown) => e);
    expect(isStrataError(mismatched) && mismatched.code === 'INVALID_CONFIG').toBe(true);
  });
});

describe('TLS listeners', () => {
  it('serve a reloaded certificate to new connections; a mismatched pair keeps the old one', async () => {
    copyFileSync(file('server.crt'), file('live.crt'));
    copyFileSync(file('server.key'), file('live.key'));
    const material = await TlsMaterial.load(tlsConfig(), quiet);
    const server = createHttpServer(LIMITS, material, (_req, res) => res.end('ok'));
    const port = await listen(server);
    try {
      const first = await servedSerial(port);
      copyFileSync(file('renewed.crt'), file('live.crt'));
      // Half-written: the new certificate with the old key.
      expect(await material.reload('test')).toBe(false);
      expect(await servedSerial(port)).toBe(first);
      copyFileSync(file('renewed.key'), file('live.key'));
      expect(await material.reload('test')).toBe(true);
      const second = await servedSerial(port);
      expect(second).not.toBe(first);
      expect(material.reloads).toBe(1);
    } finally {
      await close(server);
      material.close();
    }
  });

  it('under mTLS, carry the client certificate subject as the principal, and refuse a client without one', async () => {
    copyFileSync(file('server.crt'), file('live.crt'));
    copyFileSync(file('server.key'), file('live.key'));
    const material = await TlsMaterial.load(tlsConfig({ clientCaFile: file('ca.crt') }), quiet);
    const server = createHttpServer(LIMITS, material, (req, res) => res.end(peerPrincipal(req.socket) ?? '(none)'));
    const port = await listen(server);
    try {
      expect(await get(port, true)).toEqual({ status: 200, body: 'User:O=acme,CN=alice' });
      await expect(get(port, false)).rejects.toThrow();
    } finally {
      await close(server);
      material.close();
    }
  });

  // Regression: the guard admitted the TCP socket of 'connection', but an https request arrives on
  // the TLS socket made after the handshake: guardOf(req) was null, so no body budget applied.
  it('find their connection guard on an https server (body budgets apply under TLS)', async () => {
    copyFileSync(file('server.crt'), file('live.crt'));
    copyFileSync(file('server.key'), file('live.key'));
    const material = await TlsMaterial.load(tlsConfig(), quiet);
    let guarded: boolean | null = null;
    const server = createHttpServer(LIMITS, material, (req: IncomingMessage, res) => {
      guarded = guardOf(req) !== null;
      res.end('ok');
    });
    new ListenerGuard(LIMITS).attach(server);
    const port = await listen(server);
    try {
      expect((await get(port, false)).status).toBe(200);
      expect(guarded).toBe(true);
    } finally {
      await close(server);
      material.close();
    }
  });
});

describe('the Kafka listener under mTLS', () => {
  it('carries the client certificate subject to every request it dispatches', async () => {
    copyFileSync(file('server.crt'), file('live.crt'));
    copyFileSync(file('server.key'), file('live.key'));
    const material = await TlsMaterial.load(tlsConfig({ clientCaFile: file('ca.crt') }), quiet);
    const principals: Array<string | undefined> = [];
    const server = new KafkaServer({
      config: {
        port: 0,
        advertisedAddress: '',
        metadataMode: 'brokers',
        autoCreateTopics: false,
        maxRequestBytes: 1024 * 1024,
        maxInFlightPerConnection: 4,
        requestBytesInFlight: 4 * 1024 * 1024,
        maxConnections: 10,
        maxConnectionsPerAddress: 10,
        connectionsMaxIdleMs: DEFAULTS.kafkaConnectionsMaxIdleMs,
  scramUsersPerRequestMax: DEFAULTS.kafkaScramUsersPerRequestMax,
        groupSessionTimeoutMs: DEFAULTS.kafkaGroupSessionTimeoutMs,
        groups: {
          initialRebalanceDelayMs: DEFAULTS.kafkaGroupInitialRebalanceDelayMs,
          minSessionTimeoutMs: DEFAULTS.kafkaGroupMinSessionTimeoutMs,
          maxSessionTimeoutMs: DEFAULTS.kafkaGroupMaxSessionTimeoutMs,
          protocolsMax: DEFAULTS.kafkaGroupProtocolsMax,
          memberMetadataMaxBytes: DEFAULTS.kafkaGroupMemberMetadataMaxBytes,
          assignmentMaxBytes: DEFAULTS.kafkaGroupAssignmentMaxBytes,
          takeoverIntervalMs: DEFAULTS.kafkaGroupTakeoverIntervalMs,
        },
      },
      host: '127.0.0.1',
      logger: quiet,
      registry: new Registry(),
      frameIdleTimeoutMs: 5_000,
      tls: material,
      dispatch: async (request) => {
        principals.push(request.principal);
        const head = Buffer.alloc(8);
        head.writeInt32BE(4, 0);
        head.writeInt32BE(request.correlationId, 4);
        return { kind: 'respond', chunks: [head] };
      },
    });
    const port = await server.listen();
    try {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca, ...client });
      await once(socket, 'secureConnect');
      // ApiVersions v0, correlation id 7, no client id.
      const frame = Buffer.alloc(14);
      frame.writeInt32BE(10, 0);
      frame.writeInt16BE(18, 4);
      frame.writeInt16BE(0, 6);
      frame.writeInt32BE(7, 8);
      frame.writeInt16BE(-1, 12);
      socket.write(frame);
      const [answer] = (await once(socket, 'data')) as [Buffer];
      expect(answer.readInt32BE(4)).toBe(7);
      expect(principals).toEqual(['User:O=acme,CN=alice']);
      socket.destroy();
    } finally {
      await server.close(1_000);
      material.close();
    }
  });
});

/**
 * TLS everywhere (issue #14, part 1), with real clients and certificates made by openssl:
 * - one broker with TLS on: curl with the CA works and plaintext is refused, a plaintext loopback
 *   port answers only when set, kcat (security.protocol=SSL) and kafkajs (ssl) produce and consume,
 *   the CLI trusts STRATA_CA_FILE, and a certificate replaced on disk is served to new connections
 *   (HTTP and Kafka) without a restart;
 * - mTLS: a client certificate from the CA is let in, none or one from another CA is refused, on the
 *   HTTP and Kafka ports; SIGHUP reloads the certificate;
 * - a 2-broker cluster over TLS (public and internal ports, mTLS between brokers) on rediss:// and
 *   an https S3 endpoint (a TLS-terminating proxy in front of s3rver) replicates acks=all and uploads.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { createServer as createTlsServer, connect as tlsConnect, type Server as TlsServer } from 'node:tls';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, RedisServer, S3Server, freePort, runStrata, type HttpClientTls } from './harness/index.js';
import { brokerLifecycle } from './support.js';
import { hasKcat, parseKcatJson, run } from './kafka/kafka-clients.js';
import { makePki, type Pki } from './tls/certs.js';

const { Kafka, logLevel } = kafkajs;
const pki: Pki = makePki();
afterAll(() => pki.remove());
const kcatAvailable = hasKcat();

/** The serial number of the certificate a new TLS connection to `port` is given (null: the handshake failed). */
async function servedSerial(port: number, client?: { cert: Buffer; key: Buffer }): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca, ...(client ?? {}) }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', () => resolve(null));
  });
}

/** Polls (bounded) until `check` holds; returns its last value. */
async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, attempts = 150): Promise<T> {
  let value = await read();
  for (let i = 0; i < attempts && !check(value); i++) {
    await sleep(100);
    value = await read();
  }
  if (!check(value)) throw new Error(`${what}: still ${JSON.stringify(value)}`);
  return value;
}

async function curl(args: string[]): Promise<{ code: number | null; status: string; body: string }> {
  const result = await run('curl', ['-sS', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}', ...args]);
  const cut = result.stdout.lastIndexOf('\n');
  return { code: result.code, status: result.stdout.slice(cut + 1), body: result.stdout.slice(0, cut) };
}

function kcatSsl(bootstrap: string, extra: string[], args: string[], input = ''): ReturnType<typeof run> {
  return run('kcat', ['-b', bootstrap, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${pki.caFile}`, ...extra, ...args], input);
}

/** A copy of the server certificate and key the broker reads (the tests replace them). */
function brokerFiles(name: string): { certFile: string; keyFile: string } {
  const certFile = `${pki.dir}/${name}.crt`;
  const keyFile = `${pki.dir}/${name}.key`;
  copyFileSync(pki.serverCertFile, certFile);
  copyFileSync(pki.serverKeyFile, keyFile);
  return { certFile, keyFile };
}

describe('a broker with TLS on', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let plaintextPort: number;
  const files = brokerFiles('broker-a');

  beforeAll(async () => {
    plaintextPort = await freePort();
    broker = await start({
      kafka: true,
      tls: { ca: pki.ca },
      env: {
        STRATA_TLS_CERT_FILE: files.certFile,
        STRATA_TLS_KEY_FILE: files.keyFile,
        STRATA_TLS_RELOAD_INTERVAL_MS: '200',
        STRATA_PLAINTEXT_HTTP_PORT: String(plaintextPort),
      },
    });
  });

  it('answers curl with the CA; refuses plaintext and a client that does not trust the CA', async () => {
    expect(broker.url.startsWith('https://')).toBe(true);
    const trusted = await curl(['--cacert', pki.caFile, `${broker.url}/v1/topics`]);
    expect(trusted.status, trusted.body).toBe('200');
    expect(JSON.parse(trusted.body)).toHaveProperty('topics');
    const plaintext = await curl([`http://127.0.0.1:${broker.port}/v1/topics`]);
    expect(plaintext.code).not.toBe(0);
    expect(plaintext.status).toBe('000');
    const untrusted = await curl([`${broker.url}/v1/topics`]);
    expect(untrusted.code).toBe(60); // curl: the peer certificate cannot be authenticated
    // Each failed handshake is counted.
    const metrics = await broker.http.get('/metrics');
    const refused = /strata_http_refused_total\{reason="tls_handshake"\} (\d+)/.exec(String(metrics.body));
    expect(Number(refused?.[1] ?? 0)).toBeGreaterThanOrEqual(2);
  });

  it('keeps a plaintext HTTP port on loopback only when STRATA_PLAINTEXT_HTTP_PORT is set', async () => {
    const answer = await curl([`http://127.0.0.1:${plaintextPort}/v1/topics`]);
    expect(answer.status, answer.body).toBe('200');
  });

  it('the CLI reaches it with STRATA_CA_FILE, and fails without it', async () => {
    await broker.http.post('/v1/topics', { name: 'cli-made', partitions: 1 });
    const ok = await runStrata(['topics', 'list', '--broker', broker.url], { env: { STRATA_CA_FILE: pki.caFile } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('cli-made');
    const refused = await runStrata(['topics', 'list', '--broker', broker.url], { env: { STRATA_CA_FILE: '' } });
    expect(refused.code).not.toBe(0);
  });

  it.skipIf(!kcatAvailable)('kcat with security.protocol=SSL produces and consumes', async () => {
    expect((await broker.http.post('/v1/topics', { name: 'kcat-ssl', partitions: 1 })).status).toBe(201);
    const bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    const produced = await kcatSsl(bootstrap, [], ['-P', '-t', 'kcat-ssl', '-K:'], 'k1:one\nk2:two\n');
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await kcatSsl(bootstrap, [], ['-C', '-t', 'kcat-ssl', '-o', 'beginning', '-e', '-J']);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(parseKcatJson(consumed.stdout).map((r) => [r.key, r.payload])).toEqual([
      ['k1', 'one'],
      ['k2', 'two'],
    ]);
    // Plaintext Kafka to the TLS port is refused.
    const plaintext = await run('kcat', ['-b', bootstrap, '-L', '-m', '3']);
    expect(plaintext.code).not.toBe(0);
  });

  it.skipIf(!kcatAvailable)('kafkajs with ssl produces; the records read back over SSL', async () => {
    const client = new Kafka({ clientId: 'strata-tls', brokers: [`127.0.0.1:${broker.kafkaPort}`], ssl: { ca: [pki.ca] }, logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const admin = client.admin();
    const producer = client.producer();
    try {
      await admin.connect();
      expect(await admin.createTopics({ topics: [{ topic: 'kafkajs-ssl', numPartitions: 1 }] })).toBe(true);
      await producer.connect();
      await producer.send({ topic: 'kafkajs-ssl', messages: [{ key: 'a', value: 'first' }, { key: 'b', value: 'second' }] });
      expect(await admin.fetchTopicOffsets('kafkajs-ssl')).toEqual([expect.objectContaining({ partition: 0, high: '2' })]);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
    const consumed = await kcatSsl(`127.0.0.1:${broker.kafkaPort}`, [], ['-C', '-t', 'kafkajs-ssl', '-o', 'beginning', '-e', '-J']);
    expect(parseKcatJson(consumed.stdout).map((r) => r.payload)).toEqual(['first', 'second']);
  });

  it('serves a certificate replaced on disk to new connections without a restart (HTTP and Kafka)', async () => {
    const before = await servedSerial(broker.port);
    expect(before).not.toBeNull();
    expect(await servedSerial(broker.kafkaPort!)).toBe(before);
    const renewed = pki.issueServerCert('broker-a-renewed');
    // The key first, then the certificate: a reload that reads a mismatched pair keeps the old one.
    copyFileSync(renewed.keyFile, files.keyFile);
    copyFileSync(renewed.certFile, files.certFile);
    const after = await eventually('the HTTP port serves the renewed certificate', () => servedSerial(broker.port), (s) => s !== null && s !== before);
    expect(await servedSerial(broker.kafkaPort!)).toBe(after);
    // The broker kept serving throughout.
    expect((await broker.http.get('/v1/topics')).status).toBe(200);
  });
});

describe('mTLS: client certificates signed by STRATA_TLS_CLIENT_CA_FILE', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  const files = brokerFiles('broker-m');

  beforeAll(async () => {
    broker = await start({
      kafka: true,
      tls: { ca: pki.ca, ...pki.client },
      env: {
        STRATA_TLS_CERT_FILE: files.certFile,
        STRATA_TLS_KEY_FILE: files.keyFile,
        STRATA_TLS_CLIENT_CA_FILE: pki.caFile,
        // Only SIGHUP reloads within this suite.
        STRATA_TLS_RELOAD_INTERVAL_MS: String(24 * 3_600_000),
      },
    });
  });

  it('lets in a client certificate from the CA; refuses none, and one from another CA (HTTP)', async () => {
    const ok = await curl(['--cacert', pki.caFile, '--cert', pki.clientCertFile, '--key', pki.clientKeyFile, `${broker.url}/v1/topics`]);
    expect(ok.status, ok.body).toBe('200');
    const without = await curl(['--cacert', pki.caFile, `${broker.url}/v1/topics`]);
    expect(without.status).toBe('000');
    const stranger = await curl(['--cacert', pki.caFile, '--cert', pki.strangerCertFile, '--key', pki.strangerKeyFile, `${broker.url}/v1/topics`]);
    expect(stranger.status).toBe('000');
    expect(await servedSerial(broker.port, pki.client)).not.toBeNull();
  });

  it.skipIf(!kcatAvailable)('lets in kcat with a certificate from the CA; refuses one from another CA (Kafka)', async () => {
    expect((await broker.http.post('/v1/topics', { name: 'mtls', partitions: 1 })).status).toBe(201);
    const bootstrap = `127.0.0.1:${broker.kafkaPort}`;
    const own = ['-X', `ssl.certificate.location=${pki.clientCertFile}`, '-X', `ssl.key.location=${pki.clientKeyFile}`];
    const produced = await kcatSsl(bootstrap, own, ['-P', '-t', 'mtls'], 'hello\n');
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await kcatSsl(bootstrap, own, ['-C', '-t', 'mtls', '-o', 'beginning', '-e', '-J']);
    expect(parseKcatJson(consumed.stdout).map((r) => r.payload)).toEqual(['hello']);
    const foreign = ['-X', `ssl.certificate.location=${pki.strangerCertFile}`, '-X', `ssl.key.location=${pki.strangerKeyFile}`];
    const refused = await kcatSsl(bootstrap, foreign, ['-L', '-m', '3']);
    expect(refused.code).not.toBe(0);
    const metrics = String((await broker.http.get('/metrics')).body);
    expect(metrics).toMatch(/strata_kafka_connections_closed_total\{reason="tls_handshake"\} [1-9]/);
  });

  it('reloads the certificate on SIGHUP', async () => {
    const before = await servedSerial(broker.port, pki.client);
    const renewed = pki.issueServerCert('broker-m-renewed');
    copyFileSync(renewed.keyFile, files.keyFile);
    copyFileSync(renewed.certFile, files.certFile);
    process.kill(broker.pid!, 'SIGHUP');
    const after = await eventually('the renewed certificate after SIGHUP', () => servedSerial(broker.port, pki.client), (s) => s !== null && s !== before);
    expect(await servedSerial(broker.kafkaPort!, pki.client)).toBe(after);
    expect((await broker.http.get('/readyz')).status).toBe(200);
  });
});

/** A TLS-terminating proxy (node:tls) in front of a plaintext server: s3rver serves http only. */
async function tlsProxy(targetPort: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: TlsServer = createTlsServer({ cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile) }, (client) => {
    connections++;
    const upstream = netConnect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a 2-broker cluster over TLS, on rediss:// and an https S3 endpoint', () => {
  let redis: RedisServer;
  let s3: S3Server;
  let proxy: Awaited<ReturnType<typeof tlsProxy>>;
  const brokers: BrokerProcess[] = [];
  const clientTls: HttpClientTls = { ca: pki.ca, ...pki.client };

  beforeAll(async () => {
    const redisTlsPort = await freePort();
    redis = await RedisServer.start({
      args: ['--tls-port', String(redisTlsPort), '--tls-cert-file', pki.serverCertFile, '--tls-key-file', pki.serverKeyFile, '--tls-ca-cert-file', pki.caFile, '--tls-auth-clients', 'no'],
    });
    s3 = await S3Server.start();
    proxy = await tlsProxy(Number(new URL(s3.endpoint).port));
    const secret = 'tls-cluster-secret-0123456789';
    for (const id of ['b1', 'b2']) {
      // Each broker its own certificate, CN=<broker id>: under mTLS it is bound to its id (STRATA_INTERNAL_CERT_BINDING=cn).
      const own = pki.issueServerCert(id);
      brokers.push(
        await BrokerProcess.start({
          tls: clientTls,
          env: {
            ...s3.brokerEnv(undefined, { endpoint: `https://127.0.0.1:${proxy.port}` }),
            STRATA_S3_CA_FILE: pki.caFile,
            STRATA_REDIS_URL: `rediss://127.0.0.1:${redisTlsPort}`,
            STRATA_REDIS_CA_FILE: pki.caFile,
            STRATA_BROKER_ID: id,
            STRATA_CLUSTER_SECRET: secret,
            STRATA_INTERNAL_PORT: String(await freePort()),
            STRATA_TLS_CERT_FILE: own.certFile,
            STRATA_TLS_KEY_FILE: own.keyFile,
            STRATA_TLS_CLIENT_CA_FILE: pki.caFile,
            STRATA_TLS_CA_FILE: pki.caFile,
            STRATA_MIN_SEGMENT_BYTES: '1024',
            STRATA_TIER_INTERVAL_MS: '100',
            STRATA_LEASE_TTL_MS: '2000',
            STRATA_SESSION_TTL_MS: '2000',
            STRATA_CLUSTER_TICK_MS: '100',
          },
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.stop(10_000)));
    await proxy?.close();
    await s3?.stop();
    await redis?.stop();
  });

  it('replicates acks=all over the internal TLS port, forwards over TLS, and uploads over https', async () => {
    const [b1, b2] = brokers as [BrokerProcess, BrokerProcess];
    // Both brokers must be live for a replication factor of 2 to be placeable.
    await eventually(
      'a topic with two replicas is created',
      async () => (await b1.http.post('/v1/topics', { name: 'replicated', partitions: 1, replicationFactor: 2, configs: { 'min.insync.replicas': 2, 'segment.bytes': 1024 } })).status,
      (status) => status === 201 || status === 409,
    );
    const value = 'x'.repeat(200);
    // Through both brokers: one of them leads, the other forwards (HTTPS, with its certificate).
    for (let i = 0; i < 20; i++) {
      const via = i % 2 === 0 ? b1 : b2;
      const answer = await eventually(
        'an acks=all produce',
        () => via.http.post('/v1/topics/replicated/records', { records: [{ value: `${i}-${value}` }] }, { query: { acks: 'all' } }),
        (a) => a.status === 200,
        50,
      );
      expect(answer.status).toBe(200);
    }
    // Every record, read through each broker (a read stops at a segment's end: 1 KiB here).
    for (const broker of [b1, b2]) {
      const values: string[] = [];
      for (let reads = 0; reads < 40 && values.length < 20; reads++) {
        const read = await broker.http.get('/v1/topics/replicated/partitions/0/records', { query: { offset: values.length, maxRecords: 100 } });
        expect(read.status, JSON.stringify(read.body)).toBe(200);
        for (const record of read.body.records as Array<{ value: string }>) values.push(record.value);
      }
      expect(values.map((v) => Number(v.split('-')[0]))).toEqual([...Array(20).keys()]);
    }
    // Sealed segments reach the bucket through the https endpoint.
    const listed = await eventually(
      'segments uploaded',
      async () => (await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket }))).KeyCount ?? 0,
      (count) => count > 0,
    );
    expect(listed).toBeGreaterThan(0);
    expect(proxy.connections()).toBeGreaterThan(0);
  });
});

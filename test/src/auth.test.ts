/**
 * Users and authentication (issue #14), with real clients:
 * - STRATA_AUTH=required over TLS: anonymous HTTP is 401 (WWW-Authenticate), the first user is made
 *   from loopback, curl with Basic and Bearer works, a wrong password and a revoked or expired token
 *   are 401; kcat SASL_SSL SCRAM-SHA-512, kafkajs ssl + scram-sha-256 and confluent-kafka
 *   SCRAM-SHA-256 produce and consume; a Kafka client without SASL is refused; failures are audited
 *   and counted, and no secret reaches the log, /metrics or the OpenAPI document.
 * - SASL_PLAINTEXT: kcat PLAIN (password, and an API token as the password); a replayed SCRAM
 *   client-final is refused; KIP-368 (a session past its lifetime is closed, re-authentication keeps
 *   it); 10,000 failed logins from one address are refused without memory growth while another
 *   address is served.
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStrata, type BrokerProcess } from './harness/index.js';
import { brokerLifecycle } from './support.js';
import { hasKcat, parseKcatJson, pythonWith, run } from './kafka/kafka-clients.js';
import { RawKafkaConnection } from './kafka/raw-kafka.js';
import { makePki, type Pki } from './tls/certs.js';

const { Kafka, logLevel } = kafkajs;
const pki: Pki = makePki();
afterAll(() => pki.remove());
const kcatAvailable = hasKcat();
const confluent = pythonWith('confluent_kafka');

const ALICE = 'alice-password-1';
const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

let curls = 0;
async function curl(args: string[]): Promise<{ status: string; body: string; headers: string }> {
  const headerFile = join(pki.dir, `curl-headers-${++curls}`);
  const result = await run('curl', ['-sS', '--max-time', '10', '-D', headerFile, '-o', '-', '-w', '\n%{http_code}', ...args]);
  const cut = result.stdout.lastIndexOf('\n');
  return { status: result.stdout.slice(cut + 1), body: result.stdout.slice(0, cut), headers: readFileSync(headerFile, 'utf8') };
}

describe('STRATA_AUTH=required on a TLS broker (HTTP, SASL_SSL)', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let bootstrap: string;
  const secrets: string[] = [ALICE];

  beforeAll(async () => {
    broker = await start({
      kafka: true,
      tls: { ca: pki.ca },
      env: { STRATA_TLS_CERT_FILE: pki.serverCertFile, STRATA_TLS_KEY_FILE: pki.serverKeyFile, STRATA_AUTH: 'required', STRATA_HOST: '127.0.0.1' },
    });
    bootstrap = `127.0.0.1:${broker.kafkaPort}`;
  });

  it('refuses anonymous HTTP with 401 and WWW-Authenticate; the first user is made from loopback, the next ones need credentials', async () => {
    const anonymous = await curl(['--cacert', pki.caFile, `${broker.url}/v1/topics`]);
    expect(anonymous.status).toBe('401');
    expect(anonymous.headers).toMatch(/www-authenticate: Basic realm="strata".*Bearer/i);
    expect(JSON.parse(anonymous.body).error.code).toBe('AUTHENTICATION_FAILED');
    expect((await broker.http.get('/healthz')).status).toBe(200);
    const first = await broker.http.post('/v1/users', { name: 'alice', password: ALICE });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.mechanisms.map((m: { mechanism: string }) => m.mechanism)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
    expect((await broker.http.post('/v1/users', { name: 'mallory', password: 'mallory-pw' })).status).toBe(401);
    expect((await broker.http.post('/v1/users', { name: 'bob', password: 'bob-password' }, { headers: basic('alice', ALICE) })).status).toBe(201);
    secrets.push('bob-password');
    const listed = await broker.http.get('/v1/users', { headers: basic('alice', ALICE) });
    expect(listed.body.users.map((u: { name: string }) => u.name)).toEqual(['alice', 'bob']);
    expect(JSON.stringify(listed.body)).not.toMatch(/storedKey|serverKey|salt|password/);
  });

  it('curl with Basic and Bearer works; a wrong password, a revoked and an expired token are 401', async () => {
    const ok = await curl(['--cacert', pki.caFile, '-u', `alice:${ALICE}`, `${broker.url}/v1/topics`]);
    expect(ok.status, ok.body).toBe('200');
    const wrong = await curl(['--cacert', pki.caFile, '-u', 'alice:not-the-password', `${broker.url}/v1/topics`]);
    expect(wrong.status).toBe('401');
    const issued = await broker.http.post('/v1/users/alice/tokens', { name: 'ci' }, { headers: basic('alice', ALICE) });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    const token = issued.body.token as string;
    secrets.push(token);
    const bearer = await curl(['--cacert', pki.caFile, '-H', `Authorization: Bearer ${token}`, '-H', 'content-type: application/json', '-d', '{"name":"made-with-token","partitions":1}', `${broker.url}/v1/topics`]);
    expect(bearer.status, bearer.body).toBe('201');
    const tokens = await broker.http.get('/v1/users/alice/tokens', { headers: basic('alice', ALICE) });
    expect(tokens.body.tokens).toEqual([expect.objectContaining({ id: issued.body.id, name: 'ci', expired: false })]);
    expect(JSON.stringify(tokens.body)).not.toContain(token.slice(-20));
    expect((await broker.http.delete(`/v1/users/alice/tokens/${issued.body.id}`, { headers: basic('alice', ALICE) })).status).toBe(200);
    const revoked = await curl(['--cacert', pki.caFile, '-H', `Authorization: Bearer ${token}`, `${broker.url}/v1/topics`]);
    expect(revoked.status).toBe('401');
    const short = await broker.http.post('/v1/users/alice/tokens', { name: 'short', expiresInMs: 1 }, { headers: basic('alice', ALICE) });
    secrets.push(short.body.token);
    await sleep(20);
    const expired = await curl(['--cacert', pki.caFile, '-H', `Authorization: Bearer ${short.body.token}`, `${broker.url}/v1/topics`]);
    expect(expired.status).toBe('401');
    expect(JSON.parse(expired.body).error.details.reason).toBe('expired_token');
  });

  it.skipIf(!kcatAvailable)('kcat SASL_SSL with SCRAM-SHA-512 produces and consumes; without SASL, or with a wrong password, it is refused', async () => {
    expect((await broker.http.post('/v1/topics', { name: 'scram-ssl', partitions: 1 }, { headers: basic('alice', ALICE) })).status).toBe(201);
    const sasl = ['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${pki.caFile}`, '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=alice'];
    const produced = await run('kcat', ['-b', bootstrap, ...sasl, '-X', `sasl.password=${ALICE}`, '-P', '-t', 'scram-ssl', '-K:'], 'k1:one\nk2:two\n');
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await run('kcat', ['-b', bootstrap, ...sasl, '-X', `sasl.password=${ALICE}`, '-C', '-t', 'scram-ssl', '-o', 'beginning', '-e', '-J']);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(parseKcatJson(consumed.stdout).map((r) => [r.key, r.payload])).toEqual([
      ['k1', 'one'],
      ['k2', 'two'],
    ]);
    const wrong = await run('kcat', ['-b', bootstrap, ...sasl, '-X', 'sasl.password=wrong-password', '-L', '-m', '2']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('Authentication failed');
    const anonymous = await run('kcat', ['-b', bootstrap, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${pki.caFile}`, '-L', '-m', '2']);
    expect(anonymous.code).not.toBe(0);
  });

  it('kafkajs with ssl and sasl scram-sha-256 produces; the records read back', async () => {
    const client = new Kafka({
      clientId: 'strata-sasl',
      brokers: [bootstrap],
      ssl: { ca: [pki.ca] },
      sasl: { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-password' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
    const admin = client.admin();
    const producer = client.producer();
    const consumer = client.consumer({ groupId: 'kafkajs-sasl' });
    try {
      await admin.connect();
      expect(await admin.createTopics({ topics: [{ topic: 'kafkajs-sasl', numPartitions: 1 }] })).toBe(true);
      await producer.connect();
      await producer.send({ topic: 'kafkajs-sasl', messages: [{ key: 'a', value: 'first' }, { key: 'b', value: 'second' }] });
      expect(await admin.fetchTopicOffsets('kafkajs-sasl')).toEqual([expect.objectContaining({ partition: 0, high: '2' })]);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
      await consumer.disconnect();
    }
    const wrong = new Kafka({ clientId: 'strata-sasl-wrong', brokers: [bootstrap], ssl: { ca: [pki.ca] }, sasl: { mechanism: 'scram-sha-256', username: 'bob', password: 'nope-nope' }, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await expect(wrong.connect()).rejects.toThrow(/SASL|authentication/i);
    await wrong.disconnect();
  });

  it.skipIf(confluent === null)('python confluent-kafka with SASL_SSL SCRAM-SHA-256 produces and consumes', async () => {
    expect((await broker.http.post('/v1/topics', { name: 'confluent-sasl', partitions: 1 }, { headers: basic('alice', ALICE) })).status).toBe(201);
    const script = [
      'import sys, json',
      'from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING',
      `conf = {'bootstrap.servers': sys.argv[1], 'security.protocol': 'SASL_SSL', 'ssl.ca.location': sys.argv[2], 'sasl.mechanisms': 'SCRAM-SHA-256', 'sasl.username': 'alice', 'sasl.password': sys.argv[3]}`,
      'p = Producer(conf)',
      "for i in range(3): p.produce('confluent-sasl', key=('k%d' % i).encode(), value=('v%d' % i).encode())",
      'assert p.flush(30) == 0',
      "c = Consumer(dict(conf, **{'group.id': 'unused', 'enable.auto.commit': False}))",
      "c.assign([TopicPartition('confluent-sasl', 0, OFFSET_BEGINNING)])",
      'out = []',
      'for _ in range(60):',
      '    m = c.poll(1.0)',
      '    if m is None or m.error(): continue',
      '    out.append(m.value().decode())',
      '    if len(out) == 3: break',
      'c.close()',
      'print(json.dumps(out))',
    ].join('\n');
    const result = await run(confluent!, ['-c', script, bootstrap, pki.caFile, ALICE], '', 60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual(['v0', 'v1', 'v2']);
  });

  it('audits and counts every failure, and never shows a secret in the log, /metrics or the OpenAPI document', async () => {
    const metrics = String((await broker.http.get('/metrics', { headers: basic('alice', ALICE) })).body);
    expect(metrics).toMatch(/strata_authentication_failures_total\{listener="http",reason="wrong_password"\} [1-9]/);
    expect(metrics).toMatch(/strata_authentication_failures_total\{listener="http",reason="unknown_token"\} [1-9]/);
    expect(metrics).toMatch(/strata_authentication_failures_total\{listener="http",reason="expired_token"\} [1-9]/);
    const audits = broker
      .logs()
      .split('\n')
      .filter((line) => line.includes('"audit":"authentication"'))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>);
    expect(audits).toContainEqual(expect.objectContaining({ principal: 'User:alice', source: '127.0.0.1', outcome: 'denied', reason: 'wrong_password' }));
    expect(audits).toContainEqual(expect.objectContaining({ principal: 'User:alice', outcome: 'denied', reason: 'expired_token' }));
    const openapi = JSON.stringify((await broker.http.get('/v1/openapi.json')).body);
    expect(openapi).toContain('"/v1/users/{user}/tokens"');
    expect(openapi).toContain('securitySchemes');
    for (const secret of secrets) {
      expect(broker.logs()).not.toContain(secret);
      expect(metrics).not.toContain(secret);
      expect(openapi).not.toContain(secret);
    }
    const cluster = JSON.stringify((await broker.http.get('/v1/cluster', { headers: basic('alice', ALICE) })).body);
    for (const secret of secrets) expect(cluster).not.toContain(secret);
  });
});

/** A raw SASL conversation on a bare Kafka connection (the replay and KIP-368 tests). */
class SaslConversation {
  #correlation = 0;
  #read = 0;
  constructor(readonly c: RawKafkaConnection) {}

  async request<K extends typeof ApiKey.SaslHandshake | typeof ApiKey.SaslAuthenticate | typeof ApiKey.Metadata>(apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
    this.c.write(encodeRequest(apiKey, version, ++this.#correlation, 'raw-sasl', body));
    const frames = await this.c.frameCount(this.#read + 1);
    if (frames.length <= this.#read) return null;
    return decodeResponse(apiKey, version, frames[this.#read++]!).body;
  }

  async handshake(mechanism: string): Promise<number> {
    return (await this.request(ApiKey.SaslHandshake, 1, { mechanism }))!.errorCode;
  }

  authenticate(bytes: string | Buffer) {
    return this.request(ApiKey.SaslAuthenticate, 1, { authBytes: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes) });
  }
}

function scramSha256Final(password: string, clientFirstBare: string, serverFirst: string): string {
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs['s']!, 'base64'), Number(attrs['i']), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs['r']}`;
  const signature = createHmac('sha256', storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  return `${withoutProof},p=${Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64')}`;
}

const SESSION_LIFETIME_MS = 1_500;

/** Longer than the 10,000 failed logins take on a loaded machine: one window, one budget, one cut-off line. */
const FAILURE_WINDOW_MS = 600_000;

describe('SASL_PLAINTEXT with STRATA_AUTH=required', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await start({
      kafka: true,
      env: { STRATA_AUTH: 'required', STRATA_HOST: '127.0.0.1', STRATA_SASL_SESSION_LIFETIME_MS: String(SESSION_LIFETIME_MS), STRATA_AUTH_FAILURES_MAX: '5', STRATA_AUTH_FAILURE_WINDOW_MS: String(FAILURE_WINDOW_MS) },
    });
    expect((await broker.http.post('/v1/users', { name: 'carol', password: 'carol-password' })).status).toBe(201);
  });

  it.skipIf(!kcatAvailable)('kcat SASL_PLAINTEXT PLAIN produces and consumes, with the password or an API token as the password', async () => {
    const auth = basic('carol', 'carol-password');
    expect((await broker.http.post('/v1/topics', { name: 'plain', partitions: 1 }, { headers: auth })).status).toBe(201);
    const token = (await broker.http.post('/v1/users/carol/tokens', { name: 'kcat' }, { headers: auth })).body.token as string;
    const plain = (password: string) => ['-b', `127.0.0.1:${broker.kafkaPort}`, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=carol', '-X', `sasl.password=${password}`];
    expect((await run('kcat', [...plain('carol-password'), '-P', '-t', 'plain'], 'with-password\n')).code).toBe(0);
    const produced = await run('kcat', [...plain(token), '-P', '-t', 'plain'], 'with-token\n');
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await run('kcat', [...plain(token), '-C', '-t', 'plain', '-o', 'beginning', '-e', '-J']);
    expect(parseKcatJson(consumed.stdout).map((r) => r.payload)).toEqual(['with-password', 'with-token']);
  });

  it('refuses a request before authentication by closing the connection', async () => {
    const c = await RawKafkaConnection.open(broker.kafkaPort!);
    try {
      const sasl = new SaslConversation(c);
      expect(await sasl.request(ApiKey.Metadata, 1, { topics: null })).toBeNull();
      expect(await c.closedByBroker()).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it('refuses a replayed SCRAM client-final (nonces are never reused), and closes that connection', async () => {
    const bare = 'n=carol,r=a-client-nonce-used-twice';
    const first = await RawKafkaConnection.open(broker.kafkaPort!);
    let captured: string;
    try {
      const sasl = new SaslConversation(first);
      expect(await sasl.handshake('SCRAM-SHA-256')).toBe(KafkaError.NONE);
      const serverFirst = (await sasl.authenticate(`n,,${bare}`))!;
      expect(serverFirst.errorCode).toBe(KafkaError.NONE);
      captured = scramSha256Final('carol-password', bare, serverFirst.authBytes.toString());
      const done = (await sasl.authenticate(captured))!;
      expect(done.errorCode, done.errorMessage ?? '').toBe(KafkaError.NONE);
      expect(done.authBytes.toString()).toMatch(/^v=/);
      expect(Number(done.sessionLifetimeMs)).toBe(SESSION_LIFETIME_MS);
      expect((await sasl.request(ApiKey.Metadata, 1, { topics: null }))).not.toBeNull();
    } finally {
      first.destroy();
    }
    const second = await RawKafkaConnection.open(broker.kafkaPort!);
    try {
      const sasl = new SaslConversation(second);
      expect(await sasl.handshake('SCRAM-SHA-256')).toBe(KafkaError.NONE);
      expect((await sasl.authenticate(`n,,${bare}`))!.errorCode).toBe(KafkaError.NONE);
      const replayed = (await sasl.authenticate(captured))!;
      expect(replayed.errorCode).toBe(KafkaError.SASL_AUTHENTICATION_FAILED);
      expect(await sasl.request(ApiKey.Metadata, 1, { topics: null })).toBeNull();
      expect(await second.closedByBroker()).toBe(true);
    } finally {
      second.destroy();
    }
    await broker.waitForLog('"reason":"replayed_or_forged"');
  });

  it('KIP-368: a session past its lifetime is closed at its next request; one that re-authenticates goes on', async () => {
    const plainBytes = Buffer.from('\u0000carol\u0000carol-password');
    const lapsing = await RawKafkaConnection.open(broker.kafkaPort!);
    const renewing = await RawKafkaConnection.open(broker.kafkaPort!);
    try {
      const a = new SaslConversation(lapsing);
      const b = new SaslConversation(renewing);
      for (const s of [a, b]) {
        expect(await s.handshake('PLAIN')).toBe(KafkaError.NONE);
        expect((await s.authenticate(plainBytes))!.errorCode).toBe(KafkaError.NONE);
      }
      await sleep(SESSION_LIFETIME_MS / 2);
      expect(await b.handshake('PLAIN')).toBe(KafkaError.NONE);
      expect((await b.authenticate(plainBytes))!.errorCode).toBe(KafkaError.NONE);
      await sleep(SESSION_LIFETIME_MS / 2 + 300);
      expect(await a.request(ApiKey.Metadata, 1, { topics: null })).toBeNull();
      expect(await lapsing.closedByBroker()).toBe(true);
      expect(await b.request(ApiKey.Metadata, 1, { topics: null })).not.toBeNull();
    } finally {
      lapsing.destroy();
      renewing.destroy();
    }
  });

  it('the CLI manages users and tokens with STRATA_USER/STRATA_PASSWORD, and works with STRATA_TOKEN', async () => {
    const as = { STRATA_USER: 'carol', STRATA_PASSWORD: 'carol-password' };
    const created = await runStrata(['users', 'create', 'dave', '--broker', broker.url], { env: as, stdin: 'dave-password\n' });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('SCRAM-SHA-512');
    const listed = await runStrata(['users', 'list', '--broker', broker.url], { env: as });
    expect(listed.stdout).toMatch(/carol[\s\S]*dave/);
    const issued = await runStrata(['users', 'token', 'issue', 'dave', '--name', 'cli', '--broker', broker.url], { env: { STRATA_USER: 'dave', STRATA_PASSWORD: 'dave-password' } });
    expect(issued.code, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^strata_[a-f0-9]{16}_/);
    const withToken = await runStrata(['topics', 'list', '--broker', broker.url], { env: { STRATA_TOKEN: token } });
    expect(withToken.code, withToken.stderr).toBe(0);
    const id = token.split('_')[1]!;
    expect((await runStrata(['users', 'token', 'revoke', 'dave', id, '--broker', broker.url], { env: as })).code).toBe(0);
    const revoked = await runStrata(['topics', 'list', '--broker', broker.url], { env: { STRATA_TOKEN: token } });
    expect(revoked.code).not.toBe(0);
    expect(revoked.stderr).toContain('AUTHENTICATION_FAILED');
  });

  it('10,000 failed logins from one address: refused, the table does not grow, another address is served', async () => {
    const agents = new Map<string, Agent>();
    const agentFor = (localAddress: string): Agent => agents.get(localAddress) ?? agents.set(localAddress, new Agent({ keepAlive: true, maxSockets: 50, localAddress })).get(localAddress)!;
    const read = (localAddress: string, auth: Record<string, string>, path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: broker.port, path, headers: auth, agent: agentFor(localAddress) }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end();
      });
    const get = async (localAddress: string, auth: Record<string, string>): Promise<number> => (await read(localAddress, auth, '/v1/topics')).status;
    const wrong = basic('carol', 'guess-guess');
    const statuses = new Map<number, number>();
    for (let i = 0; i < 10_000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => get('127.0.0.1', wrong)));
      for (const s of batch) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    expect(statuses.get(401)).toBe(10_000);
    // The right password from the refused address is refused too (until its window ends) ...
    expect(await get('127.0.0.1', basic('carol', 'carol-password'))).toBe(401);
    // ... while another address is served.
    expect(await get('127.0.0.2', basic('carol', 'carol-password'))).toBe(200);
    // /metrics needs credentials too under STRATA_AUTH=required (read from the address that is still served).
    expect((await read('127.0.0.2', {}, '/metrics')).status).toBe(401);
    const { body: metrics } = await read('127.0.0.2', basic('carol', 'carol-password'), '/metrics');
    expect(metrics).toMatch(/strata_authentication_failure_sources 1\b/);
    expect(metrics).toMatch(/strata_authentication_failures_total\{listener="http",reason="rate_limited"\} (\d+)/);
    const limited = Number(/strata_authentication_failures_total\{listener="http",reason="rate_limited"\} (\d+)/.exec(metrics)![1]);
    expect(limited).toBeGreaterThanOrEqual(9_900);
    // One audit line per failure that was checked (the budget, plus the requests already in flight
    // when it ran out: at most 50 here, and the CLI test's revoked token) and one when the address
    // was cut off: not 10,000.
    const lines = broker.logs().split('\n').filter((l) => l.includes('"audit":"authentication"') && l.includes('"source":"127.0.0.1"') && l.includes('"listener":"http"'));
    expect(lines.length).toBeLessThanOrEqual(5 + 50 + 1 + 1);
    expect(lines.filter((l) => l.includes('"reason":"rate_limited"'))).toHaveLength(1);
    for (const agent of agents.values()) agent.destroy();
  });
});

/**
 * The Kafka listener's remaining security items (issue #14), on one SASL broker with ACLs
 * (STRATA_AUTH=required, STRATA_AUTHORIZER=acl, super user User:admin), with real clients:
 * - DescribeUserScramCredentials / AlterUserScramCredentials (KIP-554) with @platformatic/kafka's
 *   requests (kafkajs has no SCRAM admin; Debian 12's python3-confluent-kafka is 1.7, which has
 *   none either): an upsertion (salt + salted password the client computed) makes a user kafkajs
 *   then signs in as with SCRAM-SHA-512, the same user /v1/users lists; Kafka's per-user errors;
 *   a deletion removes the credential (the sign-in then fails); a principal without cluster
 *   alter/describe is refused, audited and counted;
 * - FindCoordinator checks describe on each group (GROUP_AUTHORIZATION_FAILED per key, v4);
 * - SASL principals count in STRATA_MAX_CONNECTIONS_PER_PRINCIPAL: past it, SaslAuthenticate says
 *   so (kafkajs shows the message) and the connection closes; a closed connection gives its place back.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { Connection, Writer, alterUserScramCredentialsV0, createAPI, describeUserScramCredentialsV0, findCoordinatorV4 } from '@platformatic/kafka';
import { ApiKey, decodeResponse, encodeRequest, KafkaError } from '@strata/kafka-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../harness/index.js';
import { brokerLifecycle } from '../support.js';
import { RawKafkaConnection } from './raw-kafka.js';

const { Kafka, logLevel } = kafkajs;

const ADMIN_PASSWORD = 'admin-password-1';
const READER_PASSWORD = 'reader-password-1';
const CAROL_PASSWORD = 'carol-password-1';
const PER_PRINCIPAL_MAX = 2;
const SHA_256 = 1;
const SHA_512 = 2;

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** A platformatic request's answer, also when it carries error codes (its parser then throws them with the answer). */
async function answerOf<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    const response = (e as { response?: T }).response;
    if (response === undefined) throw e;
    return response;
  }
}

type Deletion = alterUserScramCredentialsV0.AlterUserScramCredentialsRequestDeletions;
type Upsertion = alterUserScramCredentialsV0.AlterUserScramCredentialsRequestUpsertions;

/**
 * @platformatic/kafka 1.35's AlterUserScramCredentials v0, with one byte fixed: its writer ends the
 * body with two empty tagged-field sections where the schema has one, a byte Strata's codec refuses
 * as trailing (the connection closes). The same request otherwise, through its own connection, SASL
 * and response parser.
 */
const alterUserScramCredentials = createAPI<[Deletion[], Upsertion[]], alterUserScramCredentialsV0.AlterUserScramCredentialsResponse>(
  51,
  0,
  (deletions: Deletion[], upsertions: Upsertion[]) =>
    Writer.create()
      .appendArray(deletions, (w, d) => {
        w.appendString(d.name).appendInt8(d.mechanism);
      })
      .appendArray(upsertions, (w, u) => {
        w.appendString(u.name).appendInt8(u.mechanism).appendInt32(u.iterations).appendBytes(u.salt).appendBytes(u.saltedPassword);
      })
      .appendTaggedFields(),
  alterUserScramCredentialsV0.parseResponse,
);

/** An upsertion as a client computes it (KIP-554): the salted password, never the password. */
function upsertion(name: string, password: string, mechanism: number, iterations: number) {
  const salt = randomBytes(16);
  const saltedPassword = pbkdf2Sync(password, salt, iterations, mechanism === SHA_256 ? 32 : 64, mechanism === SHA_256 ? 'sha256' : 'sha512');
  return { name, mechanism, iterations, salt, saltedPassword };
}

describe('Kafka listener security: SCRAM admin, FindCoordinator ACLs, SASL connection limit', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  const connections: Connection[] = [];

  async function connectAs(user: string, password: string, mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512' = 'SCRAM-SHA-256'): Promise<Connection> {
    const connection = new Connection('security-test', { sasl: { mechanism, username: user, password }, connectTimeout: 10_000, requestTimeout: 10_000 });
    connections.push(connection);
    await connection.connect('127.0.0.1', broker.kafkaPort!);
    return connection;
  }

  const kafkajsAs = (user: string, password: string) =>
    new Kafka({
      clientId: 'security-kafkajs',
      brokers: [`127.0.0.1:${broker.kafkaPort}`],
      sasl: { mechanism: 'scram-sha-512', username: user, password },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 10_000,
    });

  beforeAll(async () => {
    broker = await start({
      kafka: true,
      env: {
        STRATA_HOST: '127.0.0.1',
        STRATA_AUTH: 'required',
        STRATA_AUTHORIZER: 'acl',
        STRATA_SUPER_USERS: 'User:admin',
        STRATA_MAX_CONNECTIONS_PER_PRINCIPAL: String(PER_PRINCIPAL_MAX),
      },
    });
    expect((await broker.http.post('/v1/users', { name: 'admin', password: ADMIN_PASSWORD })).status).toBe(201);
    const admin = basic('admin', ADMIN_PASSWORD);
    expect((await broker.http.post('/v1/users', { name: 'reader', password: READER_PASSWORD }, { headers: admin })).status).toBe(201);
    const grant = { principal: 'User:reader', host: '*', resourceType: 'group', patternType: 'prefixed', resourceName: 'allowed-', operation: 'describe', permission: 'allow' };
    expect((await broker.http.post('/v1/acls', { acls: [grant] }, { headers: admin })).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
  });

  it('advertises DescribeUserScramCredentials and AlterUserScramCredentials v0', async () => {
    const c = await RawKafkaConnection.open(broker.kafkaPort!);
    try {
      c.write(encodeRequest(ApiKey.ApiVersions, 0, 1, 'raw', {}));
      const [frame] = await c.frameCount(1);
      const keys = decodeResponse(ApiKey.ApiVersions, 0, frame!).body.apiKeys;
      expect(keys.find((k) => k.apiKey === ApiKey.DescribeUserScramCredentials)).toMatchObject({ minVersion: 0, maxVersion: 0 });
      expect(keys.find((k) => k.apiKey === ApiKey.AlterUserScramCredentials)).toMatchObject({ minVersion: 0, maxVersion: 0 });
    } finally {
      c.destroy();
    }
  });

  it('AlterUserScramCredentials makes a user kafkajs signs in as (SCRAM-SHA-512), the same user /v1/users lists; Describe shows it', async () => {
    const admin = await connectAs('admin', ADMIN_PASSWORD);
    const altered = await answerOf(alterUserScramCredentials.async(admin, [], [upsertion('carol', CAROL_PASSWORD, SHA_512, 8192)]));
    expect(altered.results).toEqual([{ user: 'carol', errorCode: KafkaError.NONE, errorMessage: null }]);

    const described = await answerOf(describeUserScramCredentialsV0.api.async(admin, [{ name: 'carol' }]));
    expect(described.errorCode).toBe(KafkaError.NONE);
    expect(described.results).toEqual([{ user: 'carol', errorCode: KafkaError.NONE, errorMessage: null, credentialInfos: [{ mechanism: SHA_512, iterations: 8192 }] }]);
    const all = await answerOf(describeUserScramCredentialsV0.api.async(admin, []));
    expect(all.results.map((r) => r.user)).toEqual(['admin', 'carol', 'reader']);
    expect(all.results[0]!.credentialInfos.map((i) => i.mechanism).sort()).toEqual([SHA_256, SHA_512]);

    const listed = await broker.http.get('/v1/users', { headers: basic('admin', ADMIN_PASSWORD) });
    expect(listed.body.users.find((u: { name: string }) => u.name === 'carol').mechanisms).toEqual([{ mechanism: 'SCRAM-SHA-512', iterations: 8192 }]);

    const client = kafkajsAs('carol', CAROL_PASSWORD).admin();
    await client.connect();
    try {
      await client.listTopics();
    } finally {
      await client.disconnect();
    }
    await expect(kafkajsAs('carol', 'not-carols-password').admin().connect()).rejects.toThrow(/SASL|authentication/i);
    expect(broker.logs()).toMatch(/"audit":"users".*"user":"carol"/);
    expect(broker.logs()).not.toContain(CAROL_PASSWORD);
    await admin.close();
  });

  it("answers Kafka's per-user errors and changes nothing for a refused user; a deletion removes the credential", async () => {
    const admin = await connectAs('admin', ADMIN_PASSWORD);
    const altered = await answerOf(
      alterUserScramCredentials.async(
        admin,
        [{ name: 'carol', mechanism: SHA_256 }],
        [
          upsertion('dave', 'dave-password', 0, 8192),
          upsertion('erin', 'erin-password', SHA_256, 100),
          upsertion('frank', 'frank-password', SHA_256, 8192),
          upsertion('frank', 'frank-password', SHA_256, 8192),
          { ...upsertion('gina', 'gina-password', SHA_512, 8192), saltedPassword: Buffer.alloc(3) },
          upsertion('bad,name', 'x-password', SHA_256, 8192),
        ],
      ),
    );
    expect(altered.results.map((r) => [r.user, r.errorCode])).toEqual([
      ['carol', KafkaError.RESOURCE_NOT_FOUND],
      ['dave', KafkaError.UNSUPPORTED_SASL_MECHANISM],
      ['erin', KafkaError.UNACCEPTABLE_CREDENTIAL],
      ['frank', KafkaError.DUPLICATE_RESOURCE],
      ['gina', KafkaError.UNACCEPTABLE_CREDENTIAL],
      ['bad,name', KafkaError.UNACCEPTABLE_CREDENTIAL],
    ]);
    expect(altered.results.every((r) => (r.errorMessage ?? '').length > 0)).toBe(true);
    const described = await answerOf(describeUserScramCredentialsV0.api.async(admin, [{ name: 'carol' }, { name: 'dave' }, { name: 'frank' }, { name: 'frank' }]));
    expect(described.results.map((r) => [r.user, r.errorCode, r.credentialInfos.length])).toEqual([
      ['carol', KafkaError.NONE, 1],
      ['dave', KafkaError.RESOURCE_NOT_FOUND, 0],
      ['frank', KafkaError.DUPLICATE_RESOURCE, 0],
      ['frank', KafkaError.DUPLICATE_RESOURCE, 0],
    ]);

    const deleted = await answerOf(alterUserScramCredentials.async(admin, [{ name: 'carol', mechanism: SHA_512 }], []));
    expect(deleted.results).toEqual([{ user: 'carol', errorCode: KafkaError.NONE, errorMessage: null }]);
    const gone = await answerOf(describeUserScramCredentialsV0.api.async(admin, [{ name: 'carol' }]));
    expect(gone.results.map((r) => r.errorCode)).toEqual([KafkaError.RESOURCE_NOT_FOUND]);
    await expect(kafkajsAs('carol', CAROL_PASSWORD).admin().connect()).rejects.toThrow(/SASL|authentication/i);
    await admin.close();
  });

  it('a principal without cluster alter/describe is refused (CLUSTER_AUTHORIZATION_FAILED), audited and counted; nothing changes', async () => {
    const reader = await connectAs('reader', READER_PASSWORD);
    const altered = await answerOf(alterUserScramCredentials.async(reader, [], [upsertion('reader', 'hijacked-password', SHA_256, 8192), upsertion('mallory', 'm-password', SHA_256, 8192)]));
    expect(altered.results.map((r) => [r.user, r.errorCode])).toEqual([
      ['reader', KafkaError.CLUSTER_AUTHORIZATION_FAILED],
      ['mallory', KafkaError.CLUSTER_AUTHORIZATION_FAILED],
    ]);
    const described = await answerOf(describeUserScramCredentialsV0.api.async(reader, [{ name: 'admin' }]));
    expect(described.errorCode).toBe(KafkaError.CLUSTER_AUTHORIZATION_FAILED);
    expect(described.results.map((r) => [r.user, r.errorCode, r.credentialInfos.length])).toEqual([['admin', KafkaError.CLUSTER_AUTHORIZATION_FAILED, 0]]);
    await reader.close();
    // reader's own password still works (the refused upsert changed nothing), and mallory does not exist.
    const again = await connectAs('reader', READER_PASSWORD);
    await again.close();
    const users = await broker.http.get('/v1/users', { headers: basic('admin', ADMIN_PASSWORD) });
    expect(users.body.users.map((u: { name: string }) => u.name)).not.toContain('mallory');
    const metrics = String((await broker.http.get('/metrics', { headers: basic('admin', ADMIN_PASSWORD) })).body);
    expect(metrics).toMatch(/strata_authorization_denied_total\{operation="alter",resource_type="cluster"\} [1-9]/);
    expect(metrics).toMatch(/strata_authorization_denied_total\{operation="describe",resource_type="cluster"\} [1-9]/);
    expect(broker.logs()).toMatch(/"audit":"authorization","principal":"User:reader".*"operation":"alter","resource":"cluster:kafka-cluster"/);
  });

  it('FindCoordinator answers GROUP_AUTHORIZATION_FAILED for each group the principal may not describe (v4 batched keys)', async () => {
    const reader = await connectAs('reader', READER_PASSWORD);
    const found = await answerOf(findCoordinatorV4.api.async(reader, 0, ['allowed-orders', 'secret-payments', 'allowed-billing']));
    expect(found.coordinators.map((c) => [c.key, c.errorCode])).toEqual([
      ['allowed-orders', KafkaError.NONE],
      ['secret-payments', KafkaError.GROUP_AUTHORIZATION_FAILED],
      ['allowed-billing', KafkaError.NONE],
    ]);
    const denied = found.coordinators[1]!;
    expect([denied.nodeId, denied.port]).toEqual([-1, -1]);
    expect(denied.errorMessage).toMatch(/User:reader may not describe group "secret-payments"/);
    expect(found.coordinators[0]!.port).toBe(broker.kafkaPort);
    await reader.close();
    expect(broker.logs()).toMatch(/"audit":"authorization","principal":"User:reader".*"operation":"describe","resource":"group:secret-payments"/);
  });

  it('SASL principals count in STRATA_MAX_CONNECTIONS_PER_PRINCIPAL: past it SaslAuthenticate says so and the connection closes; a closed one gives its place back', async () => {
    const held = [];
    for (let i = 0; i < PER_PRINCIPAL_MAX; i++) held.push(await connectAs('reader', READER_PASSWORD));
    const over = kafkajsAs('reader', READER_PASSWORD).admin();
    await expect(over.connect()).rejects.toThrow(/User:reader already holds 2 connections.*STRATA_MAX_CONNECTIONS_PER_PRINCIPAL/);
    await over.disconnect();
    // Another principal is not affected.
    const admin = await connectAs('admin', ADMIN_PASSWORD);
    await admin.close();
    const metrics = String((await broker.http.get('/metrics', { headers: basic('admin', ADMIN_PASSWORD) })).body);
    expect(metrics).toMatch(/strata_kafka_connections_closed_total\{reason="connections_per_principal"\} [1-9]/);
    expect(broker.logs()).toMatch(/"audit":"authentication","principal":"User:reader".*"outcome":"denied","reason":"connections_per_principal"/);

    await Promise.all(held.map((c) => c.close()));
    // The broker sees the closes a moment later: bounded retries until the places are free.
    let connected = false;
    for (let attempt = 0; attempt < 50 && !connected; attempt++) {
      const client = kafkajsAs('reader', READER_PASSWORD).admin();
      try {
        await client.connect();
        await client.listTopics();
        connected = true;
      } catch {
        await sleep(100);
      } finally {
        await client.disconnect();
      }
    }
    expect(connected, 'a reader connection after the others closed').toBe(true);
  });
});

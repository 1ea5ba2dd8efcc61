/**
 * Authorization with Kafka's ACLs (issue #14), with mTLS certificates as principals
 * (User:<certificate subject>) and real clients:
 * - the ACL matrix over HTTP: for each operation on each resource type, a principal with the ACL
 *   succeeds and one without gets 403 with the resource type's *_AUTHORIZATION_FAILED; listings
 *   show only what the principal may describe; deny beats allow; prefixed patterns as Kafka's;
 * - the same through kafkajs: TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED, and its admin's
 *   createAcls/describeAcls/deleteAcls round trip;
 * - a 2-broker cluster: a produce forwarded to the leader is checked where it entered with the
 *   client's principal (the forwarding broker is no super user here), never bypassed; a client that
 *   forges the forwarding headers gains nothing.
 */
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, HttpClient, runStrata, type BrokerProcess, type HttpAnswer, type Json } from './harness/index.js';
import { brokerLifecycle } from './support.js';
import { makePki, type Pki } from './tls/certs.js';

const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;
const pki: Pki = makePki();
afterAll(() => pki.remove());

/** A client certificate from the CA for `name` (its principal: User:CN=<name>). */
function identity(name: string): { cert: Buffer; key: Buffer; principal: string; certFile: string; keyFile: string } {
  const files = pki.issueServerCert(name);
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), principal: `User:CN=${name}`, ...files };
}

const admin = identity('acl-admin');
const alice = identity('acl-alice');
const bob = identity('acl-bob');

function tlsEnv(): Record<string, string> {
  return {
    STRATA_TLS_CERT_FILE: pki.serverCertFile,
    STRATA_TLS_KEY_FILE: pki.serverKeyFile,
    STRATA_TLS_CLIENT_CA_FILE: pki.caFile,
    STRATA_TLS_CA_FILE: pki.caFile,
    STRATA_AUTHORIZER: 'acl',
    STRATA_SUPER_USERS: admin.principal,
    STRATA_ACL_REFRESH_INTERVAL_MS: '200',
  };
}

function as(url: string, who: { cert: Buffer; key: Buffer }): HttpClient {
  return new HttpClient(url, { ca: pki.ca, cert: who.cert, key: who.key });
}

function expectDenied(answer: HttpAnswer<Json>, code: string, what: string): void {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(403);
  expect(answer.body.error.code, what).toBe(code);
}

function expectOk(answer: HttpAnswer<Json>, what: string): void {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBeGreaterThanOrEqual(200);
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
}

function binding(principal: string, resourceType: string, resourceName: string, operation: string, extra: Record<string, string> = {}): Json {
  return { principal, host: '*', resourceType, patternType: 'literal', resourceName, operation, permission: 'allow', ...extra };
}

describe('ACLs on one broker (mTLS principals)', () => {
  const start = brokerLifecycle();
  let broker: BrokerProcess;
  let root: HttpClient;
  let a: HttpClient;
  let b: HttpClient;

  beforeAll(async () => {
    broker = await start({ kafka: true, tls: { ca: pki.ca, cert: admin.cert, key: admin.key }, env: tlsEnv() });
    root = broker.http;
    a = as(broker.url, alice);
    b = as(broker.url, bob);
    for (const t of ['m', 'm-del', 'm-records']) expectOk(await root.post('/v1/topics', { name: t, partitions: 1 }), `create ${t}`);
    const grants = [
      binding(alice.principal, 'topic', 'm-new', 'create'),
      binding(alice.principal, 'topic', 'm', 'write'),
      binding(alice.principal, 'topic', 'm', 'read'),
      binding(alice.principal, 'topic', 'm', 'alter'),
      binding(alice.principal, 'topic', 'm', 'alter-configs'),
      binding(alice.principal, 'topic', 'm-records', 'delete'),
      binding(alice.principal, 'topic', 'm-del', 'delete'),
      binding(alice.principal, 'group', 'g', 'read'),
      binding(alice.principal, 'group', 'g', 'delete'),
      binding(alice.principal, 'cluster', 'kafka-cluster', 'idempotent-write'),
      binding(alice.principal, 'cluster', 'kafka-cluster', 'describe'),
    ];
    const created = await root.post('/v1/acls', { acls: grants });
    expectOk(created, 'create acls');
    expect(created.body.created).toBe(grants.length);
  });

  it('answers each operation on each resource type: allowed with the ACL, 403 and the type\'s code without', async () => {
    // [what, request as a client, the code of a refusal]; bob has no ACL at all, alice the ones above.
    const matrix: Array<[string, (c: HttpClient) => Promise<HttpAnswer<Json>>, string]> = [
      ['create topic', (c) => c.post('/v1/topics', { name: 'm-new' }), 'TOPIC_AUTHORIZATION_FAILED'],
      ['describe topic', (c) => c.get('/v1/topics/m'), 'TOPIC_AUTHORIZATION_FAILED'],
      ['produce', (c) => c.post('/v1/topics/m/records', { records: [{ value: 'v' }] }), 'TOPIC_AUTHORIZATION_FAILED'],
      ['fetch', (c) => c.get('/v1/topics/m/partitions/0/records', { query: { offset: 0 } }), 'TOPIC_AUTHORIZATION_FAILED'],
      ['list offsets', (c) => c.get('/v1/topics/m/partitions/0/offsets', { query: { at: 'latest' } }), 'TOPIC_AUTHORIZATION_FAILED'],
      ['alter configs', (c) => c.patch('/v1/topics/m/configs', { configs: { 'retention.ms': '3600000' } }), 'TOPIC_AUTHORIZATION_FAILED'],
      ['add partitions', (c) => c.post('/v1/topics/m/partitions', { count: 2 }), 'TOPIC_AUTHORIZATION_FAILED'],
      ['delete records', (c) => c.post('/v1/topics/m-records/partitions/0/delete-records', { beforeOffset: 0 }), 'TOPIC_AUTHORIZATION_FAILED'],
      ['join group', (c) => c.post('/v1/groups/g/members', { topics: ['m'], sessionTimeoutMs: 10_000 }), 'GROUP_AUTHORIZATION_FAILED'],
      ['fetch group offsets', (c) => c.get('/v1/groups/g/offsets'), 'GROUP_AUTHORIZATION_FAILED'],
      ['describe group', (c) => c.get('/v1/groups/g'), 'GROUP_AUTHORIZATION_FAILED'],
      ['producer id', (c) => c.post('/v1/producers', {}), 'CLUSTER_AUTHORIZATION_FAILED'],
      ['describe cluster', (c) => c.get('/v1/cluster'), 'CLUSTER_AUTHORIZATION_FAILED'],
      ['delete topic', (c) => c.delete('/v1/topics/m-del'), 'TOPIC_AUTHORIZATION_FAILED'],
    ];
    for (const [what, call, code] of matrix) {
      expectDenied(await call(b), code, `${what} without the ACL`);
      expectOk(await call(a), `${what} with the ACL`);
    }
    // A group's member leaves, then offsets are committed standalone, reset, and the group deleted.
    const members = await a.get('/v1/groups/g');
    for (const m of members.body.members) expectOk(await a.delete(`/v1/groups/g/members/${m.memberId}`), 'leave');
    const groupMatrix: Array<[string, (c: HttpClient) => Promise<HttpAnswer<Json>>]> = [
      ['commit offsets', (c) => c.post('/v1/groups/g/offsets', { offsets: [{ topic: 'm', partition: 0, offset: 1 }] })],
      ['reset offsets', (c) => c.post('/v1/groups/g/offsets/reset', { topic: 'm', to: 'earliest' })],
      ['delete group', (c) => c.delete('/v1/groups/g')],
    ];
    for (const [what, call] of groupMatrix) {
      expectDenied(await call(b), 'GROUP_AUTHORIZATION_FAILED', `${what} without the ACL`);
      expectOk(await call(a), `${what} with the ACL`);
    }
    // Managing ACLs needs alter (create, delete) or describe (list) on the cluster.
    expectDenied(await b.post('/v1/acls', { acls: [binding(bob.principal, 'topic', '*', 'all')] }), 'CLUSTER_AUTHORIZATION_FAILED', 'create acls');
    expectDenied(await b.get('/v1/acls'), 'CLUSTER_AUTHORIZATION_FAILED', 'list acls');
    expectDenied(await b.delete('/v1/acls', { query: { principal: alice.principal } }), 'CLUSTER_AUTHORIZATION_FAILED', 'delete acls');
    expectOk(await a.get('/v1/acls'), 'list acls with describe on the cluster');
    // A refusal changed nothing: the topic bob could not delete is still there.
    expect((await root.get('/v1/topics/m')).status).toBe(200);
  });

  it('lists only the topics and groups the principal may describe', async () => {
    const topics = (c: HttpClient) => c.get('/v1/topics').then((r) => (r.body.topics as Array<{ name: string }>).map((t) => t.name).sort());
    expect(await topics(b)).toEqual([]);
    expect(await topics(a)).toEqual(expect.arrayContaining(['m']));
    expectOk(await root.post('/v1/topics', { name: 'm-hidden', partitions: 1 }), 'a topic alice has no ACL on');
    expect(await topics(a)).not.toContain('m-hidden');
    // delete implies describe: the topic alice may delete records of is listed.
    expect(await topics(a)).toContain('m-records');
    expect((await topics(root)).length).toBeGreaterThan((await topics(a)).length);
    expectOk(await root.post('/v1/groups/g-hidden/offsets', { offsets: [{ topic: 'm', partition: 0, offset: 0 }] }), 'a group alice does not see');
    const groups = (c: HttpClient) => c.get('/v1/groups').then((r) => (r.body.groups as Array<{ group: string }>).map((g) => g.group));
    // alice has describe on the cluster: Kafka's ListGroups then shows every group.
    expect(await groups(a)).toContain('g-hidden');
    expect(await groups(b)).toEqual([]);
  });

  it('lets a deny beat an allow, and matches prefixed patterns as Kafka does', async () => {
    expectOk(await root.post('/v1/topics', { name: 'orders.eu', partitions: 1 }), 'create');
    expectOk(await root.post('/v1/topics', { name: 'ordersx', partitions: 1 }), 'create');
    expectOk(await root.post('/v1/acls', { acls: [binding(bob.principal, 'topic', 'orders.', 'read', { patternType: 'prefixed' })] }), 'prefixed allow');
    expectOk(await b.get('/v1/topics/orders.eu'), 'read implies describe, under the prefix');
    expectDenied(await b.get('/v1/topics/ordersx'), 'TOPIC_AUTHORIZATION_FAILED', 'outside the prefix');
    expectOk(await root.post('/v1/acls', { acls: [binding('User:*', 'topic', 'orders.eu', 'describe', { permission: 'deny' })] }), 'deny');
    expectDenied(await b.get('/v1/topics/orders.eu'), 'TOPIC_AUTHORIZATION_FAILED', 'deny beats the prefixed allow');
    // The deny names describe only: read (its own operation) stays allowed.
    expectOk(await b.get('/v1/topics/orders.eu/partitions/0/records', { query: { offset: 0 } }), 'read under a describe deny');
    const listed = await root.get('/v1/acls', { query: { resourceType: 'topic', patternType: 'match', resourceName: 'orders.eu' } });
    expect(listed.body.acls.map((x: Json) => `${x.permission}:${x.patternType}:${x.resourceName}`).sort()).toEqual(['allow:prefixed:orders.', 'deny:literal:orders.eu']);
    const deleted = await root.delete('/v1/acls', { query: { principal: 'User:*' } });
    expect(deleted.body.deleted).toHaveLength(1);
    expectOk(await b.get('/v1/topics/orders.eu'), 'the deny deleted');
  });

  it('audits every denial and every ACL change, and counts denials', async () => {
    const logs = broker.logs();
    expect(logs).toMatch(/"audit":"authorization","principal":"User:CN=acl-bob","source":"[^"]+","operation":"create","resource":"topic:m-new","outcome":"denied"/);
    expect(logs).toMatch(/"audit":"acl","principal":"User:CN=acl-admin"/);
    const metrics = String((await root.get('/metrics')).body);
    expect(metrics).toMatch(/strata_authorization_denied_total\{operation="create",resource_type="topic"\} [1-9]/);
  });

  it('answers /metrics (whose labels name every topic and group) only to who may describe the cluster', async () => {
    expectDenied(await b.get('/metrics'), 'CLUSTER_AUTHORIZATION_FAILED', 'bob, without describe on the cluster');
    expectOk(await root.post('/v1/acls', { acls: [binding(bob.principal, 'cluster', 'kafka-cluster', 'describe')] }), 'grant');
    for (let attempt = 0; attempt < 50 && (await b.get('/metrics')).status !== 200; attempt++) await new Promise((r) => setTimeout(r, 100));
    expect(String((await b.get('/metrics')).body)).toMatch(/strata_authorization_denied_total/);
    expectOk(await root.delete('/v1/acls', { query: { principal: bob.principal, resourceType: 'cluster' } }), 'revoke');
  });

  it('answers Kafka clients with Kafka\'s *_AUTHORIZATION_FAILED (kafkajs with client certificates)', async () => {
    const kafka = (who: { cert: Buffer; key: Buffer }, clientId: string, retries = 0) =>
      new Kafka({ clientId, brokers: [`127.0.0.1:${broker.kafkaPort}`], ssl: { ca: [pki.ca], cert: who.cert, key: who.key }, logLevel: logLevel.NOTHING, retry: { retries, initialRetryTime: 50 } });
    const errorType = async (work: Promise<unknown>): Promise<string> => {
      try {
        await work;
        return 'NONE';
      } catch (e) {
        const err = e as { type?: string; cause?: { type?: string }; errors?: Array<{ type?: string }> };
        return err.type ?? err.cause?.type ?? err.errors?.[0]?.type ?? String(e);
      }
    };
    expectOk(await root.post('/v1/topics', { name: 'k-bob', partitions: 1 }), 'create');
    expectOk(await root.post('/v1/acls', { acls: [binding(bob.principal, 'topic', 'k-bob', 'read')] }), 'bob reads k-bob');
    const aliceProducer = kafka(alice, 'alice').producer({ allowAutoTopicCreation: false });
    const bobProducer = kafka(bob, 'bob').producer({ allowAutoTopicCreation: false });
    const bobAdmin = kafka(bob, 'bob-admin').admin();
    const aliceAdmin = kafka(alice, 'alice-admin').admin();
    await Promise.all([aliceProducer.connect(), bobProducer.connect(), bobAdmin.connect(), aliceAdmin.connect()]);
    try {
      expect(await errorType(aliceProducer.send({ topic: 'm', messages: [{ value: 'k' }] }))).toBe('NONE');
      expect(await errorType(bobProducer.send({ topic: 'm', messages: [{ value: 'k' }] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      expect(await errorType(bobAdmin.createTopics({ topics: [{ topic: 'k-new' }], waitForLeaders: false }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      expect(await errorType(bobAdmin.deleteTopics({ topics: ['m'] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      // An idempotent producer's InitProducerId needs idempotent-write on the cluster.
      const idempotent = (who: { cert: Buffer; key: Buffer }, id: string) => kafka(who, id, 1).producer({ idempotent: true, allowAutoTopicCreation: false, maxInFlightRequests: 1 });
      const [aliceIdempotent, bobIdempotent] = [idempotent(alice, 'alice-idem'), idempotent(bob, 'bob-idem')];
      expect(await errorType(aliceIdempotent.connect().then(() => aliceIdempotent.send({ topic: 'm', messages: [{ value: 'i' }] })))).toBe('NONE');
      expect(await errorType(bobIdempotent.connect().then(() => bobIdempotent.send({ topic: 'k-bob', messages: [{ value: 'i' }] })))).toBe('CLUSTER_AUTHORIZATION_FAILED');
      await Promise.all([aliceIdempotent.disconnect(), bobIdempotent.disconnect()]);
      // FindCoordinator refuses a group bob may not describe (GROUP_AUTHORIZATION_FAILED, as Kafka:
      // kafka/kafka-security.test.ts reads the code); kafkajs's broker pool reports that as no coordinator found.
      expect(await errorType(bobAdmin.fetchOffsets({ groupId: 'g', topics: ['k-bob'] }))).toMatch(/KafkaJSGroupCoordinatorNotFound/);
      // A group bob may describe but not delete: found, then DeleteGroups refuses.
      expectOk(await root.post('/v1/acls', { acls: [binding(bob.principal, 'group', 'g-seen', 'describe')] }), 'bob describes g-seen');
      expect(await errorType(bobAdmin.deleteGroups(['g-seen']))).toMatch(/GROUP_AUTHORIZATION_FAILED|DeleteGroups/);
      // Metadata for every topic lists only those bob may describe.
      const seen = (await bobAdmin.fetchTopicMetadata()).topics.map((t) => t.name);
      expect(seen).toContain('k-bob');
      expect(seen).not.toContain('m');
      // A consumer that may describe its group but not read it is found a coordinator, then refused at
      // JoinGroup (the crash carries Kafka's code).
      const consumer = kafka(bob, 'bob-consumer').consumer({ groupId: 'g-seen', sessionTimeout: 10_000, retry: { retries: 0, restartOnFailure: async () => false } });
      const crashed = new Promise<unknown>((resolve) => consumer.on(consumer.events.CRASH, (e) => resolve(e.payload.error)));
      await consumer.connect();
      await consumer.subscribe({ topic: 'k-bob', fromBeginning: true });
      await consumer.run({ eachMessage: async () => undefined });
      const crash = await Promise.race([crashed, new Promise((resolve) => setTimeout(() => resolve(new Error('no crash within 20 s')), 20_000))]);
      expect(await errorType(Promise.reject(crash))).toBe('GROUP_AUTHORIZATION_FAILED');
      await consumer.disconnect();
    } finally {
      await Promise.all([aliceProducer.disconnect(), bobProducer.disconnect(), bobAdmin.disconnect(), aliceAdmin.disconnect()]);
    }
  });

  it('manages ACLs with the CLI (strata acls create|list|delete), refused without alter on the cluster', async () => {
    const env = (who: { certFile: string; keyFile: string }) => ({ env: { STRATA_CA_FILE: pki.caFile, STRATA_CLIENT_CERT_FILE: who.certFile, STRATA_CLIENT_KEY_FILE: who.keyFile } });
    const args = ['--principal', 'User:dave', '--resource-type', 'topic', '--pattern', 'prefixed', '--resource', 'cli.', '--broker', broker.url];
    const created = await runStrata(['acls', 'create', ...args, '--operation', 'read', '--operation', 'write'], env(admin));
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('created 2 ACL bindings');
    const listed = await runStrata(['acls', 'list', '--principal', 'User:dave', '--json', '--broker', broker.url], env(admin));
    expect(JSON.parse(listed.stdout).acls.map((x: Json) => x.operation).sort()).toEqual(['read', 'write']);
    const refused = await runStrata(['acls', 'delete', '--principal', 'User:dave', '--broker', broker.url], env(bob));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('CLUSTER_AUTHORIZATION_FAILED');
    const unfiltered = await runStrata(['acls', 'delete', '--broker', broker.url], env(admin));
    expect(unfiltered.code).not.toBe(0);
    const deleted = await runStrata(['acls', 'delete', '--principal', 'User:dave', '--broker', broker.url], env(admin));
    expect(deleted.stdout).toContain('deleted 2 ACL bindings');
  });

  it('round-trips kafkajs admin createAcls, describeAcls and deleteAcls', async () => {
    const rootAdmin = new Kafka({ clientId: 'root', brokers: [`127.0.0.1:${broker.kafkaPort}`], ssl: { ca: [pki.ca], cert: admin.cert, key: admin.key }, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await rootAdmin.connect();
    try {
      const acl = {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: 'kafka-acl',
        resourcePatternType: ResourcePatternTypes.PREFIXED,
        principal: 'User:carol',
        host: '*',
        operation: AclOperationTypes.WRITE,
        permissionType: AclPermissionTypes.ALLOW,
      };
      expect(await rootAdmin.createAcls({ acl: [acl] })).toBe(true);
      expect((await root.get('/v1/acls', { query: { principal: 'User:carol' } })).body.acls).toEqual([
        { principal: 'User:carol', host: '*', resourceType: 'topic', patternType: 'prefixed', resourceName: 'kafka-acl', operation: 'write', permission: 'allow' },
      ]);
      const described = await rootAdmin.describeAcls({
        resourceType: AclResourceTypes.TOPIC,
        resourceName: 'kafka-acl.orders',
        resourcePatternType: ResourcePatternTypes.MATCH,
        principal: 'User:carol',
        host: '*',
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      });
      expect(described.resources).toEqual([{ resourceType: AclResourceTypes.TOPIC, resourceName: 'kafka-acl', resourcePatternType: ResourcePatternTypes.PREFIXED, acls: [{ principal: 'User:carol', host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.ALLOW }] }]);
      const deleted = await rootAdmin.deleteAcls({ filters: [{ ...acl, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY }] });
      expect(deleted.filterResponses[0]!.matchingAcls).toHaveLength(1);
      expect((await root.get('/v1/acls', { query: { principal: 'User:carol' } })).body.acls).toEqual([]);
    } finally {
      await rootAdmin.disconnect();
    }
  });
});

describe('ACLs through a forwarding broker (2 brokers, mTLS)', () => {
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it('checks a forwarded produce with the client\'s principal where it entered and at the leader; forged forwarding headers gain nothing', async () => {
    cluster = await Cluster.start({ brokers: 0, env: tlsEnv() });
    const tls = { ca: pki.ca, cert: admin.cert, key: admin.key };
    // Each broker its own certificate, CN=<broker id> (bound to its id under mTLS: STRATA_INTERNAL_CERT_BINDING=cn).
    const own = (id: string) => {
      const files = pki.issueServerCert(id);
      return { STRATA_TLS_CERT_FILE: files.certFile, STRATA_TLS_KEY_FILE: files.keyFile };
    };
    const b1 = await cluster.addBroker({ tls, env: own('b1') });
    const b2 = await cluster.addBroker({ tls, env: own('b2') });
    // Both brokers live before the topic exists, and 16 partitions: rendezvous hashing gives b2 none with odds 2^-16.
    await cluster.awaitLive();
    expectOk(await b1.http.post('/v1/topics', { name: 'fwd', partitions: 16, replicationFactor: 1 }), 'create');
    expectOk(await b1.http.post('/v1/acls', { acls: [binding(alice.principal, 'topic', 'fwd', 'write'), binding(alice.principal, 'topic', 'fwd', 'read')] }), 'grant alice');
    // A partition b2 leads, produced through b1: forwarded.
    let partition = -1;
    for (let attempt = 0; attempt < 100 && partition < 0; attempt++) {
      const topic = (await b1.http.get('/v1/topics/fwd')).body;
      partition = (topic.partitions as Array<{ partition: number; leader: string | null }>).find((p) => p.leader === 'b2')?.partition ?? -1;
      if (partition < 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(partition, 'a partition led by b2').toBeGreaterThanOrEqual(0);
    // b1 refreshes within STRATA_ACL_REFRESH_INTERVAL_MS; b2 too: wait until the grant applies on both.
    const aliceOn = (broker: BrokerProcess) => as(broker.url, alice);
    for (let attempt = 0; attempt < 50 && (await aliceOn(b2).get('/v1/topics/fwd')).status !== 200; attempt++) await new Promise((r) => setTimeout(r, 100));
    const produced = await aliceOn(b1).post('/v1/topics/fwd/records', { records: [{ partition, value: 'via-b1' }] });
    // Allowed: the leader checked alice (the forwarding broker's own certificate has no ACL and is no super user).
    expectOk(produced, 'alice through b1');
    expect((await b1.http.get('/metrics')).body).toMatch(/strata_cluster_forwarded_requests_total\{kind="produce"\} [1-9]/);
    // Refused where it entered.
    expectDenied(await as(b1.url, bob).post('/v1/topics/fwd/records', { records: [{ partition, value: 'bob' }] }), 'TOPIC_AUTHORIZATION_FAILED', 'bob through b1');
    await b1.waitForLog(/"audit":"authorization","principal":"User:CN=acl-bob"[^\n]*"resource":"topic:fwd"/);
    // bob claims to be a forward of alice's request, straight to the leader: without b1's broker
    // credential the claim itself is refused (http/origin.ts), nothing is written.
    const forged = await as(b2.url, bob).post('/v1/topics/fwd/records', { records: [{ partition, value: 'forged' }] }, {
      headers: { 'strata-forwarded-by': 'b1', 'strata-forwarded-principal': encodeURIComponent(alice.principal), 'strata-forwarded-host': '127.0.0.1', 'strata-forwarded-proof': 'x'.repeat(43) },
    });
    expect(forged.status, 'forged forward').toBe(401);
    expect(forged.body.error.code, 'forged forward').toBe('BROKER_AUTHENTICATION_FAILED');
    const read = await aliceOn(b2).get(`/v1/topics/fwd/partitions/${partition}/records`, { query: { offset: 0 } });
    expect(read.body.records.map((r: Json) => r.value)).toEqual(['via-b1']);
  });
});

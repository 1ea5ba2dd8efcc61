// Under mTLS a broker's certificate is bound to its broker id (issue #14): a 2-broker cluster whose
// brokers present CN=b1 and CN=b2 (STRATA_INTERNAL_CERT_BINDING's default, cn). A request signed
// with b2's valid credential but sent over a connection presenting b1's certificate (or a client's
// certificate of the same CA) is refused with 401 BROKER_AUTHENTICATION_FAILED, on the internal
// port and as a forward to a public port, audited and counted; with b2's own certificate the same
// request is served, and replication and forwarding between the brokers work as before.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCoordinator } from '@strata/coord';
import { Cluster, expectStatus } from './harness/index.js';
import { clusterPerTest } from './support.js';
import { makePki, type Pki } from './tls/certs.js';

const SECRET = 'strata-test-cluster-secret';
const pki: Pki = makePki();
afterAll(() => pki.remove());

/** A broker credential, computed here from the documented format (security/broker-credentials.ts). */
function credential(brokerId: string, method: string, pathAndQuery: string): string {
  const key = createHmac('sha256', SECRET).update(`strata-broker-key/v1\0${brokerId}`).digest();
  const ms = Date.now();
  const nonce = randomBytes(16).toString('base64url');
  const signature = createHmac('sha256', key).update(`v1\n${method}\n${pathAndQuery}\n${brokerId}\n${ms}\n${nonce}`).digest('base64url');
  return `Strata-Broker ${brokerId}:${ms}:${nonce}:${signature}`;
}

interface Identity {
  cert: Buffer;
  key: Buffer;
}

function identity(name: string): Identity & { certFile: string; keyFile: string } {
  const files = pki.issueServerCert(name);
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), ...files };
}

/** One HTTPS request presenting `who`'s certificate; the status and the body as text. */
function send(url: string, method: string, who: Identity, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca: pki.ca, cert: who.cert, key: who.key, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('internal port under mTLS: a broker certificate speaks only for its broker id', () => {
  const t = clusterPerTest();
  const b1 = identity('b1');
  const b2 = identity('b2');
  const client = { ca: pki.ca, ...pki.client };

  it('refuses a request signed as b2 over b1\'s certificate (internal fetch and forward), serves it over b2\'s, and replication works', async () => {
    const env = { STRATA_TLS_CLIENT_CA_FILE: pki.caFile, STRATA_TLS_CA_FILE: pki.caFile };
    const c = (t.cluster = await Cluster.start({ brokers: 0, env }));
    await c.addBroker({ tls: client, env: { STRATA_TLS_CERT_FILE: b1.certFile, STRATA_TLS_KEY_FILE: b1.keyFile } });
    await c.addBroker({ tls: client, env: { STRATA_TLS_CERT_FILE: b2.certFile, STRATA_TLS_KEY_FILE: b2.keyFile } });
    await c.awaitLive();
    t.coord = await RedisCoordinator.connect({ url: c.redis.url });
    expectStatus(await c.broker('b1').http.post('/v1/topics', { name: 'bound', partitions: 1, replicationFactor: 2, configs: { 'min.insync.replicas': 2 } }), 201, 'create');
    await c.awaitLeaders('bound', 1);

    // Replication (the follower's fetches) and forwarding (the non-leader's produce) over mTLS with bound certificates.
    for (const via of ['b1', 'b2']) {
      let status = 0;
      for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
        status = (await c.broker(via).http.post('/v1/topics/bound/records', { records: [{ value: `through ${via}` }] }, { query: { acks: 'all' } })).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status, `an acks=all produce through ${via}`).toBe(200);
    }

    const state = (await t.coord.getPartitionState('bound', 0))!;
    const leader = state.leader!;
    const brokers = await t.coord.listBrokers();
    const internalOf = (id: string) => brokers.find((b) => b.id === id)!.internalUrl;
    const epochEnd = `/internal/v1/replicas/bound/0/epoch-end?epoch=${state.leaderEpoch}&leaderEpoch=${state.leaderEpoch}`;
    for (const target of ['b1', 'b2']) {
      const url = `${internalOf(target)}${epochEnd}`;
      const refused = await send(url, 'GET', b1, { authorization: credential('b2', 'GET', epochEnd) });
      expect(refused.status, `b2's credential over b1's certificate, at ${target}: ${refused.body}`).toBe(401);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'BROKER_AUTHENTICATION_FAILED' });
      expect(JSON.parse(refused.body).error).toMatch(/certificate of another broker/);
      const stranger = await send(url, 'GET', pki.client, { authorization: credential('b2', 'GET', epochEnd) });
      expect(stranger.status, `b2's credential over a client's certificate, at ${target}`).toBe(401);
      if (target === leader) {
        const served = await send(url, 'GET', b2, { authorization: credential('b2', 'GET', epochEnd) });
        expect(served.status, `b2's credential over b2's certificate: ${served.body}`).toBe(200);
      }
    }

    // A forward to the leader's public port, claimed by b2 over b1's certificate.
    const path = '/v1/topics/bound/records';
    const forged = await send(`${c.broker(leader).url}${path}`, 'POST', b1, { authorization: credential('b2', 'POST', path), 'strata-forwarded-by': 'b2', 'content-type': 'application/json' }, JSON.stringify({ records: [{ value: 'forged' }] }));
    expect(forged.status, forged.body).toBe(401);
    expect(JSON.parse(forged.body).error.code).toBe('BROKER_AUTHENTICATION_FAILED');

    const metrics = String((await c.broker(leader).http.get('/metrics')).body);
    expect(metrics).toMatch(/strata_broker_authentication_failures_total\{reason="certificate of another broker"\} [2-9]/);
    expect(c.broker(leader).logs()).toMatch(/"audit":"authentication","principal":"User:CN=b1".*"outcome":"denied","reason":"certificate of another broker","claimed":"b2"/);
    // Nothing forged was stored: the partition holds the two produced records only.
    const read = await c.broker(leader).http.get('/v1/topics/bound/partitions/0/records', { query: { offset: 0, maxRecords: 100 } });
    expect((read.body.records as Array<{ value: string }>).map((r) => r.value)).toEqual(['through b1', 'through b2']);
  });
});

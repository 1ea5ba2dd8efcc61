// Secrets never appear (issue #14): a broker started with a cluster secret, a TLS key, a Redis URL
// with a password and S3 keys is exercised, error paths included (a failing S3, a bad Redis
// password, bad requests), and every log line, /v1/cluster, /metrics and the OpenAPI document
// are searched for the secret values.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BrokerProcess, CLI_MAIN, RedisServer, S3Server, cleanupAll, expectStatus, tempDir } from './harness/index.js';
import { makePki } from './tls/certs.js';

const CLUSTER_SECRET = 'cl-secret-7f3a9e21c4b8d605';
const PREVIOUS_SECRET = 'cl-previous-5d2e8b7a1c9f3064';
const REDIS_PASSWORD = 'redis-pw-91c7e4a2b8f0';
const S3_SECRET_KEY = 's3-secret-2b9d6f1e8a4c7035';

/** Runs a broker that cannot start and returns everything it printed (bounded in time). */
async function failedStart(env: Record<string, string>, timeoutMs = 20_000): Promise<string> {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
  return output;
}

describe('secrets', () => {
  it('appear in no log line, error, /v1/cluster, /metrics or the OpenAPI document', async () => {
    const pki = makePki();
    // A Redis user with a password (the default user stays open for the harness's own PING).
    const redis = await RedisServer.start({ args: ['--user', 'strata', 'on', `>${REDIS_PASSWORD}`, '~*', '&*', '+@all'] });
    const s3 = await S3Server.start();
    let broker: BrokerProcess | undefined;
    try {
      const redisUrl = `redis://strata:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`;
      const env = {
        ...s3.brokerEnv(),
        // s3rver checks the key id only: any secret key signs, and none may be printed.
        AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
        STRATA_REDIS_URL: redisUrl,
        STRATA_BROKER_ID: 'b1',
        STRATA_CLUSTER_SECRET: CLUSTER_SECRET,
        STRATA_CLUSTER_SECRET_PREVIOUS: PREVIOUS_SECRET,
        STRATA_INTERNAL_PORT: '0',
        STRATA_TLS_CERT_FILE: pki.serverCertFile,
        STRATA_TLS_KEY_FILE: pki.serverKeyFile,
        STRATA_TLS_CA_FILE: pki.caFile,
        STRATA_TIER_INTERVAL_MS: '100',
        STRATA_MIN_SEGMENT_BYTES: '1024',
        STRATA_LOG_LEVEL: 'debug',
      };
      broker = await BrokerProcess.start({ env, tls: { ca: pki.ca }, outputLimitBytes: 8 * 1024 * 1024 });
      const http = broker.http;
      expectStatus(await http.post('/v1/topics', { name: 'orders', partitions: 1, configs: { 'segment.bytes': 1024 } }), 201, 'create');
      const record = { records: [{ value: 'x'.repeat(200) }] };
      for (let i = 0; i < 10; i++) expectStatus(await http.post('/v1/topics/orders/records?acks=all', record), 200, 'produce');
      // Error paths on the API: a bad request, an unknown topic, a forwarded claim without a credential.
      expect((await http.post('/v1/topics', { name: '' })).status).toBe(400);
      expect((await http.get('/v1/topics/nope/partitions/0/records?offset=0')).status).toBe(404);
      const forged = await http.raw('POST', '/v1/topics/orders/partitions/0/batches', { body: Buffer.alloc(0), headers: { 'content-type': 'application/vnd.kafka.record-batch', 'strata-forwarded-by': 'b2', authorization: `Bearer ${CLUSTER_SECRET}` } });
      expect(forged.status).toBe(401);

      // The bucket fails: uploads fail and say so, in the log and in the topic's description.
      await s3.stop();
      for (let i = 0; i < 20; i++) expectStatus(await http.post('/v1/topics/orders/records?acks=1', record), 200, 'produce while S3 is down');
      const failing = await (async () => {
        for (let i = 0; i < 200; i++) {
          const res = await http.get('/v1/topics/orders');
          if (JSON.stringify(res.body).includes('lastUploadError')) return JSON.stringify(res.body);
          await new Promise((r) => setTimeout(r, 100));
        }
        return null;
      })();
      expect(failing, 'the upload failure is reported').not.toBeNull();
      await s3.restart();

      const answers = [
        JSON.stringify((await http.get('/v1/cluster')).body),
        JSON.stringify((await http.get('/v1/topics/orders')).body),
        JSON.stringify((await http.get('/v1/openapi.json')).body),
        (await http.raw('GET', '/metrics')).body.toString('utf8'),
        failing!,
        forged.body.toString('utf8'),
      ];
      // A second broker with a wrong Redis password: it fails to start, and says why without either password.
      const wrongPassword = 'wrong-redis-pw-3e8c1a';
      const refused = await failedStart({ ...env, STRATA_REDIS_URL: `redis://strata:${wrongPassword}@127.0.0.1:${redis.port}`, STRATA_BROKER_ID: 'b2', STRATA_HTTP_PORT: '0', STRATA_DATA_DIR: tempDir() });
      expect(refused).toMatch(/WRONGPASS|NOAUTH|auth/i);

      const logs = broker.logs() + redis.logs() + refused;
      for (const [name, secret] of Object.entries({ CLUSTER_SECRET, PREVIOUS_SECRET, REDIS_PASSWORD, S3_SECRET_KEY, wrongPassword, TLS_KEY_FILE: pki.serverKeyFile })) {
        // The offending line, when there is one, is what the failure shows.
        expect(logs.split('\n').find((line) => line.includes(secret)), `${name} in the logs`).toBeUndefined();
        for (const answer of answers) expect(answer.includes(secret) ? answer.slice(Math.max(0, answer.indexOf(secret) - 300), answer.indexOf(secret) + 100) : undefined, `${name} in an answer`).toBeUndefined();
      }
      // The key file's contents neither.
      expect(logs).not.toContain('PRIVATE KEY');
    } finally {
      await broker?.stop();
      await s3.stop();
      await redis.stop();
      pki.remove();
      cleanupAll();
    }
  }, 120_000);
});

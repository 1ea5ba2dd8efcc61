// docker-compose.tls.yml (issue #14: a docker-compose variant with TLS on). There is no Docker
// engine in CI, so the file is checked as far as processes can: its structure (an override of
// docker-compose.yml whose every service exists there, every /certs file made by
// infra/tls/make-certs.sh), then the same settings run as processes: Redis with the compose
// file's TLS arguments, three brokers with each service's merged environment (service names and
// paths mapped to loopback and the generated directory). curl with the CA works, plaintext is
// refused, and an acks=all produce through a broker that forwards it is read back.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { BrokerProcess, REPO_ROOT, RedisServer, S3Server, cleanupAll, freePort, freePorts, tempDir } from './harness/index.js';

const run = promisify(execFile);
type Service = { environment?: Record<string, string>; command?: string[]; volumes?: string[]; healthcheck?: { test: string[] } };
type Compose = { services: Record<string, Service>; 'x-strata-env'?: Record<string, string> };

const load = (name: string): Compose => yaml.load(readFileSync(join(REPO_ROOT, name), 'utf8')) as Compose;

describe('docker-compose.tls.yml', () => {
  it('overrides only services of docker-compose.yml, and every file it names is made by make-certs.sh', async () => {
    const base = load('docker-compose.yml');
    const tls = load('docker-compose.tls.yml');
    for (const name of Object.keys(tls.services)) expect(Object.keys(base.services), name).toContain(name);
    const dir = tempDir('strata-compose-certs-');
    await run('sh', [join(REPO_ROOT, 'infra/tls/make-certs.sh'), dir, '3']);
    const text = readFileSync(join(REPO_ROOT, 'docker-compose.tls.yml'), 'utf8') + readFileSync(join(REPO_ROOT, 'infra/haproxy-tls.cfg'), 'utf8');
    const named = new Set([...text.matchAll(/\/certs\/([A-Za-z0-9._-]+)/g)].map((m) => m[1]!));
    expect(named.size).toBeGreaterThan(5);
    for (const file of named) expect(existsSync(join(dir, file)), `/certs/${file}`).toBe(true);
    for (const file of ['strata-1.crt', 'strata-2.crt', 'strata-3.crt', 'redis.crt', 'haproxy.crt']) {
      const { stdout } = await run('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, file)]);
      expect(stdout).toContain(': OK');
    }
    // Each broker's certificate names its service (the advertised URL's host).
    const { stdout } = await run('openssl', ['x509', '-in', join(dir, 'strata-2.crt'), '-noout', '-ext', 'subjectAltName']);
    expect(stdout).toContain('DNS:strata-2');
    for (const id of [1, 2, 3]) {
      const env = tls.services[`strata-${id}`]!.environment!;
      expect(env['STRATA_ADVERTISED_URL']).toBe(`https://strata-${id}:8080`);
      expect(env['STRATA_TLS_CERT_FILE']).toBe(`/certs/strata-${id}.crt`);
    }
  });

  it('runs as processes: Redis over TLS, three TLS brokers, curl with the CA, plaintext refused', async () => {
    const base = load('docker-compose.yml');
    const tls = load('docker-compose.tls.yml');
    const dir = tempDir('strata-compose-run-');
    await run('sh', [join(REPO_ROOT, 'infra/tls/make-certs.sh'), dir, '3']);
    const certs = (value: string): string => value.replaceAll('/certs/', `${dir}/`);

    // Redis with the compose file's arguments (its plaintext port 0: TLS only), on a free port.
    const redisArgs = tls.services['redis']!.command!.slice(1).map(certs);
    const tlsPortAt = redisArgs.indexOf('--tls-port');
    const redisPort = await freePort();
    redisArgs[tlsPortAt + 1] = String(redisPort);
    // The harness pings a plaintext port: it gets its own, and the brokers only the TLS one.
    const redis = await RedisServer.start({ args: redisArgs.filter((_, i) => i !== redisArgs.indexOf('--port') && i !== redisArgs.indexOf('--port') + 1) });
    const s3 = await S3Server.start();
    const ports = await freePorts(3);
    const brokers: BrokerProcess[] = [];
    try {
      const mapHosts = (value: string): string =>
        certs(value)
          .replace('rediss://redis:6379', `rediss://127.0.0.1:${redisPort}`)
          .replace(/https:\/\/strata-(\d):8080/, (_, n: string) => `https://127.0.0.1:${ports[Number(n) - 1]}`);
      for (const id of [1, 2, 3]) {
        const env: Record<string, string> = {};
        // The merged environment, as compose builds it: base anchor, base service, the TLS override.
        for (const layer of [base['x-strata-env'] ?? {}, base.services[`strata-${id}`]!.environment ?? {}, tls.services[`strata-${id}`]!.environment ?? {}]) {
          for (const [k, v] of Object.entries(layer)) if (k !== '<<') env[k] = mapHosts(String(v));
        }
        delete env['STRATA_HTTP_PORT'];
        delete env['STRATA_DATA_DIR'];
        brokers.push(
          await BrokerProcess.start({
            port: ports[id - 1]!,
            tls: { ca: readFileSync(join(dir, 'ca.crt')) },
            env: { ...env, ...s3.brokerEnv(), STRATA_INTERNAL_PORT: '0', STRATA_LEASE_TTL_MS: '2000', STRATA_SESSION_TTL_MS: '2000', STRATA_CLUSTER_TICK_MS: '100' },
          }),
        );
      }
      const url = (i: number, path: string): string => `https://127.0.0.1:${ports[i]}${path}`;
      const curl = async (args: string[]): Promise<string> => (await run('curl', ['-sS', '--max-time', '10', '--cacert', join(dir, 'ca.crt'), ...args])).stdout;
      for (let round = 0; ; round++) {
        const cluster = JSON.parse(await curl([url(0, '/v1/cluster')])) as { brokers: Array<{ live: boolean }> };
        if (cluster.brokers.filter((b) => b.live).length === 3) break;
        if (round > 200) throw new Error('three live brokers did not show');
        await new Promise((r) => setTimeout(r, 100));
      }
      await expect(run('curl', ['-sS', '--max-time', '5', `http://127.0.0.1:${ports[0]}/v1/cluster`]), 'plaintext HTTP').rejects.toThrow();
      await expect(run('curl', ['-sS', '--max-time', '5', url(0, '/v1/cluster')]), 'without the CA').rejects.toThrow();

      expect(await curl(['-X', 'POST', '-H', 'content-type: application/json', '--data', '{"name":"tls","partitions":1,"replicationFactor":3,"configs":{"min.insync.replicas":2}}', url(0, '/v1/topics')])).toContain('"name":"tls"');
      // acks=all through each broker: two of them forward to the leader, all replicate over TLS with their credentials.
      for (let i = 0; i < 3; i++) {
        let answer = '';
        for (let attempt = 0; attempt < 100 && !answer.includes('"offsets"'); attempt++) {
          answer = await curl(['-X', 'POST', '-H', 'content-type: application/json', '--data', `{"records":[{"value":"via-${i}"}]}`, url(i, '/v1/topics/tls/records?acks=all')]);
          if (!answer.includes('"offsets"')) await new Promise((r) => setTimeout(r, 100));
        }
        expect(answer).toContain('"offsets"');
        expect(answer).not.toContain('"error"');
      }
      const read = JSON.parse(await curl([url(2, '/v1/topics/tls/partitions/0/records?offset=0')])) as { records: Array<{ value: string }> };
      expect(read.records.map((r) => r.value)).toEqual(['via-0', 'via-1', 'via-2']);
      for (const b of brokers) expect(b.logs()).not.toContain('internal request refused');
    } finally {
      for (const b of brokers) await b.stop();
      await s3.stop();
      await redis.stop();
      cleanupAll();
    }
  }, 180_000);
});

// Browsers (issue #14): a page on another origin could create topics, produce and reset offsets
// with `Content-Type: text/plain` posts (a "simple" request: no CORS preflight). Now JSON bodies
// must be application/json (415 otherwise), a state-changing request with a foreign Origin is
// refused (403 ORIGIN_NOT_ALLOWED) unless STRATA_CORS_ORIGINS names it, and preflights are
// answered only for those origins. The console (same origin) keeps working: test/src/console/.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@strata/broker';
import { BrokerProcess, cleanupAll, expectStatus } from './harness/index.js';

const run = promisify(execFile);
const ALLOWED = 'https://app.example.com';
const FOREIGN = 'https://evil.example.net';
const JSON_TYPE = { 'content-type': 'application/json' };

describe('requests from browsers', () => {
  let broker: BrokerProcess;
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    broker.http.raw('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  const code = (answer: { body: Buffer }): string => (JSON.parse(answer.body.toString('utf8')) as { error: { code: string } }).error.code;
  const topics = async (): Promise<string[]> => ((await broker.http.get('/v1/topics')).body.topics as Array<{ name: string }>).map((t) => t.name);

  beforeAll(async () => {
    broker = await BrokerProcess.start({ env: { STRATA_CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` } });
    expectStatus(await broker.http.post('/v1/topics', { name: 'orders', partitions: 1 }), 201, 'create orders');
  }, 60_000);
  afterAll(async () => {
    await broker?.stop();
    cleanupAll();
  });

  it('refuses JSON bodies of any type but application/json (415), and changes nothing', async () => {
    const types: Array<Record<string, string>> = [{ 'content-type': 'text/plain' }, { 'content-type': 'text/plain;charset=UTF-8' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'multipart/form-data; boundary=x' }, {}];
    for (const headers of types) {
      const created = await post('/v1/topics', { name: 'by-text-plain', partitions: 1 }, headers);
      expect(created.status, JSON.stringify(headers)).toBe(415);
      expect(code(created)).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect((await post('/v1/topics/orders/records', { records: [{ value: 'x' }] }, headers)).status).toBe(415);
      expect((await post('/v1/groups/g1/offsets/reset', { to: 'earliest' }, headers)).status).toBe(415);
    }
    expect(await topics()).toEqual(['orders']);
    expect((await broker.http.get('/v1/topics/orders/partitions/0/offsets?at=latest')).body.offset).toBe(0);
    // With charset, application/json is fine.
    expectStatus(await post('/v1/topics/orders/records', { records: [{ value: 'ok' }] }, { 'content-type': 'application/json; charset=utf-8' }), 200, 'produce');
  });

  it('refuses state changes from a foreign Origin (403), whatever the body, and lets reads through without CORS headers', async () => {
    for (const origin of [FOREIGN, 'null', 'http://127.0.0.1:1']) {
      const headers = { ...JSON_TYPE, origin };
      const created = await post('/v1/topics', { name: 'by-foreign-page', partitions: 1 }, headers);
      expect(created.status, origin).toBe(403);
      expect(code(created)).toBe('ORIGIN_NOT_ALLOWED');
      expect(created.headers['access-control-allow-origin']).toBeUndefined();
      expect((await post('/v1/topics/orders/records', { records: [{ value: 'x' }] }, headers)).status).toBe(403);
      expect((await post('/v1/groups/g1/offsets/reset', { to: 'earliest' }, headers)).status).toBe(403);
      expect((await broker.http.raw('DELETE', '/v1/topics/orders', { headers: { origin } })).status).toBe(403);
      expect((await broker.http.raw('PATCH', '/v1/topics/orders/configs', { body: '{"retention.ms":1000}', headers })).status).toBe(403);
    }
    expect(await topics()).toEqual(['orders']);
    const read = await broker.http.raw('GET', '/v1/topics', { headers: { origin: FOREIGN } });
    expect(read.status).toBe(200);
    expect(read.headers['access-control-allow-origin'], 'a foreign page cannot read the answer').toBeUndefined();
  });

  it('lets the same origin (the console) and configured origins change state, with CORS headers for the latter', async () => {
    expectStatus(await post('/v1/topics', { name: 'from-console', partitions: 1 }, { ...JSON_TYPE, origin: broker.url }), 201, 'same origin');
    const fromApp = await post('/v1/topics', { name: 'from-app', partitions: 1 }, { ...JSON_TYPE, origin: ALLOWED });
    expectStatus(fromApp, 201, 'configured origin');
    expect(fromApp.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(fromApp.headers.vary).toContain('Origin');
    expect((await topics()).sort()).toEqual(['from-app', 'from-console', 'orders']);
  });

  it('answers CORS preflights only for configured origins (curl)', async () => {
    const preflight = async (origin: string): Promise<{ status: number; headers: string }> => {
      const { stdout } = await run('curl', ['-s', '-i', '-X', 'OPTIONS', '-H', `Origin: ${origin}`, '-H', 'Access-Control-Request-Method: POST', '-H', 'Access-Control-Request-Headers: content-type', `${broker.url}/v1/topics`]);
      const [head] = stdout.split('\r\n\r\n');
      return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head!)?.[1]), headers: head!.toLowerCase() };
    };
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.status).toBe(204);
    expect(allowed.headers).toContain('access-control-allow-origin: http://localhost:5173');
    expect(allowed.headers).toMatch(/access-control-allow-methods: [^\r\n]*post/);
    expect(allowed.headers).toMatch(/access-control-allow-headers: [^\r\n]*content-type/);
    const foreign = await preflight(FOREIGN);
    expect(foreign.status).toBe(403);
    expect(foreign.headers).not.toContain('access-control-allow-origin');
    // The text/plain way around a preflight, with curl as a browser would send it: refused, nothing created.
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', `Origin: ${FOREIGN}`, '-H', 'Content-Type: text/plain', '--data', '{"name":"csrf","partitions":1}', `${broker.url}/v1/topics`]);
    expect(stdout).toBe('403');
    expect(await topics()).not.toContain('csrf');
  });
});

describe('STRATA_CORS_ORIGINS', () => {
  it('refuses a wildcard or anything that is not an origin at start', () => {
    for (const value of ['*', 'https://app.example.com/path', 'app.example.com', 'ftp://x.example']) {
      expect(() => loadConfig({ STRATA_CORS_ORIGINS: value }, []), value).toThrow(/STRATA_CORS_ORIGINS/);
    }
    expect(loadConfig({ STRATA_CORS_ORIGINS: 'https://a.example, http://localhost:5173' }, []).corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
  });
});

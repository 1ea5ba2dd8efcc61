// The console's static files: served from memory by exact name, with types and caching; a missing,
// oversized or turned-off build answers /console with why, and never stops the broker.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { ConsoleAssets } from '../src/http/console-assets.js';

const logger = createLogger({ level: 'silent' });
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function buildDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'console-assets-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function serve(assets: ConsoleAssets): Promise<string> {
  const server: Server = createServer((req, res) => {
    if (!assets.serve(req, res)) {
      res.writeHead(299);
      res.end('api');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function get(host: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const [hostname, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the console assets', () => {
  const built = { 'index.html': '<!doctype html><title>x</title>', 'assets/index-abc123.js': 'console.log(1)', 'assets/index-abc123.css': 'body{}' };

  it('serves index.html at /console and /console/, hashed assets as immutable, and leaves other paths to the API', async () => {
    const host = await serve(await ConsoleAssets.load({ dir: buildDir(built), assetsBytesMax: 1 << 20 }, logger));
    for (const path of ['/console', '/console/', '/console/?x=1']) {
      const page = await get(host, path);
      expect(page.status, path).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-cache');
    }
    const js = await get(host, '/console/assets/index-abc123.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get(host, '/console/assets/index-abc123.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const head = await get(host, '/console/', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get(host, '/console/', 'GET', { 'If-None-Match': String(head.headers.etag) })).status).toBe(304);
    expect((await get(host, '/consoles')).status).toBe(299);
    expect((await get(host, '/v1/topics')).status).toBe(299);
  });

  it('answers 404 to any path that is not one of its files (no traversal) and 405 to other methods', async () => {
    const dir = buildDir(built);
    writeFileSync(join(dir, '..', 'secret.txt'), 'secret');
    cleanups.push(() => rmSync(join(dir, '..', 'secret.txt'), { force: true }));
    const host = await serve(await ConsoleAssets.load({ dir, assetsBytesMax: 1 << 20 }, logger));
    for (const path of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/assets/../../secret.txt', '/console//assets/index-abc123.js', '/console/assets%2findex-abc123.js', '/console/nope']) {
      const answer = await get(host, path);
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.body).error.code).toBe('NOT_FOUND');
    }
    const post = await get(host, '/console/', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('says why there is no console: not built, too large, or turned off', async () => {
    const cases: Array<[ConsoleAssets, RegExp]> = [
      [await ConsoleAssets.load({ dir: join(tmpdir(), 'no-such-console-dir'), assetsBytesMax: 1 << 20 }, logger), /not built/],
      [await ConsoleAssets.load({ dir: buildDir({ 'index.html': 'x'.repeat(2048) }), assetsBytesMax: 1024 }, logger), /STRATA_CONSOLE_ASSETS_BYTES_MAX/],
      [await ConsoleAssets.load({ dir: buildDir({ 'other.html': 'x' }), assetsBytesMax: 1024 }, logger), /no index.html/],
      [await ConsoleAssets.load({ dir: null, assetsBytesMax: 1024 }, logger), /turned off/],
    ];
    for (const [assets, why] of cases) {
      const answer = await get(await serve(assets), '/console/');
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body).error.message).toMatch(why);
    }
  });
});

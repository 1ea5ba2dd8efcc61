/**
 * Issue #15: @strata/client was private and depended on unpublished workspace packages. Packs
 * @strata/protocol, @strata/api and @strata/client with `pnpm pack` (workspace: specifiers
 * rewritten, publishConfig.exports without the `source` condition), unpacks them into an empty
 * project as an install would, and runs an ESM program that imports the client and produces and
 * fetches against a real broker.
 *
 * Why unpacked, not `npm install --offline`: neither npm's cache nor pnpm's metadata cache holds
 * the registry metadata of our third-party dependencies (undici, ...) on a machine without
 * registry access, so an offline install cannot resolve them. The third-party packages are linked
 * from the workspace's pnpm store instead (their exact files, as pnpm installed them); ours come
 * only from the tarballs, so a missing file, a bad `exports` or a `workspace:` left in a
 * dependency fails here.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, realpathSync, existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir, type BrokerProcess } from './harness/index.js';
import { brokerLifecycle } from './support.js';

const run = promisify(execFile);
const PUBLISHED = ['protocol', 'api', 'client'] as const;

interface PackedManifest {
  name: string;
  version: string;
  private?: boolean;
  type?: string;
  exports: Record<string, Record<string, string>>;
  dependencies?: Record<string, string>;
}

const SMOKE = `
import { Admin, Fetcher, Producer, StrataError } from '@strata/client';
const brokers = process.argv[2];
const admin = new Admin({ brokers });
const producer = new Producer({ brokers, lingerMs: 0 });
const fetcher = new Fetcher({ brokers });
await admin.createTopic({ name: 'packaged', partitions: 1 });
const sent = [];
for (const value of ['a', 'b', 'c']) sent.push((await producer.send({ topic: 'packaged', key: 'k', value })).offset);
const reader = fetcher.reader('packaged', 0, { from: 'earliest' });
const got = [];
while (got.length < 3) for (const r of await reader.poll()) got.push(r.value.toString());
reader.close();
await Promise.all([producer.close(), admin.close(), fetcher.close()]);
console.log(JSON.stringify({ sent, got, strataError: typeof StrataError }));
`;

describe('the published client package', () => {
  const startBroker = brokerLifecycle();
  let broker: BrokerProcess;
  let project: string;
  const manifests = new Map<string, PackedManifest>();

  beforeAll(async () => {
    broker = await startBroker();
    project = tempDir('strata-client-package-');
    const tarballs = join(project, 'tarballs');
    mkdirSync(tarballs);
    for (const name of PUBLISHED) {
      await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(REPO_ROOT, 'packages', name) });
      const tarball = readdirSync(tarballs).find((f) => f.startsWith(`strata-${name}-`))!;
      const into = join(project, 'node_modules', '@strata', name);
      mkdirSync(into, { recursive: true });
      await run('tar', ['-xzf', join(tarballs, tarball), '-C', into, '--strip-components=1']);
      const manifest = JSON.parse(readFileSync(join(into, 'package.json'), 'utf8')) as PackedManifest;
      manifests.set(name, manifest);
      for (const dep of Object.keys(manifest.dependencies ?? {})) {
        if (dep.startsWith('@strata/')) continue;
        const link = join(project, 'node_modules', dep);
        if (existsSync(link)) continue;
        mkdirSync(dirname(link), { recursive: true });
        symlinkSync(realpathSync(join(REPO_ROOT, 'packages', name, 'node_modules', dep)), link, 'dir');
      }
    }
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'smoke', private: true, type: 'module' }));
    writeFileSync(join(project, 'smoke.mjs'), SMOKE);
  }, 120_000);

  it('packs each package publishable: a version, no private flag, exports with types, no workspace: dependency', () => {
    for (const name of PUBLISHED) {
      const m = manifests.get(name)!;
      const dir = join(project, 'node_modules', '@strata', name);
      expect(m.name).toBe(`@strata/${name}`);
      expect(m.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(m.private, name).toBeUndefined();
      expect(m.type).toBe('module');
      expect(m.exports['.'], name).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
      for (const file of ['dist/index.js', 'dist/index.d.ts', 'README.md']) expect(existsSync(join(dir, file)), `${name}: ${file}`).toBe(true);
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
        expect(range, `${name} -> ${dep}`).not.toMatch(/^workspace:/);
        if (dep.startsWith('@strata/')) expect(range).toBe(manifests.get(dep.slice('@strata/'.length))?.version ?? range);
      }
    }
    expect(Object.keys(manifests.get('client')!.dependencies!)).toEqual(expect.arrayContaining(['@strata/protocol', '@strata/api']));
  });

  it('an ESM program importing @strata/client produces and fetches against a broker', async () => {
    const { stdout } = await run(process.execPath, ['smoke.mjs', broker.url], { cwd: project, timeout: 60_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ sent: [0, 1, 2], got: ['a', 'b', 'c'], strataError: 'function' });
  });
});

/* global process, console, fetch, setTimeout, performance */
// A manual run of the web console at scale (issue #17: 1,000 topics, 10,000 partitions on one
// node): too slow to create for CI (see docs/console/README.md for the figures), so run by hand:
//
//   pnpm build && node test/scripts/console-scale.mjs [topics=1000] [partitions=10000] [dataRoot=/dev/shm]
//
// One broker from services/cli/dist; topics t0000.. with the partitions spread evenly except one
// topic `big` of 1,000; then Debian's chromium (playwright-core) opens each view and the time until
// it shows its content is printed, with the answer sizes of the API calls behind it.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const TOPICS = Number(process.argv[2] ?? 1000);
const PARTITIONS = Number(process.argv[3] ?? 10_000);
const BIG = Math.min(1000, PARTITIONS - (TOPICS - 1));
const root = mkdtempSync(join(process.argv[4] ?? tmpdir(), 'strata-console-scale-'));
const port = 20_000 + Math.floor(Math.random() * 10_000);
const base = `http://127.0.0.1:${port}`;
const log = (what) => console.log(JSON.stringify({ at: new Date().toISOString(), ...what }));

const broker = spawn(process.execPath, ['services/cli/dist/main.js', 'serve'], {
  env: { ...process.env, STRATA_HTTP_PORT: String(port), STRATA_KAFKA_PORT: '0', STRATA_HOST: '127.0.0.1', STRATA_DATA_DIR: join(root, 'data'), STRATA_OBJECTS_DIR: join(root, 'objects'), STRATA_LOG_LEVEL: 'error' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const started = Date.now();
  // A kept-alive connection the broker just closed resets the next request on it: tried again
  // (a create that did land answers 409, which is as good).
  const create = async (name, partitions) => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${base}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions }) }).catch((e) => {
        if (attempt >= 5) throw e;
        return null;
      });
      if (res === null) continue;
      if (res.status === 201 || (attempt > 1 && res.status === 409)) return;
      throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
    }
  };
  await create('big', BIG);
  log({ created: 'big', partitions: BIG, ms: Date.now() - started });
  const rest = PARTITIONS - BIG;
  let next = 0;
  const worker = async () => {
    while (next < TOPICS - 1) {
      const i = next++;
      const partitions = Math.floor(rest / (TOPICS - 1)) + (i < rest % (TOPICS - 1) ? 1 : 0);
      await create(`t${String(i).padStart(4, '0')}`, partitions);
      if ((i + 1) % 100 === 0) log({ created: i + 2, ms: Date.now() - started });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  log({ topics: TOPICS, partitions: PARTITIONS, createMs: Date.now() - started, fds: readdirSync(`/proc/${broker.pid}/fd`).length });
  for (const path of ['/v1/topics', '/v1/cluster', '/v1/topics/big', '/v1/groups', '/v1/events?limit=1000', '/metrics']) {
    const t = performance.now();
    const res = await fetch(base + path);
    const body = await res.text();
    log({ path, status: res.status, bytes: body.length, ms: Math.round(performance.now() - t) });
  }
  const browser = await chromium.launch({ executablePath: process.env.STRATA_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(120_000);
  let requests = 0;
  page.on('request', () => requests++);
  const view = async (name, hash, ready) => {
    requests = 0;
    const t = performance.now();
    await page.goto(`${base}/console/#/${hash}`);
    await ready();
    log({ view: name, loadMs: Math.round(performance.now() - t), requests });
  };
  await view('overview', 'overview', () => page.locator('.stat-value').getByText(String(PARTITIONS), { exact: true }).waitFor());
  await view('topics', 'topics', () => page.getByText(`page 1 of ${Math.ceil(TOPICS / 50)}`).waitFor());
  const last = `t${String(TOPICS - 2).padStart(4, '0')}`;
  await view('topics search', `topics?q=${last}`, () => page.getByRole('table', { name: 'Topics' }).getByText(last).waitFor());
  await view(`topic of ${BIG} partitions`, 'topics/big', () => page.getByText(`page 1 of ${Math.ceil(BIG / 100)}`).waitFor());
  await view('groups', 'groups', () => page.getByText('No consumer groups yet').waitFor());
  await view('events', 'events', () => page.getByRole('table', { name: 'Events' }).waitFor());
  // Ten seconds on the Overview: what it asks for while it stays open.
  requests = 0;
  await page.goto(`${base}/console/#/overview`);
  await new Promise((r) => setTimeout(r, 10_000));
  log({ view: 'overview, open 10 s', requests });
  await browser.close();
} finally {
  broker.kill('SIGTERM');
  await new Promise((r) => broker.on('exit', r));
  rmSync(root, { recursive: true, force: true });
}

// The web console in a real browser (Debian's chromium through playwright-core) against a real
// broker process: every view opens, a topic is created and a record produced from the console and
// found in the message browser, a group's lag goes up and down and its offsets are reset; bad
// input shows the API's own error and changes nothing. Screenshots land in test-artifacts/console.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { BrokerProcess, cleanupAll, expectStatus, type Json } from '../harness/index.js';
import { CHROMIUM_PATH, launch, NO_CHROMIUM_MESSAGE, openPage, screenshot } from './browser.js';

if (CHROMIUM_PATH === undefined) console.warn(NO_CHROMIUM_MESSAGE);

describe.skipIf(CHROMIUM_PATH === undefined)('the web console on one broker', () => {
  let broker: BrokerProcess;
  let browser: Browser;
  let page: Page;
  const console_ = (hash: string) => `${broker.url}/console/#/${hash}`;
  const topicNames = async (): Promise<string[]> =>
    ((await expectStatus(await broker.http.get('/v1/topics'), 200, 'list topics')).body as Json).topics.map((t: { name: string }) => t.name);

  beforeAll(async () => {
    // Small segments (the tests' escape hatch): a page of records spans several.
    [broker, browser] = await Promise.all([BrokerProcess.start({ env: { STRATA_MIN_SEGMENT_BYTES: '1024' } }), launch()]);
    page = await openPage(browser);
  });
  afterAll(async () => {
    await browser?.close();
    if (broker?.running) await broker.stop();
    cleanupAll();
  });

  it('is served at /console with the right types and caching, and refuses paths outside its files', async () => {
    const index = await fetch(`${broker.url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${broker.url}${script}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const etag = index.headers.get('etag')!;
    expect((await fetch(`${broker.url}/console/`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    for (const path of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/assets/../../package.json', '/console//etc/passwd']) {
      // fetch() would normalise the dots away: send the path as written.
      const answer = await rawGet(broker.url, path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).toContain('NOT_FOUND');
    }
  });

  it('shows the overview with the broker and live charts', async () => {
    await page.goto(console_('overview'));
    await page.locator('tr[data-broker="0"]').getByText('live').waitFor();
    await page.getByText('controller', { exact: true }).first().waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await screenshot(page, 'overview');
    // Keyboard: the first Tab reaches the skip link, the next ones the views.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/topics$/);
  });

  it('creates a topic from the console, edits a config and refuses bad input with the API\'s message', async () => {
    await page.goto(console_('topics'));
    await page.getByText('No topics yet').waitFor();
    const form = page.getByRole('form', { name: 'Create a topic' });

    await form.locator('input[name="topic-name"]').fill('../evil');
    await form.getByRole('button', { name: 'Create topic' }).click();
    await form.getByRole('alert').getByText('INVALID_TOPIC').waitFor();
    await form.locator('input[name="topic-name"]').fill('huge');
    await form.locator('input[name="topic-partitions"]').fill('100000000');
    await form.getByRole('button', { name: 'Create topic' }).click();
    await form.getByRole('alert').getByText('INVALID_PARTITIONS').waitFor();
    await screenshot(page, 'topics-bad-input');
    expect(await topicNames()).toEqual([]);

    await form.locator('input[name="topic-name"]').fill('console-orders');
    await form.locator('input[name="topic-partitions"]').fill('2');
    await form.getByRole('button', { name: 'Create topic' }).click();
    await page.waitForURL(/#\/topics\/console-orders$/);
    await expect.poll(() => page.getByRole('table', { name: 'Partitions' }).locator('tbody tr').count()).toBe(2);
    expect(await topicNames()).toEqual(['console-orders']);

    const configForm = page.getByRole('form', { name: 'Set a config' });
    await configForm.locator('input[name="config-key"]').fill('retention.ms');
    await configForm.locator('input[name="config-value"]').fill('not-a-number');
    await configForm.getByRole('button', { name: 'Save config' }).click();
    await configForm.getByRole('alert').getByText('INVALID_CONFIG').waitFor();
    await configForm.locator('input[name="config-value"]').fill('3600000');
    await configForm.getByRole('button', { name: 'Save config' }).click();
    await configForm.getByRole('status').getByText('retention.ms set').waitFor();
    const described = (await broker.http.get('/v1/topics/console-orders')).body as Json;
    expect(described.configOverrides).toEqual({ 'retention.ms': 3600000 });
    await page.getByRole('img', { name: /partition 0: offsets/ }).waitFor();
    await screenshot(page, 'topic');

    await page.goto(console_('topics?q=orders'));
    await page.getByRole('table', { name: 'Topics' }).getByText('console-orders').waitFor();

    // Paged: 52 topics are two pages of 50.
    const names = Array.from({ length: 51 }, (_, i) => `paged-${String(i).padStart(2, '0')}`);
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(names.slice(i, i + 8).map(async (name) => expectStatus(await broker.http.post('/v1/topics', { name }), 201, 'create')));
    }
    await page.goto(console_('topics'));
    await page.getByText('page 1 of 2').waitFor();
    expect(await page.getByRole('table', { name: 'Topics' }).locator('tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('page 2 of 2').waitFor();
    await page.getByRole('table', { name: 'Topics' }).getByText('paged-50').waitFor();
    expect(await page.getByRole('table', { name: 'Topics' }).locator('tbody tr').count()).toBe(2);
  });

  it('produces a record from the console and finds it in the message browser, as text, JSON and hex', async () => {
    await page.goto(console_('messages/console-orders/1'));
    const form = page.getByRole('form', { name: 'Produce a test record' });
    await form.locator('input[name="produce-key"]').fill('customer-7');
    await form.locator('textarea[name="produce-value"]').fill('{"total":12,"items":["tea"]}');
    await form.locator('textarea[name="produce-headers"]').fill('source=console');
    await form.getByRole('button', { name: /Produce/ }).click();
    await form.getByRole('status').getByText('written at partition 1, offset 0').waitFor();

    const row = page.locator('tr[data-offset="0"]').first();
    await row.getByText('customer-7').waitFor();
    await row.getByText('source').waitFor();
    await page.getByRole('combobox').filter({ hasText: 'hex' }).selectOption('json');
    await page.waitForURL(/fmt=json/);
    expect(await row.locator('pre.value').textContent()).toBe('{\n  "total": 12,\n  "items": [\n    "tea"\n  ]\n}');
    await screenshot(page, 'messages');
    await page.getByRole('combobox').filter({ hasText: 'hex' }).selectOption('hex');
    await row.locator('pre.value').getByText(/^7b 22 74 6f/).waitFor();

    // The live tail shows a record produced while it runs.
    await page.getByLabel(/Live tail/).check();
    await page.getByText('Waiting for new records').waitFor();
    await expectStatus(await broker.http.post('/v1/topics/console-orders/records', { records: [{ value: 'tailed', partition: 1 }] }), 200, 'produce');
    await page.locator('.card').filter({ hasText: 'Live tail' }).locator('tr[data-offset="1"]').waitFor();
    await page.getByLabel(/Live tail/).uncheck();

    // From a timestamp: the first record at or after it.
    await page.goto(console_('messages/console-orders/1?from=timestamp&at=0'));
    await page.locator('tr[data-offset="0"]').getByText('customer-7').waitFor();

    // Regression: a page spanning several segments is filled (one fetch stops at a segment's end;
    // the newest-first page showed 5 records of 50).
    await expectStatus(await broker.http.post('/v1/topics', { name: 'segmented', configs: { 'segment.bytes': 1024 } }), 201, 'create');
    for (let i = 0; i < 12; i++) {
      const records = Array.from({ length: 5 }, (_, j) => ({ value: `record ${i * 5 + j} ${'x'.repeat(100)}` }));
      await expectStatus(await broker.http.post('/v1/topics/segmented/records', { records }), 200, 'produce');
    }
    await page.goto(console_('messages/segmented/0?order=newest'));
    const rows = page.getByRole('table', { name: 'Records' }).first().locator('tbody tr');
    await page.getByText('showing 50 records').waitFor();
    expect(await rows.first().getAttribute('data-offset')).toBe('59');
    expect(await rows.last().getAttribute('data-offset')).toBe('10');

    // An offset past the end: the API's error, and the partition is unchanged.
    await page.goto(console_('messages/console-orders/1?from=offset&at=999'));
    await page.getByRole('alert').getByText('OFFSET_OUT_OF_RANGE').waitFor();
    const hw = ((await broker.http.get('/v1/topics/console-orders/partitions/1/offsets?at=latest')).body as Json).offset;
    expect(hw).toBe(2);
  });

  it('shows a group\'s lag going up and down, and resets its offsets after a confirmation', async () => {
    const commit = async (offset: number) =>
      expectStatus(await broker.http.post('/v1/groups/billing/offsets', { offsets: [{ topic: 'console-orders', partition: 0, offset }] }), 200, 'commit');
    const produce = async (n: number) =>
      expectStatus(await broker.http.post('/v1/topics/console-orders/records', { records: Array.from({ length: n }, (_, i) => ({ value: `r${i}`, partition: 0 })) }), 200, 'produce');
    await commit(0);
    await page.goto(console_('groups'));
    await page.getByRole('table', { name: 'Groups' }).getByText('billing').click();
    await page.waitForURL(/#\/groups\/billing$/);
    const lag = page.getByTestId('total-lag');
    await lag.getByText('0', { exact: true }).waitFor();
    await produce(5);
    await lag.getByText('5', { exact: true }).waitFor();
    await commit(4);
    await lag.getByText('1', { exact: true }).waitFor();
    await screenshot(page, 'group');

    const reset = page.getByRole('form', { name: 'Reset offsets' });
    await reset.locator('select[name="reset-to"]').selectOption('offset');
    await reset.locator('input[name="reset-value"]').fill('2');
    await reset.locator('input[name="reset-partitions"]').fill('0');
    await reset.getByRole('button', { name: 'Reset…' }).click();
    await reset.getByRole('alertdialog').getByRole('button', { name: 'Confirm reset' }).click();
    await reset.getByRole('status').getByText('console-orders/0 → 2').waitFor();
    await lag.getByText('3', { exact: true }).waitFor();
    const offsets = ((await broker.http.get('/v1/groups/billing/offsets')).body as Json).offsets;
    expect(offsets.find((o: Json) => o.partition === 0).offset).toBe(2);
  });

  it('shows the cluster events view and a dark theme', async () => {
    await page.goto(console_('events'));
    const events = page.getByRole('table', { name: 'Events' });
    await events.locator('tr[data-kind="leadership-acquired"]').getByText('console-orders/0').first().waitFor();
    await screenshot(page, 'events');
    // A filter goes into the URL (shareable) and to the API; a bad topic shows the API's refusal.
    await page.locator('select[name="event-kind"]').selectOption('leadership-acquired');
    await page.waitForURL(/#\/events\?kind=leadership-acquired/);
    await expect.poll(async () => new Set(await events.locator('tbody tr td:nth-child(3)').allTextContents())).toEqual(new Set(['leadership acquired']));
    await page.goto(console_('events?topic=..%2Fetc'));
    await page.getByRole('alert').getByText('INVALID_TOPIC').waitFor();
    const dark = await openPage(browser, 'dark');
    await dark.goto(console_('topics/console-orders'));
    await dark.getByRole('table', { name: 'Partitions' }).waitFor();
    const background = await dark.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(background).toBe('rgb(15, 18, 23)');
    await screenshot(dark, 'topic-dark');
    await dark.context().close();
  });
});

describe.skipIf(CHROMIUM_PATH === undefined)('the web console when things go away', () => {
  let broker: BrokerProcess;
  let browser: Browser;

  beforeAll(async () => {
    [broker, browser] = await Promise.all([BrokerProcess.start(), launch()]);
  });
  afterAll(async () => {
    await browser?.close();
    if (broker?.running) await broker.stop();
    cleanupAll();
  });

  it('says so when the topic viewed is deleted, and when the broker stops', async () => {
    await expectStatus(await broker.http.post('/v1/topics', { name: 'doomed', partitions: 1 }), 201, 'create');
    const page = await openPage(browser);
    await page.goto(`${broker.url}/console/#/topics/doomed`);
    await page.getByRole('table', { name: 'Partitions' }).waitFor();
    await expectStatus(await broker.http.delete('/v1/topics/doomed'), 200, 'delete');
    await page.getByRole('alert').getByText('This topic does not exist').waitFor();
    expect(await page.getByRole('table', { name: 'Partitions' }).count()).toBe(0);

    await page.goto(`${broker.url}/console/#/overview`);
    await page.locator('tr[data-broker="0"]').getByText('live').waitFor();
    await broker.stop();
    await page.getByRole('alert').getByText('Broker unreachable').first().waitFor();
    // What was last seen stays on screen under the error, marked as such, rather than a blank page.
    await page.getByRole('alert').getByText('Showing what was last seen').first().waitFor();
    expect(await page.locator('tr[data-broker="0"]').count()).toBe(1);
    await screenshot(page, 'broker-down');
  });
});

/** GET with the path exactly as written (no dot-segment normalisation). */
async function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

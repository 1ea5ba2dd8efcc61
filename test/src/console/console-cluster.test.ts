// The console against a three-broker cluster, through one broker: it shows every broker and the
// partitions' leaders, and keeps working while one broker is stopped.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Cluster, cleanupAll, expectStatus } from '../harness/index.js';
import { CHROMIUM_PATH, launch, NO_CHROMIUM_MESSAGE, openPage, screenshot, STEP_TIMEOUT_MS } from './browser.js';

if (CHROMIUM_PATH === undefined) console.warn(NO_CHROMIUM_MESSAGE);

describe.skipIf(CHROMIUM_PATH === undefined)('the web console on a three-broker cluster', () => {
  let cluster: Cluster;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [cluster, browser] = await Promise.all([Cluster.start({ brokers: 3 }), launch()]);
    page = await openPage(browser);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    cleanupAll();
  }, 60_000);

  it('shows every broker and the leaders through one broker, and keeps working while one is stopped', async () => {
    const b1 = cluster.broker('b1');
    await expectStatus(await b1.http.post('/v1/topics', { name: 'spread', partitions: 6 }), 201, 'create');
    await cluster.awaitLeaders('spread', 6);
    await page.goto(`${b1.url}/console/#/overview`);
    for (const id of ['b1', 'b2', 'b3']) await page.locator(`tr[data-broker="${id}"]`).getByText('live').waitFor();
    await page.getByText('cluster', { exact: true }).waitFor();
    await screenshot(page, 'overview-cluster');

    await page.goto(`${b1.url}/console/#/topics/spread`);
    const leaders = page.getByRole('table', { name: 'Partitions' }).locator('tbody tr td:nth-child(2)');
    await expect.poll(async () => (await leaders.allTextContents()).filter((l) => /^b[123]$/.test(l)).length, { timeout: STEP_TIMEOUT_MS }).toBe(6);

    await page.goto(`${b1.url}/console/#/overview`);
    await page.locator('tr[data-broker="b3"]').getByText('live').waitFor();
    await cluster.broker('b3').stop();
    // The page that was open shows the stopped broker gone (or down), and its partitions get leaders among the others.
    await page.locator('tr[data-broker="b3"]').getByText(/gone|down/).waitFor({ timeout: 30_000 });
    await page.getByText('2 / 3').waitFor();
    await page.goto(`${b1.url}/console/#/topics/spread`);
    await expect
      .poll(async () => (await leaders.allTextContents()).filter((l) => /^b[12]$/.test(l)).length, { timeout: 30_000 })
      .toBe(6);
    await page.goto(`${b1.url}/console/#/messages/spread/0`);
    const form = page.getByRole('form', { name: 'Produce a test record' });
    await form.locator('textarea[name="produce-value"]').fill('after a broker stopped');
    await form.getByRole('button', { name: /Produce/ }).click();
    await form.getByRole('status').getByText(/written at partition 0/).waitFor();
    await page.locator('pre.value').getByText('after a broker stopped').waitFor();
    await page.goto(`${b1.url}/console/#/overview`);
    await page.locator('tr[data-broker="b1"]').getByText('live').waitFor();
    await screenshot(page, 'overview-cluster-one-down');
  }, 90_000);
});

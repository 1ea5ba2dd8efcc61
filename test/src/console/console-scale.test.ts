// The web console with more topics and partitions than fit a page: the topics list and a topic's
// partitions are paged (the page in the URL), and the Overview counts every partition's health from
// one /v1/topics answer instead of asking per topic. The sizes are what CI can create in seconds
// (one broker creates ~10-40 partitions a second on a loaded CI machine); the run at 1,000 topics
// and 10,000 partitions is manual: test/scripts/console-scale.mjs, figures in docs/console/README.md.
// Load times are printed, never asserted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Request } from 'playwright-core';
import { BrokerProcess, cleanupAll, expectStatus } from '../harness/index.js';
import { CHROMIUM_PATH, launch, NO_CHROMIUM_MESSAGE, openPage, screenshot } from './browser.js';

if (CHROMIUM_PATH === undefined) console.warn(NO_CHROMIUM_MESSAGE);

/** Topics beyond one page of the list (50 a page), and a topic beyond one page of partitions (100 a page). */
const SMALL_TOPICS = 55;
const WIDE_PARTITIONS = 150;
const CREATE_CONCURRENCY = 8;

describe.skipIf(CHROMIUM_PATH === undefined)('the web console with pages of topics and partitions', () => {
  let broker: BrokerProcess;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    [broker, browser] = await Promise.all([BrokerProcess.start(), launch()]);
    await expectStatus(await broker.http.post('/v1/topics', { name: 'wide', partitions: WIDE_PARTITIONS }), 201, 'create wide');
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < SMALL_TOPICS) {
        const name = `s${String(next++).padStart(3, '0')}`;
        await expectStatus(await broker.http.post('/v1/topics', { name, partitions: 1 }), 201, `create ${name}`);
      }
    };
    await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
    page = await openPage(browser);
    page.on('request', (r: Request) => void requests.push(new URL(r.url()).pathname));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (broker?.running) await broker.stop();
    cleanupAll();
  });

  const timed = async (what: string, go: () => Promise<unknown>): Promise<void> => {
    const started = performance.now();
    await go();
    console.log(`console at ${SMALL_TOPICS + 1} topics / ${SMALL_TOPICS + WIDE_PARTITIONS} partitions: ${what} shown in ${Math.round(performance.now() - started)} ms`);
  };

  it('counts every partition on the Overview from one list, with no request per topic', async () => {
    requests.length = 0;
    await timed('overview', async () => {
      await page.goto(`${broker.url}/console/#/overview`);
      await page.locator('.stat').filter({ hasText: 'partitions' }).getByText(String(SMALL_TOPICS + WIDE_PARTITIONS), { exact: true }).waitFor();
    });
    await page.locator('.stat').filter({ hasText: 'under-replicated' }).getByText('0', { exact: true }).waitFor();
    expect(await page.getByText(/counts cover/).count()).toBe(0);
    expect(requests.filter((p) => p.startsWith('/v1/topics/'))).toEqual([]);
  });

  it('pages the topics list, and finds a topic on a later page by search', async () => {
    await timed('topics list', async () => {
      await page.goto(`${broker.url}/console/#/topics`);
      await page.getByText('page 1 of 2').waitFor();
    });
    const rows = page.getByRole('table', { name: 'Topics' }).locator('tbody tr');
    expect(await rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('page 2 of 2').waitFor();
    await page.waitForURL(/page=1/);
    expect(await rows.count()).toBe(SMALL_TOPICS + 1 - 50);
    await page.goto(`${broker.url}/console/#/topics?q=s054`);
    await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining('s054')]);
  });

  it(`shows a ${WIDE_PARTITIONS}-partition topic 100 partitions a page, the page in the URL`, async () => {
    const partitions = page.getByRole('table', { name: 'Partitions' }).locator('tbody tr');
    await timed(`topic of ${WIDE_PARTITIONS} partitions`, async () => {
      await page.goto(`${broker.url}/console/#/topics/wide`);
      await page.getByText('page 1 of 2').waitFor();
    });
    expect(await partitions.count()).toBe(100);
    expect(await page.locator('.tier-row').count()).toBe(100);
    await page.getByRole('navigation', { name: 'Partition pages' }).getByRole('button', { name: 'Next' }).click();
    await page.waitForURL(/topics\/wide\?page=1/);
    await page.getByText(`partitions 100 to ${WIDE_PARTITIONS - 1} of ${WIDE_PARTITIONS}`).waitFor();
    expect(await partitions.count()).toBe(WIDE_PARTITIONS - 100);
    expect(await partitions.first().locator('td').first().textContent()).toBe('100');
    await screenshot(page, 'topic-paged');
    // A shared link opens on its page.
    await page.goto(`${broker.url}/console/#/overview`);
    await page.goto(`${broker.url}/console/#/topics/wide?page=1`);
    await expect.poll(async () => partitions.first().locator('td').first().textContent()).toBe('100');
  });
});

// The console against a three-broker cluster, through one broker: it shows every broker and the
// partitions' leaders, and keeps working while one broker is stopped; the cluster events feed
// through that broker shows every broker's events, and the leadership moves of the stop.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Cluster, cleanupAll, expectStatus } from '../harness/index.js';
import { CHROMIUM_PATH, launch, NO_CHROMIUM_MESSAGE, openPage, screenshot, STEP_TIMEOUT_MS } from './browser.js';

if (CHROMIUM_PATH === undefined) console.warn(NO_CHROMIUM_MESSAGE);

/**
 * For b3's partitions to show new leaders after it stops (the controller names successors, b3 hands
 * each over, they take the leases, b1 reads the states). Once, with the whole suite and two other
 * builds running on the 2 cores, one partition of six had not moved within 30 s (no output was kept
 * then: the brokers' logs are now printed when this test fails).
 */
const LEADERS_MOVED_TIMEOUT_MS = 60_000;

/** GET /v1/events's answer, as far as this test reads it. */
interface ClusterEvent {
  broker: string;
  atMs: number;
  kind: string;
  partition?: number;
}
interface EventList {
  events: ClusterEvent[];
  brokers: Array<{ broker: string; ok: boolean }>;
}

describe.skipIf(CHROMIUM_PATH === undefined)('the web console on a three-broker cluster', () => {
  let cluster: Cluster;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [cluster, browser] = await Promise.all([Cluster.start({ brokers: 3 }), launch()]);
    page = await openPage(browser);
  }, 90_000);
  afterEach((context) => {
    // The brokers' output says why a leader or a broker did not show (a failure in CI is otherwise mute).
    if (context.task.result?.state === 'fail') cluster?.printLogs();
  });
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

    // 24 partitions: b3 leads some of them (rendezvous over three live brokers; polled, as a registration
    // that lapsed on a loaded machine places them on the other two until it is back).
    await expectStatus(await b1.http.post('/v1/topics', { name: 'moves', partitions: 24 }), 201, 'create');
    let ledBefore = new Map<number, string>();
    await expect
      .poll(async () => [...(ledBefore = await cluster.awaitLeaders('moves', 24)).values()].includes('b3'), { timeout: 30_000 })
      .toBe(true);
    const movesEvents = async (query: string): Promise<EventList> =>
      (await expectStatus(await b1.http.get(`/v1/events?topic=moves&${query}`), 200, 'events')).body as EventList;
    const acquiredBy = (events: ClusterEvent[]) => new Set(events.filter((e) => e.kind === 'leadership-acquired').map((e) => `${e.broker}:${e.partition}`));
    // Through b1, each broker's own leaderships: b2's and b3's came over the internal port.
    await expect
      .poll(async () => {
        const got = acquiredBy((await movesEvents('kind=leadership-acquired&limit=1000')).events);
        return [...ledBefore].filter(([p, leader]) => !got.has(`${leader}:${p}`)).length;
      }, { timeout: STEP_TIMEOUT_MS })
      .toBe(0);
    const fromB3 = [...ledBefore].filter(([, leader]) => leader === 'b3').map(([p]) => p);
    // Every live broker asked and answering (polled: on a loaded machine a registration can lapse for a tick).
    await expect
      .poll(async () => (await movesEvents('limit=1')).brokers.map((b) => `${b.broker}:${b.ok}`).sort(), { timeout: STEP_TIMEOUT_MS })
      .toEqual(['b1:true', 'b2:true', 'b3:true']);

    await page.goto(`${b1.url}/console/#/overview`);
    await page.locator('tr[data-broker="b3"]').getByText('live').waitFor();
    const stoppedAtMs = Date.now();
    await cluster.broker('b3').stop();
    // The page that was open shows the stopped broker gone (or down), and its partitions get leaders among the others.
    await page.locator('tr[data-broker="b3"]').getByText(/gone|down/).waitFor({ timeout: 30_000 });
    await page.getByText('2 / 3').waitFor();
    await page.goto(`${b1.url}/console/#/topics/spread`);
    await expect
      .poll(async () => (await leaders.allTextContents()).filter((l) => /^b[12]$/.test(l)).length, { timeout: LEADERS_MOVED_TIMEOUT_MS })
      .toBe(6);
    // The feed through b1 shows b3's partitions taken by b1 and b2 after the stop (b3 itself is no longer asked).
    await expect
      .poll(async () => {
        const events = (await movesEvents(`kind=leadership-acquired&since=${stoppedAtMs}&limit=1000`)).events;
        const got = new Set(events.filter((e) => e.broker !== 'b3').map((e) => e.partition));
        return fromB3.filter((p) => !got.has(p)).length;
      }, { timeout: LEADERS_MOVED_TIMEOUT_MS })
      .toBe(0);
    // b3 left the live set (a graceful stop deregisters): it is no longer asked.
    await expect
      .poll(async () => (await movesEvents(`since=${stoppedAtMs}&limit=1`)).brokers.map((b) => b.broker).sort(), { timeout: STEP_TIMEOUT_MS })
      .toEqual(['b1', 'b2']);
    // The Events view through b1, filtered by kind and topic in its URL.
    await page.goto(`${b1.url}/console/#/events?kind=leadership-acquired&topic=moves`);
    const rows = page.getByRole('table', { name: 'Events' }).locator('tbody tr');
    await expect.poll(async () => rows.count(), { timeout: STEP_TIMEOUT_MS }).toBeGreaterThanOrEqual(24);
    expect(new Set(await rows.locator('td:nth-child(3)').allTextContents())).toEqual(new Set(['leadership acquired']));
    // Newest first: the rows' times never increase down the table.
    const times = await rows.locator('time').evaluateAll((ts) => ts.map((t) => Date.parse(t.getAttribute('datetime') ?? '')));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    await screenshot(page, 'events-cluster');
    await page.goto(`${b1.url}/console/#/messages/spread/0`);
    const form = page.getByRole('form', { name: 'Produce a test record' });
    await form.locator('textarea[name="produce-value"]').fill('after a broker stopped');
    await form.getByRole('button', { name: /Produce/ }).click();
    await form.getByRole('status').getByText(/written at partition 0/).waitFor();
    await page.locator('pre.value').getByText('after a broker stopped').waitFor();
    await page.goto(`${b1.url}/console/#/overview`);
    await page.locator('tr[data-broker="b1"]').getByText('live').waitFor();
    await screenshot(page, 'overview-cluster-one-down');
  }, 150_000);
});

// Debian's chromium driven by playwright-core (no browser download): the console tests' browser.
// When chromium is not installed the tests are skipped with a message saying so.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../harness/index.js';

const CANDIDATES = [process.env.STRATA_CHROMIUM ?? '', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
export const CHROMIUM_PATH: string | undefined = CANDIDATES.find((p) => p !== '' && existsSync(p));
export const NO_CHROMIUM_MESSAGE = 'console browser tests skipped: chromium is not installed (apt-get install -y chromium, or set STRATA_CHROMIUM)';

/** Screenshots of every view, kept as test artifacts (git-ignored). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts', 'console');

/** How long one step may wait for the page (the console refreshes every 2 s; the machine is shared). */
export const STEP_TIMEOUT_MS = 15_000;

export async function launch(): Promise<Browser> {
  if (CHROMIUM_PATH === undefined) throw new Error(NO_CHROMIUM_MESSAGE);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export async function openPage(browser: Browser, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.evaluate('window.scrollTo(0, 0)'); // the sticky header would otherwise be drawn mid-page
  await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
}

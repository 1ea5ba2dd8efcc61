// The console signs in with Strata's users (issues #17 and #14), in a real browser against a real
// broker with STRATA_AUTH=required and ACLs: the sign-in view comes up without the browser's own
// login popup (the broker's challenge to the console's requests is Bearer only; curl still gets
// Basic), the console's files are public but nothing else became so, a wrong password is refused
// with the API's message, alice (ACLs on a-* only) sees only her topics and groups, produces to
// a-1, is refused creating b-2 (the 403's message shown, nothing created), signs out; a token user
// signs in, and is returned to sign-in with a message when the token is revoked.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { BrokerProcess, cleanupAll, expectStatus, type Json } from '../harness/index.js';
import { CHROMIUM_PATH, launch, NO_CHROMIUM_MESSAGE, openPage, screenshot, STEP_TIMEOUT_MS } from './browser.js';

if (CHROMIUM_PATH === undefined) console.warn(NO_CHROMIUM_MESSAGE);

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const ADMIN = basic('admin', 'admin-password');
const ALICE_PASSWORD = 'alice-password';

function allow(principal: string, resourceType: string, resourceName: string, operation: string): Json {
  return { principal, host: '*', resourceType, patternType: 'prefixed', resourceName, operation, permission: 'allow' };
}

/**
 * The browser's requests for credentials (what would be its login popup), seen through the
 * DevTools protocol: each is recorded and cancelled. Every request is paused and let go meanwhile.
 */
async function watchLoginPrompts(page: Page): Promise<{ prompts: string[]; stop: () => Promise<void> }> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const prompts: string[] = [];
  cdp.on('Fetch.requestPaused', (e) => void cdp.send('Fetch.continueRequest', { requestId: e.requestId }).catch(() => undefined));
  cdp.on('Fetch.authRequired', (e) => {
    prompts.push(`${e.authChallenge.scheme} ${e.request.url}`);
    void cdp.send('Fetch.continueWithAuth', { requestId: e.requestId, authChallengeResponse: { response: 'CancelAuth' } }).catch(() => undefined);
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*' }], handleAuthRequests: true });
  return { prompts, stop: async () => { await cdp.send('Fetch.disable'); await cdp.detach(); } };
}

describe.skipIf(CHROMIUM_PATH === undefined)('the web console signs in (STRATA_AUTH=required, ACLs; and optional)', () => {
  let broker: BrokerProcess;
  /** STRATA_AUTH=optional: the console runs as User:ANONYMOUS until asked to sign in. */
  let optional: BrokerProcess;
  let browser: Browser;
  let page: Page;
  let token: { id: string; token: string };
  const console_ = (hash: string) => `${broker.url}/console/#/${hash}`;
  const admin = {
    get: async (path: string) => (await expectStatus(await broker.http.get(path, { headers: ADMIN }), 200, `GET ${path}`)).body as Json,
    post: async (path: string, body: unknown) => (await broker.http.post(path, body, { headers: ADMIN })).body as Json,
  };
  const signInForm = () => page.getByRole('form', { name: 'Sign in' });
  /** The console's API and /metrics requests, with the Authorization header each carried. */
  const requests: Array<{ path: string; authorization: string | undefined }> = [];
  // A string: the tests are typechecked without the DOM's types.
  const storage = () => page.evaluate<{ session: string; local: string; url: string }>('({ session: JSON.stringify(sessionStorage), local: JSON.stringify(localStorage), url: location.href })');

  beforeAll(async () => {
    [broker, optional, browser] = await Promise.all([
      BrokerProcess.start({ env: { STRATA_AUTH: 'required', STRATA_AUTHORIZER: 'acl', STRATA_SUPER_USERS: 'User:admin;User:ops', STRATA_ACL_REFRESH_INTERVAL_MS: '200' } }),
      BrokerProcess.start({ env: { STRATA_AUTH: 'optional' } }),
      launch(),
    ]);
    expectStatus(await optional.http.post('/v1/users', { name: 'carol', password: 'carol-password' }), 201, 'carol');
    // The first user from loopback, then everything else as that (super) user.
    expectStatus(await broker.http.post('/v1/users', { name: 'admin', password: 'admin-password' }), 201, 'first user');
    expect((await broker.http.post('/v1/users', { name: 'alice', password: ALICE_PASSWORD }, { headers: ADMIN })).status).toBe(201);
    expect((await broker.http.post('/v1/users', { name: 'ops', password: 'ops-password' }, { headers: ADMIN })).status).toBe(201);
    token = await admin.post('/v1/users/ops/tokens', { name: 'console' });
    for (const name of ['a-1', 'a-2', 'b-1']) expect((await broker.http.post('/v1/topics', { name }, { headers: ADMIN })).status).toBe(201);
    for (const [group, topic] of [['a-readers', 'a-1'], ['b-readers', 'b-1']] as const) {
      expect((await broker.http.post(`/v1/groups/${group}/offsets`, { offsets: [{ topic, partition: 0, offset: 0 }] }, { headers: ADMIN })).status).toBe(200);
    }
    const acls = ['describe', 'read', 'write', 'create'].map((op) => allow('User:alice', 'topic', 'a-', op));
    acls.push(allow('User:alice', 'group', 'a-', 'read'));
    expect((await admin.post('/v1/acls', { acls })).created).toBe(acls.length);
    page = await openPage(browser);
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (!path.startsWith('/v1/') && path !== '/metrics') return;
      // The headers the page set (Authorization among them), known when the request starts.
      requests.push({ path, authorization: r.headers().authorization });
    });
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([broker, optional].map(async (b) => (b?.running ? b.stop() : undefined)));
    cleanupAll();
  });

  it('shows sign-in without the browser\'s login popup; its files are public, the API is not, and curl is still offered Basic', async () => {
    const watch = await watchLoginPrompts(page);
    const challenges: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 401) challenges.push(r.headers()['www-authenticate'] ?? '(none)');
    });
    await page.goto(console_('topics'));
    await signInForm().waitFor();
    expect(challenges.length).toBeGreaterThan(0);
    for (const challenge of challenges) expect(challenge).toBe('Bearer realm="strata"');
    expect(watch.prompts).toEqual([]);
    // The control: a script's request without the console's X-Requested-With gets the Basic
    // challenge, and the browser asks for credentials (its popup, were anybody there).
    await page.evaluate(() => fetch('/v1/topics').then((r) => r.status));
    await expect.poll(() => watch.prompts.length).toBe(1);
    expect(watch.prompts[0]).toMatch(/^basic /i);
    await watch.stop();
    await screenshot(page, 'signin');

    const html = await fetch(`${broker.url}/console/`);
    expect(html.status).toBe(200);
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await html.text())![1]!;
    expect((await fetch(`${broker.url}${script}`)).status).toBe(200);
    for (const path of ['/v1/topics', '/v1/groups', '/v1/cluster', '/v1/whoami', '/v1/users', '/v1/acls', '/v1/topics/a-1/partitions/0/records?offset=0']) {
      const anonymous = await broker.http.get(path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers['www-authenticate'], path).toMatch(/^Basic realm="strata".*Bearer/);
    }
  });

  it('refuses a wrong password with the API\'s message and keeps nothing', async () => {
    await signInForm().locator('input[name="username"]').fill('alice');
    await signInForm().locator('input[name="password"]').fill('not-her-password');
    await signInForm().getByRole('button', { name: 'Sign in' }).click();
    const alert = signInForm().getByRole('alert');
    await alert.getByText('Sign-in failed').waitFor();
    await alert.getByText('AUTHENTICATION_FAILED').waitFor();
    const kept = await storage();
    expect(kept.session).toBe('{}');
    expect(kept.url).not.toContain('not-her-password');
  });

  it('signs alice in: only her topics and groups, produces to a-1, is refused creating b-2', async () => {
    await signInForm().locator('input[name="password"]').fill(ALICE_PASSWORD);
    const signedIn = requests.length;
    await signInForm().getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('principal').getByText('User:alice').waitFor();
    // Where the tab was going before it signed in.
    const topics = page.getByRole('table', { name: 'Topics' });
    await topics.getByText('a-2').waitFor();
    expect(await topics.locator('tbody tr').allTextContents()).toEqual([expect.stringContaining('a-1'), expect.stringContaining('a-2')]);
    const kept = await storage();
    expect(kept.url).not.toContain(ALICE_PASSWORD);
    expect(kept.local).not.toContain('Basic');
    expect(kept.session).toContain('Basic');
    await screenshot(page, 'signin-topics-alice');

    await page.goto(console_('groups'));
    await page.getByText('a-readers').waitFor();
    expect(await page.getByText('b-readers').count()).toBe(0);

    // The overview: the cluster is not hers to describe, nor /metrics (its labels name every topic and group): said so; her topics are read.
    await page.goto(console_('overview'));
    const refusedCluster = page.getByRole('alert').filter({ hasText: 'Not allowed to read the cluster' });
    await refusedCluster.getByText('CLUSTER_AUTHORIZATION_FAILED').waitFor();
    await page.locator('.stat').filter({ hasText: 'topics' }).getByText('2', { exact: true }).waitFor();
    await expect.poll(() => requests.slice(signedIn).filter((r) => r.path === '/metrics').length, { timeout: STEP_TIMEOUT_MS }).toBeGreaterThan(0);
    await page.getByRole('alert').filter({ hasText: '/metrics' }).getByText('CLUSTER_AUTHORIZATION_FAILED').waitFor();

    await page.goto(console_('messages/a-1/0'));
    const produce = page.getByRole('form', { name: 'Produce a test record' });
    await produce.locator('textarea[name="produce-value"]').fill('from alice');
    await produce.getByRole('button', { name: /Produce/ }).click();
    await produce.getByRole('status').getByText('written at partition 0, offset 0').waitFor();
    expect((await admin.get('/v1/topics/a-1/partitions/0/offsets?at=latest')).offset).toBe(1);

    await page.goto(console_('topics'));
    const create = page.getByRole('form', { name: 'Create a topic' });
    await create.locator('input[name="topic-name"]').fill('b-2');
    await create.getByRole('button', { name: 'Create topic' }).click();
    await create.getByRole('alert').getByText('TOPIC_AUTHORIZATION_FAILED').waitFor();
    await create.getByRole('alert').getByText('Not allowed to create the topic').waitFor();
    expect((await admin.get('/v1/topics')).topics.map((t: { name: string }) => t.name).sort()).toEqual(['a-1', 'a-2', 'b-1']);
    // Every API and /metrics request since the sign-in carried her credentials.
    const alice = basic('alice', ALICE_PASSWORD).authorization;
    expect(requests.slice(signedIn).filter((r) => r.authorization !== alice)).toEqual([]);
  });

  it('signs out, then a token user signs in, and is sent back to sign-in when the token is revoked', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInForm().waitFor();
    await page.getByRole('status').getByText('You signed out.').waitFor();
    expect((await storage()).session).toBe('{}');

    await signInForm().getByRole('radio', { name: 'API token' }).check();
    await signInForm().locator('input[name="token"]').fill(token.token);
    await signInForm().getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('principal').getByText('User:ops').waitFor();
    await page.getByRole('table', { name: 'Topics' }).getByText('b-1').waitFor();
    await page.goto(console_('overview'));
    await page.locator('tr[data-broker="0"]').getByText('live').waitFor();

    expectStatus(await broker.http.delete(`/v1/users/ops/tokens/${token.id}`, { headers: ADMIN }), 200, 'revoke');
    await signInForm().waitFor();
    const ended = page.getByRole('alert').filter({ hasText: 'Your session ended' });
    await ended.getByText('AUTHENTICATION_FAILED').waitFor();
    expect((await storage()).session).toBe('{}');
  });

  it('under STRATA_AUTH=optional runs as User:ANONYMOUS, signs in from the header (or not), and signs out back to anonymous', async () => {
    const tab = await openPage(browser);
    await tab.goto(`${optional.url}/console/#/topics`);
    const account = tab.locator('.account');
    await account.getByText('Not signed in').waitFor();
    await tab.getByText('No topics yet').waitFor();
    await account.getByRole('button', { name: 'Sign in' }).click();
    const form = tab.getByRole('form', { name: 'Sign in' });
    await form.getByRole('button', { name: 'Cancel' }).click();
    await tab.getByText('No topics yet').waitFor();
    await account.getByRole('button', { name: 'Sign in' }).click();
    await form.locator('input[name="username"]').fill('carol');
    await form.locator('input[name="password"]').fill('carol-password');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByTestId('principal').getByText('User:carol').waitFor();
    await tab.getByText('No topics yet').waitFor();
    await account.getByRole('button', { name: 'Sign out' }).click();
    await account.getByText('Not signed in').waitFor();
    expect(await tab.getByRole('form', { name: 'Sign in' }).count()).toBe(0);
    await tab.context().close();
  });
});

// The dashboard (clients/dashboard) in a real browser: headless Chromium, driven by playwright-core,
// against `hammer server` and `hammer worker` on a real PostgreSQL and a local receiver. A user creates
// a topic and a subscription, publishes, watches the delivery complete, reads the receiver's answer
// in the attempt, makes the receiver fail and resends, pauses and recovers, and enters an API key.
// Screenshots of each page go to test-results/dashboard/. Without Chromium the tests are skipped.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { migratedDatabaseUrl } from '../helpers/database.ts';
import { startHammer, type HammerProcess } from '../helpers/processes.ts';
import { startReceiver, type Behaviour } from '../helpers/receiver.ts';

const browserPath = [process.env.HAMMER_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (path): path is string => !!path && existsSync(path),
);
const noBrowser = 'no Chromium found (install Debian\'s `chromium` package, or set HAMMER_TEST_CHROMIUM to a Chrome/Chromium binary): dashboard browser tests skipped';
const shots = join(import.meta.dirname, '../../test-results/dashboard');

const portOf = async (hammer: HammerProcess) => Number((await hammer.waitForLog('rest-server-started', 60_000)).port);

async function launch(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  test.after(() => browser.close());
  return browser;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

test('create, publish, watch the delivery, read the attempt, resend after a failure, pause and recover', async (t) => {
  if (!browserPath) return t.skip(noBrowser);
  const url = await migratedDatabaseUrl();
  let behaviour: Behaviour = (_received, res) => {
    const body = JSON.stringify({ received: true, by: 'test-receiver' });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  const receiver = await startReceiver((received, res, req) => behaviour(received, res, req));
  t.after(() => receiver.close());
  const server = startHammer(['server'], { HAMMER_DATABASE_URL: url });
  const worker = startHammer(['worker'], { HAMMER_DATABASE_URL: url, HAMMER_WORKER_DATABASE_DELAY: '0.2' });
  const base = `http://127.0.0.1:${await portOf(server)}`;
  await worker.waitForLog('worker-started', 60_000);

  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const consoleErrors: string[] = [];
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  page.on('pageerror', (error) => consoleErrors.push(error.message));

  // /ui redirects to /ui/, whose page is the Overview.
  await page.goto(`${base}/ui`);
  assert.equal(new URL(page.url()).pathname, '/ui/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.getByTestId('pending').filter({ hasText: '0' }).waitFor();

  // Topics: a violation is shown next to its field, as the API words it; then a topic is created.
  await page.getByRole('link', { name: 'Topics' }).click();
  await page.getByLabel('Topic id').fill('bad id');
  await page.getByLabel('Topic name').fill('Orders');
  await page.getByRole('button', { name: 'Create topic' }).click();
  await page.locator('.field.invalid', { has: page.getByLabel('Topic id') }).getByText('must be in a valid format').waitFor();
  await page.getByRole('alert').getByText(/^400 /).waitFor();
  await page.getByLabel('Topic id').fill('orders');
  await page.getByRole('button', { name: 'Create topic' }).click();
  await page.getByRole('cell', { name: 'orders', exact: true }).waitFor();
  await shot(page, 'topics');

  // Subscriptions: one to the local receiver, one attempt per delivery.
  await page.getByRole('link', { name: 'Subscriptions', exact: true }).first().click();
  await page.getByText('Create a subscription').click();
  await page.getByLabel('Subscription id').fill('orders-receiver');
  await page.getByLabel('Topic id').fill('orders');
  await page.getByLabel('Subscription name').fill('Local receiver');
  await page.getByLabel('URL').fill(receiver.origin);
  await page.getByLabel('Max delivery attempts').fill('1');
  await page.getByLabel('Delay between attempts (s)').fill('1');
  await page.getByRole('button', { name: 'Create subscription' }).click();
  await page.getByRole('link', { name: 'orders-receiver' }).waitFor();
  await shot(page, 'subscriptions');

  // Publish a test message from the topic's row, then follow it to its delivery.
  await page.getByRole('link', { name: 'Topics' }).click();
  await page.getByRole('button', { name: 'Publish test message' }).click();
  await page.getByLabel('Data').fill('{"order": 42, "total": "9.99"}');
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  await page.getByRole('link', { name: 'See its deliveries' }).click();
  await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
  const deliveryLink = page.locator('tbody a[href^="#/deliveries/"]');
  await deliveryLink.waitFor();
  await deliveryLink.click();

  // The delivery completes without a reload; its attempt shows the receiver's answer, pretty-printed.
  await page.locator('h1 .badge-completed').waitFor({ timeout: 20_000 });
  const firstAttempt = page.locator('.attempt').nth(0);
  await firstAttempt.getByText('200', { exact: true }).waitFor();
  assert.equal((await firstAttempt.getByTestId('response-body').textContent())?.trim(), JSON.stringify({ received: true, by: 'test-receiver' }, null, 2));
  assert.match((await firstAttempt.locator('pre.body').first().textContent()) ?? '', /"subscriptionid": "orders-receiver"/, 'the request body, pretty-printed');
  assert.match((await firstAttempt.getByTestId('event-data').textContent()) ?? '', /"order": 42/, "the event's data, decoded and pretty-printed");
  await shot(page, 'delivery');
  assert.equal(receiver.requests.length, 1);

  // The receiver fails; Resend makes one more attempt, shown when it is made (a failed resend
  // changes no status: the delivery stays completed).
  behaviour = (_received, res) => {
    const body = JSON.stringify({ error: 'receiver down for maintenance' });
    res.writeHead(500, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  await page.getByRole('button', { name: 'Resend' }).click();
  const secondAttempt = page.locator('.attempt').nth(1);
  await secondAttempt.getByText('Attempt 2').waitFor({ timeout: 20_000 });
  await secondAttempt.getByText('500', { exact: true }).waitFor();
  await secondAttempt.getByTestId('response-body').getByText('"error": "receiver down for maintenance"').waitFor();
  assert.equal(await page.locator('h1 .badge-completed').count(), 1);
  assert.equal(receiver.requests.length, 2);
  await shot(page, 'delivery-resent');

  // A message published while the receiver fails: its delivery fails for good (one attempt), and
  // the failure is two clicks from the Overview: Failed deliveries, then the delivery.
  await page.getByRole('link', { name: 'Topics' }).click();
  await page.getByRole('button', { name: 'Publish test message' }).click();
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  await page.getByText('Published message').waitFor();
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByTestId('failed').filter({ hasText: /^1$/ }).waitFor({ timeout: 20_000 });
  await page.waitForTimeout(3500); // one more sample for the charts
  await shot(page, 'overview');
  await page.getByRole('link', { name: /Failed deliveries/ }).click();
  await page.locator('tbody .badge-failed').waitFor();
  await shot(page, 'deliveries');
  await page.locator('tbody a[href^="#/deliveries/"]').click();
  await page.locator('h1 .badge-failed').waitFor();
  await page.locator('.attempt.failure').getByText('500', { exact: true }).waitFor();
  await shot(page, 'delivery-failed');
  assert.equal(receiver.requests.length, 3);

  // The subscription: pause, resume, recover its failure (the receiver answers again).
  behaviour = (_received, res) => res.writeHead(204).end();
  await page.getByRole('link', { name: /Deliveries of orders-receiver/ }).click();
  await page.getByRole('link', { name: 'orders-receiver' }).first().click();
  await page.getByRole('heading', { name: /Subscription orders-receiver/ }).waitFor();
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('h1 .badge-paused').waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('h1 .badge-active').waitFor();
  await page.getByRole('button', { name: 'Recover failures' }).click();
  await page.getByText('Recovered 1 failed delivery.').waitFor();
  await page.getByText('exponential').or(page.getByText('fixed')).first().waitFor(); // the retry policy
  await shot(page, 'subscription');
  await waitFor(() => receiver.requests.length === 4, 'the recovered delivery is attempted');

  // A phone-sized view of a delivery stays readable.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(`${base}/ui/#/deliveries?status=completed`);
  await phone.locator('tbody a[href^="#/deliveries/"]').first().click();
  await phone.locator('.attempt').first().waitFor();
  await shot(phone, 'delivery-phone');
  assert.ok((await phone.evaluate<number>('document.documentElement.scrollWidth')) <= 400, 'no sideways scrolling on a phone');

  assert.deepEqual(consoleErrors.filter((text) => !/status of (400|401)/.test(text)), []);
});

test('with an API key: the dashboard asks for one, keeps it for the tab, and uses it', async (t) => {
  if (!browserPath) return t.skip(noBrowser);
  const url = await migratedDatabaseUrl();
  const server = startHammer(['server'], { HAMMER_DATABASE_URL: url, HAMMER_AUTH: 'required', HAMMER_AUTH_CACHE_TTL: '0' });
  const base = `http://127.0.0.1:${await portOf(server)}`;
  const { runHammer } = await import('../helpers/processes.ts');
  const created = await runHammer(['keys', 'create', '--name', 'dashboard', '--scope', 'read'], { HAMMER_DATABASE_URL: url });
  assert.equal(created.code, 0, created.stderr);
  const key = created.stdout.trim().split('\n').at(-1) ?? '';
  assert.match(key, /^hmk_/, `a key in ${created.stdout}`);

  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(`${base}/ui/#/topics`);
  await page.getByRole('heading', { name: 'This hammer needs an API key' }).waitFor();
  await shot(page, 'api-key');
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Use this key' }).click();
  await page.getByRole('heading', { name: 'This hammer needs an API key' }).waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('hammer.apiKey')), key);
  // A read key lists but cannot create: the API's 403 is shown as it words it.
  await page.getByLabel('Topic id').fill('orders');
  await page.getByLabel('Topic name').fill('Orders');
  await page.getByRole('button', { name: 'Create topic' }).click();
  await page.getByRole('alert').getByText(/^403 /).waitFor();
  // The key stays for the tab (a reload keeps it), and is not in localStorage.
  await page.reload();
  await page.getByRole('heading', { name: 'Topics' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'This hammer needs an API key' }).count(), 0);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
});

test('HAMMER_DASHBOARD_ENABLED=false: no /ui, the API unchanged; the files are public and strict', async () => {
  const url = await migratedDatabaseUrl();
  const on = startHammer(['server'], { HAMMER_DATABASE_URL: url, HAMMER_AUTH: 'required' });
  const off = startHammer(['server'], { HAMMER_DATABASE_URL: url, HAMMER_DASHBOARD_ENABLED: 'false' });
  const [onPort, offPort] = await Promise.all([portOf(on), portOf(off)]);
  const page = await fetch(`http://127.0.0.1:${onPort}/ui/`);
  assert.equal(page.status, 200, 'public even when the API needs a key');
  assert.match(await page.text(), /<script type="module" src="app.js">/);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const script = await fetch(`http://127.0.0.1:${onPort}/ui/app.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await fetch(`http://127.0.0.1:${onPort}/v1/topics`)).status, 401, 'the API still needs its key');
  assert.equal((await fetch(`http://127.0.0.1:${onPort}/ui/missing.js`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${offPort}/ui/`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${offPort}/v1/topics`)).status, 200);
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

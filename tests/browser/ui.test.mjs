// The web UI in a real browser, against a penny with fake providers (started
// by app/httpapi's TestWebUI, which passes PENNY_URL). Steps run in order
// and share one signed-in page, as a person would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.PENNY_URL;
const SHOTS = process.env.PENNY_SCREENSHOTS;
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };
const T = 20000;

let browser;
let page;
const pageErrors = [];

// Files to upload, written to a temporary folder.
const files = mkdtempSync(join(tmpdir(), 'penny-ui-'));
const herons = join(files, 'herons.md');
writeFileSync(herons, `Grey herons nest in colonies called heronries, usually high in tall trees near lakes.

## Food

The grey heron hunts fish, frogs and small mammals in shallow water.
`);
const hostile = join(files, 'falcons.txt');
writeFileSync(hostile, `Falcon field note <img src=x onerror="window.__xss='img'"> <script>window.__xss='script'</script> <a href="javascript:window.__xss='link'">falcons</a> hunt pigeons at dawn.

Peregrine falcons are the fastest birds when they dive.
`);

async function shot(name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// apiGet reads penny's API from inside the page, with its cookies; like
// the UI, it refreshes an expired access token once (they last 3 s here).
function apiGet(path) {
  return page.evaluate(async (p) => {
    let r = await fetch(p);
    if (r.status === 401) {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('penny_csrf='))?.slice('penny_csrf='.length) ?? '';
      const refreshed = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'X-CSRF-Token': decodeURIComponent(csrf) } });
      if (refreshed.ok) r = await fetch(p);
    }
    return { status: r.status, body: await r.json() };
  }, path);
}

async function ask(question) {
  const before = await page.locator('.msg.assistant .meta .provider').count();
  await page.fill('#question', question);
  await page.press('#question', 'Enter');
  await page.locator('.msg.assistant .meta .provider').nth(before).waitFor({ timeout: T });
  return page.locator('.msg.assistant').nth(before);
}

// visible waits for a locator and, when it does not come, says where the
// page is and what it shows.
async function visible(locator) {
  try {
    await locator.waitFor({ timeout: T });
  } catch (err) {
    const text = await page.locator('body').innerText().catch(() => '?');
    throw new Error(`${err.message}\nat ${page.url()}, the page shows:\n${text.slice(0, 600)}`);
  }
}

before(async () => {
  assert.ok(BASE, 'PENNY_URL is set by TestWebUI');
  browser = await chromium.launch({
    executablePath: process.env.PENNY_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => {
    if (d.type() === 'alert') pageErrors.push('an alert opened: ' + d.message());
    d.accept();
  });
});

after(async () => {
  await browser?.close();
});

test('the first visitor creates the admin account', async () => {
  await page.goto(BASE + '/');
  await page.getByText('Create the first account').waitFor({ timeout: T });
  await page.fill('input[name=email]', ADMIN.email);
  await page.fill('input[name=password]', ADMIN.password);
  await page.click('button[type=submit]');
  await page.locator('header.top nav').waitFor({ timeout: T });
  assert.equal(new URL(page.url()).pathname, '/chat');
  for (const label of ['Chat', 'Documents', 'Costs', 'Quality', 'Providers', 'Settings']) {
    assert.equal(await page.locator('header.top nav a', { hasText: label }).count(), 1, `admin sees ${label}`);
  }
  await page.getByText('Upload documents first').waitFor({ timeout: T });
});

test('uploads show progress and reach ready', async () => {
  await page.click('header.top nav >> text=Documents');
  await page.getByText('No documents yet').waitFor({ timeout: T });
  await page.setInputFiles('input[type=file]', [herons, hostile]);
  await page.locator('.upload[data-status=ready]').nth(1).waitFor({ timeout: T });
  assert.equal(await page.locator('.upload[data-status=failed]').count(), 0);
  await page.locator('table.docs tbody tr[data-status=ready]').nth(1).waitFor({ timeout: T });
  // The title and the hostile file's name are text, not markup.
  assert.equal(await page.locator('table.docs img').count(), 0);
  await page.fill('input[type=search]', 'heron');
  await page.waitForFunction(() => document.querySelectorAll('table.docs tbody tr').length === 1, null, { timeout: T });
  await shot('documents');
});

let firstAnswer;
test('an answer streams in with a citation that opens its source', async () => {
  await page.click('header.top nav >> text=Chat');
  firstAnswer = await ask('Where do grey herons nest?');
  const text = await firstAnswer.locator('.md').innerText();
  assert.match(text, /heronries/);
  const meta = await firstAnswer.locator('.meta').innerText();
  assert.match(meta, /cloudflare/, 'the cheapest provider answered');
  assert.match(meta, /\$\d/, 'the cost is shown');
  await firstAnswer.locator('details.why summary').click();
  assert.ok((await firstAnswer.locator('details.why li').count()) >= 1, 'why this model');

  await firstAnswer.locator('.md button.cite').first().click();
  const panel = page.locator('aside.source');
  await panel.locator('.passage').waitFor({ timeout: T });
  assert.match(await panel.locator('h2').innerText(), /^\[1\] /);
  assert.match(await panel.locator('.passage mark').first().innerText(), /heronries/, 'the cited sentence is highlighted');
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached', timeout: T });
  assert.match(new URL(page.url()).pathname, /^\/chat\/\w+/, 'the new chat has its own address');
  await shot('chat');
});

test('stop ends a streaming answer', async () => {
  await page.click('text=New chat');
  await page.fill('#question', 'Where do grey herons nest, in detail?');
  await page.press('#question', 'Enter');
  const streaming = page.locator('.msg.assistant[aria-busy=true] .md');
  await visible(streaming); // the first words arrived
  await page.getByRole('button', { name: 'Stop' }).click();
  await visible(page.getByText('Stopped. This partial answer is not saved.'));
  await visible(page.getByRole('button', { name: 'Send' }));
  assert.equal(await page.locator('.msg.assistant .meta .provider').count(), 0, 'no answer was completed');
  await page.goBack(); // back to the first chat
  await visible(page.locator('.msg.assistant .meta .provider').first());
});

test('feedback is saved', async () => {
  const up = firstAnswer.locator('button[aria-label="good answer"]');
  await up.click();
  await page.waitForFunction(() => document.querySelector('button[aria-label="good answer"]').getAttribute('aria-pressed') === 'true', null, { timeout: T });
  const chatId = new URL(page.url()).pathname.split('/')[2];
  const r = await apiGet(`/api/chats/${chatId}/messages`);
  assert.equal(r.body.messages[1].feedback.rating, 'up');
});

test('hostile markup in a document never runs', async () => {
  const answer = await ask('What do falcons hunt at dawn?');
  const chatId = new URL(page.url()).pathname.split('/')[2];
  const r = await apiGet(`/api/chats/${chatId}/messages`);
  const stored = r.body.messages.at(-1).content;
  assert.match(stored, /onerror=/, 'the model output carried the hostile markup to the browser');
  assert.match(await answer.locator('.md').innerText(), /hunt pigeons/);
  await answer.locator('.md button.cite').first().click();
  await page.locator('aside.source .passage').waitFor({ timeout: T });
  assert.match(await page.locator('aside.source .passage').innerText(), /<script>/, 'the source shows the markup as text');
  await page.reload();
  await page.locator('.msg.assistant .meta').nth(1).waitFor({ timeout: T });
  await page.waitForTimeout(500);
  const found = await page.evaluate(() => ({
    xss: window.__xss,
    scripts: document.querySelectorAll('main script').length,
    handlers: [...document.querySelectorAll('main *')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
    jsLinks: document.querySelectorAll('main a[href^="javascript:"]').length,
  }));
  assert.deepEqual(found, { xss: undefined, scripts: 0, handlers: 0, jsLinks: 0 });
});

test('the session is refreshed without the user noticing', async () => {
  await page.waitForTimeout(4000); // the 3 s access token has expired
  await page.click('header.top nav >> text=Costs');
  await page.locator('[data-testid=spent]').waitFor({ timeout: T });
  assert.equal(await page.locator('.signin').count(), 0, 'still signed in');
});

test('the cost dashboard shows the spend and the savings', async () => {
  await page.locator('figure.chart').first().waitFor({ timeout: T });
  const spent = await page.locator('[data-testid=spent]').innerText();
  assert.match(spent, /^\$\d+\.\d+$/);
  const cards = await page.locator('.cards').innerText();
  assert.match(cards, /OpenAI only would have cost/);
  assert.match(cards, /\d+ calls/);
  const saved = await page.locator('[data-testid=saved]').innerText();
  assert.notEqual(saved, '$0.00', 'savings against OpenAI-only are shown');
  assert.match(await page.locator('section', { has: page.getByRole('heading', { name: 'By provider', exact: true }) }).innerText(), /cloudflare/);
  await shot('costs');
});

test('the rollback switch applies after confirmation', async () => {
  await page.click('header.top nav >> text=Providers');
  await page.locator('select[aria-label="force provider"]').selectOption('openai');
  await page.click('text=Apply switch');
  await page.getByText('This applies to every user at once').waitFor({ timeout: T });
  assert.equal((await apiGet('/api/admin/routing')).body.forceProvider, '', 'nothing changes before confirming');
  await page.click('.confirm >> text=Confirm');
  await page.getByText('Rollback switch on: every chat call goes to openai.').waitFor({ timeout: T });
  assert.equal((await apiGet('/api/admin/routing')).body.forceProvider, 'openai');
  await shot('providers');

  await page.click('header.top nav >> text=Chat');
  await page.click('text=New chat');
  const answer = await ask('How do grey herons hunt?');
  assert.match(await answer.locator('.meta').innerText(), /openai/, 'the switch reached the chat');

  await page.click('header.top nav >> text=Providers');
  await page.locator('select[aria-label="force provider"]').selectOption('');
  await page.click('text=Apply switch');
  await page.click('.confirm >> text=Confirm');
  await page.getByText('Applied to every user.').waitFor({ timeout: T });
  assert.equal((await apiGet('/api/admin/routing')).body.forceProvider, '');
});

test('quality shows the answers by provider', async () => {
  await page.click('header.top nav >> text=Quality');
  await page.locator('table tbody tr').first().waitFor({ timeout: T });
  assert.match(await page.locator('table').innerText(), /cloudflare/);
  await shot('quality');
});

test('an API key is shown once and works on /v1', async () => {
  await page.click('header.top nav >> text=Settings');
  await page.fill('input[placeholder="reporting script"]', 'browser test');
  await page.click('text=Create key');
  const key = await page.locator('[data-testid=new-key]').innerText({ timeout: T });
  assert.match(key, /^pk-/);
  await page.locator('.secret').getByRole('button', { name: 'Copy', exact: true }).click();
  await page.getByText('Copied').waitFor({ timeout: T });
  const status = await page.evaluate(async (k) => (await fetch('/v1/models', { headers: { Authorization: 'Bearer ' + k } })).status, key);
  assert.equal(status, 200);
  await page.click('.secret >> text=Done');
  assert.equal(await page.locator('[data-testid=new-key]').count(), 0, 'the secret is gone once dismissed');
  assert.match(await page.locator('section', { hasText: 'API keys' }).locator('table').innerText(), /browser test/);
  await shot('settings');
});

test('readable on a phone', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ['/chat', '/documents', '/costs', '/settings']) {
    await page.goto(BASE + path);
    await visible(page.locator('main h1, main .conversation').first());
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${path} fits a phone (overflow ${overflow}px)`);
  }
  await page.setViewportSize({ width: 1280, height: 860 });
});

test('errors are shown in words', async () => {
  await page.goto(BASE + '/chat/01NOSUCHCHAT00000000000000');
  const alert = page.locator('[role=alert]').first();
  await alert.waitFor({ timeout: T });
  assert.match(await alert.innerText(), /not found/i);
});

test('a file that is not what it says fails with its reason', async () => {
  await page.click('header.top nav >> text=Documents');
  const broken = join(files, 'broken.pdf');
  writeFileSync(broken, 'this is plain text, not a PDF');
  await page.setInputFiles('input[type=file]', [broken]);
  const row = page.locator('.upload[data-status=failed]');
  await visible(row);
  assert.match(await row.innerText(), /broken\.pdf[\s\S]*failed: .+/);
});

test('an admin adds a member, who sees only their own', async () => {
  await page.click('header.top nav >> text=Settings');
  const accounts = page.locator('section', { has: page.getByRole('heading', { name: 'Accounts', exact: true }) });
  await accounts.locator('input[type=email]').fill('member@example.com');
  await accounts.locator('input[type=password]').fill('another horse battery');
  await accounts.getByRole('button', { name: 'Create account' }).click();
  await visible(accounts.locator('td', { hasText: 'member@example.com' }));

  await page.click('text=Sign out');
  await visible(page.locator('.signin'));
  await page.fill('input[name=email]', 'member@example.com');
  await page.fill('input[name=password]', 'another horse battery');
  await page.click('button[type=submit]');
  await visible(page.locator('header.top nav'));
  const nav = await page.locator('header.top nav').innerText();
  assert.doesNotMatch(nav, /Quality|Providers/, 'members do not see the admin pages');
  await page.click('header.top nav >> text=Documents');
  await visible(page.getByText('No documents yet'));
  await page.click('header.top nav >> text=Costs');
  await visible(page.getByText('Your own spend.'));
  assert.equal(await page.locator('[data-testid=spent]').innerText(), '$0.00', "the admin's spend is not the member's");
  await page.goto(BASE + '/providers');
  await visible(page.locator('main .conversation'));
  assert.equal(new URL(page.url()).pathname, '/chat', 'an admin page sends a member back to chat');
});

test('sign out returns to the sign-in form', async () => {
  await page.click('text=Sign out');
  await page.locator('.signin').waitFor({ timeout: T });
  assert.equal((await apiGet('/api/auth/me')).status, 401);
  assert.deepEqual(pageErrors, [], 'no script errors and no alerts on any page');
});

// Screenshots of every page of a demo instance for docs/screenshots/
// (make screenshots seeds one with `penny seed --demo` and serves it).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.PENNY_URL;
const OUT = process.env.PENNY_SCREENSHOTS;
if (!BASE || !OUT) throw new Error('set PENNY_URL and PENNY_SCREENSHOTS');
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.PENNY_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
const shot = (name, fullPage = true) => page.screenshot({ path: join(OUT, name + '.png'), fullPage });

await page.goto(BASE + '/');
await page.locator('input[name=email]').waitFor();
await shot('sign-in', false);
await page.fill('input[name=email]', 'ada@demo.example');
await page.fill('input[name=password]', 'penny-demo-password');
await page.click('button[type=submit]');
await page.locator('.chats li a').first().waitFor();

await page.locator('.chats li a').first().click();
await page.locator('.md button.cite').first().waitFor();
await page.locator('.md button.cite').first().click();
await page.locator('aside.source .passage').waitFor();
await page.locator('details.why summary').first().click();
await shot('chat', false);

for (const name of ['documents', 'costs', 'quality', 'providers', 'settings']) {
  await page.goto(BASE + '/' + name);
  await page.locator('main h1').waitFor();
  await page.waitForLoadState('networkidle');
  await shot(name);
}

await page.setViewportSize({ width: 390, height: 844 });
await page.goto(BASE + '/costs');
await page.locator('figure.chart').first().waitFor();
await shot('phone-costs', false);
await browser.close();
console.log('screenshots in ' + OUT);

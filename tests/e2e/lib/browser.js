// Headless Chromium for the admin UI tests: Debian's /usr/bin/chromium (scripts/deps.sh
// installs it; CHROMIUM overrides the path) driven by npm playwright-core. Each page records
// its console errors and uncaught exceptions, so a test can assert there were none.
import fs from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const VIEWPORT = { width: 1280, height: 800 };

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (scripts/deps.sh installs Debian's chromium)`);
  // --no-sandbox: CI runs the tests as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

// A new page (own context: own localStorage) whose problems are collected in page.problems.
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()} (${m.location()?.url || ''})`);
  });
  page.on('pageerror', (e) => page.problems.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.closeAll = () => context.close();
  return page;
}

// Where screenshots go: GYRE_ADMIN_SCREENSHOTS (e.g. ../../docs/admin to refresh the
// committed ones), else nowhere.
export async function screenshot(page, name) {
  const dir = process.env.GYRE_ADMIN_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/${name}.png` });
}

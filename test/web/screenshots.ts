// Takes screenshots of the main web pages into docs/screenshots/ (run after a build:
// `node dist/test/web/screenshots.js`). Same data as the browser test: one project at each
// protection level, an administrator who logs in and makes an API token.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../helpers/processes.js';
import { CHROMIUM, haveChromium, launchChromium } from './browser.js';
import { ADA_PASSWORD, startWebIndex } from './fixture.js';

const outDir = join(repoRoot, 'docs', 'screenshots');

async function main(): Promise<void> {
  if (!haveChromium()) {
    process.stderr.write(`${CHROMIUM} is missing: apt-get install chromium\n`);
    process.exit(1);
  }
  await mkdir(outDir, { recursive: true });
  const w = await startWebIndex();
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const shot = async (name: string, path: string, opts: { page?: Page; fullPage?: boolean } = {}) => {
      const p = opts.page ?? page;
      if (path) await p.goto(`${w.url}${path}`);
      await p.screenshot({ path: join(outDir, `${name}.png`), fullPage: opts.fullPage ?? true });
      process.stdout.write(`docs/screenshots/${name}.png\n`);
    };
    await shot('home', '/');
    await shot('search', '/search/?q=toolkit');
    await shot('project-claimed', '/project/sigil/');
    await shot('project-recently-claimed', '/project/warden/');
    await shot('project-unclaimed', '/project/plainpkg/');
    await shot('project-yanked-release', '/project/plainpkg/1.0/');
    await shot('help-protection', '/help/protection/');
    await shot('login', '/account/login/');
    await page.getByLabel('User name').fill('ada');
    await page.getByLabel('Password').fill(ADA_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/manage\/account\/$/);
    await page.getByLabel('What the new token is for').fill('release CI');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.waitForLoadState();
    await shot('account-new-token', '');
    await shot('manage-projects', '/manage/projects/');
    await shot('admin', '/admin/');
    // A phone-sized view of a project page: the layout reflows to one column.
    const phone = await (await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } })).newPage();
    await shot('project-claimed-phone', '/project/sigil/', { page: phone, fullPage: false });
    // Keyboard focus is visible.
    await page.goto(`${w.url}/`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await shot('focus-visible', '', { fullPage: false });
  } finally {
    await browser.close();
    await w.close();
  }
}

await main();

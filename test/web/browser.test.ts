// The web pages in a real browser (Debian's chromium, headless, through playwright-core), with
// JavaScript turned off, as a person would use them: find projects, see how each is protected,
// log in with the keyboard, make an API token, look at their projects and the admin page, log
// out. Skipped, saying so, only when /usr/bin/chromium is missing (CI installs it).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADA_PASSWORD, HOSTILE_SUMMARY, startWebIndex, type WebIndex } from './fixture.js';
import { CHROMIUM, haveChromium, launchChromium } from './browser.js';

const skip = haveChromium() ? false : `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser test`;

describe('web pages in a real browser (chromium, no JavaScript)', { skip, timeout: 600_000 }, () => {
  let w: WebIndex;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];

  before(async () => {
    w = await startWebIndex({ hostile: true });
    browser = await launchChromium();
    context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  after(async () => {
    await browser?.close();
    await w?.close();
  });

  const badge = (p: Page) => p.locator('.project-head .badge');

  it('shows the home page with the landing information, and a skip link first in tab order', async () => {
    await page.goto(`${w.url}/`);
    assert.equal(await page.title(), 'Package index · Bulwark');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Bulwark package index');
    assert.ok(await page.getByRole('link', { name: 'Simple index', exact: true }).first().isVisible());
    assert.match((await page.locator('main').textContent()) ?? '', /twine upload --repository-url http:\/\/127\.0\.0\.1:\d+\/legacy\/ dist\/\*/);
    assert.ok(await page.getByRole('link', { name: 'Initial root metadata' }).isVisible());
    await page.keyboard.press('Tab');
    assert.equal(await page.locator(':focus').innerText(), 'Skip to main content');
    assert.equal(await page.locator('a.skip').isVisible(), true, 'the skip link shows when focused');
  });

  it('shows a claimed project: developer-signed with an offline delegation, files with sha256', async () => {
    await page.goto(`${w.url}/project/sigil/`);
    assert.equal(await badge(page).getAttribute('data-protection'), 'claimed');
    assert.equal((await badge(page).innerText()).trim(), 'Developer-signed · offline delegation');
    const panel = page.locator('section.protection');
    assert.equal(await panel.locator('.words').innerText(), 'Signed by its developers, with an offline delegation.');
    assert.match(await panel.innerText(), /cannot add, replace or remove a file of this project/);
    assert.match(await panel.innerText(), /Project role project-sigil, version \d+: signed by 1 of 1 developer key\(s\), delegated by claimed\./);
    assert.match(await panel.innerText(), /A change of its keys waits for the next offline ceremony/);
    const files = await page.locator('table.files').innerText();
    for (const [file, sha] of w.sha256) {
      if (file.startsWith('sigil-2.0')) {
        assert.ok(files.includes(file), file);
        assert.ok(files.includes(sha), `${file} sha256`);
      }
    }
    assert.match(files, /\d+ bytes/);
    assert.match(await page.locator('aside').innerText(), /listed by TUF role project-sigil/);
  });

  it('shows an unclaimed project: signed by the index only, with its yanked release marked', async () => {
    await page.goto(`${w.url}/project/plainpkg/`);
    assert.equal(await badge(page).getAttribute('data-protection'), 'unclaimed');
    assert.equal((await badge(page).innerText()).trim(), 'Index-signed only');
    assert.equal(await page.locator('section.protection .words').innerText(), 'Signed by the index only.');
    const history = page.locator('ul.releases li', { hasText: '1.0' });
    assert.match(await history.innerText(), /yanked/);
    assert.match(await history.innerText(), /broken build: use 1\.1/);
    // The badge leads to the explanation of the level.
    await badge(page).click();
    assert.equal(new URL(page.url()).pathname, '/help/protection/');
    assert.match(await page.locator('#unclaimed').innerText(), /Someone who takes over the index's online keys can change its files/);
    assert.match(await page.locator('table.levels').innerText(), /All online keys/);
  });

  it('shows a recently-claimed project as waiting for promotion', async () => {
    await page.goto(`${w.url}/project/warden/`);
    assert.equal((await badge(page).innerText()).trim(), 'Developer-signed · waiting for promotion');
    assert.equal(await page.locator('section.protection .words').innerText(), 'Signed by its developers, waiting for promotion to an offline delegation.');
  });

  it('shows markup in a summary as text, and runs nothing', async () => {
    await page.goto(`${w.url}/project/tricky/`);
    assert.equal(await page.locator('p.summary').innerText(), HOSTILE_SUMMARY);
    assert.equal(await page.locator('.project-head b, p.summary b').count(), 0);
    assert.deepEqual(dialogs, []);
  });

  it('renders a hostile README with JavaScript on: nothing runs, links and images are tame, anchors work', async () => {
    // A second context with JavaScript enabled: only then would a script that got through run.
    const js = await browser.newContext({ javaScriptEnabled: true, viewport: { width: 1280, height: 900 } });
    try {
      const p = await js.newPage();
      const ran: string[] = [];
      p.on('dialog', (d) => {
        ran.push(d.message());
        void d.dismiss();
      });
      // Requests leaving the index are answered here, never by the network: which did the page make?
      const outside: string[] = [];
      await js.route((url) => !url.href.startsWith(w.url), (route) => {
        outside.push(route.request().url());
        void route.fulfill({ status: 204 });
      });
      await p.goto(`${w.url}/project/hostile-readme/`);
      await p.waitForLoadState('load');
      const readme = p.locator('.description');
      assert.equal(await readme.locator('h1').innerText(), 'Hostile README #');
      await readme.getByText('hover me').hover();
      await readme.getByText('toggle').click();
      assert.equal(await p.locator('script, iframe, object, embed, base, style, link:not([rel=stylesheet])').count(), 0);
      const bad = await readme.evaluate((root) => {
        const found: string[] = [];
        for (const el of root.querySelectorAll('*')) {
          for (const a of el.getAttributeNames()) if (a.startsWith('on') || a === 'style' || a === 'srcdoc' || a === 'target') found.push(`${el.tagName} ${a}`);
          if (['FORM', 'INPUT', 'BUTTON', 'TEXTAREA', 'SVG', 'MATH', 'META'].includes(el.tagName.toUpperCase())) found.push(el.tagName);
          const href = el.getAttribute('href');
          if (href !== null && !/^(https?:\/\/|mailto:|#readme-)/.test(href)) found.push(`href ${href}`);
          if (el.tagName === 'A' && el.getAttribute('rel') !== 'nofollow ugc') found.push(`rel ${el.getAttribute('rel')}`);
        }
        return found;
      });
      assert.deepEqual(bad, []);
      assert.deepEqual(ran, [], 'no script ran');
      assert.ok(outside.includes('https://img.example/badge.svg'), `the browser loads the README's https images: ${outside.join(', ')}`);
      assert.ok(!outside.some((u) => u.startsWith('http://')), 'plain-http images are not loaded (CSP: https only)');
      assert.ok(!outside.some((u) => /evil\.example/.test(u)), `nothing from the attacks was fetched: ${outside.join(', ')}`);
      // In-page anchors: the README's own link to its Install heading.
      await readme.getByRole('link', { name: 'Install', exact: true }).click();
      assert.equal(new URL(p.url()).hash, '#readme-install');
      assert.equal(await p.locator('#readme-install').innerText(), 'Install #');
      assert.equal(await p.locator('#files').count(), 1, "the page's own #files is still one element");
    } finally {
      await js.close();
    }
  });

  it('searches from the header with the keyboard; better-protected projects come first among equal matches', async () => {
    await page.goto(`${w.url}/`);
    await page.getByRole('searchbox', { name: 'Search projects' }).first().fill('toolkit');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/search\/\?q=toolkit/);
    assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Search results for “toolkit”/);
    const names = await page.locator('ul.results a.name').allInnerTexts();
    assert.deepEqual(names, ['sigil', 'warden', 'plainpkg']);
    const levels = await page.locator('ul.results .badge').evaluateAll((els) => els.map((e) => e.getAttribute('data-protection')));
    assert.deepEqual(levels, ['claimed', 'recently-claimed', 'unclaimed']);
  });

  it('logs in (sent back to the page asked for) and makes an API token, shown once', async () => {
    await page.goto(`${w.url}/manage/account/`);
    assert.equal(new URL(page.url()).pathname, '/account/login/');
    await page.getByLabel('User name').fill('ada');
    await page.getByLabel('Password').fill('not the password');
    await page.keyboard.press('Enter');
    await page.waitForLoadState();
    assert.match(await page.getByRole('alert').innerText(), /Wrong user name or password/);
    await page.getByLabel('Password').fill(ADA_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/manage\/account\/$/);
    assert.match(await page.locator('main').innerText(), /Logged in as ada \(administrator/);
    const cookie = (await context.cookies()).find((c) => c.name === 'bulwark_session');
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');

    await page.getByLabel('What the new token is for').fill('release CI');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.waitForLoadState();
    const token = (await page.locator('#token-value').innerText()).trim();
    assert.match(token, /^bulwark-[A-Za-z0-9_-]{43}$/);
    assert.equal((await w.index.repo.accounts.authenticate(token))?.name, 'ada');
    assert.match(await page.locator('#new-token').innerText(), /Copy it now: it is not shown again/);
    await page.goto(`${w.url}/manage/account/`);
    assert.equal((await page.content()).includes(token), false, 'not shown again');
    assert.match(await page.locator('table').first().innerText(), /release CI/);
    assert.match(await page.locator('#keys ~ table').first().innerText(), /sigil/);
  });

  it("lists the user's projects with their protection", async () => {
    await page.getByRole('link', { name: 'Your projects' }).click();
    await page.waitForURL(/\/manage\/projects\/$/);
    const rows = page.locator('table tbody tr');
    const byName: Record<string, string | null> = {};
    for (let i = 0; i < (await rows.count()); i++) {
      const row = rows.nth(i);
      byName[await row.locator('td').first().innerText()] = await row.locator('.badge').getAttribute('data-protection');
    }
    assert.deepEqual(byName, { 'hostile-readme': 'unclaimed', plainpkg: 'unclaimed', sigil: 'claimed', tricky: 'unclaimed', warden: 'recently-claimed' });
  });

  it('shows administrators the projects waiting for promotion, pending key changes and role expiry', async () => {
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL(/\/admin\/$/);
    assert.match(await page.locator('#promotion').innerText(), /Projects waiting for promotion \(1\)/);
    assert.match(await page.locator('#promotion ~ table').first().innerText(), /warden/);
    assert.match(await page.locator('#key-changes').innerText(), /Pending key changes \(1\)/);
    const roles = await page.locator('#roles ~ table').first().innerText();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets', 'claimed', 'recently-claimed', 'unclaimed']) assert.match(roles, new RegExp(`^${role}\\t`, 'm'));
  });

  it('logs out from the header, with no script', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${w.url}/`);
    assert.ok(await page.getByRole('link', { name: 'Log in' }).isVisible());
    await page.goto(`${w.url}/admin/`);
    assert.equal(new URL(page.url()).pathname, '/account/login/');
    assert.deepEqual(dialogs, []);
  });
});

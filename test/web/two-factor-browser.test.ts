// Two-factor enrolment and sign-in in a real browser (Debian's chromium, JavaScript off): the QR
// code is read back from a screenshot with Debian's zbarimg (zbar-tools), so a QR code that is
// empty, unreadable or carries another secret than the one shown as text fails the test. The
// server's clock is injected; the codes are computed from the secret read off the page.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { totpCode } from '../../src/accounts/totp.js';
import { openWebStore } from '../../src/storage/state/open-web-store.js';
import { hashPassword } from '../../src/web/passwords.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { removeTempDir, runCommand, tempDir } from '../helpers/processes.js';
import { CHROMIUM, haveChromium, launchChromium } from './browser.js';

const ZBARIMG = '/usr/bin/zbarimg';
const skip = !haveChromium()
  ? `${CHROMIUM} is missing: install Debian's chromium to run the browser test`
  : !existsSync(ZBARIMG)
    ? `${ZBARIMG} is missing: install Debian's zbar-tools (node scripts/ensure-setup.mjs --test does)`
    : false;
const PASSWORD = 'a password long enough';

describe('two-factor in a real browser (chromium, no JavaScript), QR code decoded by zbarimg', { skip, timeout: 120_000 }, () => {
  let index: IndexUnderTest;
  let browser: Browser;
  let page: Page;
  let shots: string;
  let now = Date.parse('2026-12-03T12:00:00Z');
  let secret = '';

  before(async () => {
    index = await startIndex({ server: { webClock: () => new Date(now) } });
    const { user } = await index.repo.accounts.addUser('ada');
    const store = await openWebStore(index.dataDir);
    await store.setPassword(user.id, await hashPassword(PASSWORD), new Date(now).toISOString());
    await store.close();
    shots = await tempDir('two-factor-shots');
    browser = await launchChromium();
    page = await (await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 1000 } })).newPage();
  });
  after(async () => {
    await browser?.close();
    await index?.close();
    if (shots) await removeTempDir(shots);
  });

  const logIn = async () => {
    await page.goto(`${index.url}/account/login/`);
    await page.getByLabel('User name').fill('ada');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
  };

  it('enrols: the QR code decodes to the secret shown as text; a code turns it on', async () => {
    await logIn();
    await page.goto(`${index.url}/manage/account/`);
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    secret = ((await page.locator('#totp-secret').textContent()) ?? '').trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const qr = page.getByRole('img', { name: /QR code of the two-factor key for ada/ });
    const png = join(shots, 'qr.png');
    await qr.screenshot({ path: png });
    const decoded = await runCommand(ZBARIMG, ['--raw', '-q', png], { timeoutMs: 30_000 });
    assert.equal(decoded.code, 0, `zbarimg found no QR code: ${decoded.stderr}`);
    const uri = new URL(decoded.stdout.trim());
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), secret, 'the QR code carries the secret shown as text');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
    assert.equal(uri.searchParams.get('issuer'), 'Bulwark');

    await page.getByLabel('Code from your authenticator').fill(totpCode(secret, new Date(now)));
    await page.getByRole('button', { name: 'Turn on' }).click();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Two-factor authentication is on');
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
  });

  it('signs in with the password, then the code', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    now += 30_000;
    await logIn();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Two-factor code');
    await page.getByLabel('Code from your authenticator, or a recovery code').fill(totpCode(secret, new Date(now)));
    await page.getByRole('button', { name: 'Log in' }).click();
    assert.equal(new URL(page.url()).pathname, '/manage/account/');
    assert.match((await page.locator('#two-factor-state').textContent()) ?? '', /^On since .* 10 recovery code\(s\) left\.$/);
  });
});

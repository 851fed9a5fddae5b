// SPDX-License-Identifier: Apache-2.0
// The web pages of an index on PostgreSQL, end to end: two `bulwark serve --database URL`
// processes on one data directory and one database, as behind a load balancer. A password set
// with `bulwark user password` while they run lets ada sign in; the session made through one
// process is valid in the other and signing out through either ends it in both; a login form
// from one is accepted by the other (one CSRF secret); the home and admin pages of one count an
// upload made through the other; password guesses sent to both count against one limit. The
// web tables are checked in PostgreSQL itself, so the test fails if the pages keep their data
// in the embedded file. Skipped (with a message) only when PostgreSQL is not installed and CI
// is not set.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { basicAuth, uploadForm } from '../helpers/index-under-test.js';
import { postgresOrSkip } from '../helpers/postgres.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';
import { Client } from './client.js';
import { memorySdist } from '../helpers/memory-dists.js';

const pgInfo = await postgresOrSkip();
const PASSWORD = 'a long and shared password';

const projectCount = (home: string) => Number(/(\d+) project\(s\)/.exec(home)?.[1]);

describe('web pages of two `bulwark serve` processes on one PostgreSQL database', { skip: pgInfo.skip ?? false }, () => {
  const running: RunningServer[] = [];
  const clients: pg.Client[] = [];
  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    for (const c of clients) await c.end();
  });

  it('share sessions, passwords set with the CLI, the CSRF secret and the counts', async () => {
    const url = await pgInfo.cluster!.createDatabase('web_serve');
    const data = await tempDir('web-pg');
    const env = { BULWARK_DATABASE_URL: '' };
    const bulwark = (args: string[], input?: string) => runBulwark(['--data', data, '--database', url, ...args], { env, ...(input !== undefined ? { input } : {}) });
    assert.equal((await bulwark(['init', '--bins', '16'])).code, 0);
    const added = await bulwark(['--json', 'user', 'add', 'ada', '--admin']);
    assert.equal(added.code, 0, added.stderr);
    const token = (JSON.parse(added.stdout) as { token: string }).token;

    const serve = () => startBulwark({ dataDir: data, args: ['--database', url, '--log-level', 'warn'], env, timeoutMs: 60_000 });
    const [one, two] = await Promise.all([serve(), serve()]);
    running.push(one!, two!);
    const db = new pg.Client({ connectionString: url });
    clients.push(db);
    await db.connect();
    const count = async (table: string) => ((await db.query(`SELECT COUNT(*)::int AS n FROM ${table}`)).rows[0] as { n: number }).n;

    // The password, set while both run, is in PostgreSQL.
    const set = await bulwark(['user', 'password', 'ada', '--password-fd', '0'], `${PASSWORD}\n`);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(await count('web_passwords'), 1);

    // Signed in through one, signed in on both.
    const browser = new Client(one!.url);
    const login = await browser.login('ada', PASSWORD);
    assert.equal(login.status, 303, login.body);
    const session = browser.cookies.get('bulwark_session');
    assert.ok(session, 'a session cookie');
    assert.equal(await count('web_sessions'), 1);
    const account = await browser.request(`${two!.url}/manage/account/`);
    assert.equal(account.status, 200, 'the other process knows the session');
    assert.match(account.body, /ada/);

    // An upload through one shows on the other's pages.
    assert.equal(projectCount((await browser.request(`${two!.url}/`)).body), 0);
    const { bytes } = memorySdist({ name: 'webpg', version: '1.0' });
    const form = uploadForm(
      { ':action': 'file_upload', protocol_version: '1', name: 'webpg', version: '1.0', filetype: 'sdist', pyversion: 'source', summary: 'Seen everywhere', sha256_digest: createHash('sha256').update(bytes).digest('hex') },
      { name: 'webpg-1.0.tar.gz', bytes }
    );
    const upload = await fetch(`${one!.url}/legacy/`, { method: 'POST', body: form, headers: { authorization: basicAuth(token) } });
    assert.equal(upload.status, 200, await upload.text());
    const home = (await browser.request(`${two!.url}/`)).body;
    assert.equal(projectCount(home), 1);
    assert.match(home, /href="\/project\/webpg\/"/);
    assert.match(home, /Seen everywhere/);
    const admin = await browser.request(`${two!.url}/admin/`);
    assert.equal(admin.status, 200);
    assert.match(admin.body, /0 claimed, 0 recently claimed, 1 unclaimed/);
    assert.match(admin.body, /1 admin, 1 with a password/);

    // A login form from one is accepted by the other: both sign with one CSRF secret.
    const other = new Client(one!.url);
    const page = await other.request('/account/login/');
    const crossed = await other.request(`${two!.url}/account/login/`, { form: { csrf_token: Client.csrf(page.body), next: '/', username: 'ada', password: PASSWORD } });
    assert.equal(crossed.status, 303, crossed.body);
    assert.equal(await count('web_sessions'), 2);

    // Signing out through two ends the session in one.
    const out = await browser.request(`${two!.url}/account/logout/`, { form: { csrf_token: Client.csrf(account.body) } });
    assert.equal(out.status, 303);
    const stale = new Client(one!.url);
    stale.cookies.set('bulwark_session', session);
    const after = await stale.request('/manage/account/');
    assert.equal(after.status, 303, 'signed out everywhere');
    assert.match(after.headers.get('location') ?? '', /^\/account\/login\//);

    // Password guesses spread over both processes count once: the 11th from this address gets 429 from either.
    const guesser = new Client(one!.url);
    const csrf = Client.csrf((await guesser.request('/account/login/')).body);
    const guess = async (server: RunningServer, i: number) =>
      (await guesser.request(`${server.url}/account/login/`, { form: { csrf_token: csrf, next: '/', username: 'ada', password: `guess ${i}` } })).status;
    for (let i = 0; i < 10; i++) assert.equal(await guess(i % 2 ? one! : two!, i), 400, `guess ${i} is only wrong`);
    assert.equal(await count('web_signin_failures'), 30, 'ten failures, each by (account, address), by address and by account, in PostgreSQL');
    assert.equal(await guess(one!, 10), 429, 'the limit holds across processes');
    assert.equal(await guess(two!, 11), 429);
    const right = await guesser.request(`${two!.url}/account/login/`, { form: { csrf_token: csrf, next: '/', username: 'ada', password: PASSWORD } });
    assert.equal(right.status, 429, 'even the right password waits, from this address');
  });
});

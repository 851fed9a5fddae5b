// Two-factor authentication over real HTTP (issue 14, level 2): enrolment from /manage/account/
// (secret as text and QR, confirmed by a code, ten recovery codes once, stored hashed), the code
// step of sign-in (replays, recovery codes once, the lockout rules), tokens that record the
// second factor, and projects whose owners require it. The server's clock is injected: the test
// reads the secret from the page and computes the codes an authenticator would show.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { totpCode } from '../../src/accounts/totp.js';
import { hashToken } from '../../src/repository/accounts.js';
import { openWebStore } from '../../src/storage/state/open-web-store.js';
import { hashPassword } from '../../src/web/passwords.js';
import { SIGN_IN_POLICY } from '../../src/web/rate-limit.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { memorySdist } from '../helpers/memory-dists.js';
import { Client } from './client.js';

const PASSWORD = 'a password long enough';
const T0 = Date.parse('2026-12-03T12:00:00Z');

/** The secret shown on the enrolment page. */
export function secretOf(body: string): string {
  const m = /<code id="totp-secret" class="token">([A-Z2-7]{32})<\/code>/.exec(body);
  assert.ok(m, 'the enrolment page shows the secret as text');
  return m[1] as string;
}

function field(body: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(body);
  assert.ok(m, `the form has ${name}`);
  return m[1] as string;
}

describe('two-factor authentication over HTTP', () => {
  let index: IndexUnderTest;
  let now = T0;
  const at = () => new Date(now);
  let adaInitialToken: string;
  let bobToken: string;
  let secret: string;
  let recovery: string[] = [];
  let adaTwoFactorToken: string;

  const upload = (token: string, version: string) => {
    const d = memorySdist({ name: 'guarded', version, salt: version });
    const form = uploadForm({ ':action': 'file_upload', protocol_version: '1', name: 'guarded', version, filetype: 'sdist', pyversion: 'source', metadata_version: '2.1', sha256_digest: d.sha256 }, { name: d.filename, bytes: d.bytes });
    return fetch(`${index.url}/legacy/`, { method: 'POST', body: form, headers: { authorization: basicAuth(token) } });
  };
  /** Password step, then (when asked) the code step. */
  const signIn = async (c: Client, user: string, code?: string) => {
    const first = await c.login(user, PASSWORD);
    if (code === undefined || first.status !== 303) return first;
    assert.match(first.headers.get('location') ?? '', /^\/account\/login\/two-factor\/\?next=/);
    const page = await c.request(first.headers.get('location') as string);
    return c.request('/account/login/two-factor/', { form: { csrf_token: Client.csrf(page.body), next: '/manage/account/', code } });
  };
  const signedIn = async (c: Client) => (await c.request('/manage/account/')).status === 200;

  before(async () => {
    index = await startIndex({ server: { webClock: at } });
    adaInitialToken = (await index.repo.accounts.addUser('ada')).token;
    bobToken = await index.user('bob');
    await index.user('carol');
    const store = await openWebStore(index.dataDir);
    for (const name of ['ada', 'bob', 'carol']) {
      const user = await index.repo.state.userByName(name);
      await store.setPassword(user?.id as number, await hashPassword(PASSWORD), at().toISOString());
    }
    await store.close();
    assert.equal((await upload(adaInitialToken, '1.0')).status, 200);
    await index.repo.state.addProjectRole('guarded', 'bob', 'maintainer');
  });
  after(() => index.close());

  it('/help/protection/ lists the four levels once, in order, and explains two-factor', async () => {
    const help = (await new Client(index.url).request('/help/protection/')).body;
    const list = /<ol class="level-list" id="levels">([\s\S]*?)<\/ol>/.exec(help)?.[1] ?? '';
    assert.deepEqual([...list.matchAll(/<li><code>([a-z-]+)<\/code>/g)].map((m) => m[1]), ['unclaimed', 'two-factor', 'recently-claimed', 'claimed']);
    assert.match(help, /<section id="two-factor"/);
    assert.match(help, /A maintainer's password or API token, without the second factor/);
  });

  it('an enrolment page alone, a wrong code or an altered secret change nothing', async () => {
    const c = new Client(index.url);
    assert.equal((await signIn(c, 'ada')).status, 303);
    const page = await c.request('/manage/account/two-factor/');
    assert.equal(page.status, 200);
    secret = secretOf(page.body);
    assert.match(page.body, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="qr"[^>]*role="img"/);
    assert.equal(/<script/i.test(page.body), false);
    const ada = await index.repo.state.userByName('ada');
    const form = { csrf_token: Client.csrf(page.body), secret, secret_mac: field(page.body, 'secret_mac') };
    const wrong = await c.request('/manage/account/two-factor/', { form: { ...form, code: totpCode(secret, new Date(now + 5 * 60_000)) } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body, /Two-factor authentication is still off/);
    assert.equal(secretOf(wrong.body), secret, 'the same secret is offered again');
    const other = 'A'.repeat(32);
    const altered = await c.request('/manage/account/two-factor/', { form: { ...form, secret: other, code: totpCode(other, at()) } });
    assert.equal(altered.status, 403, 'a secret the server did not offer this session is refused');
    assert.equal(await index.repo.state.twoFactor(ada?.id as number), undefined);
    assert.match((await c.request('/manage/account/')).body, /id="two-factor-state">Off\./);
  });

  it('enrols with a code: ten recovery codes shown once and stored hashed; other sessions end', async () => {
    const other = new Client(index.url);
    await signIn(other, 'ada');
    assert.ok(await signedIn(other));
    const c = new Client(index.url);
    await signIn(c, 'ada');
    const page = await c.request('/manage/account/two-factor/');
    secret = secretOf(page.body);
    const r = await c.request('/manage/account/two-factor/', {
      form: { csrf_token: Client.csrf(page.body), secret, secret_mac: field(page.body, 'secret_mac'), code: totpCode(secret, at()) },
    });
    assert.equal(r.status, 200, r.body);
    recovery = [...r.body.matchAll(/<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})<\/code><\/li>/g)].map((m) => m[1] as string);
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    const account = await c.request('/manage/account/');
    assert.match(account.body, /id="two-factor-state">On since .*10 recovery code\(s\) left/);
    assert.equal(recovery.some((code) => account.body.includes(code)), false, 'shown once');
    assert.equal(await signedIn(other), false, 'the other session was signed out');
    const db = new Database(join(index.dataDir, 'bulwark.db'), { readonly: true });
    const stored = db.prepare('SELECT code_hash FROM two_factor_recovery').all() as { code_hash: string }[];
    db.close();
    assert.equal(stored.length, 10);
    for (const code of recovery) assert.equal(stored.some((s) => s.code_hash.includes(code.replace(/-/g, ''))), false, 'only hashes are stored');
  });

  it('sign-in asks for the code; the same code again (replay) and a wrong code are refused', async () => {
    now += 60_000;
    const a = new Client(index.url);
    const first = await a.login('ada', PASSWORD);
    assert.equal(first.status, 303);
    assert.equal(a.cookies.has('bulwark_session'), false, 'no session before the code');
    assert.equal(await signedIn(a), false);
    const code = totpCode(secret, at());
    const page = await a.request(first.headers.get('location') as string);
    const ok = await a.request('/account/login/two-factor/', { form: { csrf_token: Client.csrf(page.body), next: '/manage/account/', code } });
    assert.equal(ok.status, 303);
    assert.ok(await signedIn(a));

    const b = new Client(index.url);
    const replay = await signIn(b, 'ada', code);
    assert.equal(replay.status, 400, 'a code is good once');
    assert.match(replay.body, /not right, or was used already/);
    const wrong = await signIn(new Client(index.url), 'ada', '000000' === code ? '111111' : '000000');
    assert.equal(wrong.status, 400);
    assert.equal(await signedIn(b), false);
    now += 30_000;
    assert.equal((await signIn(new Client(index.url), 'ada', totpCode(secret, at()))).status, 303, "the next step's code works");
  });

  it('a recovery code signs in once', async () => {
    const used = recovery[0] as string;
    assert.equal((await signIn(new Client(index.url), 'ada', used.toUpperCase())).status, 303);
    const again = await signIn(new Client(index.url), 'ada', used);
    assert.equal(again.status, 400);
    assert.match((await index.repo.state.twoFactor((await index.repo.state.userByName('ada'))?.id as number))?.recoveryLeft.toString() ?? '', /^9$/);
  });

  it('a token made from a session that passed two-factor records it', async () => {
    now += 30_000;
    const c = new Client(index.url);
    await signIn(c, 'ada', totpCode(secret, at()));
    const page = await c.request('/manage/account/');
    const made = await c.request('/manage/account/tokens/', { form: { csrf_token: Client.csrf(page.body), description: 'ci with 2fa' } });
    assert.equal(made.status, 200);
    adaTwoFactorToken = /<code class="token" id="token-value">([^<]+)<\/code>/.exec(made.body)?.[1] as string;
    assert.ok(adaTwoFactorToken);
    assert.equal(await index.repo.state.tokenTwoFactor(hashToken(adaTwoFactorToken)), true);
    assert.match(made.body, /<td>ci with 2fa<\/td><td>[^<]*<\/td><td>yes<\/td>/);
    assert.equal(await index.repo.state.tokenTwoFactor(hashToken(adaInitialToken)), false);
  });

  it('owners require two-factor: a maintainer without it and a token made without it are refused, saying what to do', async () => {
    const bob = new Client(index.url);
    await signIn(bob, 'bob');
    const bobPage = await bob.request('/manage/project/guarded/settings/');
    assert.equal(bobPage.status, 200);
    assert.match(bobPage.body, /Only an owner can change this/);
    const notOwner = await bob.request('/manage/project/guarded/settings/', { form: { csrf_token: Client.csrf(bobPage.body), require_two_factor: 'yes' } });
    assert.equal(notOwner.status, 403);
    assert.equal((await index.repo.state.projectTwoFactor('guarded')).required, false);

    now += 30_000;
    const ada = new Client(index.url);
    await signIn(ada, 'ada', totpCode(secret, at()));
    const page = await ada.request('/manage/project/guarded/settings/');
    const set = await ada.request('/manage/project/guarded/settings/', { form: { csrf_token: Client.csrf(page.body), require_two_factor: 'yes' } });
    assert.equal(set.status, 200);
    assert.match(set.body, /id="requirement">Required/);
    assert.match(set.body, /Without two-factor authentication: bob\./);

    const byBob = await upload(bobToken, '2.0');
    assert.equal(byBob.status, 403);
    assert.match(await byBob.text(), /TWO_FACTOR_REQUIRED: guarded requires two-factor authentication: turn it on at \/manage\/account\//);
    const oldToken = await upload(adaInitialToken, '2.0');
    assert.equal(oldToken.status, 403);
    assert.match(await oldToken.text(), /this API token was made without it: make a new API token at \/manage\/account\//);
    const yank = await fetch(`${index.url}/api/v1/projects/guarded/yank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adaInitialToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: '1.0' }),
    });
    assert.equal(yank.status, 403);
    assert.equal(((await yank.json()) as { error: { code: string } }).error.code, 'TWO_FACTOR_REQUIRED');
    assert.equal((await index.repo.state.projectFiles('guarded')).length, 1, 'nothing was recorded');
    assert.equal((await upload(adaTwoFactorToken, '2.0')).status, 200, 'the owner with a two-factor token uploads');
  });

  it('disabling needs a code; /pypi/<p>/json follows the signed level', async () => {
    const json = async () => ((await (await fetch(`${index.url}/pypi/guarded/json`)).json()) as { info: { bulwark_protection: string } }).info.bulwark_protection;
    assert.equal(await json(), 'unclaimed', 'bob has no second factor yet');
    // bob turns it on: guarded reaches two-factor.
    const bob = await index.repo.state.userByName('bob');
    await index.repo.state.enableTwoFactor(bob?.id as number, 'B'.repeat(32), 0, [], at().toISOString());
    index.repo.worker.kick();
    await index.repo.settle();
    assert.equal(await json(), 'two-factor');
    const projectPage = (await new Client(index.url).request('/project/guarded/')).body;
    assert.match(projectPage, /<a class="badge badge-two-factor" data-protection="two-factor" href="\/help\/protection\/#two-factor"/);
    assert.match(projectPage, /every maintainer uploads with a second factor/);

    now += 30_000;
    const c = new Client(index.url);
    await signIn(c, 'ada', totpCode(secret, at()));
    const page = await c.request('/manage/account/');
    const wrong = await c.request('/manage/account/two-factor/disable/', { form: { csrf_token: Client.csrf(page.body), code: '12345x' } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body, /Two-factor authentication stays on/);
    now += 30_000;
    const off = await c.request('/manage/account/two-factor/disable/', { form: { csrf_token: Client.csrf(page.body), code: totpCode(secret, at()) } });
    assert.equal(off.status, 200);
    assert.match(off.body, /id="two-factor-state">Off\./);
    await index.repo.settle();
    assert.equal(await json(), 'unclaimed');
  });

  it('wrong codes count like wrong passwords (sign-in and turning it off): the pair is refused, the owner elsewhere with the right code gets in', async () => {
    // carol, whose password the attacker knows, and whose authenticator they do not have. Last:
    // her account's failures slow down her sign-ins for the rest of the window.
    const carol = (await index.repo.state.userByName('carol'))?.id as number;
    const carolSecret = 'C'.repeat(32);
    await index.repo.state.enableTwoFactor(carol, carolSecret, 0, [], at().toISOString());
    const attacker = new Client(index.url, '127.0.0.2');
    const statuses: number[] = [];
    for (let i = 0; i < SIGN_IN_POLICY.perPair + 1; i++) statuses.push((await signIn(attacker, 'carol', String(100000 + i))).status);
    assert.deepEqual(statuses, [...Array(SIGN_IN_POLICY.perPair).fill(400), 429], 'wrong codes, until the pair is refused (at the password step too)');
    const owner = new Client(index.url, '127.0.0.3');
    assert.equal((await signIn(owner, 'carol', totpCode(carolSecret, at()))).status, 303);
    assert.ok(await signedIn(owner));
    // A session cannot guess its way to turning the second factor off either.
    const page = await owner.request('/manage/account/');
    const off: number[] = [];
    for (let i = 0; i < SIGN_IN_POLICY.perPair + 1; i++) {
      off.push((await owner.request('/manage/account/two-factor/disable/', { form: { csrf_token: Client.csrf(page.body), code: String(200000 + i) } })).status);
    }
    assert.deepEqual(off, [...Array(SIGN_IN_POLICY.perPair).fill(400), 429]);
    assert.ok(await index.repo.state.twoFactor(carol), 'still on');
  });
});

// The web pages over real HTTP, without a browser: what each page shows, that every value is
// escaped, the sign-in flow with its CSRF tokens and cookies, tokens shown once, access rules.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fastify from 'fastify';
import { registerWebRoutes } from '../../src/web/routes.js';
import { Client } from './client.js';
import { ADA_PASSWORD, BOB_PASSWORD, HOSTILE_SUMMARY, startWebIndex, type WebIndex } from './fixture.js';

describe('web pages over HTTP', () => {
  let w: WebIndex;
  before(async () => {
    w = await startWebIndex({ developerProjects: false, hostile: true });
  });
  after(() => w.close());

  it('home keeps the landing information: simple index, upload command, root metadata', async () => {
    const r = await new Client(w.url).request('/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html; charset=utf-8/);
    assert.match(r.body, /href="\/simple\/"/);
    assert.match(r.body, /twine upload --repository-url http:\/\/127\.0\.0\.1:\d+\/legacy\/ dist\/\*/);
    assert.match(r.body, /href="\/metadata\/1\.root\.json"/);
    assert.match(r.body, /Demo repository/);
    assert.match(r.body, /<h1>Bulwark package index<\/h1>/);
  });

  it('sends security headers, and the style sheet', async () => {
    const c = new Client(w.url);
    const r = await c.request('/');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'.*form-action 'self'.*frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    const css = await c.request('/static/bulwark.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    assert.match(css.body, /:focus-visible/);
  });

  it('escapes every value: a summary with markup shows as text on every page', async () => {
    const c = new Client(w.url);
    for (const path of ['/', '/search/?q=tricky', '/project/tricky/', `/search/?q=${encodeURIComponent('<script>')}`]) {
      const r = await c.request(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.body.includes('<script>'), false, `${path} has no raw <script>`);
      // The README (which repeats the summary) keeps the <b> that PyPI's allow-list keeps too.
      const outsideReadme = r.body.replace(/<div class="description">[\s\S]*<\/div>\n<h2 id="history">/, '');
      assert.equal(outsideReadme.includes('<b>bold</b>'), false, path);
    }
    const project = await c.request('/project/tricky/');
    assert.ok(project.body.includes('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;'), 'the summary is escaped');
    assert.ok(HOSTILE_SUMMARY.includes('<script>'));
    const q = await c.request(`/search/?q=${encodeURIComponent('"><img src=x onerror=alert(1)>')}`);
    assert.equal(q.body.includes('<img src=x'), false);
    assert.ok(q.body.includes('value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"'));
  });

  it('shows a project: protection in words and badge, versions, files with sha256 and size, yanked marks', async () => {
    const r = await new Client(w.url).request('/project/plainpkg/');
    assert.equal(r.status, 200);
    assert.match(r.body, /data-protection="unclaimed"/);
    assert.match(r.body, /Index-signed only/);
    assert.match(r.body, /Signed by the index only\./);
    assert.match(r.body, /<h1>plainpkg <span class="version">1\.1<\/span><\/h1>/);
    for (const [file, sha] of w.sha256) {
      if (!file.startsWith('plainpkg-1.1')) continue;
      assert.ok(r.body.includes(file), file);
      assert.ok(r.body.includes(sha), `${file} sha256`);
    }
    assert.match(r.body, /\d+ bytes/);
    assert.match(r.body, /A plain toolkit, signed by the index only/);
    assert.match(r.body, /<div class="description"><h1 id="readme-plainpkg">plainpkg <a class="anchor"/, 'the description from the wheel metadata, rendered');
    assert.match(r.body, /href="\/project\/plainpkg\/1\.0\/">1\.0<\/a><span class="yanked-mark" title="Yanked: broken build: use 1\.1">yanked<\/span>/);
    assert.match(r.body, /listed by TUF role <code>bins-[0-9a-f]+<\/code>/);
    const old = await new Client(w.url).request('/project/plainpkg/1.0/');
    assert.equal(old.status, 200);
    assert.match(old.body, /This release is yanked<\/strong>: broken build: use 1\.1/);
    assert.match(old.body, /pip install --index-url http:\/\/127\.0\.0\.1:\d+\/simple\/ plainpkg==1\.0/);
  });

  it('redirects to the normalized name and answers 404 pages for unknown projects and releases', async () => {
    const c = new Client(w.url);
    const r = await c.request('/project/PlainPkg/');
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/project/plainpkg/');
    assert.equal((await c.request('/project/plainpkg')).headers.get('location'), '/project/plainpkg/');
    const missing = await c.request('/project/no-such-thing/');
    assert.equal(missing.status, 404);
    assert.match(missing.body, /There is no project named “no-such-thing”/);
    assert.equal((await c.request('/project/plainpkg/9.9/')).status, 404);
    assert.equal((await c.request('/project/..%2F..%2Fetc/')).status, 404);
    assert.equal((await c.request('/search')).headers.get('location'), '/search/');
  });

  it('searches names and summaries', async () => {
    const c = new Client(w.url);
    const r = await c.request('/search/?q=toolkit');
    assert.match(r.body, /1 project\(s\)/);
    assert.match(r.body, /href="\/project\/plainpkg\/">plainpkg<\/a> <span class="meta">1\.1<\/span>/);
    const all = await c.request('/search/');
    assert.match(all.body, /All projects/);
    assert.match(all.body, /3 project\(s\)/);
    assert.match((await c.request('/search/?q=zzzz')).body, /No projects match/);
  });

  it('signs in with a password: CSRF-checked form, a new HttpOnly SameSite=Lax session cookie', async () => {
    const c = new Client(w.url);
    const form = await c.request('/account/login/');
    assert.equal(form.status, 200);
    const anon = c.lastSetCookies.find((s) => s.startsWith('bulwark_csrf='));
    assert.ok(anon);
    assert.match(anon, /HttpOnly/);
    assert.match(anon, /SameSite=Lax/);
    assert.doesNotMatch(anon, /Secure/, 'plain http: no Secure flag, or the browser would drop the cookie');
    assert.match(form.body, /<label for="username">User name<\/label>/);
    assert.match(form.body, /<label for="password">Password<\/label>/);
    const csrf = Client.csrf(form.body);

    // Without the token, with another's token, or from another site: refused.
    assert.equal((await c.request('/account/login/', { form: { username: 'ada', password: ADA_PASSWORD, next: '/' } })).status, 403);
    assert.equal((await c.request('/account/login/', { form: { csrf_token: `${csrf.slice(0, -2)}AA`, username: 'ada', password: ADA_PASSWORD } })).status, 403);
    assert.equal(
      (await c.request('/account/login/', { form: { csrf_token: csrf, username: 'ada', password: ADA_PASSWORD }, headers: { origin: 'http://evil.example' } })).status,
      403
    );
    const stranger = new Client(w.url); // a token without its cookie
    assert.equal((await stranger.request('/account/login/', { form: { csrf_token: csrf, username: 'ada', password: ADA_PASSWORD } })).status, 403);

    const wrong = await c.request('/account/login/', { form: { csrf_token: csrf, username: 'ada', password: 'not the password', next: '/manage/projects/' } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body, /Wrong user name or password/);
    assert.match(wrong.body, /aria-invalid="true"/);
    const unknown = await c.request('/account/login/', { form: { csrf_token: csrf, username: 'nobody', password: 'whatever it is' } });
    assert.match(unknown.body, /Wrong user name or password/, 'unknown accounts get the same answer');
    assert.equal(c.cookies.has('bulwark_session'), false);

    const ok = await c.request('/account/login/', { form: { csrf_token: csrf, username: 'ada', password: ADA_PASSWORD, next: '/manage/projects/' } });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/manage/projects/');
    const session = c.lastSetCookies.find((s) => s.startsWith('bulwark_session='));
    assert.ok(session);
    assert.match(session, /HttpOnly/);
    assert.match(session, /SameSite=Lax/);
    assert.match(session, /Max-Age=43200/);
    assert.match(session, /Path=\//);
    const projects = await c.request('/manage/projects/');
    assert.equal(projects.status, 200);
    assert.match(projects.body, /plainpkg/);
    assert.match(projects.body, /Claim it with your developer keys: bulwark claim plainpkg/);
  });

  it('never redirects off the site after signing in', async () => {
    const c = new Client(w.url);
    const page = await c.request('/account/login/?next=//evil.example/');
    assert.ok(page.body.includes('name="next" value="/manage/account/"'));
    const r = await c.request('/account/login/', { form: { csrf_token: Client.csrf(page.body), username: 'bob', password: BOB_PASSWORD, next: 'https://evil.example/' } });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/manage/account/');
  });

  it('sends visitors who are not signed in to the login page, and back', async () => {
    const c = new Client(w.url);
    for (const path of ['/manage/account/', '/manage/projects/', '/admin/']) {
      const r = await c.request(path);
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.get('location'), `/account/login/?next=${encodeURIComponent(path)}`);
    }
  });

  it('creates an API token that is shown once and works for uploads', async () => {
    const c = new Client(w.url);
    await c.login('bob', BOB_PASSWORD);
    const account = await c.request('/manage/account/');
    assert.equal(account.status, 200);
    assert.match(account.headers.get('cache-control') ?? '', /no-store/);
    const csrf = Client.csrf(account.body);
    assert.equal((await c.request('/manage/account/tokens/', { form: { description: 'laptop' } })).status, 403, 'no CSRF token');
    const empty = await c.request('/manage/account/tokens/', { form: { csrf_token: csrf, description: '   ' } });
    assert.equal(empty.status, 400);
    assert.match(empty.body, /Say what the token is for/);
    const made = await c.request('/manage/account/tokens/', { form: { csrf_token: csrf, description: 'CI <of> bob' } });
    assert.equal(made.status, 200);
    const token = /<code class="token" id="token-value">(bulwark-[A-Za-z0-9_-]+)<\/code>/.exec(made.body)?.[1];
    assert.ok(token, 'the new token is on the page');
    assert.match(made.body, /New token “CI &lt;of&gt; bob”/);
    assert.equal((await w.index.repo.accounts.authenticate(token))?.name, 'bob');
    const again = await c.request('/manage/account/');
    assert.equal(again.body.includes(token), false, 'shown only once');
    assert.match(again.body, /<td>CI &lt;of&gt; bob<\/td>/);
    assert.match(again.body, /Your tokens \(2\)/);
  });

  it('lets administrators only into the admin pages', async () => {
    const bob = new Client(w.url);
    await bob.login('bob', BOB_PASSWORD);
    const denied = await bob.request('/admin/');
    assert.equal(denied.status, 403);
    assert.match(denied.body, /Administrators only/);
    const ada = new Client(w.url);
    await ada.login('ada', ADA_PASSWORD);
    const admin = await ada.request('/admin/');
    assert.equal(admin.status, 200);
    assert.match(admin.body, /Projects waiting for promotion \(0\)/);
    assert.match(admin.body, /<th scope="row">timestamp<\/th><td>online<\/td>/);
    assert.match(admin.body, /<th scope="row">claimed<\/th><td>offline<\/td>/);
    assert.match(admin.body, /demo repository: the offline keys are on this machine/);
    assert.match(admin.body, /\d+ published, 0 failed/);
    assert.match(ada.lastSetCookies.join(), /^$/, 'no cookie churn on plain page views');
  });

  it('logs out with a CSRF-checked POST; the old session cookie stops working', async () => {
    const c = new Client(w.url);
    await c.login('bob', BOB_PASSWORD);
    const stolen = c.cookies.get('bulwark_session') as string;
    const page = await c.request('/account/logout/');
    assert.equal(page.status, 200);
    const csrf = Client.csrf(page.body);
    assert.equal((await c.request('/account/logout/', { form: {} })).status, 403);
    const out = await c.request('/account/logout/', { form: { csrf_token: csrf } });
    assert.equal(out.status, 303);
    assert.equal(c.cookies.has('bulwark_session'), false);
    const replay = new Client(w.url);
    replay.cookies.set('bulwark_session', stolen);
    assert.equal((await replay.request('/manage/account/')).status, 303, 'the session is gone on the server');
  });

  it('changes the password, ending the other sessions', async () => {
    const a = new Client(w.url);
    const b = new Client(w.url);
    await a.login('bob', BOB_PASSWORD);
    await b.login('bob', BOB_PASSWORD);
    const csrf = Client.csrf((await a.request('/manage/account/')).body);
    const wrong = await a.request('/manage/account/password/', { form: { csrf_token: csrf, current: 'nope nope nope', password: 'a new long password', confirm: 'a new long password' } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body, /current password is not right/);
    const weak = await a.request('/manage/account/password/', { form: { csrf_token: csrf, current: BOB_PASSWORD, password: 'short', confirm: 'short' } });
    assert.match(weak.body, /at least 10 characters/);
    const ok = await a.request('/manage/account/password/', { form: { csrf_token: csrf, current: BOB_PASSWORD, password: 'a new long password', confirm: 'a new long password' } });
    assert.equal(ok.status, 303);
    assert.equal((await a.request('/manage/account/')).status, 200, 'this session stays');
    assert.equal((await b.request('/manage/account/')).status, 303, 'the other session ended');
    assert.equal((await new Client(w.url).login('bob', 'a new long password')).status, 303);
    // Put it back for the other tests.
    const csrf2 = Client.csrf((await a.request('/manage/account/')).body);
    assert.equal((await a.request('/manage/account/password/', { form: { csrf_token: csrf2, current: 'a new long password', password: BOB_PASSWORD, confirm: BOB_PASSWORD } })).status, 303);
  });

  it('slows down password guessing: too many failures for an account answer 429', async () => {
    const c = new Client(w.url);
    const csrf = Client.csrf((await c.request('/account/login/')).body);
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await c.request('/account/login/', { form: { csrf_token: csrf, username: 'guessed', password: `guess number ${i}` } })).status;
    assert.equal(last, 429);
  });

  it('marks cookies Secure when the request came over https', async () => {
    // A server that trusts X-Forwarded-Proto, as one behind a TLS-terminating proxy would.
    const app = fastify({ trustProxy: true });
    await registerWebRoutes(app, w.index.repo);
    try {
      const page = await app.inject({ method: 'GET', url: '/account/login/', headers: { 'x-forwarded-proto': 'https' } });
      const anon = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((c) => c.startsWith('bulwark_csrf='));
      assert.ok(anon);
      assert.match(anon, /; Secure/);
      const nonce = /^bulwark_csrf=([^;]+)/.exec(anon)?.[1] as string;
      const csrf = Client.csrf(page.body);
      const login = await app.inject({
        method: 'POST',
        url: '/account/login/',
        headers: { 'x-forwarded-proto': 'https', cookie: `bulwark_csrf=${nonce}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ csrf_token: csrf, username: 'bob', password: BOB_PASSWORD, next: '/' }).toString(),
      });
      assert.equal(login.statusCode, 303);
      const session = ([] as string[]).concat(login.headers['set-cookie'] ?? []).find((c) => c.startsWith('bulwark_session='));
      assert.ok(session);
      assert.match(session, /; Secure/);
      assert.match(session, /HttpOnly/);
      assert.match(session, /SameSite=Lax/);
    } finally {
      await app.close();
    }
  });

  it('does not parse forms outside the web pages: the upload API still answers 415', async () => {
    // With a valid token: the upload API authenticates before it looks at the body.
    const authorization = `Basic ${Buffer.from(`__token__:${w.bobToken}`).toString('base64')}`;
    const r = await fetch(`${w.url}/legacy/`, { method: 'POST', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization } });
    assert.equal(r.status, 415);
  });
});

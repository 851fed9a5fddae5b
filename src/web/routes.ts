// SPDX-License-Identifier: Apache-2.0
// The web pages, at PyPI's addresses: `/`, `/search/`, `/project/<name>/[<version>/]`,
// `/help/protection/`, `/account/login/`, `/account/logout/`, `/manage/account/`,
// `/manage/projects/`, `/admin/`. Registered in their own Fastify scope, so the form and cookie
// parsers and the security headers apply to these routes only (the upload API keeps answering
// non-multipart bodies with 415).
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compareVersions, isValidProjectName, normalizeProjectName } from '../packaging/index.js';
import { newTotpSecret, totpQrSvg, totpUri } from '../accounts/totp.js';
import { AccountError } from '../repository/accounts.js';
import { fileBlobPath, SIMPLE_JSON, targetBlobPath, targetPath } from '../repository/layout.js';
import type { Repository } from '../repository/repository.js';
import { projectLevel } from '../repository/simple-index.js';
import { repositoryStatus } from '../repository/status.js';
import { openWebStore } from '../storage/state/open-web-store.js';
import { StateConflictError, type ProjectDelegation, type UserRecord } from '../storage/state/types.js';
import { RenderedDescriptions } from './description/rendered-descriptions.js';
import { checkCsrfToken, csrfToken, CSRF_FIELD, newCsrfNonce, newCsrfSecret, sameOriginRequest } from './csrf.js';
import { qrCodeMarkup, safeLocalPath, type Html } from './html.js';
import type { Viewer } from './layout.js';
import {
  accountPage,
  adminPage,
  homePage,
  loginPage,
  logoutPage,
  messagePage,
  projectPage,
  projectsPage,
  protectionHelpPage,
  searchPage,
  type AccountData,
  type FileView,
  type ProjectData,
  type ReleaseView,
} from './pages.js';
import { hashPassword, needsRehash, passwordProblem, verifyPassword } from './passwords.js';
import { pendingSignIn, PENDING_COOKIE, PENDING_LIFETIME_MS, readPendingSignIn } from './pending-sign-in.js';
import { SignInGuard } from './rate-limit.js';
import { protectionSection, protectionSectionData } from './protection-chart.js';
import { parseQuery, rankProjects } from './search.js';
import { cookieAttributes, CSRF_COOKIE, hashSessionId, isWellFormedSessionId, newSessionId, SESSION_COOKIE, SESSION_LIFETIME_MS } from './sessions.js';
import { STYLESHEET } from './style.js';
import { BuildFarm } from '../buildfarm/farm-service.js';
import { buildFarmSection } from './build-farm-section.js';
import { enrolPage, projectSettingsPage, recoveryCodesPage, secondFactorLoginPage, type TwoFactorStatus } from './two-factor-pages.js';

export interface WebOptions {
  clock?: () => Date;
}

const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/**
 * A project page shows its README's images (badges, logos) from their https addresses: the
 * reader's browser fetches them, never the server. Still no script, style or frame.
 */
const PROJECT_PAGE_CSP = CSP.replace("img-src 'self'", "img-src 'self' https:");

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

const SEARCH_PAGE_SIZE = 50;
const SEARCH_CANDIDATES = 1000;

type Body = Record<string, unknown> | undefined;

function field(body: unknown, name: string): string | undefined {
  const v = (body as Body)?.[name];
  const first = Array.isArray(v) ? (v[0] as unknown) : v;
  return typeof first === 'string' ? first : undefined;
}

interface Session {
  viewer: Viewer;
  sessionHash?: string;
  /** The sign-in passed the second factor (or the session enrolled one). */
  twoFactor?: boolean;
}

export async function registerWebRoutes(app: FastifyInstance, repo: Repository, opts: WebOptions = {}): Promise<void> {
  const clock = opts.clock ?? (() => new Date());
  // In the repository's database: on PostgreSQL, every process serving the index shares the
  // sessions, the passwords and the CSRF secret.
  const store = await openWebStore(repo.dataDir, repo.databaseUrl);
  app.addHook('onClose', async () => store.close());
  const secret = await store.secret('csrf-v1', newCsrfSecret);
  // Failed sign-ins counted in the store, so every process serving the pages sees them all:
  // refused per (account, address) and per address, only slowed down per account.
  const signIns = new SignInGuard(store);
  const demo = repo.config.mode === 'demo';

  const baseUrl = (req: FastifyRequest) => `${req.protocol}://${req.host}`;
  const secure = (req: FastifyRequest) => req.protocol === 'https';

  const sessionOf = async (req: FastifyRequest): Promise<Session> => {
    const id = req.cookies[SESSION_COOKIE];
    if (!isWellFormedSessionId(id)) return { viewer: {} };
    const idHash = hashSessionId(id);
    const s = await store.sessionUser(idHash, clock());
    if (!s) return { viewer: {} };
    return { viewer: { user: s.user, csrf: csrfToken(secret, `session:${idHash}`) }, sessionHash: idHash, twoFactor: s.twoFactor };
  };

  const send = (reply: FastifyReply, markup: Html, status = 200, cache = 'private, no-cache') =>
    reply.code(status).type('text/html; charset=utf-8').header('cache-control', cache).header('vary', 'Cookie').send(markup.toString());

  const loginRedirect = (req: FastifyRequest, reply: FastifyReply) =>
    reply.redirect(`/account/login/?${new URLSearchParams({ next: safeLocalPath(req.url, '/manage/account/') }).toString()}`, 303);

  /** A POST from one of our forms: same site, and the token matches what the form is bound to. */
  const formOk = (req: FastifyRequest, binding: string | undefined) =>
    sameOriginRequest(req.headers, req.host) && checkCsrfToken(secret, binding, field(req.body, CSRF_FIELD));

  const badForm = (reply: FastifyReply, viewer: Viewer) =>
    send(reply, messagePage(viewer, 'This form has expired', 'It was open too long, or was sent from another site. Go back, reload the page and try again.'), 403, 'no-store');

  /** The project's published simple page (PEP 691 JSON): the yanked state the index vouches for. */
  const publishedPage = async (project: string) => {
    const row = await repo.state.currentTarget(targetPath(project, SIMPLE_JSON));
    if (!row) return undefined;
    try {
      const entry = JSON.parse(row.entry) as { hashes?: { sha256?: string } };
      const sha = entry.hashes?.sha256;
      const bytes = sha ? await repo.blobs.get(targetBlobPath(row.path, sha)) : undefined;
      const files = new Map<string, { yanked: boolean | string }>();
      if (bytes) {
        const page = JSON.parse(bytes.toString('utf8')) as { files?: { filename?: unknown; yanked?: unknown }[] };
        for (const f of page.files ?? []) {
          if (typeof f.filename === 'string') files.set(f.filename, { yanked: typeof f.yanked === 'string' || f.yanked === true ? f.yanked : false });
        }
      }
      return { role: row.role, files: bytes ? files : undefined };
    } catch {
      return { role: row.role, files: undefined };
    }
  };

  const descriptions = new RenderedDescriptions(store, repo.blobs);
  const farmRecords = new BuildFarm({ dataDir: repo.dataDir, state: repo.state, blobs: repo.blobs, requestPublication: () => undefined });

  const projectData = async (req: FastifyRequest, name: string, version: string | undefined): Promise<ProjectData | undefined> => {
    const project = await repo.state.getProject(name);
    if (!project) return undefined;
    const records = await repo.state.projectFiles(name);
    const published = await publishedPage(name);
    const files: FileView[] = records.map((f) => {
      const pub = published?.files?.get(f.filename);
      const yanked = pub ? pub.yanked !== false : f.yanked;
      const reason = pub ? (typeof pub.yanked === 'string' && pub.yanked !== '' ? pub.yanked : null) : f.yankedReason;
      return {
        filename: f.filename,
        url: `/${fileBlobPath(f.project, f.filename)}`,
        packagetype: f.packagetype,
        pythonVersion: f.pythonVersion,
        requiresPython: f.requiresPython,
        size: f.size,
        sha256: f.sha256,
        uploadTime: f.uploadTime,
        yanked,
        yankedReason: reason,
      };
    });
    const byVersion = new Map<string, FileView[]>();
    records.forEach((r, i) => byVersion.set(r.version, [...(byVersion.get(r.version) ?? []), files[i] as FileView]));
    const releases: ReleaseView[] = [...byVersion.entries()]
      .map(([v, fs]) => ({
        version: v,
        uploaded: fs.map((f) => f.uploadTime).sort()[0] ?? '',
        yanked: fs.every((f) => f.yanked),
        yankedReason: fs.find((f) => f.yankedReason)?.yankedReason ?? null,
      }))
      .sort((a, b) => compareVersions(b.version, a.version));
    const latest = (releases.find((r) => !r.yanked) ?? releases[0])?.version;
    if (version !== undefined && !byVersion.has(version)) return undefined;
    const selected = version ?? latest;
    const selectedFiles = (selected ? (byVersion.get(selected) ?? []) : []).sort((a, b) => (a.filename < b.filename ? -1 : 1));
    const selectedRecords = records.filter((r) => r.version === selected);
    const wheel = selectedRecords.find((r) => r.metadataSha256);
    const meta = wheel ? await descriptions.ofFile(wheel) : undefined;
    const delegation = project.protection === 'unclaimed' ? undefined : await repo.state.getDelegation(name);
    return {
      project,
      baseUrl: baseUrl(req),
      version: selected,
      latest,
      summary: selectedRecords.find((r) => r.summary)?.summary ?? meta?.summary ?? records.find((r) => r.summary)?.summary ?? null,
      description: meta?.html ?? null,
      requiresPython: selectedRecords.find((r) => r.requiresPython)?.requiresPython ?? meta?.requiresPython ?? null,
      releases,
      files: selectedFiles,
      maintainers: await repo.state.projectRoles(name),
      delegation,
      projectRoleVersion: delegation ? (await repo.state.latestProjectRole(name))?.version : undefined,
      vouchedBy: published?.role,
      builds: delegation ? buildFarmSection(name, await farmRecords.status(name)) : undefined,
    };
  };

  const twoFactorStatus = async (user: UserRecord, session: Session, extra: Partial<TwoFactorStatus> = {}): Promise<TwoFactorStatus> => {
    const tf = await repo.state.twoFactor(user.id);
    return { on: tf !== undefined, ...(tf ? { enabledAt: tf.enabledAt, recoveryLeft: tf.recoveryLeft } : {}), sessionPassed: session.twoFactor === true, ...extra };
  };

  const accountData = async (req: FastifyRequest, user: UserRecord, session: Session, extra: Partial<Omit<AccountData, 'twoFactor'>> = {}, twoFactor: Partial<TwoFactorStatus> = {}): Promise<AccountData> => {
    const projects = await store.userProjects(user.id);
    const keys: AccountData['keys'] = [];
    for (const p of projects) {
      if (p.protection === 'unclaimed') continue;
      const delegation: ProjectDelegation | undefined = await repo.state.getDelegation(p.name);
      const record = await repo.state.getProject(p.name);
      if (delegation && record) keys.push({ project: record, role: p.role, delegation });
    }
    return {
      user,
      tokens: await store.tokens(user.id),
      passwordUpdatedAt: await store.passwordUpdatedAt(user.id),
      keys,
      unclaimedOwned: projects.filter((p) => p.protection === 'unclaimed' && p.role === 'owner').map((p) => p.name),
      baseUrl: baseUrl(req),
      twoFactor: await twoFactorStatus(user, session, twoFactor),
      ...extra,
    };
  };

  await app.register(async (web) => {
    await web.register(fastifyCookie);
    await web.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
    web.addHook('onSend', async (_req, reply, payload) => {
      // A route may set its own Content-Security-Policy (the project page's images).
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(k)) reply.header(k, v);
      return payload;
    });

    web.get('/static/bulwark.css', async (_req, reply) =>
      reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET)
    );

    // Addresses without their trailing slash go to the one with it, as on PyPI.
    for (const path of ['/search', '/help/protection', '/account/login', '/account/logout', '/manage/account', '/manage/projects', '/admin']) {
      web.get(path, async (req, reply) => reply.redirect(`${path}/${req.url.slice(path.length)}`, 301));
    }

    web.get('/', async (req, reply) => {
      const { viewer } = await sessionOf(req);
      return send(
        reply,
        homePage(
          viewer,
          { baseUrl: baseUrl(req), counts: await store.protectionCounts(), recent: await store.recentProjects(10), snapshotVersion: repo.snapshotVersion },
          demo
        )
      );
    });

    web.get('/search/', async (req: FastifyRequest<{ Querystring: { q?: string; page?: string } }>, reply) => {
      const { viewer } = await sessionOf(req);
      const q = parseQuery(req.query.q);
      const candidates = await store.searchProjects(q.words, q.normalized, SEARCH_CANDIDATES + 1);
      const truncated = candidates.length > SEARCH_CANDIDATES;
      const ranked = rankProjects(q, candidates.slice(0, SEARCH_CANDIDATES));
      const pages = Math.max(1, Math.ceil(ranked.length / SEARCH_PAGE_SIZE));
      const pageNo = Math.min(pages, Math.max(1, Number.parseInt(req.query.page ?? '1', 10) || 1));
      const shown = ranked.slice((pageNo - 1) * SEARCH_PAGE_SIZE, pageNo * SEARCH_PAGE_SIZE);
      const results = [];
      for (const p of shown) {
        const versions = [...new Set((await repo.state.projectFiles(p.name)).filter((f) => !f.yanked).map((f) => f.version))].sort(compareVersions);
        const version = versions.at(-1);
        results.push(version ? { project: p, version } : { project: p });
      }
      return send(reply, searchPage(viewer, { query: q.text, results, total: ranked.length, page: pageNo, pages, truncated }));
    });

    const showProject = async (req: FastifyRequest<{ Params: { name: string; version?: string } }>, reply: FastifyReply) => {
      const { viewer } = await sessionOf(req);
      const raw = req.params.name;
      const notFound = () => send(reply, messagePage(viewer, 'Project not found', `There is no project named “${raw.slice(0, 200)}” on this index.`), 404);
      if (!isValidProjectName(raw)) return notFound();
      const name = normalizeProjectName(raw);
      const version = req.params.version;
      if (name !== raw) return reply.redirect(`/project/${name}/${version !== undefined ? `${encodeURIComponent(version)}/` : ''}`, 301);
      const data = await projectData(req, name, version);
      if (!data) {
        if (version !== undefined && (await repo.state.getProject(name))) {
          return send(reply, messagePage(viewer, 'Release not found', `${name} has no release “${version.slice(0, 100)}”.`), 404);
        }
        return notFound();
      }
      return send(reply.header('content-security-policy', PROJECT_PAGE_CSP), projectPage(viewer, { ...data, level: await projectLevel(repo.state, data.project) }));
    };
    web.get('/project/:name/', showProject);
    web.get('/project/:name/:version/', showProject);
    web.get('/project/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) =>
      isValidProjectName(req.params.name) ? reply.redirect(`/project/${normalizeProjectName(req.params.name)}/`, 301) : showProject(req, reply)
    );

    web.get('/help/protection/', async (req, reply) => {
      const days = (seconds: number) => Math.round(seconds / 86_400);
      const help = { recentlyClaimedDays: days(repo.config.expiry['recently-claimed']), claimedDays: days(repo.config.expiry.claimed) };
      return send(reply, protectionHelpPage((await sessionOf(req)).viewer, help));
    });

    // ---- sign in and out ----------------------------------------------------------------

    const anonNonce = (req: FastifyRequest, reply: FastifyReply): string => {
      const existing = req.cookies[CSRF_COOKIE];
      if (typeof existing === 'string' && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
      const nonce = newCsrfNonce();
      reply.setCookie(CSRF_COOKIE, nonce, cookieAttributes(secure(req)));
      return nonce;
    };
    const nextOf = (v: unknown) => {
      const next = safeLocalPath(v, '/manage/account/');
      return next.startsWith('/account/') ? '/manage/account/' : next;
    };

    web.get('/account/login/', async (req: FastifyRequest<{ Querystring: { next?: string } }>, reply) => {
      const next = nextOf(req.query.next);
      if ((await sessionOf(req)).viewer.user) return reply.redirect(next, 303);
      const csrf = csrfToken(secret, `anon:${anonNonce(req, reply)}`);
      return send(reply, loginPage({ csrf, next }), 200, 'no-store');
    });

    web.post('/account/login/', async (req, reply) => {
      const nonce = req.cookies[CSRF_COOKIE];
      const next = nextOf(field(req.body, 'next'));
      if (!formOk(req, typeof nonce === 'string' ? `anon:${nonce}` : undefined)) return badForm(reply, {});
      const username = (field(req.body, 'username') ?? '').trim().slice(0, 100);
      const password = field(req.body, 'password') ?? '';
      const again = (error: string, status: number) =>
        send(reply, loginPage({ csrf: csrfToken(secret, `anon:${anonNonce(req, reply)}`), next, username, error }), status, 'no-store');
      const verdict = await signIns.check(username, req.ip);
      if (verdict.retryAfter > 0) {
        reply.header('retry-after', String(verdict.retryAfter));
        return again(`Too many failed attempts from here. Try again in ${Math.ceil(verdict.retryAfter / 60)} minute(s).`, 429);
      }
      if (username === '' || password === '') return again('Enter your user name and password.', 400);
      if ('delayMs' in verdict && verdict.delayMs > 0) await sleep(verdict.delayMs);
      const user = await repo.state.userByName(username);
      const stored = user ? await store.passwordHash(user.id) : undefined;
      const ok = await verifyPassword(password, stored);
      if (!user || !stored || !ok) {
        await signIns.failed(username, req.ip);
        return again('Wrong user name or password.', 400);
      }
      if (needsRehash(stored)) await store.rehashPassword(user.id, await hashPassword(password));
      if (await repo.state.twoFactor(user.id)) {
        // The code step next. Failures are forgiven only once the code is right too, so the
        // password cannot be used to reset the count of wrong codes.
        const pendingHash = (await store.passwordHash(user.id)) ?? stored;
        reply.setCookie(PENDING_COOKIE, pendingSignIn(secret, user.id, pendingHash, clock()), cookieAttributes(secure(req), PENDING_LIFETIME_MS / 1000));
        return reply.header('cache-control', 'no-store').redirect(`/account/login/two-factor/?${new URLSearchParams({ next }).toString()}`, 303);
      }
      await signIns.succeeded(username, req.ip);
      return startSession(req, reply, user.id, false, next);
    });

    const startSession = async (req: FastifyRequest, reply: FastifyReply, userId: number, twoFactor: boolean, next: string) => {
      const id = newSessionId();
      await store.createSession(hashSessionId(id), userId, clock(), SESSION_LIFETIME_MS, twoFactor);
      reply.setCookie(SESSION_COOKIE, id, cookieAttributes(secure(req), SESSION_LIFETIME_MS / 1000));
      reply.clearCookie(CSRF_COOKIE, cookieAttributes(secure(req)));
      reply.clearCookie(PENDING_COOKIE, cookieAttributes(secure(req)));
      return reply.header('cache-control', 'no-store').redirect(next, 303);
    };

    /** The user whose password step this browser passed (the pending sign-in cookie), if any. */
    const pendingUser = async (req: FastifyRequest): Promise<UserRecord | undefined> => {
      const userId = await readPendingSignIn(secret, req.cookies[PENDING_COOKIE], (id) => store.passwordHash(id), clock());
      return userId === undefined ? undefined : store.userById(userId);
    };

    web.get('/account/login/two-factor/', async (req: FastifyRequest<{ Querystring: { next?: string } }>, reply) => {
      const next = nextOf(req.query.next);
      if (!(await pendingUser(req))) return reply.redirect(`/account/login/?${new URLSearchParams({ next }).toString()}`, 303);
      return send(reply, secondFactorLoginPage({ csrf: csrfToken(secret, `anon:${anonNonce(req, reply)}`), next }), 200, 'no-store');
    });

    // The code step: the same lockout rules as the password (rate-limit.ts), counted on the same
    // account and address, so guessing codes is as slow as guessing passwords, and the owner
    // with the right password and the right code always gets in.
    web.post('/account/login/two-factor/', async (req, reply) => {
      const nonce = req.cookies[CSRF_COOKIE];
      const next = nextOf(field(req.body, 'next'));
      if (!formOk(req, typeof nonce === 'string' ? `anon:${nonce}` : undefined)) return badForm(reply, {});
      const user = await pendingUser(req);
      if (!user) return reply.redirect(`/account/login/?${new URLSearchParams({ next }).toString()}`, 303);
      const again = (error: string, status: number) =>
        send(reply, secondFactorLoginPage({ csrf: csrfToken(secret, `anon:${anonNonce(req, reply)}`), next, error }), status, 'no-store');
      const verdict = await signIns.check(user.name, req.ip);
      if (verdict.retryAfter > 0) {
        reply.header('retry-after', String(verdict.retryAfter));
        return again(`Too many failed attempts from here. Try again in ${Math.ceil(verdict.retryAfter / 60)} minute(s).`, 429);
      }
      const code = (field(req.body, 'code') ?? '').trim().slice(0, 64);
      if (code === '') return again('Enter the code your authenticator shows, or a recovery code.', 400);
      if ('delayMs' in verdict && verdict.delayMs > 0) await sleep(verdict.delayMs);
      const factor = await repo.accounts.checkSecondFactor(user, code, clock());
      if (!factor) {
        await signIns.failed(user.name, req.ip);
        return again('That code is not right, or was used already. Type the code your authenticator shows now, or an unused recovery code.', 400);
      }
      await signIns.succeeded(user.name, req.ip);
      return startSession(req, reply, user.id, true, next);
    });

    web.get('/account/logout/', async (req, reply) => {
      const { viewer } = await sessionOf(req);
      if (!viewer.user) return reply.redirect('/', 303);
      return send(reply, logoutPage(viewer), 200, 'no-store');
    });

    web.post('/account/logout/', async (req, reply) => {
      const { viewer, sessionHash } = await sessionOf(req);
      if (!sessionHash) return reply.redirect('/', 303);
      if (!formOk(req, `session:${sessionHash}`)) return badForm(reply, viewer);
      await store.deleteSession(sessionHash);
      reply.clearCookie(SESSION_COOKIE, cookieAttributes(secure(req)));
      return reply.redirect('/', 303);
    });

    // ---- the signed-in user's pages -------------------------------------------------------

    web.get('/manage/account/', async (req: FastifyRequest<{ Querystring: { password?: string } }>, reply) => {
      const session = await sessionOf(req);
      const { viewer } = session;
      if (!viewer.user) return loginRedirect(req, reply);
      return send(reply, accountPage(viewer, await accountData(req, viewer.user, session, { passwordChanged: req.query.password === 'changed' })), 200, 'no-store');
    });

    web.post('/manage/account/tokens/', async (req, reply) => {
      const session = await sessionOf(req);
      const { viewer, sessionHash } = session;
      if (!viewer.user || !sessionHash) return loginRedirect(req, reply);
      if (!formOk(req, `session:${sessionHash}`)) return badForm(reply, viewer);
      const description = (field(req.body, 'description') ?? '').trim();
      let problem: string | undefined;
      if (description === '') problem = 'Say what the token is for.';
      else if (description.length > 100) problem = 'Use at most 100 characters.';
      else if (/[\x00-\x1f\x7f]/.test(description)) problem = 'Use printable characters only.';
      // With two-factor on, a token is made only from a session that passed it, and says so.
      const twoFactorOn = (await repo.state.twoFactor(viewer.user.id)) !== undefined;
      if (!problem && twoFactorOn && !session.twoFactor) problem = 'This session did not pass your second factor: log out, log in again with your code, then make the token.';
      if (problem) {
        return send(reply, accountPage(viewer, await accountData(req, viewer.user, session, { tokenError: problem, tokenDescription: description.slice(0, 100) })), 400, 'no-store');
      }
      try {
        const token = await repo.accounts.addToken(viewer.user.name, description, { twoFactor: twoFactorOn && session.twoFactor === true });
        return send(reply, accountPage(viewer, await accountData(req, viewer.user, session, { newToken: { token, description } })), 200, 'no-store');
      } catch (e) {
        if (e instanceof AccountError) return send(reply, messagePage(viewer, 'Cannot make a token', e.message), 400, 'no-store');
        throw e;
      }
    });

    web.post('/manage/account/password/', async (req, reply) => {
      const session = await sessionOf(req);
      const { viewer, sessionHash } = session;
      if (!viewer.user || !sessionHash) return loginRedirect(req, reply);
      if (!formOk(req, `session:${sessionHash}`)) return badForm(reply, viewer);
      const user = viewer.user;
      const current = field(req.body, 'current') ?? '';
      const password = field(req.body, 'password') ?? '';
      const confirm = field(req.body, 'confirm') ?? '';
      const fail = async (passwordError: string) => send(reply, accountPage(viewer, await accountData(req, user, session, { passwordError })), 400, 'no-store');
      if (!(await verifyPassword(current, await store.passwordHash(user.id)))) return fail('Your current password is not right.');
      if (password !== confirm) return fail('The two new passwords differ.');
      const problem = passwordProblem(password, user.name);
      if (problem) return fail(`Choose another password: ${problem}.`);
      await store.setPassword(user.id, await hashPassword(password), clock().toISOString(), sessionHash);
      return reply.redirect('/manage/account/?password=changed#password', 303);
    });

    // ---- two-factor authentication -------------------------------------------------------

    /** Binds an offered TOTP secret to the session, so the confirming form cannot swap it. */
    const secretMacBinding = (sessionHash: string, totpSecret: string) => `totp-enrol:${sessionHash}:${totpSecret}`;

    const showEnrol = async (reply: FastifyReply, viewer: Viewer, sessionHash: string, user: UserRecord, totpSecret: string, error?: string) => {
      const qr = qrCodeMarkup(await totpQrSvg(totpUri(totpSecret, user.name)), `QR code of the two-factor key for ${user.name}`);
      const secretMac = csrfToken(secret, secretMacBinding(sessionHash, totpSecret));
      return send(reply, enrolPage(viewer, { account: user.name, secret: totpSecret, secretMac, qr, ...(error ? { error } : {}) }), error ? 400 : 200, 'no-store');
    };

    web.get('/manage/account/two-factor/', async (req, reply) => {
      const { viewer, sessionHash } = await sessionOf(req);
      if (!viewer.user || !sessionHash) return loginRedirect(req, reply);
      if (await repo.state.twoFactor(viewer.user.id)) return reply.redirect('/manage/account/#two-factor', 303);
      return showEnrol(reply, viewer, sessionHash, viewer.user, newTotpSecret());
    });

    web.post('/manage/account/two-factor/', async (req, reply) => {
      const session = await sessionOf(req);
      const { viewer, sessionHash } = session;
      if (!viewer.user || !sessionHash) return loginRedirect(req, reply);
      if (!formOk(req, `session:${sessionHash}`)) return badForm(reply, viewer);
      const user = viewer.user;
      const totpSecret = field(req.body, 'secret') ?? '';
      if (!checkCsrfToken(secret, secretMacBinding(sessionHash, totpSecret), field(req.body, 'secret_mac'))) return badForm(reply, viewer);
      try {
        const { recoveryCodes, seqs } = await repo.accounts.enableTwoFactor(user, totpSecret, (field(req.body, 'code') ?? '').slice(0, 64), clock());
        // This session proved the code: it counts as passed; every other session ends.
        await store.secondFactorPassed(sessionHash, user.id, clock());
        if (seqs.length > 0) repo.worker.kick();
        return send(reply, recoveryCodesPage(viewer, recoveryCodes), 200, 'no-store');
      } catch (e) {
        if (e instanceof AccountError) return showEnrol(reply, viewer, sessionHash, user, totpSecret, `Two-factor authentication is still off: ${e.message}.`);
        if (e instanceof StateConflictError && e.code === 'TWO_FACTOR_ON') return reply.redirect('/manage/account/#two-factor', 303);
        throw e;
      }
    });

    web.post('/manage/account/two-factor/disable/', async (req, reply) => {
      const session = await sessionOf(req);
      const { viewer, sessionHash } = session;
      if (!viewer.user || !sessionHash) return loginRedirect(req, reply);
      if (!formOk(req, `session:${sessionHash}`)) return badForm(reply, viewer);
      const user = viewer.user;
      const refuse = async (error: string, status: number) => send(reply, accountPage(viewer, await accountData(req, user, session, {}, { error })), status, 'no-store');
      // A stolen session must not guess its way to turning the second factor off: wrong codes
      // count like failed sign-ins (rate-limit.ts).
      const verdict = await signIns.check(user.name, req.ip);
      if (verdict.retryAfter > 0) {
        reply.header('retry-after', String(verdict.retryAfter));
        return refuse(`Two-factor authentication stays on: too many wrong codes from here. Try again in ${Math.ceil(verdict.retryAfter / 60)} minute(s).`, 429);
      }
      try {
        const { seqs } = await repo.accounts.disableTwoFactor(user, (field(req.body, 'code') ?? '').trim().slice(0, 64), clock());
        if (seqs.length > 0) repo.worker.kick();
        return send(reply, accountPage(viewer, await accountData(req, user, session, {}, { notice: 'Two-factor authentication is off.' })), 200, 'no-store');
      } catch (e) {
        if (!(e instanceof AccountError)) throw e;
        await signIns.failed(user.name, req.ip);
        return refuse(`Two-factor authentication stays on: ${e.message}.`, 400);
      }
    });

    const projectSettings = async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply, session: Session, status = 200, message: { notice?: string; error?: string } = {}) => {
      const { viewer } = session;
      const user = viewer.user as UserRecord;
      const name = isValidProjectName(req.params.name) ? normalizeProjectName(req.params.name) : undefined;
      const project = name ? await repo.state.getProject(name) : undefined;
      const role = project ? (await repo.state.projectRoles(project.name)).find((r) => r.user === user.name)?.role : undefined;
      if (!project || !role) return send(reply, messagePage(viewer, 'Not your project', 'Only its owners and maintainers see the settings of a project.'), 404, 'no-store');
      const tf = await repo.state.projectTwoFactor(project.name);
      return send(
        reply,
        projectSettingsPage(viewer, {
          name: project.name,
          displayName: project.displayName,
          level: await projectLevel(repo.state, project),
          isOwner: role === 'owner',
          required: tf.required,
          membersWithout: tf.membersWithout,
          claimed: project.protection !== 'unclaimed',
          ...message,
        }),
        status,
        'no-store'
      );
    };

    web.get('/manage/project/:name/settings/', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const session = await sessionOf(req);
      if (!session.viewer.user) return loginRedirect(req, reply);
      return projectSettings(req, reply, session);
    });

    web.post('/manage/project/:name/settings/', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
      const session = await sessionOf(req);
      const { viewer, sessionHash } = session;
      if (!viewer.user || !sessionHash) return loginRedirect(req, reply);
      if (!formOk(req, `session:${sessionHash}`)) return badForm(reply, viewer);
      const want = field(req.body, 'require_two_factor');
      if (want !== 'yes' && want !== 'no') return projectSettings(req, reply, session, 400, { error: 'Choose whether to require two-factor authentication.' });
      const name = isValidProjectName(req.params.name) ? normalizeProjectName(req.params.name) : '';
      try {
        await repo.state.setProjectTwoFactor(name, viewer.user.id, want === 'yes', clock().toISOString());
        repo.worker.kick();
      } catch (e) {
        if (e instanceof StateConflictError && (e.code === 'NOT_OWNER' || e.code === 'NOT_FOUND')) return projectSettings(req, reply, session, 403, { error: e.message });
        throw e;
      }
      return projectSettings(req, reply, session, 200, { notice: want === 'yes' ? 'Two-factor authentication is now required.' : 'Two-factor authentication is no longer required.' });
    });

    web.get('/manage/projects/', async (req, reply) => {
      const { viewer } = await sessionOf(req);
      if (!viewer.user) return loginRedirect(req, reply);
      return send(reply, projectsPage(viewer, await store.userProjects(viewer.user.id)), 200, 'no-store');
    });

    // ---- administrators ---------------------------------------------------------------

    web.get('/admin/', async (req, reply) => {
      const { viewer } = await sessionOf(req);
      if (!viewer.user) return loginRedirect(req, reply);
      if (!viewer.user.isAdmin) return send(reply, messagePage(viewer, 'Administrators only', 'This page is for the index’s administrators.'), 403, 'no-store');
      const now = clock();
      let status;
      let statusError: string | undefined;
      try {
        status = await repositoryStatus(repo, now);
      } catch (e) {
        statusError = (e as Error).message;
      }
      const delegations = await repo.state.delegations();
      return send(
        reply,
        adminPage(viewer, {
          status,
          statusError,
          now,
          waiting: delegations.filter((d) => d.parent === 'recently-claimed'),
          pendingKeyChanges: delegations.filter((d) => d.pending),
          counts: await store.protectionCounts(),
          users: await store.userCounts(),
          journal: await store.journalSummary(20),
          protection: protectionSection(await protectionSectionData(repo.dataDir, repo.config, () => repo.state.listProjects())),
        }),
        200,
        'no-store'
      );
    });
  });
}

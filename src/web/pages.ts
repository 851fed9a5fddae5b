// SPDX-License-Identifier: Apache-2.0
// The pages' markup, from plain data (no I/O here, so each page is easy to test): home, search,
// project, protection help, sign-in and sign-out, account, projects, admin, errors.
import type { RepositoryStatus } from '../repository/status.js';
import type { ProjectDelegation, ProjectRecord, UserRecord } from '../storage/state/types.js';
import type { JournalSummary, ProjectListing, TokenInfo, UserProject } from '../storage/state/web-store.js';
import type { DescriptionHtml } from './description/render.js';
import { descriptionMarkup, formatBytes, formatDate, html, type Html } from './html.js';
import { csrfInput, page, type Viewer } from './layout.js';
import { PROTECTION, PROTECTION_ORDER, protectionBadge, type Protection } from './protection.js';
import { twoFactorSection, type TwoFactorStatus } from './two-factor-pages.js';

const projectHref = (name: string) => `/project/${encodeURIComponent(name)}/`;

function protectionPanel(level: Protection, extra?: Html): Html {
  const p = PROTECTION[level];
  return html`<section class="protection protection-${level}" aria-labelledby="protection-heading">
<h2 id="protection-heading" class="visually-hidden">Protection</h2>
<p>${protectionBadge(level)}</p>
<p class="words">${p.words}</p>
<p>${p.protects}</p>
<p>${p.exposed}</p>
${extra ?? ''}
<p><a href="/help/protection/#${level}">What the protection levels mean</a></p>
</section>`;
}

// ---- home and search ----------------------------------------------------------------------

export interface HomeData {
  baseUrl: string;
  counts: Record<Protection, number>;
  recent: ProjectListing[];
  snapshotVersion: number;
}

function listing(p: ProjectListing, version?: string): Html {
  return html`<li>
<p><a class="name" href="${projectHref(p.name)}">${p.displayName}</a>${version ? html` <span class="meta">${version}</span>` : ''} ${protectionBadge(p.protection)}</p>
${p.summary ? html`<p>${p.summary}</p>` : ''}
<p class="meta">${PROTECTION[p.protection].words}${p.lastUpload ? html` Last upload ${formatDate(p.lastUpload)}.` : ''}</p>
</li>`;
}

export function homePage(viewer: Viewer, d: HomeData, demo: boolean): Html {
  const total = d.counts.claimed + d.counts['recently-claimed'] + d.counts.unclaimed;
  return page({
    title: 'Package index',
    viewer,
    demo,
    body: html`<h1>Bulwark package index</h1>
<div class="hero">
<p>${total} project(s). Every file is vouched for by TUF metadata (PEP 458/480): each project shows how well it is protected, and who would have to be compromised to change it.</p>
<form method="get" action="/search/" role="search">
<div class="field"><label for="home-q">Search projects</label>
<input type="search" id="home-q" name="q" autocomplete="off"></div>
<button type="submit">Search</button>
</form>
</div>
<h2>Projects by protection level</h2>
<ul class="stats">
${PROTECTION_ORDER.map(
  (level) => html`<li><span class="n">${d.counts[level]}</span> ${protectionBadge(level)}<br><span class="hint">${PROTECTION[level].words}</span></li>`
)}
</ul>
<h2>Recently updated</h2>
${d.recent.length === 0 ? html`<p>No projects yet. Upload one with twine (below).</p>` : html`<ul class="results">${d.recent.map((p) => listing(p))}</ul>`}
<h2>Use this index</h2>
<ul>
<li><a href="/simple/">Simple index</a> (PEP 503/691): <code>pip install --index-url ${d.baseUrl}/simple/ NAME</code></li>
<li>Upload: <code>twine upload --repository-url ${d.baseUrl}/legacy/ dist/*</code>, with an API token from <a href="/manage/account/">your account</a></li>
<li>Sign your releases: <code>bulwark key new</code>, <code>bulwark claim NAME</code>, <code>bulwark upload dist/*</code> (<a href="/help/protection/">why</a>)</li>
<li><a href="/metadata/1.root.json">Initial root metadata</a> and the <a href="/metadata/timestamp.json">current timestamp</a> (snapshot version ${d.snapshotVersion})</li>
</ul>`,
  });
}

export interface SearchData {
  query: string;
  results: { project: ProjectListing; version?: string }[];
  total: number;
  page: number;
  pages: number;
  truncated: boolean;
}

export function searchPage(viewer: Viewer, d: SearchData): Html {
  const heading = d.query ? html`Search results for “${d.query}”` : html`All projects`;
  const qs = (p: number) => `/search/?${new URLSearchParams({ ...(d.query ? { q: d.query } : {}), page: String(p) }).toString()}`;
  return page({
    title: d.query ? `Search: ${d.query}` : 'All projects',
    viewer,
    query: d.query,
    body: html`<h1>${heading}</h1>
<form method="get" action="/search/" role="search" class="hero">
<div class="field"><label for="search-q">Search projects by name or summary</label>
<input type="search" id="search-q" name="q" value="${d.query}" autocomplete="off"></div>
<button type="submit">Search</button>
</form>
<p role="status">${d.total === 0 ? 'No projects match.' : `${d.total}${d.truncated ? '+' : ''} project(s)${d.pages > 1 ? `, page ${d.page} of ${d.pages}` : ''}.`} Among equally good matches, better-protected projects come first.</p>
${d.results.length ? html`<ul class="results">${d.results.map((r) => listing(r.project, r.version))}</ul>` : ''}
${d.pages > 1
  ? html`<nav class="pager" aria-label="Result pages">${d.page > 1 ? html`<a href="${qs(d.page - 1)}" rel="prev">Previous page</a>` : ''}${d.page < d.pages ? html`<a href="${qs(d.page + 1)}" rel="next">Next page</a>` : ''}</nav>`
  : ''}`,
  });
}

// ---- project ------------------------------------------------------------------------------

export interface FileView {
  filename: string;
  url: string;
  packagetype: 'bdist_wheel' | 'sdist';
  pythonVersion: string;
  requiresPython: string | null;
  size: number;
  sha256: string;
  uploadTime: string;
  yanked: boolean;
  yankedReason: string | null;
}

export interface ReleaseView {
  version: string;
  uploaded: string;
  yanked: boolean;
  yankedReason: string | null;
}

export interface ProjectData {
  project: ProjectRecord;
  baseUrl: string;
  version: string | undefined;
  latest: string | undefined;
  summary: string | null;
  /** The rendered description (src/web/description/), or null. */
  description: DescriptionHtml | null;
  requiresPython: string | null;
  releases: ReleaseView[];
  files: FileView[];
  maintainers: { user: string; role: 'owner' | 'maintainer' }[];
  delegation: ProjectDelegation | undefined;
  projectRoleVersion: number | undefined;
  /** The TUF role that lists the project's simple page now (a bin, or its project role). */
  vouchedBy: string | undefined;
  /** Verified builds of the project (src/web/build-farm-section.ts), when it opted in. */
  builds?: Html | undefined;
  /** Its level, two-factor included (from its page's target entry); its protection when absent. */
  level?: Protection;
}

function yankedMark(yanked: boolean, reason: string | null): Html | string {
  return yanked ? html`<span class="yanked-mark" title="${reason ? `Yanked: ${reason}` : 'Yanked'}">yanked</span>` : '';
}

function keyList(keyids: readonly string[]): Html {
  return html`<ul class="keys">${keyids.map((k) => html`<li class="keyid">${k}</li>`)}</ul>`;
}

export function projectPage(viewer: Viewer, d: ProjectData): Html {
  const p = d.project;
  const level = d.level ?? p.protection;
  const release = d.releases.find((r) => r.version === d.version);
  const delegationNote = d.delegation
    ? html`<p>Project role <code>${d.delegation.role}</code>${d.projectRoleVersion !== undefined ? html`, version ${d.projectRoleVersion}` : ''}: signed by ${d.delegation.threshold} of ${d.delegation.keyids.length} developer key(s), delegated by <code>${d.delegation.parent}</code>.</p>${d.delegation.pending ? html`<p>A change of its keys waits for the next offline ceremony.</p>` : ''}`
    : undefined;
  const filesTable = d.files.length
    ? html`<table class="files">
<caption>Files of ${p.displayName} ${d.version ?? ''}, with their SHA-256 and size</caption>
<thead><tr><th scope="col">File</th><th scope="col">Type</th><th scope="col" class="num">Size</th><th scope="col">Uploaded</th></tr></thead>
<tbody>
${d.files.map(
  (f) => html`<tr class="${f.yanked ? 'yanked' : ''}">
<td><a href="${f.url}">${f.filename}</a>${yankedMark(f.yanked, f.yankedReason)}${f.yanked && f.yankedReason ? html`<br><span class="hint">Reason: ${f.yankedReason}</span>` : ''}<br><span class="hash"><abbr title="SHA-256 hash">SHA256</abbr>: ${f.sha256}</span></td>
<td>${f.packagetype === 'bdist_wheel' ? 'Wheel' : 'Source'}<br><span class="hint">${f.pythonVersion}${f.requiresPython ? `, Python ${f.requiresPython}` : ''}</span></td>
<td class="num" title="${f.size} bytes">${formatBytes(f.size)}<br><span class="hint">${f.size} bytes</span></td>
<td>${formatDate(f.uploadTime)}</td>
</tr>`
)}
</tbody>
</table>`
    : html`<p>No files.</p>`;
  return page({
    title: `${p.displayName}${d.version ? ` ${d.version}` : ''}`,
    viewer,
    body: html`<div class="project-head">
<h1>${p.displayName}${d.version ? html` <span class="version">${d.version}</span>` : ''}</h1>
${protectionBadge(level)}
${release?.yanked ? html`<span class="yanked-mark">yanked release</span>` : ''}
</div>
${d.summary ? html`<p class="summary">${d.summary}</p>` : ''}
${d.version && d.latest && d.version !== d.latest ? html`<div class="notice notice-info"><p>This is not the newest release: <a href="${projectHref(p.name)}">${p.displayName} ${d.latest}</a> is.</p></div>` : ''}
${release?.yanked ? html`<div class="notice notice-bad" role="note"><p><strong>This release is yanked</strong>${release.yankedReason ? html`: ${release.yankedReason}` : ''}. pip installs it only when asked for it exactly.</p></div>` : ''}
<pre><code>pip install --index-url ${d.baseUrl}/simple/ ${p.name}${d.version && d.version !== d.latest ? `==${d.version}` : ''}</code></pre>
<div class="cols">
<div>
${protectionPanel(level, delegationNote)}
<h2 id="files">Files${d.version ? ` for ${d.version}` : ''}</h2>
${filesTable}
${d.builds ?? ''}
<h2 id="description">Description</h2>
${d.description ? html`<div class="description">${descriptionMarkup(d.description)}</div>` : html`<p>${d.summary ?? 'No description.'}</p>`}
<h2 id="history">Release history</h2>
${d.releases.length
  ? html`<ul class="releases">${d.releases.map(
      (r) =>
        html`<li><a href="${projectHref(p.name)}${encodeURIComponent(r.version)}/"${r.version === d.version ? html` aria-current="page"` : ''}>${r.version}</a>${r.version === d.latest ? html` <span class="hint">(newest)</span>` : ''}${yankedMark(r.yanked, r.yankedReason)}<span class="date">${formatDate(r.uploaded)}</span>${r.yanked && r.yankedReason ? html`<span class="hint">Reason: ${r.yankedReason}</span>` : ''}</li>`
    )}</ul>`
  : html`<p>No releases.</p>`}
</div>
<aside class="sidebar" aria-label="Project details">
<h2>Navigation</h2>
<ul><li><a href="#files">Files</a></li><li><a href="#description">Description</a></li><li><a href="#history">Release history</a></li></ul>
<h2>Verified details</h2>
<ul>
${d.vouchedBy ? html`<li>Its simple page is listed by TUF role <code>${d.vouchedBy}</code>.</li>` : ''}
${d.delegation ? html`<li>Developer keys (${d.delegation.threshold} of ${d.delegation.keyids.length} must sign):${keyList(d.delegation.keyids)}</li>` : html`<li>No developer keys: the index signs it.</li>`}
${d.requiresPython ? html`<li>Requires Python ${d.requiresPython}</li>` : ''}
</ul>
<h2>Maintainers</h2>
${d.maintainers.length ? html`<ul>${d.maintainers.map((m) => html`<li>${m.user} <span class="hint">(${m.role})</span></li>`)}</ul>` : html`<p>None.</p>`}
<h2>Links</h2>
<ul>
<li><a href="/simple/${p.name}/">Simple page</a></li>
<li><a href="/pypi/${p.name}/json">JSON API</a></li>
</ul>
</aside>
</div>`,
  });
}

// ---- help -------------------------------------------------------------------------------

export interface HelpData {
  /** How long the online recently-claimed and the offline claimed roles are valid, in days. */
  recentlyClaimedDays: number;
  claimedDays: number;
}

export function protectionHelpPage(viewer: Viewer, d: HelpData): Html {
  const yes = html`<strong>Yes</strong>`;
  const no = html`No`;
  const freeze = html`No (can hold back updates until the metadata expires)`;
  const newRecent = html`No for clients that checked the metadata since the claim; <strong>yes</strong> for a client that never did, until the recently-claimed metadata from before the claim expires (at most ${d.recentlyClaimedDays} days)`;
  const newClaimed = html`No for clients that checked the metadata since the promotion; <strong>yes</strong> for a client that never did, until the claimed metadata from before the promotion expires (it is signed for ${d.claimedDays} days)`;
  return page({
    title: 'Protection levels',
    viewer,
    body: html`<h1>How projects are protected</h1>
<p>Every file this index serves is a target in TUF metadata (<a href="https://theupdateframework.io/">The Update Framework</a>). A client that checks the metadata — <code>bulwark proxy</code>, <code>bulwark fetch</code> or any TUF client — gets a refusal, not a changed file, when a mirror, a cache or the network tampers with it, or serves an old version. What differs between projects is <em>who signs</em> their files and <em>who may upload</em> them, and so what an attacker who takes over the index itself, or steals a password, can do. Bulwark follows <a href="https://peps.python.org/pep-0458/">PEP 458</a> and <a href="https://peps.python.org/pep-0480/">PEP 480</a>; every project is at one of four levels, from least to best protected (the same names in <code>/pypi/&lt;project&gt;/json</code>'s <code>info.bulwark_protection</code>, in <code>--min-level</code> and in every JSON output):</p>
<ol class="level-list" id="levels">${[...PROTECTION_ORDER].reverse().map((level) => html`<li><code>${level}</code>: ${PROTECTION[level].words}</li>`)}</ol>
${PROTECTION_ORDER.map(
  (level) => html`<section id="${level}" aria-labelledby="h-${level}" class="protection protection-${level}">
<h2 id="h-${level}">${PROTECTION[level].words}</h2>
<p>${protectionBadge(level, { link: false })} <span class="hint">Level name in the metadata: <code>${level}</code></span></p>
<p><strong>Protects against:</strong> ${PROTECTION[level].protects}</p>
<p><strong>Does not protect against:</strong> ${PROTECTION[level].exposed}</p>
</section>`
)}
<h2>What an attacker can change, by the keys they hold</h2>
<p>From PEP 480's key compromise analysis, as Bulwark's attack tests measured it. The index's online keys — timestamp, snapshot, recently-claimed and unclaimed — are on the index server; the offline keys (root, targets, claimed) and the developers' keys are not. A client that keeps its metadata (such as <code>bulwark proxy</code>) is the best protected: an attacker cannot roll it back to metadata from before a claim or a promotion.</p>
<table class="levels">
<caption>Can the attacker serve changed files of a project at this level?</caption>
<thead><tr><th scope="col">What the attacker holds</th><th scope="col">Index-signed only (unclaimed)</th><th scope="col">Index-signed, two-factor uploads (two-factor)</th><th scope="col">Developer-signed, waiting for promotion (recently-claimed)</th><th scope="col">Developer-signed, offline delegation (claimed)</th></tr></thead>
<tbody>
<tr><th scope="row">None (a mirror, a cache, the network)</th><td>${no}</td><td>${no}</td><td>${no}</td><td>${no}</td></tr>
<tr><th scope="row">A maintainer's password or API token, without the second factor</th><td>${yes} (uploads as them)</td><td>${no}</td><td>${no}</td><td>${no}</td></tr>
<tr><th scope="row">Any one key but root, alone</th><td>${no}</td><td>${no}</td><td>${no}</td><td>${no}</td></tr>
<tr><th scope="row">Timestamp and snapshot</th><td>${freeze}</td><td>${freeze}</td><td>${freeze}</td><td>${freeze}</td></tr>
<tr><th scope="row">Timestamp, snapshot and unclaimed</th><td>${yes}</td><td>${yes}</td><td>${newRecent}</td><td>${newClaimed}</td></tr>
<tr><th scope="row">All online keys (the index server taken over)</th><td>${yes}</td><td>${yes}</td><td>${yes}</td><td>${newClaimed}</td></tr>
<tr><th scope="row">The project's developer keys (a threshold), with timestamp and snapshot</th><td>—</td><td>—</td><td>${yes}</td><td>${yes}</td></tr>
<tr><th scope="row">Offline keys (targets or claimed), with timestamp and snapshot</th><td>${yes}</td><td>${yes}</td><td>${yes}</td><td>${yes}</td></tr>
<tr><th scope="row">Root</th><td>${yes}</td><td>${yes}</td><td>${yes}</td><td>${yes}</td></tr>
</tbody>
</table>
<h2>How a project moves up</h2>
<ol>
<li>Every owner and maintainer turns on two-factor authentication (Your account), and an owner requires it in the project's settings: uploads, claims and yanks then need the second factor, and API tokens made with it. The index signs the level into the project's page entry in its TUF bin (<code>"custom": {"bulwark": {"two_factor": true}}</code>, online key), where clients read it: the project is at <em>two-factor</em>.</li>
<li>Its owner makes a developer key on each machine (<code>bulwark key new</code>) and claims the project (<code>bulwark claim NAME</code>): it becomes <em>recently claimed</em> at once, and the index accepts only uploads its developers sign (<code>bulwark upload</code>).</li>
<li>At the next offline ceremony the index's operators sign the claimed role with the offline key (<code>bulwark admin promote</code>): the project becomes <em>claimed</em>.</li>
</ol>
<section id="verified-builds" aria-labelledby="h-verified-builds">
<h2 id="h-verified-builds">Verified builds: wheels two independent builders reproduced</h2>
<p>The top level adds wheels the developers did not build themselves. The developers sign their source distribution, then sign a delegation of their wheels (<code>bulwark project build-farm enable</code>) to the index's build farm and to rebuilders they choose, run by other parties with their own keys. A wheel is published only when at least two of them built the same bytes from the developer-signed sdist, each signing an in-toto attestation of how. <code>bulwark fetch</code> and <code>bulwark proxy</code> check every signature and that the sdist is the one the developers signed, and show the wheel as a verified build. The developers' own files are never replaced, and neither the build farm's key nor the index's online keys, alone or together, can make a wheel a verified build.</p>
</section>`,
  });
}

// ---- account ------------------------------------------------------------------------------

export function loginPage(o: { csrf: string; next: string; username?: string; error?: string; status?: string }): Html {
  const err = o.error;
  return page({
    title: 'Log in',
    viewer: {},
    body: html`<h1>Log in</h1>
${o.status ? html`<div class="notice notice-ok" role="status"><p>${o.status}</p></div>` : ''}
${err ? html`<div class="notice notice-bad" role="alert" id="login-error"><p>${err}</p></div>` : ''}
<form method="post" action="/account/login/" novalidate>
${csrfInput(o.csrf)}
<input type="hidden" name="next" value="${o.next}">
<div class="field"><label for="username">User name</label>
<input type="text" id="username" name="username" value="${o.username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required${err ? html` aria-invalid="true" aria-describedby="login-error"` : ''}></div>
<div class="field"><label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${err ? html` aria-invalid="true" aria-describedby="login-error"` : ''}></div>
<button type="submit">Log in</button>
</form>
<p class="hint">No password yet? An administrator sets one with <code>bulwark user password NAME</code>. Uploads do not need one: they use API tokens.</p>`,
  });
}

export function logoutPage(viewer: Viewer): Html {
  return page({
    title: 'Log out',
    viewer,
    body: html`<h1>Log out</h1>
<p>You are logged in as <strong>${viewer.user?.name ?? ''}</strong>.</p>
<form method="post" action="/account/logout/">${csrfInput(viewer.csrf)}<button type="submit">Log out</button></form>`,
  });
}

export interface AccountData {
  user: UserRecord;
  tokens: TokenInfo[];
  /** A token just made: shown this once. */
  newToken?: { token: string; description: string };
  tokenError?: string;
  tokenDescription?: string;
  passwordError?: string;
  passwordChanged?: boolean;
  passwordUpdatedAt: string | undefined;
  keys: { project: ProjectRecord; role: 'owner' | 'maintainer'; delegation: ProjectDelegation }[];
  unclaimedOwned: string[];
  baseUrl: string;
  twoFactor: TwoFactorStatus;
}

export function accountPage(viewer: Viewer, d: AccountData): Html {
  return page({
    title: 'Your account',
    viewer,
    body: html`<h1>Your account</h1>
<p>Logged in as <strong>${d.user.name}</strong>${d.user.isAdmin ? html` (administrator: <a href="/admin/">admin pages</a>)` : ''}. Account made ${formatDate(d.user.createdAt)}.</p>

<h2 id="tokens">API tokens</h2>
<p>twine and <code>bulwark upload</code> authenticate with an API token: user name <code>__token__</code>, the token as the password. The index stores only a hash of each token, so a token is shown once, when it is made.</p>
${d.newToken
  ? html`<div class="notice notice-ok" role="status" id="new-token">
<p><strong>New token “${d.newToken.description}”. Copy it now: it is not shown again.</strong></p>
<p>Token:</p><p><code class="token" id="token-value">${d.newToken.token}</code></p>
<p>Use it: <code>twine upload --repository-url ${d.baseUrl}/legacy/ -u __token__ -p TOKEN dist/*</code></p>
</div>`
  : ''}
<form method="post" action="/manage/account/tokens/">
${csrfInput(viewer.csrf)}
<div class="field"><label for="token-description">What the new token is for</label>
<p class="hint" id="token-description-hint">For example “CI of my-project” or “laptop”. 1 to 100 characters.</p>
${d.tokenError ? html`<p class="error-text" id="token-description-error">${d.tokenError}</p>` : ''}
<input type="text" id="token-description" name="description" maxlength="100" value="${d.tokenDescription ?? ''}" required aria-describedby="token-description-hint${d.tokenError ? ' token-description-error' : ''}"${d.tokenError ? html` aria-invalid="true"` : ''}></div>
<button type="submit">Create token</button>
</form>
<table>
<caption>Your tokens (${d.tokens.length})</caption>
<thead><tr><th scope="col">For</th><th scope="col">Created</th><th scope="col">Second factor</th></tr></thead>
<tbody>${d.tokens.map((t) => html`<tr><td>${t.description}</td><td>${formatDate(t.createdAt)}</td><td>${t.twoFactor ? 'yes' : 'no'}</td></tr>`)}</tbody>
</table>

<h2 id="keys">Developer keys</h2>
<p>Developer keys sign your releases (PEP 480). Their private halves never leave your machines — the index cannot sign for you, which is the point — so keys are made and changed with the <code>bulwark</code> command, and each change is signed by a key the project already trusts:</p>
<ul>
<li><code>bulwark key new</code> makes a key on this machine; <code>bulwark key show --json</code> prints its public half.</li>
<li><code>bulwark claim NAME</code> puts a project under your keys; <code>bulwark key add NAME --public-key other.json</code> trusts another machine's key; <code>--remove KEYID</code> stops trusting one.</li>
</ul>
${d.keys.length
  ? html`<table>
<caption>Keys trusted for your claimed projects</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Protection</th><th scope="col">Keys (threshold)</th><th scope="col">Pending change</th></tr></thead>
<tbody>${d.keys.map(
      (k) => html`<tr><td><a href="${projectHref(k.project.name)}">${k.project.displayName}</a></td><td>${protectionBadge(k.project.protection)}</td>
<td>${k.delegation.threshold} of ${k.delegation.keyids.length}:${keyList(k.delegation.keyids)}</td>
<td>${k.delegation.pending ? html`${k.delegation.pending.threshold} of ${k.delegation.pending.keyids.length}, at the next offline ceremony:${keyList(k.delegation.pending.keyids)}` : 'None'}</td></tr>`
    )}</tbody></table>`
  : html`<p>None of your projects is claimed yet.</p>`}
${d.unclaimedOwned.length ? html`<p>Projects you could claim: ${d.unclaimedOwned.map((n, i) => html`${i ? ', ' : ''}<a href="${projectHref(n)}">${n}</a>`)}.</p>` : ''}

${twoFactorSection(viewer, d.twoFactor)}

<h2 id="password">Password</h2>
<p>${d.passwordUpdatedAt ? `Last changed ${formatDate(d.passwordUpdatedAt)}.` : ''} Changing it logs out your other sessions.</p>
${d.passwordChanged ? html`<div class="notice notice-ok" role="status"><p>Your password was changed.</p></div>` : ''}
${d.passwordError ? html`<div class="notice notice-bad" role="alert" id="password-error"><p>${d.passwordError}</p></div>` : ''}
<form method="post" action="/manage/account/password/">
${csrfInput(viewer.csrf)}
<input type="text" name="username" value="${d.user.name}" autocomplete="username" hidden>
<div class="field"><label for="current-password">Current password</label>
<input type="password" id="current-password" name="current" autocomplete="current-password" required></div>
<div class="field"><label for="new-password">New password</label>
<p class="hint" id="new-password-hint">At least 10 characters.</p>
<input type="password" id="new-password" name="password" autocomplete="new-password" required aria-describedby="new-password-hint"></div>
<div class="field"><label for="confirm-password">New password again</label>
<input type="password" id="confirm-password" name="confirm" autocomplete="new-password" required></div>
<button type="submit">Change password</button>
</form>`,
  });
}

const NEXT_STEP: Record<Protection, string> = {
  unclaimed: 'Claim it with your developer keys: bulwark claim NAME (or require two-factor uploads in its settings)',
  'two-factor': 'Claim it with your developer keys: bulwark claim NAME',
  'recently-claimed': 'Protected by your keys; waits for the next offline ceremony',
  claimed: 'Protected by your keys and an offline delegation',
};

export function projectsPage(viewer: Viewer, projects: UserProject[]): Html {
  return page({
    title: 'Your projects',
    viewer,
    body: html`<h1>Your projects</h1>
${projects.length
  ? html`<table>
<caption>Projects you own or maintain (${projects.length}), with their protection</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Your role</th><th scope="col">Protection</th><th scope="col" class="num">Files</th><th scope="col">Last upload</th><th scope="col">Next step</th></tr></thead>
<tbody>${projects.map(
      (p) => html`<tr><td><a href="${projectHref(p.name)}">${p.displayName}</a></td><td>${p.role}</td><td>${protectionBadge(p.protection)}<br><span class="hint">${PROTECTION[p.protection].words}</span></td>
<td class="num">${p.files}</td><td>${p.lastUpload ? formatDate(p.lastUpload) : '—'}</td><td>${NEXT_STEP[p.protection].replace('NAME', p.name)}<br><a href="/manage/project/${p.name}/settings/">Settings</a></td></tr>`
    )}</tbody></table>`
  : html`<p>You have no projects yet. Upload one with twine and an <a href="/manage/account/#tokens">API token</a>.</p>`}
<p><a href="/help/protection/">What the protection levels mean</a></p>`,
  });
}

// ---- admin ------------------------------------------------------------------------------

export interface AdminData {
  status: RepositoryStatus | undefined;
  statusError: string | undefined;
  now: Date;
  waiting: ProjectDelegation[];
  pendingKeyChanges: ProjectDelegation[];
  counts: Record<Protection, number>;
  users: { users: number; admins: number; withPassword: number };
  journal: JournalSummary;
  /** The protection chart and report (src/web/protection-chart.ts). */
  protection: Html;
}

function timeLeft(expires: string, now: Date): Html {
  const ms = Date.parse(expires) - now.getTime();
  if (Number.isNaN(ms)) return html`—`;
  if (ms <= 0) return html`<strong class="error-text">expired</strong>`;
  const days = ms / 86_400_000;
  return html`${days >= 2 ? `${Math.floor(days)} days` : `${Math.max(1, Math.floor(ms / 3_600_000))} hours`}`;
}

export function adminPage(viewer: Viewer, d: AdminData): Html {
  const s = d.status;
  return page({
    title: 'Administration',
    viewer,
    body: html`<h1>Administration</h1>
${d.statusError ? html`<div class="notice notice-bad" role="alert"><p>Cannot read the repository status: ${d.statusError}</p></div>` : ''}
${s && s.warnings.length ? html`<div class="notice notice-warn" role="note"><p><strong>Warnings</strong></p><ul>${s.warnings.map((w) => html`<li>${w}</li>`)}</ul></div>` : ''}
<ul class="stats">
<li><span class="n">${s?.snapshotVersion ?? '—'}</span>snapshot version</li>
<li><span class="n">${d.counts.claimed + d.counts['recently-claimed'] + d.counts.unclaimed}</span>projects: ${d.counts.claimed} claimed, ${d.counts['recently-claimed']} recently claimed, ${d.counts.unclaimed} unclaimed</li>
<li><span class="n">${d.users.users}</span>accounts (${d.users.admins} admin, ${d.users.withPassword} with a password)</li>
<li><span class="n">${s?.mode ?? '—'}</span>mode</li>
</ul>

<h2 id="protection-report">Downloads protected</h2>
${d.protection}

<h2 id="promotion">Projects waiting for promotion (${d.waiting.length})</h2>
<p>Claimed by their developers and delegated by the online <code>recently-claimed</code> role. The next offline ceremony moves them all to <code>claimed</code>: <code>bulwark admin promote export --out p.json</code> here, <code>bulwark admin sign --in p.json --out p.signed.json --key claimed.pem</code> on the offline machine, <code>bulwark admin promote import --in p.signed.json</code> here.</p>
${d.waiting.length
  ? html`<table><caption>Waiting in recently-claimed</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Claimed</th><th scope="col">Keys (threshold)</th></tr></thead>
<tbody>${d.waiting.map(
      (w) => html`<tr><td><a href="${projectHref(w.project)}">${w.project}</a></td><td>${formatDate(w.createdAt)}</td><td>${w.threshold} of ${w.keyids.length}:${keyList(w.keyids)}</td></tr>`
    )}</tbody></table>`
  : html`<p>None.</p>`}

<h2 id="key-changes">Pending key changes (${d.pendingKeyChanges.length})</h2>
<p>Key changes of claimed projects, signed by their developers; they take effect with the next offline ceremony.</p>
${d.pendingKeyChanges.length
  ? html`<table><caption>Key changes waiting for the ceremony</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Keys now</th><th scope="col">Keys after the ceremony</th></tr></thead>
<tbody>${d.pendingKeyChanges.map(
      (c) => html`<tr><td><a href="${projectHref(c.project)}">${c.project}</a></td><td>${c.threshold} of ${c.keyids.length}:${keyList(c.keyids)}</td><td>${c.pending ? html`${c.pending.threshold} of ${c.pending.keyids.length}:${keyList(c.pending.keyids)}` : ''}</td></tr>`
    )}</tbody></table>`
  : html`<p>None.</p>`}

<h2 id="roles">Roles: expiry and keys</h2>
${s
  ? html`<table><caption>Top-level roles (${s.bins} hashed bins besides)</caption>
<thead><tr><th scope="col">Role</th><th scope="col">Keys kept</th><th scope="col" class="num">Version</th><th scope="col">Expires</th><th scope="col">Left</th><th scope="col">Keys (threshold)</th></tr></thead>
<tbody>${s.roles.map(
      (r) => html`<tr><th scope="row">${r.name}</th><td>${r.online ? 'online' : 'offline'}</td><td class="num">${r.version}</td><td>${formatDate(r.expires)}</td><td class="nowrap">${timeLeft(r.expires, d.now)}</td><td>${r.threshold} of ${r.keyids.length}:${keyList(r.keyids)}</td></tr>`
    )}
<tr><th scope="row">bins (${s.bins})</th><td>online</td><td class="num">${s.binsSummary.minVersion}–${s.binsSummary.maxVersion}</td><td>${formatDate(s.binsSummary.earliestExpiry)} (earliest)</td><td class="nowrap">${timeLeft(s.binsSummary.earliestExpiry, d.now)}</td><td>the unclaimed key</td></tr>
</tbody></table>`
  : ''}

<h2 id="recovery">Transactions and recovery</h2>
<p>Every upload, claim, yank and key change is a journaled transaction: pending (recorded), applied (in the role's targets), published (in a signed snapshot). After a crash the index resumes from the journal; failed transactions changed nothing that clients see.</p>
<ul>
<li>${d.journal.counts.pending} pending, ${d.journal.counts.applied} applied and waiting for a snapshot, ${d.journal.counts.published} published, ${d.journal.counts.failed} failed.</li>
<li>${d.journal.lastPublication ? html`Last publication: snapshot ${d.journal.lastPublication.snapshotVersion} at ${formatDate(d.journal.lastPublication.createdAt)}.` : 'No publication yet.'}</li>
</ul>
${d.journal.failed.length
  ? html`<table><caption>Most recent failed transactions</caption>
<thead><tr><th scope="col" class="num">#</th><th scope="col">Kind</th><th scope="col">Project</th><th scope="col">When</th><th scope="col">Error</th></tr></thead>
<tbody>${d.journal.failed.map(
      (f) => html`<tr><td class="num">${f.seq}</td><td>${f.kind}</td><td>${f.project}</td><td>${formatDate(f.createdAt)}</td><td>${f.error ?? ''}</td></tr>`
    )}</tbody></table>`
  : ''}`,
  });
}

// ---- errors -----------------------------------------------------------------------------

export function messagePage(viewer: Viewer, title: string, message: Html | string, opts: { demo?: boolean } = {}): Html {
  return page({ title, viewer, ...(opts.demo ? { demo: true } : {}), body: html`<h1>${title}</h1><p>${message}</p><p><a href="/">Home</a></p>` });
}

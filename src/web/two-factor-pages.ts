// SPDX-License-Identifier: Apache-2.0
// The markup of two-factor authentication (issue 14, level 2), from plain data: the account
// page's section, the enrolment page (the secret as text and as a QR code drawn on the server),
// the recovery codes shown once, the sign-in's code step, and a project's settings page where
// its owners require two-factor.
import { formatDate, html, type Html } from './html.js';
import { csrfInput, page, type Viewer } from './layout.js';
import { protectionBadge, type Protection } from './protection.js';

export interface TwoFactorStatus {
  on: boolean;
  enabledAt?: string;
  recoveryLeft?: number;
  /** This session passed the second factor (tokens made from it record so). */
  sessionPassed: boolean;
  error?: string;
  notice?: string;
}

/** The account page's section: turn on, or see and turn off. */
export function twoFactorSection(viewer: Viewer, s: TwoFactorStatus): Html {
  const notice = s.notice ? html`<div class="notice notice-ok" role="status" id="two-factor-notice"><p>${s.notice}</p></div>` : '';
  const error = s.error ? html`<div class="notice notice-bad" role="alert" id="two-factor-error"><p>${s.error}</p></div>` : '';
  if (!s.on) {
    return html`<h2 id="two-factor">Two-factor authentication</h2>
${notice}${error}
<p id="two-factor-state">Off. With it on, signing in asks for a 6-digit code from an authenticator app after your password, API tokens record that they were made with it, and your projects can require it for every upload (level <a href="/help/protection/#two-factor">two-factor</a>).</p>
<form method="get" action="/manage/account/two-factor/"><button type="submit">Turn on two-factor authentication</button></form>`;
  }
  return html`<h2 id="two-factor">Two-factor authentication</h2>
${notice}${error}
<p id="two-factor-state">On since ${formatDate(s.enabledAt ?? '')}. ${s.recoveryLeft ?? 0} recovery code(s) left.</p>
<form method="post" action="/manage/account/two-factor/disable/">
${csrfInput(viewer.csrf)}
<div class="field"><label for="disable-code">Code from your authenticator, or a recovery code</label>
<input type="text" id="disable-code" name="code" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required></div>
<button type="submit">Turn off two-factor authentication</button>
</form>`;
}

export interface EnrolData {
  account: string;
  secret: string;
  /** Binds the secret to this session, so the confirming form cannot bring another. */
  secretMac: string;
  qr: Html;
  error?: string;
}

export function enrolPage(viewer: Viewer, d: EnrolData): Html {
  return page({
    title: 'Turn on two-factor authentication',
    viewer,
    body: html`<h1>Turn on two-factor authentication</h1>
${d.error ? html`<div class="notice notice-bad" role="alert" id="enrol-error"><p>${d.error}</p></div>` : ''}
<ol>
<li>Scan this QR code with an authenticator app (any app for TOTP codes, RFC 6238), or type the key below into it.</li>
<li>Type the 6-digit code it shows, to prove it works. Nothing changes until you do.</li>
</ol>
<figure class="qr-code">${d.qr}<figcaption>For ${d.account} on Bulwark</figcaption></figure>
<p>Key: <code id="totp-secret" class="token">${d.secret}</code> <span class="hint">(time-based, SHA-1, 6 digits, 30 seconds)</span></p>
<form method="post" action="/manage/account/two-factor/">
${csrfInput(viewer.csrf)}
<input type="hidden" name="secret" value="${d.secret}">
<input type="hidden" name="secret_mac" value="${d.secretMac}">
<div class="field"><label for="enrol-code">Code from your authenticator</label>
<input type="text" id="enrol-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" required${d.error ? html` aria-invalid="true" aria-describedby="enrol-error"` : ''}></div>
<button type="submit">Turn on</button>
</form>
<p><a href="/manage/account/#two-factor">Cancel</a></p>`,
  });
}

export function recoveryCodesPage(viewer: Viewer, codes: readonly string[]): Html {
  return page({
    title: 'Two-factor authentication is on',
    viewer,
    body: html`<h1>Two-factor authentication is on</h1>
<div class="notice notice-ok" role="status"><p><strong>Save these recovery codes now: they are not shown again.</strong> Each one signs you in once instead of a code, if you lose your authenticator.</p></div>
<ul class="recovery-codes" id="recovery-codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<p>Your other sessions were signed out. API tokens you made before have no second factor: projects that require it refuse them, so make new ones.</p>
<p><a href="/manage/account/#two-factor">Back to your account</a></p>`,
  });
}

export function secondFactorLoginPage(o: { csrf: string; next: string; error?: string }): Html {
  return page({
    title: 'Two-factor code',
    viewer: {},
    body: html`<h1>Two-factor code</h1>
${o.error ? html`<div class="notice notice-bad" role="alert" id="login-error"><p>${o.error}</p></div>` : ''}
<form method="post" action="/account/login/two-factor/" novalidate>
${csrfInput(o.csrf)}
<input type="hidden" name="next" value="${o.next}">
<div class="field"><label for="code">Code from your authenticator, or a recovery code</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required${o.error ? html` aria-invalid="true" aria-describedby="login-error"` : ''}></div>
<button type="submit">Log in</button>
</form>
<p><a href="/account/login/">Start again</a></p>`,
  });
}

export interface ProjectSettingsData {
  name: string;
  displayName: string;
  level: Protection;
  isOwner: boolean;
  required: boolean;
  membersWithout: string[];
  claimed: boolean;
  notice?: string;
  error?: string;
}

export function projectSettingsPage(viewer: Viewer, d: ProjectSettingsData): Html {
  const everyone = d.membersWithout.length === 0;
  return page({
    title: `Settings of ${d.displayName}`,
    viewer,
    body: html`<h1>Settings of ${d.displayName}</h1>
<p>${protectionBadge(d.level)}</p>
${d.notice ? html`<div class="notice notice-ok" role="status" id="settings-notice"><p>${d.notice}</p></div>` : ''}
${d.error ? html`<div class="notice notice-bad" role="alert" id="settings-error"><p>${d.error}</p></div>` : ''}
<h2 id="two-factor">Two-factor authentication</h2>
<p id="requirement">${d.required ? 'Required: uploads, claims and yanks need an owner or maintainer with two-factor on, and an API token made with it.' : 'Not required.'}</p>
<p id="members">${everyone ? 'Every owner and maintainer has two-factor authentication on.' : html`Without two-factor authentication: ${d.membersWithout.join(', ')}.`}
${d.required && !everyone && !d.claimed ? ' The project is at level two-factor once they all turn it on.' : ''}</p>
${d.isOwner
  ? html`<form method="post" action="/manage/project/${d.name}/settings/">
${csrfInput(viewer.csrf)}
<input type="hidden" name="require_two_factor" value="${d.required ? 'no' : 'yes'}">
<button type="submit">${d.required ? 'Stop requiring two-factor authentication' : 'Require two-factor authentication'}</button>
</form>`
  : html`<p class="hint">Only an owner can change this.</p>`}
<p><a href="/project/${d.name}/">Project page</a> · <a href="/manage/projects/">Your projects</a></p>`,
  });
}

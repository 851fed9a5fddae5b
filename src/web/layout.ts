// SPDX-License-Identifier: Apache-2.0
// The shell every page shares: skip link, header with the site search and the account links
// (sign-out is a POST form with its CSRF token), main landmark, footer.
import type { UserRecord } from '../storage/state/types.js';
import { html, type Html, type Renderable } from './html.js';
import { CSRF_FIELD } from './csrf.js';

export interface Viewer {
  user?: UserRecord;
  /** The CSRF token for forms of this session (signed-in viewers). */
  csrf?: string;
}

export interface PageOptions {
  title: string;
  viewer: Viewer;
  body: Renderable;
  /** Prefills the header search. */
  query?: string;
  demo?: boolean;
}

const LOGO = html`<svg viewBox="0 0 16 16" width="22" height="22" aria-hidden="true" focusable="false"><path d="M8 1 2 3.5V8c0 3.5 2.6 6.3 6 7 3.4-.7 6-3.5 6-7V3.5z" fill="currentColor"/></svg>`;

export function csrfInput(token: string | undefined): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${token ?? ''}">`;
}

function nav(viewer: Viewer): Html {
  const items: Html[] = [html`<li><a href="/help/protection/">Protection levels</a></li>`];
  if (viewer.user) {
    items.push(html`<li><a href="/manage/projects/">Your projects</a></li>`, html`<li><a href="/manage/account/">Account (${viewer.user.name})</a></li>`);
    if (viewer.user.isAdmin) items.push(html`<li><a href="/admin/">Admin</a></li>`);
    items.push(
      html`<li><form method="post" action="/account/logout/">${csrfInput(viewer.csrf)}<button type="submit" class="linklike">Log out</button></form></li>`
    );
  } else {
    items.push(html`<li><a href="/account/login/">Log in</a></li>`);
  }
  return html`<nav class="site-nav" aria-label="Site"><ul>${items}</ul></nav>`;
}

export function page(o: PageOptions): Html {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Bulwark</title>
<link rel="stylesheet" href="/static/bulwark.css">
</head>
<body>
<a class="skip" href="#content">Skip to main content</a>
<header class="site-header">
<div class="inner">
<a class="brand" href="/">${LOGO}Bulwark</a>
<form class="header-search" role="search" method="get" action="/search/">
<label class="visually-hidden" for="header-q">Search projects</label>
<input type="search" id="header-q" name="q" value="${o.query ?? ''}" placeholder="Search projects" autocomplete="off">
<button type="submit">Search</button>
</form>
${nav(o.viewer)}
</div>
</header>
<main id="content" tabindex="-1">
${o.demo ? html`<div class="notice notice-warn" role="note"><p><strong>Demo repository:</strong> its offline keys are on this server. Do not use it for real packages.</p></div>` : ''}
${o.body}
</main>
<footer class="site-footer"><div class="inner">
<p>Bulwark package index: every file is vouched for by TUF metadata (<a href="https://peps.python.org/pep-0458/">PEP 458</a>, <a href="https://peps.python.org/pep-0480/">PEP 480</a>). <a href="/simple/">Simple index</a> · <a href="/metadata/timestamp.json">Current timestamp</a> · <a href="/help/protection/">What the badges mean</a></p>
</div></footer>
</body>
</html>
`;
}

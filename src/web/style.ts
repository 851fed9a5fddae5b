// SPDX-License-Identifier: Apache-2.0
// The pages' one style sheet, served as /static/bulwark.css (no inline styles, so the Content
// Security Policy can forbid them). Colours meet WCAG AA contrast (most AAA); focus is always
// visible; layout needs no script and reflows down to a phone's width.
export const STYLESHEET = `
:root {
  --ink: #1b1f24; --muted: #4a525c; --line: #c9d1d9; --bg: #ffffff; --panel: #f4f6f8;
  --brand: #0b2545; --link: #0b57d0; --link-visited: #5a2ea6; --focus: #0b57d0;
  --ok-bg: #dcf5e3; --ok-ink: #0b4f23; --ok-line: #2f8a4c;
  --warn-bg: #fff4c2; --warn-ink: #5c4300; --warn-line: #b88a00;
  --plain-bg: #eceff2; --plain-ink: #2b323a; --plain-line: #8a95a1;
  --bad-bg: #fde7e7; --bad-ink: #7a1111; --bad-line: #c43d3d;
}
* { box-sizing: border-box; }
html { font-size: 100%; }
body { margin: 0; color: var(--ink); background: var(--bg); font: 1rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
a { color: var(--link); text-underline-offset: 0.15em; }
a:visited { color: var(--link-visited); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
code { background: var(--panel); padding: 0.05em 0.3em; border-radius: 3px; }
pre { background: var(--panel); padding: 0.75rem 1rem; border-radius: 4px; overflow-x: auto; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.35rem; margin: 1.8em 0 0.5em; padding-bottom: 0.2em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.4em 0 0.4em; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; color: var(--brand); padding: 0.5rem 1rem; z-index: 10; }
.skip:focus { left: 0.5rem; top: 0.5rem; }
.site-header { background: var(--brand); color: #fff; }
.site-header .inner { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: center; max-width: 72rem; margin: 0 auto; padding: 0.75rem 1rem; }
.site-header a { color: #fff; }
.site-header a:visited { color: #fff; }
.site-header :focus-visible { outline-color: #ffd24d; }
.brand { font-weight: 700; font-size: 1.3rem; text-decoration: none; letter-spacing: 0.01em; display: inline-flex; align-items: center; gap: 0.4rem; }
.brand svg { color: #ffd24d; }
.header-search { flex: 1 1 16rem; display: flex; gap: 0.4rem; }
.header-search input { flex: 1; min-width: 0; }
.site-nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; align-items: center; }
.site-nav form { margin: 0; }
.linklike { background: none; border: 0; padding: 0; color: inherit; font: inherit; text-decoration: underline; cursor: pointer; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
.site-footer { border-top: 1px solid var(--line); color: var(--muted); }
.site-footer .inner { max-width: 72rem; margin: 0 auto; padding: 1rem; font-size: 0.9rem; }
label { font-weight: 600; display: block; margin-bottom: 0.25rem; }
input[type=text], input[type=search], input[type=password] { font: inherit; padding: 0.45rem 0.6rem; border: 2px solid #5b6570; border-radius: 4px; background: #fff; color: var(--ink); width: 100%; max-width: 28rem; }
.header-search input { border-color: #fff; }
button, .button { font: inherit; font-weight: 600; padding: 0.45rem 1rem; border-radius: 4px; border: 2px solid var(--brand); background: var(--brand); color: #fff; cursor: pointer; }
.header-search button { background: #ffd24d; color: #1b1f24; border-color: #ffd24d; }
button.secondary { background: #fff; color: var(--brand); }
.field { margin: 0 0 1rem; }
.hint { color: var(--muted); font-size: 0.92rem; margin: 0.15rem 0 0.35rem; }
.error-text { color: var(--bad-ink); font-weight: 600; }
input[aria-invalid=true] { border-color: var(--bad-line); }
.notice { border-left: 6px solid; padding: 0.6rem 1rem; margin: 1rem 0; border-radius: 0 4px 4px 0; }
.notice p { margin: 0.25rem 0; }
.notice-info { background: #e7f0fd; border-color: var(--link); }
.notice-ok { background: var(--ok-bg); border-color: var(--ok-line); color: var(--ok-ink); }
.notice-warn { background: var(--warn-bg); border-color: var(--warn-line); color: var(--warn-ink); }
.notice-bad { background: var(--bad-bg); border-color: var(--bad-line); color: var(--bad-ink); }
.badge { display: inline-flex; align-items: center; gap: 0.35rem; padding: 0.12rem 0.6rem 0.12rem 0.45rem; border-radius: 1rem; border: 1px solid; font-size: 0.88rem; font-weight: 600; text-decoration: none; vertical-align: middle; max-width: 100%; }
a.badge:visited { color: inherit; }
.badge .shield { flex: none; }
.badge-claimed, a.badge-claimed:visited { background: var(--ok-bg); color: var(--ok-ink); border-color: var(--ok-line); }
.badge-recently-claimed, a.badge-recently-claimed:visited { background: var(--warn-bg); color: var(--warn-ink); border-color: var(--warn-line); }
.badge-two-factor, a.badge-two-factor:visited { background: var(--plain-bg); color: var(--ok-ink); border-color: var(--ok-line); }
.badge-unclaimed, a.badge-unclaimed:visited { background: var(--plain-bg); color: var(--plain-ink); border-color: var(--plain-line); }
.protection { border: 1px solid var(--line); border-left: 6px solid; border-radius: 0 6px 6px 0; padding: 0.75rem 1rem; margin: 1rem 0; background: var(--panel); }
.protection-claimed { border-left-color: var(--ok-line); }
.protection-recently-claimed { border-left-color: var(--warn-line); }
.protection-unclaimed { border-left-color: var(--plain-line); }
.protection p { margin: 0.35rem 0; }
.protection h2 { margin-top: 0.1em; }
.protection .words { font-weight: 700; font-size: 1.05rem; }
.project-head { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: baseline; }
.project-head h1 { margin-bottom: 0.1em; }
.summary { font-size: 1.15rem; color: var(--muted); margin-top: 0; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) 20rem; gap: 2rem; }
@media (max-width: 56rem) { .cols { grid-template-columns: minmax(0, 1fr); } }
.sidebar h2 { font-size: 1.05rem; }
.sidebar ul { padding-left: 1.1rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; color: var(--muted); }
th, td { text-align: left; vertical-align: top; padding: 0.45rem 0.6rem; border-bottom: 1px solid var(--line); }
th { background: var(--panel); }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
main form { margin-bottom: 1rem; }
.hash { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.8rem; word-break: break-all; color: var(--muted); }
.yanked-mark { display: inline-block; background: var(--bad-bg); color: var(--bad-ink); border: 1px solid var(--bad-line); border-radius: 3px; padding: 0 0.35rem; font-size: 0.82rem; font-weight: 700; margin-left: 0.3rem; }
tr.yanked td { background: #fff7f7; }
.releases { list-style: none; padding: 0; margin: 0; }
.releases li { padding: 0.3rem 0; border-bottom: 1px solid var(--line); display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: baseline; }
.releases .date { color: var(--muted); font-size: 0.9rem; }
.results { list-style: none; padding: 0; margin: 0; }
.results li { padding: 0.8rem 0; border-bottom: 1px solid var(--line); }
.results .name { font-size: 1.15rem; font-weight: 700; margin-right: 0.5rem; }
.results .meta { color: var(--muted); font-size: 0.9rem; }
.results p { margin: 0.2rem 0; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 1rem; padding: 0; list-style: none; }
.stats li { border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 1rem; background: var(--panel); }
.stats .n { font-size: 1.6rem; font-weight: 700; display: block; }
.hero { background: var(--panel); border-radius: 8px; padding: 1.25rem 1.5rem; margin: 1rem 0 1.5rem; }
.hero form, form.hero { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: flex-end; }
.hero > p:first-child { margin-top: 0; }
.hero .field { margin: 0; flex: 1 1 20rem; }
.hero input[type=search] { max-width: none; }
.token { font-size: 1rem; word-break: break-all; display: block; padding: 0.6rem; border: 2px dashed var(--ok-line); background: #fff; }
.description { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 0.25rem 1.25rem 1rem; overflow-wrap: anywhere; max-width: 100%; overflow-x: auto; }
.description h1, .description h2, .description h3, .description h4, .description h5, .description h6 { border-bottom: 0; padding-bottom: 0; margin: 1.2em 0 0.4em; line-height: 1.25; }
.description h1 { font-size: 1.5rem; } .description h2 { font-size: 1.3rem; } .description h3 { font-size: 1.12rem; }
.description h4, .description h5, .description h6 { font-size: 1rem; }
.description .anchor { margin-left: 0.3em; color: var(--muted); text-decoration: none; font-weight: 400; }
.description .anchor:hover, .description .anchor:focus-visible { color: var(--link); text-decoration: underline; }
.description img { max-width: 100%; height: auto; vertical-align: middle; }
.description table { border-collapse: collapse; margin: 0.75rem 0; display: block; overflow-x: auto; }
.description th, .description td { border: 1px solid var(--line); padding: 0.3rem 0.6rem; text-align: start; }
.description [align=center] { text-align: center; } .description [align=right] { text-align: right; }
.description th { background: var(--panel); }
.description blockquote { margin: 0.75rem 0; padding: 0 1rem; border-left: 4px solid var(--line); color: var(--muted); }
.description pre code { background: none; padding: 0; }
.description pre.plain { white-space: pre-wrap; word-wrap: break-word; background: #fff; padding: 0.5rem 0; }
.description-note { color: var(--muted); font-style: italic; }
ul.keys { list-style: none; padding: 0; margin: 0.2rem 0 0; }
.keyid { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.85rem; word-break: break-all; }
.levels th[scope=row] { width: 16rem; }
.pager { display: flex; gap: 1rem; margin-top: 1rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

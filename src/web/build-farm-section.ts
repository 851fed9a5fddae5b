// SPDX-License-Identifier: Apache-2.0
// The "Verified builds" part of a project page (issue 15): wheels that independent builders
// reproduced from the developer-signed sdist (from which sdist, by which builders, with links to
// their attestations and build logs), mismatches with both hashes and both logs, and failed
// builds with their logs. What it shows comes from the build farm's records; what a client
// trusts is only what TUF vouches for (`wheels-<project>`).
import type { FarmStatus } from '../buildfarm/farm-service.js';
import { targetBlobPath } from '../repository/layout.js';
import { html, type Html } from './html.js';

const logHref = (project: string, sdist: string, keyid: string) => `/api/build-farm/logs/${project}/${encodeURIComponent(sdist)}/${keyid}`;
const short = (keyid: string) => keyid.slice(0, 16);

export function buildFarmSection(project: string, s: FarmStatus | undefined): Html | undefined {
  if (!s) return undefined;
  const verified = s.verified.length
    ? html`<ul class="verified-builds">${s.verified.map(
        (v) => html`<li><strong>${v.wheel}</strong> <span class="hash">SHA256: ${v.sha256}</span><br>built from the signed sdist ${v.builtFrom.filename} (<span class="hash">SHA256: ${v.builtFrom.sha256}</span>) by ${v.builders.length} builders:
<ul>${v.builders.map((k) => html`<li><span class="keyid">${short(k)}</span> (<a href="${logHref(project, v.builtFrom.filename, k)}">log</a>)</li>`)}</ul>
<a href="/${targetBlobPath(v.attestation.path, v.attestation.sha256)}">attestations (in-toto, DSSE)</a></li>`
      )}</ul>`
    : html`<p>No verified wheel yet.</p>`;
  const mismatches = s.mismatches.length
    ? html`<div class="notice notice-bad" role="note"><p><strong>Builders disagree</strong>: these wheels are not published as verified builds.</p>
<ul>${s.mismatches.map(
        (m) => html`<li>${m.sdist}:<ul>${m.builds.map((b) => html`<li><span class="keyid">${short(b.keyid)}</span> built ${b.wheel} <span class="hash">SHA256: ${b.sha256}</span> (<a href="${logHref(project, m.sdist, b.keyid)}">log</a>)</li>`)}</ul></li>`
      )}</ul></div>`
    : '';
  const failures = s.failures.length
    ? html`<p>Failed builds:</p><ul>${s.failures.map((f) => html`<li>${f.sdist} by <span class="keyid">${short(f.keyid)}</span>: ${f.reason} (<a href="${logHref(project, f.sdist, f.keyid)}">log</a>)</li>`)}</ul>`
    : '';
  // The developers must sign again: the index tells them here and in `bulwark upload`.
  const rotated = s.farmKeyRotated
    ? html`<div class="notice notice-bad" role="note"><p><strong>The build farm's key changed.</strong> This project's delegation still names the old key, so no new wheel can be verified. Its developers sign the delegation again: <code>bulwark project build-farm enable ${project}</code> (with the same <code>--rebuilder-key</code> files).</p></div>`
    : '';
  return html`<h2 id="verified-builds">Verified builds</h2>
<p>Wheels built from the developer-signed sdist and published only when independent builders made the same bytes.</p>
${rotated}${verified}${mismatches}${failures}`;
}

// SPDX-License-Identifier: Apache-2.0
// For a claimed project the simple pages are targets its developers sign. Before anyone signs
// or accepts such a role, the pages must list exactly the distributions the role lists, with
// the same hashes: a page could otherwise point pip at a file no developer vouched for.
import type { TargetFile } from '../tuf/index.js';
import { SIMPLE_HTML, SIMPLE_JSON } from './layout.js';

export class PageConsistencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageConsistencyError';
  }
}

function isPage(name: string): boolean {
  return name === SIMPLE_HTML || name === SIMPLE_JSON;
}

/**
 * Checks a project role's pages against its distribution targets.
 * @param pages the bytes of `<project>/index.html` and `<project>/index.json`
 * @throws PageConsistencyError naming the first difference
 */
export function checkPagesMatchTargets(project: string, targets: ReadonlyMap<string, TargetFile>, pages: { html: Buffer; json: Buffer }): void {
  const prefix = `${project}/`;
  const distributions = new Map<string, string>();
  for (const [path, t] of targets) {
    const name = path.slice(prefix.length);
    // Pages list distributions; their PEP 658 metadata and in-toto attestations ride along.
    if (!path.startsWith(prefix) || isPage(name) || name.endsWith('.metadata') || name.endsWith('.intoto.jsonl')) continue;
    distributions.set(name, t.hashes['sha256'] ?? '');
  }
  let page: { name?: unknown; files?: unknown };
  try {
    page = JSON.parse(pages.json.toString('utf8')) as typeof page;
  } catch {
    throw new PageConsistencyError(`${project}/${SIMPLE_JSON} is not JSON`);
  }
  if (page.name !== project || !Array.isArray(page.files)) throw new PageConsistencyError(`${project}/${SIMPLE_JSON} is not the simple page of ${project}`);
  const listed = new Map<string, string>();
  for (const f of page.files as { filename?: unknown; hashes?: { sha256?: unknown } }[]) {
    if (typeof f.filename !== 'string' || typeof f.hashes?.sha256 !== 'string') throw new PageConsistencyError(`${project}/${SIMPLE_JSON} has a malformed file entry`);
    listed.set(f.filename, f.hashes.sha256);
  }
  const html = pages.html.toString('utf8');
  const htmlListed = new Map<string, string>();
  for (const m of html.matchAll(/href="([^"#]*)#sha256=([0-9a-f]{64})"/g)) {
    const url = m[1] as string;
    htmlListed.set(decodeURIComponent(url.slice(url.lastIndexOf('/') + 1)), m[2] as string);
  }
  for (const [what, map] of [[SIMPLE_JSON, listed], [SIMPLE_HTML, htmlListed]] as const) {
    for (const [name, sha] of map) {
      if (distributions.get(name) !== sha) throw new PageConsistencyError(`${project}/${what} lists ${name} with a hash the role does not vouch for`);
    }
    for (const name of distributions.keys()) {
      if (!map.has(name)) throw new PageConsistencyError(`${project}/${what} does not list ${name}, which the role lists`);
    }
  }
}

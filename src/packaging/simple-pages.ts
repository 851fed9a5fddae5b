// Renders the Simple Repository API pages: PEP 503 HTML and PEP 691 JSON (API version 1.1,
// with PEP 592 yanking, PEP 658/714 metadata hashes and PEP 700 versions/size/upload-time).
// The rendered bytes are stored, served verbatim and signed as TUF targets, so output
// depends only on the input: fixed key order, sorted lists, no clocks.

import { isValidProjectName, normalizeProjectName } from './names.js';
import { compareVersions } from './versions.js';

// Negotiation lives in its own module; re-exported so callers find it next to the renderers.
export { SIMPLE_HTML, SIMPLE_JSON, negotiateSimpleContentType } from './content-negotiation.js';
export type { SimpleContentType } from './content-negotiation.js';

export interface SimpleFile {
  filename: string;
  url: string; // as it goes in the page (relative URLs are fine), without fragment
  sha256: string; // hex
  size: number;
  uploadTime: string; // ISO 8601 UTC, e.g. 2026-11-23T10:00:00.000000Z form is fine
  requiresPython?: string; // as uploaded
  yanked?: string | true; // absent = not yanked; string = reason
  coreMetadataSha256?: string; // PEP 658/714: present when the metadata file exists at url + '.metadata'
}

export interface SimpleProject {
  name: string /* normalized */;
  versions: readonly string[];
  files: readonly SimpleFile[];
}

const API_VERSION = '1.1';

// --- input checks -----------------------------------------------------------------------
// Bad input here is a bug in the caller, not the uploader's fault, hence TypeError.

const SHA256_RE = /^[0-9a-f]{64}$/;
const UPLOAD_TIME_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$/;

function checkProjectName(name: string): void {
  if (!isValidProjectName(name) || normalizeProjectName(name) !== name) {
    throw new TypeError(`simple page: project name ${JSON.stringify(name)} is not a normalized project name`);
  }
}

function checkFile(f: SimpleFile): void {
  const where = `simple page: file ${JSON.stringify(f.filename)}`;
  if (f.filename === '') throw new TypeError('simple page: empty file name');
  if (f.url === '' || f.url.includes('#')) throw new TypeError(`${where}: url must be non-empty and have no fragment`);
  if (!SHA256_RE.test(f.sha256)) throw new TypeError(`${where}: sha256 must be 64 lower-case hex digits`);
  if (f.coreMetadataSha256 !== undefined && !SHA256_RE.test(f.coreMetadataSha256)) {
    throw new TypeError(`${where}: coreMetadataSha256 must be 64 lower-case hex digits`);
  }
  if (!Number.isSafeInteger(f.size) || f.size < 0) throw new TypeError(`${where}: size must be a non-negative integer`);
  if (!UPLOAD_TIME_RE.test(f.uploadTime)) throw new TypeError(`${where}: uploadTime must be ISO 8601 UTC ending in Z`);
}

const codeUnitOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Sorts a copy by `cmp`, then by code unit order (never locale order, which varies between
 * machines), and rejects duplicates.
 */
function sortedUnique<T>(
  items: readonly T[],
  key: (item: T) => string,
  what: string,
  cmp: (a: string, b: string) => number = codeUnitOrder,
): T[] {
  const sorted = [...items].sort((a, b) => cmp(key(a), key(b)) || codeUnitOrder(key(a), key(b)));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev !== undefined && cur !== undefined && key(prev) === key(cur)) {
      throw new TypeError(`simple page: duplicate ${what} ${JSON.stringify(key(cur))}`);
    }
  }
  return sorted;
}

function sortedFiles(files: readonly SimpleFile[]): SimpleFile[] {
  files.forEach(checkFile);
  return sortedUnique(files, (f) => f.filename, 'file name');
}

function sortedProjects(projects: readonly string[]): string[] {
  projects.forEach(checkProjectName);
  return sortedUnique(projects, (p) => p, 'project');
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

// --- HTML (PEP 503) ---------------------------------------------------------------------

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function htmlPage(title: string, bodyLines: readonly string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    '    <meta charset="utf-8">',
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    `    <title>${esc(title)}</title>`,
    '  </head>',
    '  <body>',
    ...bodyLines.map((line) => `    ${line}`),
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

export function fileAnchor(f: SimpleFile): string {
  let attrs = ` href="${esc(`${f.url}#sha256=${f.sha256}`)}"`;
  const requiresPython = nonEmpty(f.requiresPython);
  if (requiresPython !== undefined) attrs += ` data-requires-python="${esc(requiresPython)}"`;
  if (f.coreMetadataSha256 !== undefined) {
    // PEP 714 renamed the attribute; old clients only know the PEP 658 name, so emit both.
    const value = esc(`sha256=${f.coreMetadataSha256}`);
    attrs += ` data-dist-info-metadata="${value}" data-core-metadata="${value}"`;
  }
  // PEP 592: the attribute's presence means yanked; its value is the reason, possibly empty.
  if (f.yanked !== undefined) attrs += ` data-yanked="${f.yanked === true ? '' : esc(f.yanked)}"`;
  return `<a${attrs}>${esc(f.filename)}</a><br />`;
}

export function renderProjectHtml(p: SimpleProject): string {
  checkProjectName(p.name);
  const title = `Links for ${p.name}`;
  return htmlPage(title, [`<h1>${esc(title)}</h1>`, ...sortedFiles(p.files).map(fileAnchor)]);
}

export function renderIndexHtml(projects: readonly string[]): string {
  // Relative links, so the index works under whatever prefix it is mounted at (/simple/).
  return htmlPage('Simple index', sortedProjects(projects).map((name) => `<a href="${esc(`${name}/`)}">${esc(name)}</a><br />`));
}

// --- JSON (PEP 691) ---------------------------------------------------------------------

export function fileJson(f: SimpleFile): Record<string, unknown> {
  const metadata = f.coreMetadataSha256 === undefined ? false : { sha256: f.coreMetadataSha256 };
  const requiresPython = nonEmpty(f.requiresPython);
  // pip treats an empty-string reason as "not yanked" in JSON, so a yank without a reason is true.
  const yanked = f.yanked === undefined ? false : f.yanked === '' ? true : f.yanked;
  return {
    filename: f.filename,
    url: f.url,
    hashes: { sha256: f.sha256 },
    ...(requiresPython === undefined ? {} : { 'requires-python': requiresPython }),
    yanked,
    size: f.size,
    'upload-time': f.uploadTime,
    // Both names: pip 23.0 crashes when only the old PEP 658 key is present (PEP 714).
    'core-metadata': metadata,
    'dist-info-metadata': metadata,
  };
}

export function renderProjectJson(p: SimpleProject): string {
  checkProjectName(p.name);
  return JSON.stringify({
    meta: { 'api-version': API_VERSION },
    name: p.name,
    versions: sortedUnique(p.versions, (v) => v, 'version', compareVersions),
    files: sortedFiles(p.files).map(fileJson),
  });
}

export function renderIndexJson(projects: readonly string[]): string {
  return JSON.stringify({
    meta: { 'api-version': API_VERSION },
    projects: sortedProjects(projects).map((name) => ({ name })),
  });
}

// SPDX-License-Identifier: Apache-2.0
// Builds the next version of a project role (PEP 480) on the developer's machine: the current
// state comes from the index through TUF (verified, never taken on trust), the new files are
// hashed locally, and the simple pages are rendered here with the index's own renderer, so
// that the developer's signature covers the exact listing pip will see.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  parseDistributionFilename,
  readDistributionMetadata,
  renderProjectHtml,
  renderProjectJson,
  type SimpleFile,
} from '../packaging/index.js';
import type { Updater } from '../client/updater.js';
import { projectRoleName, ROLES, SIMPLE_HTML, SIMPLE_JSON, targetPath } from '../repository/layout.js';
import { isNameBinRole } from '../repository/name-bins.js';
import { checkPagesMatchTargets } from '../repository/page-consistency.js';
import { fileUrl } from '../repository/simple-index.js';
import { TargetFile, type Delegations, type RoleKeys, type Targets } from '../tuf/index.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export class ReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseError';
  }
}

export interface LocalFile {
  path: string;
  filename: string;
  bytes: Buffer;
  sha256: string;
  metadata?: Buffer; // wheels: the METADATA served as PEP 658 metadata
  requiresPython?: string;
}

interface PageFile {
  filename: string;
  hashes: { sha256: string };
  size: number;
  'upload-time': string;
  'requires-python'?: string;
  yanked?: boolean | string;
  'core-metadata'?: false | { sha256: string };
}

export interface ProjectState {
  project: string;
  /** The role that vouches for the project's page now: a bin, or its project role. */
  role: string;
  claimed: boolean;
  /** The current project role (claimed projects only). */
  projectRole?: Targets;
  /** Every target of the project, verified. */
  targets: Map<string, TargetFile>;
  pageFiles: PageFile[];
}

/**
 * The verified delegation of a project's role: the role that delegates it (claimed or
 * recently-claimed, directly or through the project's name bin, ADR 0005) and the keys and
 * threshold it sets. Undefined when no verified role delegates it (look the project up first).
 */
export function verifiedProjectDelegation(updater: Updater, project: string): { delegations: Delegations; keys: RoleKeys } | undefined {
  const role = projectRoleName(project);
  const page = targetPath(project, SIMPLE_JSON);
  for (const parent of [ROLES.claimed, ROLES.recentlyClaimed]) {
    const top = updater.getVerifiedRole(parent)?.signed.delegations;
    // The bins a client has verified are the ones the delegations name: the count is theirs, not ours.
    const bins = [...(top?.roles?.values() ?? [])].filter((r) => isNameBinRole(parent, r.name) && r.isDelegatedPath(page)).map((r) => r.name);
    for (const name of [parent, ...bins]) {
      const delegations = updater.getVerifiedRole(name)?.signed.delegations;
      const keys = delegations?.roles?.get(role);
      if (delegations && keys) return { delegations, keys };
    }
  }
  return undefined;
}

/** Reads the project's current, verified state from the index. */
export async function currentProjectState(updater: Updater, project: string): Promise<ProjectState> {
  const page = await updater.findTarget(targetPath(project, SIMPLE_JSON));
  if (!page) return { project, role: '', claimed: false, targets: new Map(), pageFiles: [] };
  const json = JSON.parse((await updater.downloadTarget(page.target)).toString('utf8')) as { files: PageFile[] };
  const targets = new Map<string, TargetFile>();
  const claimed = page.role === projectRoleName(project);
  const projectRole = claimed ? updater.getVerifiedRole(page.role)?.signed : undefined;
  if (projectRole) {
    for (const [path, t] of projectRole.targets) targets.set(path, t);
  } else {
    const add = async (path: string) => {
      const found = await updater.findTarget(path);
      if (!found) throw new ReleaseError(`${path} is listed on the page but not vouched for by TUF metadata`);
      targets.set(path, found.target);
    };
    for (const f of json.files) {
      await add(targetPath(project, f.filename));
      if (f['core-metadata']) await add(targetPath(project, `${f.filename}.metadata`));
    }
    await add(targetPath(project, SIMPLE_HTML));
    targets.set(page.target.path, page.target);
  }
  return { project, role: page.role, claimed, ...(projectRole ? { projectRole } : {}), targets, pageFiles: json.files };
}

export async function readLocalFile(path: string, project: string): Promise<LocalFile> {
  const filename = basename(path);
  const parsed = parseDistributionFilename(filename);
  if (parsed.project !== project) throw new ReleaseError(`${filename} is a file of ${parsed.project}, not of ${project}`);
  const bytes = await readFile(path);
  const file: LocalFile = { path, filename, bytes, sha256: sha256(bytes) };
  // What the page says of the file comes from the file itself, as the index records it.
  const dist = await readDistributionMetadata(path, parsed, parsed.version);
  if (dist.servedAsPep658) file.metadata = dist.bytes;
  if (dist.metadata.requiresPython) file.requiresPython = dist.metadata.requiresPython;
  return file;
}

export interface NextRelease {
  targets: Map<string, TargetFile>;
  pages: { name: string; bytes: Buffer }[];
}

/**
 * The targets of the next project role: what the project has now, plus `files`, with both
 * pages rendered anew. `yank` marks files yanked (reason or true), `unyank` clears it.
 */
export function nextRelease(
  state: ProjectState,
  files: readonly LocalFile[],
  opts: { now: Date; yank?: ReadonlyMap<string, string | true>; unyank?: ReadonlySet<string> } = { now: new Date() }
): NextRelease {
  const project = state.project;
  const targets = new Map<string, TargetFile>();
  for (const [path, t] of state.targets) if (path !== targetPath(project, SIMPLE_HTML) && path !== targetPath(project, SIMPLE_JSON)) targets.set(path, t);
  const simple: SimpleFile[] = [];
  const uploadTime = opts.now.toISOString();
  for (const f of state.pageFiles) {
    if (files.some((n) => n.filename === f.filename)) throw new ReleaseError(`${f.filename} already exists on the index: bump the version`);
    const sf: SimpleFile = { filename: f.filename, url: fileUrl({ project, filename: f.filename }), sha256: f.hashes.sha256, size: f.size, uploadTime: f['upload-time'] };
    if (f['requires-python']) sf.requiresPython = f['requires-python'];
    let yanked: string | true | undefined = f.yanked === true || f.yanked === '' ? true : typeof f.yanked === 'string' ? f.yanked : undefined;
    if (opts.yank?.has(f.filename)) yanked = opts.yank.get(f.filename);
    if (opts.unyank?.has(f.filename)) yanked = undefined;
    if (yanked !== undefined) sf.yanked = yanked;
    if (f['core-metadata']) sf.coreMetadataSha256 = f['core-metadata'].sha256;
    simple.push(sf);
  }
  for (const f of files) {
    targets.set(targetPath(project, f.filename), new TargetFile(targetPath(project, f.filename), f.bytes.length, { sha256: f.sha256 }));
    const sf: SimpleFile = { filename: f.filename, url: fileUrl({ project, filename: f.filename }), sha256: f.sha256, size: f.bytes.length, uploadTime };
    if (f.requiresPython) sf.requiresPython = f.requiresPython;
    if (f.metadata) {
      const metaSha = sha256(f.metadata);
      targets.set(targetPath(project, `${f.filename}.metadata`), new TargetFile(targetPath(project, `${f.filename}.metadata`), f.metadata.length, { sha256: metaSha }));
      sf.coreMetadataSha256 = metaSha;
    }
    simple.push(sf);
  }
  const versions = [...new Set(simple.map((f) => parseDistributionFilename(f.filename).version))];
  const page = { name: project, versions, files: simple.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0)) };
  const pages = [
    { name: SIMPLE_HTML, bytes: Buffer.from(renderProjectHtml(page), 'utf8') },
    { name: SIMPLE_JSON, bytes: Buffer.from(renderProjectJson(page), 'utf8') },
  ];
  for (const p of pages) targets.set(targetPath(project, p.name), new TargetFile(targetPath(project, p.name), p.bytes.length, { sha256: sha256(p.bytes) }));
  checkPagesMatchTargets(project, targets, { html: pages[0]!.bytes, json: pages[1]!.bytes });
  return { targets, pages };
}


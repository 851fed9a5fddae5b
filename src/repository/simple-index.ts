// SPDX-License-Identifier: Apache-2.0
// A project's simple pages (PEP 503 HTML and PEP 691 JSON) as TUF targets: rendered once per
// change from the database, stored by content hash, and listed in a bin with their exact
// length and hash, so that what /simple/<project>/ serves is the very bytes TUF vouches for.
// Links are relative (`../../files/<project>/<name>`), so the same bytes work behind any host,
// mirror or verifying proxy, from /simple/<project>/ and from /targets/<project>/ alike.
import { createHash } from 'node:crypto';
import { renderProjectHtml, renderProjectJson, type SimpleFile } from '../packaging/index.js';
import type { FileRecord, ProjectRecord, StateStore } from '../storage/state/types.js';
import type { ProtectionLevelName } from './protection-levels.js';
import { fileBlobPath, SIMPLE_HTML, SIMPLE_JSON, targetPath } from './layout.js';

export interface RenderedPage {
  path: string; // target path, e.g. `requests/index.html`
  bytes: Buffer;
  sha256: string;
}

export function fileUrl(file: Pick<FileRecord, 'project' | 'filename'>): string {
  return `../../${fileBlobPath(file.project, file.filename)}`;
}

export function renderProjectPages(project: string, files: readonly FileRecord[]): RenderedPage[] {
  const simpleFiles: SimpleFile[] = files.map((f) => {
    const sf: SimpleFile = { filename: f.filename, url: fileUrl(f), sha256: f.sha256, size: f.size, uploadTime: f.uploadTime };
    if (f.requiresPython) sf.requiresPython = f.requiresPython;
    if (f.yanked) sf.yanked = f.yankedReason ?? true;
    if (f.metadataSha256) sf.coreMetadataSha256 = f.metadataSha256;
    return sf;
  });
  const versions = [...new Set(files.map((f) => f.version))];
  const page = { name: project, versions, files: simpleFiles };
  return [
    { path: targetPath(project, SIMPLE_HTML), text: renderProjectHtml(page) },
    { path: targetPath(project, SIMPLE_JSON), text: renderProjectJson(page) },
  ].map(({ path, text }) => {
    const bytes = Buffer.from(text, 'utf8');
    return { path, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  });
}

/**
 * The `custom` field of a project's page targets in its bin, signed with the online bin key:
 * `{"bulwark": {"two_factor": true}}` when the project is at level two-factor (its owners require
 * a second factor, and every owner and maintainer has one on). A client reads the level from
 * here (src/client/verified-level.ts), so a mirror cannot add or remove it without breaking the
 * bin's signature. Absent otherwise, so the entries of every other project are unchanged.
 */
export function pageTargetCustom(twoFactor: boolean): Record<string, unknown> | undefined {
  return twoFactor ? { bulwark: { two_factor: true } } : undefined;
}

/** Whether a page target's `custom` field (as signed) says two-factor. */
export function customSaysTwoFactor(custom: unknown): boolean {
  if (typeof custom !== 'object' || custom === null) return false;
  const bulwark = (custom as { bulwark?: unknown }).bulwark;
  return typeof bulwark === 'object' && bulwark !== null && (bulwark as { two_factor?: unknown }).two_factor === true;
}

/**
 * A project's level as the index's current targets say it: the delegation for a claimed
 * project, else the two-factor field of its page target (what the next snapshot signs, or
 * signed already). What `/pypi/<p>/json` and the pages show, from the same source as clients.
 */
export async function projectLevel(
  state: Pick<StateStore, 'currentTarget'>,
  project: Pick<ProjectRecord, 'name' | 'protection'>
): Promise<ProtectionLevelName> {
  if (project.protection !== 'unclaimed') return project.protection;
  const row = await state.currentTarget(targetPath(project.name, SIMPLE_JSON));
  if (!row) return 'unclaimed';
  try {
    return customSaysTwoFactor((JSON.parse(row.entry) as { custom?: unknown }).custom) ? 'two-factor' : 'unclaimed';
  } catch {
    return 'unclaimed';
  }
}

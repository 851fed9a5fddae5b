// SPDX-License-Identifier: Apache-2.0
// A project's simple pages (PEP 503 HTML and PEP 691 JSON) as TUF targets: rendered once per
// change from the database, stored by content hash, and listed in a bin with their exact
// length and hash, so that what /simple/<project>/ serves is the very bytes TUF vouches for.
// Links are relative (`../../files/<project>/<name>`), so the same bytes work behind any host,
// mirror or verifying proxy, from /simple/<project>/ and from /targets/<project>/ alike.
import { createHash } from 'node:crypto';
import { renderProjectHtml, renderProjectJson, type SimpleFile } from '../packaging/index.js';
import type { FileRecord } from '../storage/state/types.js';
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

// SPDX-License-Identifier: Apache-2.0
// How pip sees verified wheels through `bulwark proxy` (docs/adr/0006-verified-wheels.md): the
// project page pip gets is the developers' signed page plus one link per wheel of
// `wheels-<project>` that passes every check of a verified build (TUF delegation from the
// developers' role, DSSE attestations of a threshold of builders, the signed sdist). The links
// point at the proxy's own /files/, where each wheel is verified again before a byte is sent.
// A wheel that fails its checks is left out of the page (and logged), never listed.
import type { FastifyBaseLogger } from 'fastify';
import { attestationFileName, wheelsRoleName } from '../attest/index.js';
import { fileAnchor, fileJson, type SimpleFile } from '../packaging/simple-pages.js';
import { projectRoleName } from '../repository/layout.js';
import type { AdmitLevel, VerifiedIndex } from './verified-index.js';

/** The wheels of `wheels-<project>` that are verified builds, as simple-page entries. */
export async function verifiedWheelFiles(index: VerifiedIndex, project: string, admit: AdmitLevel | undefined, log?: FastifyBaseLogger): Promise<SimpleFile[]> {
  const updater = await index.current();
  const developers = projectRoleName(project);
  const wheelsRole = wheelsRoleName(project);
  // The search loads the developers' role (a fresh updater may not have it yet).
  const page = await updater.findTarget(`${project}/index.json`);
  if (page?.role !== developers || !updater.getVerifiedRole(developers)?.signed.delegations?.roles?.has(wheelsRole)) return [];
  if (!(await updater.isListed(wheelsRole))) return []; // no wheel verified yet
  const role = await updater.loadTargets(wheelsRole, developers);
  const out: SimpleFile[] = [];
  for (const [path, t] of role.signed.targets) {
    const name = path.slice(project.length + 1);
    if (!path.startsWith(`${project}/`) || !name.endsWith('.whl') || !t.hashes['sha256']) continue;
    try {
      // Runs the whole verified-build check (it throws when any part fails).
      const checked = await index.get(`${project}/${attestationFileName(name)}`, admit);
      if (!checked.build) continue;
    } catch (e) {
      log?.warn({ target: path, err: (e as Error).message }, 'verified wheel left out of the page');
      continue;
    }
    const metadata = role.signed.targets.get(`${path}.metadata`)?.hashes['sha256'];
    out.push({
      filename: name,
      url: `../../files/${project}/${name}`,
      sha256: t.hashes['sha256'],
      size: t.length,
      uploadTime: role.signed.expires.toISOString(), // no upload time: a stable placeholder pip ignores
      ...(metadata ? { coreMetadataSha256: metadata } : {}),
    });
  }
  return out;
}

/** The developers' page (HTML or PEP 691 JSON) with the verified wheels added; a wheel of theirs is never replaced. */
export function mergeVerifiedWheels(page: Buffer, json: boolean, wheels: readonly SimpleFile[]): Buffer {
  if (wheels.length === 0) return page;
  if (json) {
    const doc = JSON.parse(page.toString('utf8')) as { files?: { filename: string }[] };
    const files = doc.files ?? [];
    const have = new Set(files.map((f) => f.filename));
    doc.files = [...files, ...wheels.filter((w) => !have.has(w.filename)).map(fileJson)] as { filename: string }[];
    return Buffer.from(JSON.stringify(doc), 'utf8');
  }
  const html = page.toString('utf8');
  const at = html.lastIndexOf('</body>');
  if (at < 0) return page;
  const anchors = wheels.filter((w) => !html.includes(`>${w.filename}</a>`)).map((w) => `    ${fileAnchor(w)}\n`);
  return Buffer.from(`${html.slice(0, at).replace(/ *$/, '')}${anchors.join('')}  ${html.slice(at)}`, 'utf8');
}

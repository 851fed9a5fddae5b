// SPDX-License-Identifier: Apache-2.0
// `bulwark upload dist/*`: like `twine upload` (reads ~/.pypirc), but for a claimed project it
// signs the next version of the project role — files and pages — with your developer key, and
// sends everything as one project transaction (PEP 480).
//
// When the project needs t signatures and they live on several maintainers' machines:
//   bulwark upload dist/* --partial release.json        (first maintainer: sign, write, don't send)
//   bulwark upload dist/* --cosign release.json         (each other one: check, add a signature;
//                                                        sent as soon as the threshold is met)
//
// --skip-existing (as twine's): files the project already has, byte for byte as the verified
// project role lists them, are left out; a file of the same name with other bytes is refused
// (an index never replaces a file, and silently skipping would hide a different build).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { IndexApiError, sendSignedUpload } from '../../developer/index-api.js';
import { currentProjectState, nextRelease, readLocalFile, ReleaseError, type LocalFile } from '../../developer/release-builder.js';
import { PackagingError, parseDistributionFilename } from '../../packaging/index.js';
import { projectRoleName } from '../../repository/layout.js';
import { checkPagesMatchTargets, PageConsistencyError } from '../../repository/page-consistency.js';
import { untrustedKeyMessage } from '../../repository/project-roles.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { encodeCanonical, expiresIn, Metadata, signCanonical, TargetFile, Targets, type Key, type RoleKeys, type Signature } from '../../tuf/index.js';
import { AttestationError, attestationBundles, FARM_KEY_API_PATH, farmKeyRotated, parseBundle, parseEnvelope, parseFarmKeyResponse, type DsseEnvelope } from '../../attest/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { addDeveloperOptions, developerContext, type DeveloperOptions } from '../developer-context.js';
import { PROJECT_ROLE_DAYS } from './claim.js';

/** A release signed by fewer keys than the project needs, passed from maintainer to maintainer. */
interface PartialRelease {
  format: 'bulwark-partial-release';
  project: string;
  metadata: { signatures: Signature[]; signed: unknown };
  pages: { name: string; base64: string }[];
}

interface UploadOptions extends DeveloperOptions {
  partial?: string;
  cosign?: string;
  skipExisting?: boolean;
  attestation: string[];
}

/**
 * The files to upload, without those the project has already (same name, same bytes, as TUF
 * vouches for them). Throws when a file of the same name has other bytes.
 */
export function withoutExisting(project: string, files: readonly LocalFile[], current: ReadonlyMap<string, TargetFile>): { upload: LocalFile[]; skipped: LocalFile[] } {
  const upload: LocalFile[] = [];
  const skipped: LocalFile[] = [];
  for (const f of files) {
    const existing = current.get(`${project}/${f.filename}`);
    if (!existing) upload.push(f);
    else if (existing.hashes['sha256'] === f.sha256 && existing.length === f.bytes.length) skipped.push(f);
    else {
      throw new ReleaseError(
        `${f.path} differs from the ${f.filename} the index has (sha256 ${existing.hashes['sha256'] ?? '?'}, ${existing.length} bytes): a file is never replaced; build a new version`
      );
    }
  }
  return { upload, skipped };
}

export function registerUpload(program: Command): void {
  addDeveloperOptions(
    program
      .command('upload <files...>')
      .description('upload distributions; signed with your developer key when the project is claimed')
      .option('--partial <file>', 'sign, and write the release for other maintainers to co-sign instead of sending it')
      .option('--cosign <file>', "check another maintainer's partial release against these files, add your signature, send when enough")
      .option('--attestation <file>', 'in-toto attestations (a DSSE envelope, or .intoto.jsonl) about files of this release, published as <file>.intoto.jsonl (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
      .option('--skip-existing', 'leave out files the project already has (same name and bytes), as twine does; other bytes under the same name are still refused')
  ).action(async (paths: string[], o: UploadOptions, cmd: Command) => {
    const opts = globalOptions(cmd);
    let projects: Set<string>;
    try {
      projects = new Set(paths.map((p) => parseDistributionFilename(basename(p)).project));
    } catch (e) {
      if (e instanceof PackagingError) throw new CliError(e.message, EXIT.usage, e.code);
      throw e;
    }
    if (projects.size !== 1) throw new CliError(`upload the files of one project at a time (got ${[...projects].join(', ')})`, EXIT.usage, 'USAGE');
    const project = [...projects][0] as string;
    if (o.attestation.length > 0 && (o.partial || o.cosign)) throw new CliError('--attestation cannot be combined with --partial or --cosign yet: upload the attestations in a release of their own', EXIT.usage, 'USAGE');
    const ctx = await developerContext(o);
    const updater = await ctx.updater();
    const state = await currentProjectState(updater, project);
    if (!state.claimed || !state.projectRole) {
      throw new CliError(`${project} is not claimed: claim it first (bulwark claim ${project}) or upload with twine`, EXIT.failure, 'NOT_CLAIMED');
    }
    // The keys and threshold the verified delegation sets for this project.
    const role = projectRoleName(project);
    const delegator = ['claimed', 'recently-claimed'].map((r) => updater.getVerifiedRole(r)?.signed.delegations).find((d) => d?.roles?.has(role));
    const roleKeys: RoleKeys | undefined = delegator?.roles?.get(role);
    if (!delegator || !roleKeys) throw new CliError(`cannot find the delegation of ${project}`, EXIT.failure, 'NOT_CLAIMED');
    try {
      let files = await Promise.all(paths.map((p) => readLocalFile(p, project)));
      let skipped: LocalFile[] = [];
      if (o.skipExisting) {
        ({ upload: files, skipped } = withoutExisting(project, files, state.targets));
        for (const f of skipped) process.stderr.write(`Skipping ${f.filename}: the index has it already\n`);
        if (files.length === 0) {
          output(opts, { project, status: 'nothing-to-upload', skipped: skipped.map((f) => f.filename) }, `Nothing to upload: ${project} has every file already`);
          return;
        }
      }
      let signed: unknown;
      let pages: { name: string; bytes: Buffer }[];
      let signatures: Signature[];
      let attestations: { name: string; bytes: Buffer }[] = [];
      if (o.cosign) {
        ({ signed, pages, signatures } = await checkPartial(o.cosign, project, files, state.targets));
      } else {
        const next = nextRelease(state, files, { now: new Date() });
        attestations = await releaseAttestations(project, o.attestation, next.targets, state.targets, new Set(files.map((f) => f.filename)));
        signed = new Targets({ version: state.projectRole.version + 1, expires: expiresIn(new Date(), PROJECT_ROLE_DAYS * 86400), targets: next.targets, delegations: state.projectRole.delegations }).toJSON();
        pages = next.pages;
        signatures = [];
      }
      const mine = (await signCanonical(encodeCanonical(signed), await ctx.signers())).signatures;
      if (!mine.some((m) => roleKeys.keyids.includes(m.keyid))) {
        throw new CliError(untrustedKeyMessage(project, mine.map((m) => m.keyid), roleKeys.keyids), EXIT.failure, 'UNTRUSTED_KEY');
      }
      signatures = [...signatures.filter((s) => !mine.some((m) => m.keyid === s.keyid)), ...mine];
      const valid = signatures.filter((s) => roleKeys.keyids.includes(s.keyid)).length;
      const bytes = Buffer.from(encodeCanonical({ signatures, signed }), 'utf8');
      const version = Metadata.parse(bytes, 'targets', role).signed.version;
      if (o.partial || valid < roleKeys.threshold) {
        const out = o.partial ?? o.cosign;
        if (!out) {
          throw new CliError(`${project} needs ${roleKeys.threshold} signatures and you gave ${valid}: use --partial FILE and have other maintainers --cosign it`, EXIT.failure, 'THRESHOLD');
        }
        const partial: PartialRelease = { format: 'bulwark-partial-release', project, metadata: { signatures, signed }, pages: pages.map((p) => ({ name: p.name, base64: p.bytes.toString('base64') })) };
        await writeFileAtomic(out, `${JSON.stringify(partial, null, 2)}\n`);
        output(opts, { project, signatures: valid, threshold: roleKeys.threshold, file: out }, `Signed ${project} role version ${version}: ${valid} of ${roleKeys.threshold} signatures. Pass ${out} on: bulwark upload dist/* --cosign ${out}`);
        return;
      }
      const r = await sendSignedUpload(ctx.indexUrl, ctx.token, project, bytes, files, pages, attestations);
      await warnIfFarmKeyRotated(ctx.indexUrl, project, Metadata.parse(bytes, 'targets', role).signed);
      output(opts, { ...r, files: files.map((f) => ({ filename: f.filename, sha256: f.sha256 })), skipped: skipped.map((f) => f.filename), attestations: attestations.map((a) => a.name), role_version: version }, `Uploaded and signed ${files.map((f) => f.filename).join(', ')}: ${project} role version ${version} (${r.status})`);
    } catch (e) {
      if (e instanceof IndexApiError) throw new CliError(e.message, EXIT.failure, e.code);
      if (e instanceof AttestationError) throw new CliError(e.message, EXIT.failure, e.code);
      if (e instanceof ReleaseError || e instanceof PackagingError || e instanceof PageConsistencyError) throw new CliError(e.message, EXIT.failure, 'BAD_RELEASE');
      throw e;
    }
  });
}

/**
 * Tells the developers when their verified-builds delegation names a farm key the index no longer
 * publishes: the farm cannot sign their wheels until they sign the delegation again. Silent when
 * the index has no build farm or cannot say.
 */
async function warnIfFarmKeyRotated(indexUrl: string, project: string, role: Targets): Promise<void> {
  if (!role.delegations) return;
  let key: Key;
  try {
    const res = await fetch(`${indexUrl}${FARM_KEY_API_PATH}`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return;
    key = parseFarmKeyResponse(Buffer.from(await res.arrayBuffer()));
  } catch {
    return; // no farm key to compare with: nothing to tell
  }
  if (farmKeyRotated(project, role, key)) {
    process.stderr.write(`bulwark: the build farm's key changed (now ${key.keyId}): verified builds of ${project} stop until you sign the delegation again: bulwark project build-farm enable ${project} --rebuilder-key …\n`);
  }
}

/**
 * The `<file>.intoto.jsonl` bundles for `--attestation` files, added to `targets` (the next
 * role's): each envelope goes with every file its statement names, all of one release.
 */
async function releaseAttestations(project: string, paths: readonly string[], targets: Map<string, TargetFile>, current: ReadonlyMap<string, TargetFile>, release: ReadonlySet<string>): Promise<{ name: string; bytes: Buffer }[]> {
  const envelopes: DsseEnvelope[] = [];
  for (const path of paths) {
    const bytes = await readFile(path);
    // One envelope as JSON (possibly indented), else a bundle of one envelope per line.
    try {
      envelopes.push(parseEnvelope(bytes, path));
    } catch (e) {
      if (!(e instanceof AttestationError)) throw e;
      envelopes.push(...parseBundle(bytes, path));
    }
  }
  const out: { name: string; bytes: Buffer }[] = [];
  for (const [name, bytes] of attestationBundles(project, envelopes, targets, release)) {
    const path = `${project}/${name}`;
    if (current.has(path)) throw new ReleaseError(`${name} is published already: a target is never replaced`);
    targets.set(path, new TargetFile(path, bytes.length, { sha256: createHash('sha256').update(bytes).digest('hex') }));
    out.push({ name, bytes });
  }
  return out;
}

/** Another maintainer's partial release, checked against the files we have before we sign it. */
async function checkPartial(
  path: string,
  project: string,
  files: readonly LocalFile[],
  current: ReadonlyMap<string, TargetFile>
): Promise<{ signed: unknown; pages: { name: string; bytes: Buffer }[]; signatures: Signature[] }> {
  const partial = JSON.parse(await readFile(path, 'utf8')) as PartialRelease;
  if (partial.format !== 'bulwark-partial-release' || partial.project !== project) throw new ReleaseError(`${path} is not a partial release of ${project}`);
  const role = Metadata.parse(Buffer.from(encodeCanonical(partial.metadata), 'utf8'), 'targets', projectRoleName(project)).signed;
  for (const f of files) {
    const t = role.targets.get(`${project}/${f.filename}`);
    if (!t || t.hashes['sha256'] !== f.sha256 || t.length !== f.bytes.length) throw new ReleaseError(`${f.filename} is not the file the partial release lists: refusing to co-sign`);
  }
  const pages = partial.pages.map((p) => ({ name: p.name, bytes: Buffer.from(p.base64, 'base64') }));
  const html = pages.find((p) => p.name === 'index.html')?.bytes;
  const json = pages.find((p) => p.name === 'index.json')?.bytes;
  if (!html || !json) throw new ReleaseError(`${path} lacks the project's pages`);
  checkPagesMatchTargets(project, role.targets, { html, json });
  for (const p of pages) {
    const t = role.targets.get(`${project}/${p.name}`);
    if (!t || t.length !== p.bytes.length || t.hashes['sha256'] !== createHash('sha256').update(p.bytes).digest('hex')) throw new ReleaseError(`${p.name} does not match the role`);
  }
  // Everything else must be what the project has now, as TUF vouches for it: no file swapped.
  const mine = new Set(files.flatMap((f) => [`${project}/${f.filename}`, `${project}/${f.filename}.metadata`]));
  for (const [path, t] of role.targets) {
    if (mine.has(path) || path === `${project}/index.html` || path === `${project}/index.json`) continue;
    const now = current.get(path);
    if (!now || now.length !== t.length || now.hashes['sha256'] !== t.hashes['sha256']) throw new ReleaseError(`${path} differs from what the index vouches for now: refusing to co-sign`);
  }
  return { signed: partial.metadata.signed, pages, signatures: partial.metadata.signatures };
}

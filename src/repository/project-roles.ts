// SPDX-License-Identifier: Apache-2.0
// PEP 480 on the index side: claiming a project for its developers' keys, and accepting the
// uploads they sign. The index checks what PEP 480 lists (§Snapshot Process): a threshold of
// the project's keys signed the role, the signatures are valid, it has not expired, it is
// consistent with the uploaded files, its version is the next one, and it lists no path
// outside the project; anything else is refused with a message and changes nothing.
import { createHash } from 'node:crypto';
import {
  isValidProjectName,
  normalizeProjectName,
  PackagingError,
  parseDistributionFilename,
  readDistributionMetadata,
} from '../packaging/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { StateConflictError, type NewFile, type StateStore, type UserRecord } from '../storage/state/types.js';
import { Key, Metadata, RepositoryError, type Targets, type TargetFile } from '../tuf/index.js';
import { AttestationError, checkReleaseAttestation, projectWheelsDelegation } from '../attest/index.js';
import { projectRoleName, SIMPLE_HTML, SIMPLE_JSON, targetBlobPath, targetPath } from './layout.js';
import { DelegationChangeError, verifyDelegationChange } from './delegation-change.js';
import { checkPagesMatchTargets, PageConsistencyError } from './page-consistency.js';
import type { ReceivedFile } from './uploads.js';

/** Why a role signed only by keys the project does not trust is refused, and what to do (index and CLI alike). */
export function untrustedKeyMessage(project: string, used: readonly string[], trusted: readonly string[]): string {
  return (
    `${project} does not trust the key ${used.join(', ')} that signed this (it trusts ${trusted.join(', ')}). ` +
    `From a machine whose key ${project} trusts, run \`bulwark key add ${project} --public-key KEY.json\` with this key's \`bulwark key show --json\`, then upload again.`
  );
}

export class SignedUploadError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'SignedUploadError';
  }
}

const bad = (message: string, code = 'BAD_ROLE') => new SignedUploadError(400, code, message);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface ClaimRequest {
  /** Public keys in TUF JSON form. */
  keys: unknown[];
  threshold: number;
  /** The first project role, signed by a threshold of those keys. */
  role: Buffer;
}

export interface SignedUploadRequest {
  role: Buffer;
  /** New distributions (fsynced temporary files). */
  files: ReceivedFile[];
  /** The pages the role lists, when they changed: `index.html` and `index.json`. */
  pages: { name: string; bytes: Buffer }[];
  /** New `<file>.intoto.jsonl` attestations the role lists (issue 15 item 4). */
  attestations?: { name: string; bytes: Buffer }[];
}

export class ProjectRoleService {
  constructor(
    private readonly state: StateStore,
    private readonly blobs: BlobStore,
    private readonly onRecorded: () => void,
    private readonly clock: () => Date = () => new Date()
  ) {}

  /** Parses and checks a role against keys; returns it with the checks PEP 480 asks for. */
  private verifyRole(project: string, roleBytes: Buffer, keys: ReadonlyMap<string, Key>, keyids: readonly string[], threshold: number, version: number): Metadata<Targets> {
    const name = projectRoleName(project);
    let md: Metadata<Targets>;
    try {
      md = Metadata.parse(roleBytes, 'targets', name);
    } catch (e) {
      if (e instanceof RepositoryError) throw bad(`${name}: ${e.message}`, e.code);
      throw e;
    }
    const untrusted = md.signatures.map((sig) => sig.keyid).filter((id) => !keyids.includes(id));
    if (untrusted.length > 0 && untrusted.length === md.signatures.length) {
      // The common mistake (a new machine's key) deserves more than "0 of 1 signatures".
      throw new SignedUploadError(403, 'UNTRUSTED_KEY', untrustedKeyMessage(project, untrusted, keyids));
    }
    try {
      md.verifyRole(name, { keyids, threshold }, keys);
    } catch (e) {
      if (e instanceof RepositoryError) {
        throw bad(`${name}: ${e.message}. Sign it with a threshold (${threshold}) of the keys registered for ${project}.`, e.code);
      }
      throw e;
    }
    if (md.signed.version !== version) throw new SignedUploadError(409, 'BAD_VERSION', `${name} must be version ${version}, got ${md.signed.version}: fetch the current role and sign the next version`);
    if (md.signed.expires.getTime() <= this.clock().getTime()) throw bad(`${name} expired at ${md.signed.expires.toISOString()}: sign it with a later expiry`, 'EXPIRED_METADATA');
    try {
      projectWheelsDelegation(project, md.signed); // the one delegation allowed: verified builds
    } catch (e) {
      if (e instanceof AttestationError) throw bad(`${name}: ${e.message}`, e.code);
      throw e;
    }
    for (const path of md.signed.targets.keys()) {
      const rest = path.slice(project.length + 1);
      if (!path.startsWith(`${project}/`) || rest === '' || rest.includes('/') || rest.startsWith('.') || rest.includes('..')) {
        throw new SignedUploadError(403, 'PATH_NOT_DELEGATED', `${name} lists ${JSON.stringify(path)}, outside the paths delegated to it (${project}/*)`);
      }
    }
    for (const page of [SIMPLE_HTML, SIMPLE_JSON]) {
      if (!md.signed.targets.has(targetPath(project, page))) throw bad(`${name} must list the project's simple page ${project}/${page}`);
    }
    return md;
  }

  /** Every target must be a stored blob of the listed length (existing or just uploaded). */
  private async checkTargetsStored(targets: ReadonlyMap<string, TargetFile>): Promise<void> {
    for (const t of targets.values()) {
      const sha = t.hashes['sha256'];
      if (!sha) throw bad(`${t.path} needs a sha256 hash`);
      const size = await this.blobs.size(targetBlobPath(t.path, sha));
      if (size !== t.length) throw bad(`${t.path}: the index has no file with sha256 ${sha} and length ${t.length}; upload it with the role`, 'UNKNOWN_TARGET');
    }
  }

  private async pagesOf(project: string, targets: ReadonlyMap<string, TargetFile>): Promise<{ html: Buffer; json: Buffer }> {
    const get = async (page: string) => {
      const t = targets.get(targetPath(project, page)) as TargetFile;
      const b = await this.blobs.get(targetBlobPath(t.path, t.hashes['sha256'] as string));
      if (!b) throw bad(`${t.path} was not uploaded`);
      return b;
    };
    return { html: await get(SIMPLE_HTML), json: await get(SIMPLE_JSON) };
  }

  /** PEP 480 claim: register developer keys (t of n) and the first signed project role. */
  async claim(user: UserRecord, projectName: string, req: ClaimRequest, pages: { name: string; bytes: Buffer }[]): Promise<{ seq: number; project: string; role: string }> {
    if (!isValidProjectName(projectName)) throw bad(`"${projectName}" is not a valid project name`, 'BAD_NAME');
    const project = normalizeProjectName(projectName);
    if (!Array.isArray(req.keys) || req.keys.length === 0 || req.keys.length > 32) throw bad('give 1 to 32 public keys', 'BAD_KEYS');
    const keys = new Map<string, Key>();
    for (const k of req.keys) {
      let key: Key;
      try {
        key = Key.fromJSON(k, 'key');
      } catch (e) {
        throw bad(`bad public key: ${(e as Error).message}`, 'BAD_KEYS');
      }
      if (key.keytype !== 'ed25519' || key.scheme !== 'ed25519' || !/^[0-9a-f]{64}$/.test(key.publicValue)) throw bad('only ed25519 keys (hex public value) are supported', 'BAD_KEYS');
      keys.set(key.keyId, key);
    }
    if (!Number.isInteger(req.threshold) || req.threshold < 1 || req.threshold > keys.size) throw bad(`threshold must be 1 to ${keys.size}`, 'BAD_THRESHOLD');
    const existing = await this.state.getProject(project);
    if (existing && (await this.state.canUpload(project, user.id)) !== 'allowed') {
      throw new SignedUploadError(403, 'NOT_OWNER', `only an owner of ${project} can claim it`);
    }
    if (await this.state.getDelegation(project)) throw new SignedUploadError(409, 'ALREADY_CLAIMED', `${project} is already claimed`);
    const keyids = [...keys.keys()];
    const md = this.verifyRole(project, req.role, keys, keyids, req.threshold, 1);
    await this.storePages(project, md.signed.targets, pages);
    await this.checkTargetsStored(md.signed.targets);
    await this.checkConsistent(project, md.signed.targets);
    const now = this.clock().toISOString();
    const keysJson: Record<string, unknown> = {};
    for (const [id, key] of keys) keysJson[id] = key.toJSON();
    try {
      const { seq } = await this.state.recordClaim({
        project,
        userId: user.id,
        displayName: projectName,
        delegation: { role: projectRoleName(project), keys: keysJson, keyids, threshold: req.threshold },
        role: { project, version: 1, bytes: req.role },
        now,
      });
      this.onRecorded();
      return { seq, project, role: projectRoleName(project) };
    } catch (e) {
      throw mapConflict(e);
    }
  }

  private async checkConsistent(project: string, targets: ReadonlyMap<string, TargetFile>): Promise<void> {
    try {
      checkPagesMatchTargets(project, targets, await this.pagesOf(project, targets));
    } catch (e) {
      if (e instanceof PageConsistencyError) throw bad(e.message, 'INCONSISTENT_PAGES');
      throw e;
    }
  }

  private async storePages(project: string, targets: ReadonlyMap<string, TargetFile>, pages: { name: string; bytes: Buffer }[]): Promise<void> {
    for (const p of pages) {
      if (p.name !== SIMPLE_HTML && p.name !== SIMPLE_JSON) throw bad(`unexpected page ${p.name}`);
      const t = targets.get(targetPath(project, p.name));
      if (!t || t.length !== p.bytes.length || t.hashes['sha256'] !== sha256(p.bytes)) throw bad(`${project}/${p.name} does not match the role`, 'LENGTH_OR_HASH_MISMATCH');
    }
    for (const p of pages) await this.blobs.put(targetBlobPath(targetPath(project, p.name), sha256(p.bytes)), p.bytes);
  }

  /** A developer-signed upload: new files and/or pages with the next project role version. */
  async signedUpload(user: UserRecord, projectName: string, req: SignedUploadRequest): Promise<{ seq: number; project: string; version: number }> {
    const project = normalizeProjectName(projectName);
    const delegation = await this.state.getDelegation(project);
    if (!delegation) throw new SignedUploadError(404, 'NOT_CLAIMED', `${project} is not claimed: claim it first (bulwark claim ${project})`);
    if ((await this.state.canUpload(project, user.id)) !== 'allowed') throw new SignedUploadError(403, 'NOT_OWNER', `you are not an owner or maintainer of ${project}`);
    const keys = new Map<string, Key>();
    for (const [id, k] of Object.entries(delegation.keys)) keys.set(id, Key.fromJSON(k, 'key'));
    const current = (await this.state.latestProjectRole(project))?.version ?? 0;
    const md = this.verifyRole(project, req.role, keys, delegation.keyids, delegation.threshold, current + 1);
    const targets = md.signed.targets;

    // New distributions: validated as any upload, and each must be exactly what the role lists.
    const newFiles: NewFile[] = [];
    const now = this.clock();
    for (const f of req.files) {
      let parsed;
      try {
        parsed = parseDistributionFilename(f.filename);
      } catch (e) {
        if (e instanceof PackagingError) throw bad(e.message, 'INVALID_FILE');
        throw e;
      }
      if (parsed.project !== project) throw bad(`${f.filename} is not a file of ${project}`, 'INVALID_FILE');
      const t = targets.get(targetPath(project, f.filename));
      if (!t || t.length !== f.size || t.hashes['sha256'] !== f.sha256) throw bad(`${f.filename} is not the file the role lists (length or sha256 differ)`, 'LENGTH_OR_HASH_MISMATCH');
      // The file's own core metadata (a wheel's METADATA, an sdist's PKG-INFO) says what twine
      // would have sent as form fields: Requires-Python and Summary are recorded from it.
      let dist;
      try {
        dist = await readDistributionMetadata(f.tmpPath, parsed, parsed.version);
      } catch (e) {
        if (e instanceof PackagingError) throw bad(e.message, 'INVALID_FILE');
        throw e;
      }
      const metadata = dist.servedAsPep658 ? dist.bytes : undefined;
      if (metadata) {
        const mt = targets.get(targetPath(project, `${f.filename}.metadata`));
        if (mt && (mt.length !== metadata.length || mt.hashes['sha256'] !== sha256(metadata))) throw bad(`${f.filename}.metadata in the role does not match the wheel's METADATA`, 'LENGTH_OR_HASH_MISMATCH');
      }
      newFiles.push({
        project,
        version: parsed.version,
        filename: f.filename,
        packagetype: parsed.packagetype,
        pythonVersion: parsed.packagetype === 'sdist' ? 'source' : (parsed.pythonTag ?? 'any'),
        requiresPython: dist.metadata.requiresPython || null,
        size: f.size,
        sha256: f.sha256,
        md5: f.md5,
        metadataSha256: metadata ? sha256(metadata) : null,
        metadataSize: metadata?.length ?? null,
        uploadTime: now.toISOString(),
        uploaderId: user.id,
        summary: dist.metadata.summary?.slice(0, 512) || null,
      });
      // The pip-facing names (files/…) come once the upload is recorded (transaction worker).
      if (metadata) await this.blobs.put(targetBlobPath(targetPath(project, `${f.filename}.metadata`), sha256(metadata)), metadata);
      await this.blobs.putFile(targetBlobPath(targetPath(project, f.filename), f.sha256), f.tmpPath);
    }
    for (const a of req.attestations ?? []) {
      const t = targets.get(targetPath(project, a.name));
      if (!t || t.length !== a.bytes.length || t.hashes['sha256'] !== sha256(a.bytes)) throw bad(`${a.name} is not the attestation the role lists (length or sha256 differ)`, 'LENGTH_OR_HASH_MISMATCH');
      try {
        checkReleaseAttestation(project, a.name, a.bytes, targets, new Set(req.files.map((f) => f.filename)));
      } catch (e) {
        if (e instanceof AttestationError) throw bad(e.message, e.code);
        throw e;
      }
    }
    for (const a of req.attestations ?? []) await this.blobs.put(targetBlobPath(targetPath(project, a.name), sha256(a.bytes)), a.bytes);
    await this.storePages(project, targets, req.pages);
    await this.checkTargetsStored(targets);
    await this.checkConsistent(project, targets);
    try {
      const { seq } = await this.state.recordSignedUpload({ project, userId: user.id, files: newFiles, role: { project, version: md.signed.version, bytes: req.role }, now: now.toISOString() });
      this.onRecorded();
      return { seq, project, version: md.signed.version };
    } catch (e) {
      throw mapConflict(e);
    }
  }
}

export async function changeProjectKeys(
  state: StateStore,
  user: UserRecord,
  projectName: string,
  doc: unknown,
  now = new Date()
): Promise<{ seq: number; project: string; pendingCeremony: boolean }> {
  const project = normalizeProjectName(projectName);
  const delegation = await state.getDelegation(project);
  if (!delegation) throw new SignedUploadError(404, 'NOT_CLAIMED', `${project} is not claimed`);
  let change;
  try {
    change = verifyDelegationChange(doc, project, delegation, now);
  } catch (e) {
    if (e instanceof DelegationChangeError) throw bad(e.message, 'BAD_CHANGE');
    throw e;
  }
  // The project's current role must still verify under the new keys and threshold, or clients
  // could no longer install anything from it: re-sign first, then change the keys.
  const latest = await state.latestProjectRole(project);
  if (latest) {
    try {
      Metadata.parse(latest.bytes, 'targets', delegation.role).verifyRole(delegation.role, { keyids: [...change.keys.keys()], threshold: change.threshold }, change.keys);
    } catch (e) {
      if (!(e instanceof RepositoryError)) throw e;
      throw new SignedUploadError(
        409,
        'ROLE_NOT_SIGNED_FOR_NEW_KEYS',
        `${project}'s current project role (version ${latest.version}) would not verify under the new keys: ${e.message}. First upload a release signed by ${change.threshold} of the new keys (bulwark upload --partial / --cosign), then change the keys.`
      );
    }
  }
  const keys: Record<string, unknown> = {};
  for (const [id, k] of change.keys) keys[id] = k.toJSON();
  try {
    const r = await state.changeDelegationKeys({
      project,
      userId: user.id,
      expectKeyids: delegation.keyids,
      keys,
      keyids: [...change.keys.keys()],
      threshold: change.threshold,
      now: now.toISOString(),
    });
    return { ...r, project };
  } catch (e) {
    throw mapConflict(e);
  }
}

function mapConflict(e: unknown): unknown {
  if (!(e instanceof StateConflictError)) return e;
  const status = e.code === 'NOT_OWNER' ? 403 : e.code === 'NOT_FOUND' || e.code === 'NOT_CLAIMED' ? 404 : e.code === 'FILE_EXISTS' || e.code === 'NAME_TOO_SIMILAR' ? 400 : 409;
  return new SignedUploadError(status, e.code, e.message);
}

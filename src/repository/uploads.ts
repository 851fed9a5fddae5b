// SPDX-License-Identifier: Apache-2.0
// The upload path, PyPI's checks in order (each step a function, not one long handler):
//   form fields → file name → digests → permission → look-alike name → duplicate
//   → archive check and core metadata (wheel METADATA, sdist PKG-INFO)
//   → store the file (durable) → journal entry (durable) → acknowledged.
// Bad input changes nothing: every check runs before anything is stored, and the database
// repeats the permission and duplicate checks inside the transaction that records the upload.
import { createHash } from 'node:crypto';
import {
  checkFilenameMatches,
  isValidProjectName,
  isValidSpecifierSet,
  isValidVersion,
  normalizeProjectName,
  PackagingError,
  parseDistributionFilename,
  readDistributionMetadata,
  type DistributionFilename,
  type DistributionMetadata,
} from '../packaging/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { crashPoint } from '../storage/crash-points.js';
import { tooSimilar } from '../storage/state/similar-names.js';
import { StateConflictError, type NewFile, type StateStore, type UserRecord } from '../storage/state/types.js';
import { targetBlobPath, targetPath } from './layout.js';

export type UploadErrorCode =
  | 'BAD_FORM'
  | 'INVALID_FILE'
  | 'DIGEST_MISMATCH'
  | 'FILE_EXISTS'
  | 'FORBIDDEN'
  | 'CLAIMED'
  | 'NAME_TOO_SIMILAR'
  | 'TOO_LARGE';

export class UploadError extends Error {
  constructor(
    readonly status: 400 | 403 | 409 | 413,
    readonly code: UploadErrorCode,
    message: string
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** A file the HTTP layer streamed to a temporary path (fsynced), with its digests. */
export interface ReceivedFile {
  tmpPath: string;
  filename: string;
  size: number;
  sha256: string;
  md5: string;
}

export type UploadForm = ReadonlyMap<string, readonly string[]>;

export interface UploadReceipt {
  seq: number;
  project: string;
  filename: string;
  sha256: string;
}

function field(form: UploadForm, name: string): string | undefined {
  const v = form.get(name)?.[0];
  return v === undefined || v === '' || v === 'UNKNOWN' ? undefined : v;
}

function required(form: UploadForm, name: string): string {
  const v = field(form, name);
  if (v === undefined) throw new UploadError(400, 'BAD_FORM', `Missing form field "${name}".`);
  return v;
}

/** PEP 480: once claimed, a project takes only uploads its developers signed. */
function claimedRefusal(project: string): UploadError {
  return new UploadError(
    403,
    'CLAIMED',
    `Project ${project} is claimed: its files must be signed by its developers (PEP 480). Upload with \`bulwark upload dist/*\`, which signs them with your developer key.`
  );
}

export class UploadService {
  constructor(
    private readonly state: StateStore,
    private readonly blobs: BlobStore,
    private readonly onRecorded: () => void,
    private readonly clock: () => Date = () => new Date()
  ) {}

  async upload(user: UserRecord, form: UploadForm, file: ReceivedFile): Promise<UploadReceipt> {
    const { name, version, parsed } = this.checkForm(form, file);
    this.checkDigests(form, file);
    const project = normalizeProjectName(name);
    const checks = await this.state.uploadChecks(project, user.id, file.filename);
    if (checks.claimed) throw claimedRefusal(project);
    if (checks.permission === 'forbidden') {
      throw new UploadError(403, 'FORBIDDEN', `The user '${user.name}' isn't allowed to upload to project '${project}'. Ask an owner to add you as a maintainer.`);
    }
    if (checks.similarTo !== undefined) throw new UploadError(400, 'NAME_TOO_SIMILAR', tooSimilar(name, checks.similarTo).message);
    if (checks.fileExists) {
      throw new UploadError(400, 'FILE_EXISTS', `File already exists: ${file.filename}. A file name can be used only once; bump the version.`);
    }
    const dist = await this.distMetadata(file, parsed, version);
    const metadata = dist.servedAsPep658 ? { bytes: dist.bytes, sha256: createHash('sha256').update(dist.bytes).digest('hex') } : undefined;

    // Durable store first, then the journal entry: an acknowledged upload always has its bytes.
    // Stored under its TUF name (targets/…/HASH.NAME), which no other bytes can take; the name
    // pip asks for (files/…/NAME) is given by the transaction worker once this upload is recorded
    // as the file name's owner (uploads racing for the name all get here).
    const filePath = targetPath(project, file.filename);
    if (metadata) await this.blobs.put(targetBlobPath(`${filePath}.metadata`, metadata.sha256), metadata.bytes);
    await this.blobs.putFile(targetBlobPath(filePath, file.sha256), file.tmpPath);
    crashPoint('upload:before-journal');

    const now = this.clock();
    const record: NewFile = {
      project,
      version,
      filename: file.filename,
      packagetype: parsed.packagetype,
      pythonVersion: field(form, 'pyversion') ?? (parsed.packagetype === 'sdist' ? 'source' : (parsed.pythonTag ?? 'any')),
      requiresPython: field(form, 'requires_python') ?? dist.metadata.requiresPython ?? null,
      size: file.size,
      sha256: file.sha256,
      md5: file.md5,
      metadataSha256: metadata?.sha256 ?? null,
      metadataSize: metadata?.bytes.length ?? null,
      uploadTime: now.toISOString(),
      uploaderId: user.id,
      summary: (field(form, 'summary') ?? dist.metadata.summary)?.slice(0, 512) ?? null,
    };
    try {
      const { seq } = await this.state.recordUpload(record, name, now.toISOString());
      crashPoint('upload:after-journal');
      this.onRecorded();
      return { seq, project, filename: file.filename, sha256: file.sha256 };
    } catch (e) {
      if (e instanceof StateConflictError && e.code === 'FILE_EXISTS') throw new UploadError(400, 'FILE_EXISTS', `${e.message}. Bump the version.`);
      if (e instanceof StateConflictError && e.code === 'NOT_OWNER') throw new UploadError(403, 'FORBIDDEN', e.message);
      if (e instanceof StateConflictError && e.code === 'ALREADY_CLAIMED') throw claimedRefusal(project);
      if (e instanceof StateConflictError && e.code === 'NAME_TOO_SIMILAR') throw new UploadError(400, 'NAME_TOO_SIMILAR', e.message);
      throw e;
    }
  }

  private checkForm(form: UploadForm, file: ReceivedFile): { name: string; version: string; parsed: DistributionFilename } {
    const protocol = field(form, 'protocol_version') ?? '1';
    if (protocol !== '1') throw new UploadError(400, 'BAD_FORM', `Unknown protocol_version ${protocol}: only 1 is supported.`);
    const name = required(form, 'name');
    const version = required(form, 'version');
    if (!isValidProjectName(name)) throw new UploadError(400, 'BAD_FORM', `Invalid project name "${name.slice(0, 100)}": see PEP 508 for valid names.`);
    if (!isValidVersion(version)) throw new UploadError(400, 'BAD_FORM', `Invalid version "${version.slice(0, 100)}": use a PEP 440 version.`);
    const requiresPython = field(form, 'requires_python');
    if (requiresPython !== undefined && !isValidSpecifierSet(requiresPython)) {
      throw new UploadError(400, 'BAD_FORM', `Invalid requires_python ${JSON.stringify(requiresPython.slice(0, 100))}: use a PEP 440 version specifier such as ">=3.8" or ">=3.8, !=3.9.*".`);
    }
    const filetype = required(form, 'filetype');
    let parsed: DistributionFilename;
    try {
      parsed = parseDistributionFilename(file.filename);
      checkFilenameMatches(parsed, name, version);
    } catch (e) {
      if (e instanceof PackagingError) throw new UploadError(400, 'INVALID_FILE', e.message);
      throw e;
    }
    if (filetype !== parsed.packagetype) {
      throw new UploadError(400, 'INVALID_FILE', `Form says filetype ${filetype} but ${file.filename} is a ${parsed.packagetype}.`);
    }
    return { name, version, parsed };
  }

  private checkDigests(form: UploadForm, file: ReceivedFile): void {
    const sha256 = field(form, 'sha256_digest')?.toLowerCase();
    const md5 = field(form, 'md5_digest')?.toLowerCase();
    if (sha256 === undefined && md5 === undefined) {
      throw new UploadError(400, 'BAD_FORM', 'Include at least one message digest (sha256_digest or md5_digest).');
    }
    if (sha256 !== undefined && sha256 !== file.sha256) {
      throw new UploadError(400, 'DIGEST_MISMATCH', 'The sha256_digest does not match the uploaded file: it was damaged in transit. Upload it again.');
    }
    if (md5 !== undefined && md5 !== file.md5) {
      throw new UploadError(400, 'DIGEST_MISMATCH', 'The md5_digest does not match the uploaded file: it was damaged in transit. Upload it again.');
    }
  }

  /** The file is the archive its name says, of this release: its core metadata, and for wheels the PEP 658 bytes. */
  private async distMetadata(file: ReceivedFile, parsed: DistributionFilename, version: string): Promise<DistributionMetadata> {
    try {
      return await readDistributionMetadata(file.tmpPath, parsed, version);
    } catch (e) {
      if (e instanceof PackagingError) throw new UploadError(400, 'INVALID_FILE', e.message);
      throw e;
    }
  }
}

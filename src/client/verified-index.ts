// SPDX-License-Identifier: Apache-2.0
// A view of a Bulwark index in which everything was verified through TUF: project pages
// (the exact bytes of `<project>/index.html|json`) and files (`<project>/<name>`). Used by
// `bulwark fetch` and by the pip proxy. Metadata is refreshed at most every `maxAgeMs`, one
// refresh at a time; target searches on one updater are serialised.
import { DownloadError, RepositoryError, type TargetFile } from '../tuf/index.js';
import type { ProtectionLevelName } from '../repository/protection-levels.js';
import type { Fetcher } from './fetcher.js';
import { BelowMinimumLevelError } from './level-policy.js';
import { Updater, type UpdaterLimits } from './updater.js';
import { projectPagePath, verifiedLevel } from './verified-level.js';
import { checkVerifiedBuild, listedAttestations, type VerifiedBuild } from './verified-build.js';
import { AttestationError } from '../attest/index.js';

export class TargetNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`${path} is not listed in the index's TUF metadata`);
    this.name = 'TargetNotFoundError';
  }
}

export interface VerifiedIndexOptions {
  indexUrl: string;
  mirrors?: readonly string[];
  metadataDir: string;
  fetcher?: Fetcher;
  /** Reuse verified metadata for this long before refreshing again (ms; default 2 s). */
  maxAgeMs?: number;
  limits?: Partial<UpdaterLimits>;
  /** Use only timestamps root's auditors vouch for (client/audit-requirement.ts). */
  requireAuditor?: boolean;
}

export interface VerifiedTarget {
  path: string;
  role: string;
  target: TargetFile;
  /** The protection level the delegations walked to this target prove. */
  level: ProtectionLevelName;
  bytes: Buffer;
  /** A wheel of `wheels-<project>`: the builders that agreed and the signed sdist (level 4). */
  build?: VerifiedBuild;
  /** `<file>.intoto.jsonl` targets the same role lists for the file. */
  attestations: { path: string; sha256: string }[];
}

/** Called with a target's verified level before its bytes are downloaded; throws to refuse it. */
export type AdmitLevel = (level: ProtectionLevelName) => void;

export class VerifiedIndex {
  private updater: Updater | undefined;
  private refreshedAt = 0;
  private refreshing: Promise<Updater> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: VerifiedIndexOptions) {}

  /** A freshly refreshed updater (or the current one while it is young enough). */
  async current(): Promise<Updater> {
    if (this.updater && Date.now() - this.refreshedAt < (this.o.maxAgeMs ?? 2000)) return this.updater;
    this.refreshing ??= (async () => {
      try {
        const u = new Updater({
          metadataDir: this.o.metadataDir,
          indexUrl: this.o.indexUrl,
          ...(this.o.mirrors ? { mirrors: this.o.mirrors } : {}),
          ...(this.o.fetcher ? { fetcher: this.o.fetcher } : {}),
          ...(this.o.limits ? { limits: this.o.limits } : {}),
          ...(this.o.requireAuditor ? { requireAuditor: true } : {}),
        });
        await u.refresh();
        this.updater = u;
        this.refreshedAt = Date.now();
        return u;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /**
   * Finds, downloads and verifies one target.
   * @throws TargetNotFoundError, RepositoryError (verification failed), DownloadError, or what `admit` throws
   */
  async get(path: string, admit?: AdmitLevel): Promise<VerifiedTarget> {
    try {
      return await this.getOnce(path, admit);
    } catch (e) {
      // Metadata or a target removed by garbage collection since our last refresh: refresh
      // now and look again, once.
      if (!(e instanceof DownloadError && e.code === 'NOT_FOUND')) throw e;
      this.refreshedAt = 0;
      return this.getOnce(path, admit);
    }
  }

  private async getOnce(path: string, admit: AdmitLevel | undefined): Promise<VerifiedTarget> {
    const updater = await this.current();
    const run = this.queue.then(async () => {
      const found = await updater.findTarget(path);
      if (!found) throw new TargetNotFoundError(path);
      // A file of an index-signed project is at two-factor when its project's page says so.
      const pagePath = verifiedLevel(found) === 'unclaimed' ? projectPagePath(path) : undefined;
      const level = verifiedLevel(found, pagePath ? await updater.findTarget(pagePath) : undefined);
      admit?.(level);
      const build = await checkVerifiedBuild(updater, found, path);
      const bytes = await updater.downloadTarget(found.target);
      return { path, role: found.role, target: found.target, level, bytes, attestations: listedAttestations(updater, found, path), ...(build ? { build } : {}) };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** A one-line, user-facing description of why verification failed. */
export function describeFailure(e: unknown): { status: number; code: string; message: string } {
  if (e instanceof TargetNotFoundError) return { status: 404, code: 'NOT_FOUND', message: e.message };
  if (e instanceof BelowMinimumLevelError) return { status: 403, code: e.code, message: e.message };
  if (e instanceof AttestationError) {
    return { status: 502, code: e.code, message: `verified build refused (${e.code}): ${e.message}. Refusing to serve it: the build farm, a rebuilder or the index may be compromised.` };
  }
  // More bytes than the metadata vouches for is an endless-data attack, not a network fault.
  if (e instanceof RepositoryError || (e instanceof DownloadError && e.code === 'LENGTH_EXCEEDED')) {
    return { status: 502, code: e.code, message: `TUF verification failed (${e.code}): ${e.message}. Refusing to serve it: the index or a mirror may be compromised.` };
  }
  if (e instanceof DownloadError) return { status: e.code === 'NOT_FOUND' ? 404 : 504, code: e.code, message: `download failed (${e.code}): ${e.message}` };
  return { status: 500, code: 'INTERNAL', message: (e as Error).message };
}

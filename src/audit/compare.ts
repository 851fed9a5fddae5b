// SPDX-License-Identifier: Apache-2.0
// `bulwark audit compare`: the bytes each source (index, mirror, or a static tree on disk) serves,
// checked against the offline archive and against each other.
//
// For each source, its current metadata is verified through TUF from the archive's root and
// every listed path resolved as a client would; then, for every path in the archive or in that
// listing, the bytes under its consistent name (`targets/<p>/<hash>.<name>`, with the hash the
// source lists, else the archived one) and under its pip alias (`files/<p>/<name>`) are hashed.
//  - removed: archived, but no longer listed, or no bytes there;
//  - changed: listed with another hash than archived, or bytes that hash to something else;
//  - added:   listed by the source, not in the archive.
// A source whose metadata does not verify is reported as an error (and only its archived paths
// are checked). Sources that disagree with each other on a path are listed too.
import type { Fetcher } from '../client/fetcher.js';
import { mapPool } from '../mirror/pool.js';
import { LocalOrHttpFetcher, resolveSource } from '../mirror/source.js';
import { checkSegments } from '../mirror/walk.js';
import { fileBlobPath, SIMPLE_HTML, SIMPLE_JSON, targetBlobPath } from '../repository/layout.js';
import { DownloadError, RepositoryError } from '../tuf/index.js';
import { sha256, verifySnapshot, type ArchivedTarget, type AuditArchive } from './archive.js';

export type DifferenceKind = 'added' | 'removed' | 'changed';

export interface Difference {
  kind: DifferenceKind;
  source: string;
  /** Target path, `<project>/<file>`. */
  path: string;
  /** The static-tree file checked, `targets/…` or `files/…`. */
  file: string;
  role: string | null;
  /** sha256 the archive has (null for an added file). */
  expected: string | null;
  /** sha256 of what the source serves (null when it serves nothing there). */
  actual: string | null;
  reason: string;
}

export interface Disagreement {
  path: string;
  /** `targets` (consistent name) or `files` (pip alias). */
  area: 'targets' | 'files';
  /** Per source: sha256 of what it serves for the path, null for nothing. */
  values: Record<string, string | null>;
}

export interface SourceSummary {
  source: string;
  /** The source's metadata verified from the archive's root. */
  verified: boolean;
  error?: { code: string; message: string };
  timestamp?: number;
  snapshot?: { version: number; sha256: string };
  checked: number;
  differences: number;
  /** Files that could not be fetched (network): nothing can be said about them. */
  unreadable: string[];
}

export interface CompareReport {
  archive: { source: string; createdAt: string; snapshot: { version: number; sha256: string }; targets: number };
  sources: SourceSummary[];
  differences: Difference[];
  disagreements: Disagreement[];
  /** No difference, no disagreement, every source verified and readable. */
  ok: boolean;
}

interface Observation {
  /** What the source's verified metadata lists for the path (undefined: not listed, or no verified listing). */
  listed: ArchivedTarget | undefined;
  rel: string;
  bytes: string | null | undefined; // undefined: could not be read
  aliasRel: string | undefined;
  alias: string | null | undefined;
}

function aliasFor(path: string): string | undefined {
  const parts = path.split('/');
  if (parts.length !== 2) return undefined;
  const [project, name] = parts as [string, string];
  return name === SIMPLE_HTML || name === SIMPLE_JSON ? undefined : fileBlobPath(project, name);
}

function url(base: string, rel: string): string {
  return `${base}/${rel.split('/').map(encodeURIComponent).join('/')}`;
}

class SourceObserver {
  readonly observations = new Map<string, Observation>();
  listing: Map<string, ArchivedTarget> | undefined;
  readonly summary: SourceSummary;

  constructor(
    readonly label: string,
    private readonly base: string,
    private readonly archive: AuditArchive,
    private readonly fetcher: Fetcher
  ) {
    this.summary = { source: label, verified: false, checked: 0, differences: 0, unreadable: [] };
  }

  /** sha256 of the file, null when absent, undefined when it could not be read. */
  private async hashOf(rel: string, length: number): Promise<string | null | undefined> {
    const cap = length * 2 + 1024 * 1024;
    try {
      return sha256(await this.fetcher.fetch(url(this.base, rel), cap));
    } catch (e) {
      if (!(e instanceof DownloadError)) throw e;
      if (e.code === 'NOT_FOUND') return null;
      if (e.code === 'LENGTH_EXCEEDED') return `(more than ${cap} bytes)`;
      this.summary.unreadable.push(`${rel}: ${e.message}`);
      return undefined;
    }
  }

  async observe(concurrency: number, now?: Date): Promise<void> {
    try {
      const v = await verifySnapshot({ base: this.base, rootBytes: Buffer.from(this.archive.root.bytes, 'base64'), fetcher: this.fetcher, ...(now ? { now } : {}) });
      this.listing = v.targets;
      this.summary.verified = true;
      this.summary.timestamp = v.walk.timestamp.signed.version;
      this.summary.snapshot = { version: v.walk.snapshot.signed.version, sha256: sha256(v.walk.snapshot.bytes) };
    } catch (e) {
      if (!(e instanceof RepositoryError || e instanceof DownloadError)) throw e;
      this.summary.error = { code: e.code, message: `${e instanceof RepositoryError ? 'metadata does not verify' : 'metadata cannot be fetched'} (${e.code}): ${e.message}` };
    }
    const paths = new Set([...Object.keys(this.archive.targets), ...(this.listing?.keys() ?? [])]);
    await mapPool([...paths].sort(), concurrency, async (path) => {
      const listed = this.listing?.get(path);
      const entry = (listed ?? this.archive.targets[path]) as ArchivedTarget;
      try {
        checkSegments('target path', path);
      } catch (e) {
        this.summary.unreadable.push(`${path}: ${(e as Error).message}`);
        return;
      }
      const rel = targetBlobPath(path, entry.sha256);
      const aliasRel = aliasFor(path);
      const [bytes, alias] = await Promise.all([this.hashOf(rel, entry.length), aliasRel ? this.hashOf(aliasRel, entry.length) : Promise.resolve(undefined)]);
      this.observations.set(path, { listed, rel, bytes, aliasRel, alias });
    });
    this.summary.checked = this.observations.size;
  }

  /** What a client of this source gets for the path: sha256, or null (nothing). */
  effective(path: string): { targets: string | null | undefined; files: string | null | undefined } {
    const o = this.observations.get(path);
    if (!o) return { targets: null, files: null };
    const hidden = this.listing !== undefined && o.listed === undefined;
    return { targets: hidden ? null : o.bytes, files: o.aliasRel ? o.alias : undefined };
  }

  differences(): Difference[] {
    const out: Difference[] = [];
    const push = (d: Omit<Difference, 'source'>) => out.push({ source: this.label, ...d });
    for (const [path, o] of this.observations) {
      const a = this.archive.targets[path];
      if (!a) {
        const l = o.listed as ArchivedTarget;
        const bytesNote = o.bytes === null ? `; and no file at ${o.rel}` : o.bytes !== undefined && o.bytes !== l.sha256 ? `; and the bytes at ${o.rel} hash to ${o.bytes}` : '';
        push({ kind: 'added', path, file: o.rel, role: l.role, expected: null, actual: o.bytes ?? l.sha256, reason: `listed by ${l.role}, not in the archive${bytesNote}` });
        continue;
      }
      const archivedRel = targetBlobPath(path, a.sha256);
      if (this.listing && !o.listed) {
        const still = o.bytes === a.sha256 ? ' (its bytes are still there)' : '';
        push({ kind: 'removed', path, file: archivedRel, role: a.role, expected: a.sha256, actual: null, reason: `no longer listed by the source's metadata${still}` });
        continue;
      }
      if (o.listed && o.listed.sha256 !== a.sha256) {
        const note = o.bytes === null ? '; no file there' : o.bytes !== undefined && o.bytes !== o.listed.sha256 ? `; its bytes hash to ${o.bytes}` : '';
        push({ kind: 'changed', path, file: o.rel, role: o.listed.role, expected: a.sha256, actual: o.listed.sha256, reason: `the source's metadata (${o.listed.role}) lists another hash${note}` });
      } else if (o.bytes === null) {
        push({ kind: 'removed', path, file: o.rel, role: a.role, expected: a.sha256, actual: null, reason: `no file at ${o.rel}` });
      } else if (o.bytes !== undefined && o.bytes !== a.sha256) {
        push({ kind: 'changed', path, file: o.rel, role: a.role, expected: a.sha256, actual: o.bytes, reason: `the bytes at ${o.rel} do not hash to the archived sha256` });
      }
      if (o.aliasRel && (!o.listed || o.listed.sha256 === a.sha256)) {
        if (o.alias === null) push({ kind: 'removed', path, file: o.aliasRel, role: a.role, expected: a.sha256, actual: null, reason: `no file at ${o.aliasRel} (the name pip downloads)` });
        else if (o.alias !== undefined && o.alias !== a.sha256) {
          push({ kind: 'changed', path, file: o.aliasRel, role: a.role, expected: a.sha256, actual: o.alias, reason: `the bytes at ${o.aliasRel} (the name pip downloads) do not hash to the archived sha256` });
        }
      }
    }
    return out.sort((x, y) => (x.path === y.path ? (x.file < y.file ? -1 : 1) : x.path < y.path ? -1 : 1));
  }
}

export interface CompareOptions {
  archive: AuditArchive;
  /** URLs of indexes or mirrors, or directories holding a static tree. */
  sources: readonly string[];
  fetcher?: Fetcher;
  concurrency?: number;
  now?: Date;
}

export async function compareSources(o: CompareOptions): Promise<CompareReport> {
  const fetcher = o.fetcher ?? new LocalOrHttpFetcher();
  const labels = new Set<string>();
  const observers: SourceObserver[] = [];
  for (const s of o.sources) {
    const resolved = await resolveSource(s);
    let label = s;
    for (let n = 2; labels.has(label); n++) label = `${s} (${n})`;
    labels.add(label);
    observers.push(new SourceObserver(label, resolved.base, o.archive, fetcher));
  }
  for (const obs of observers) await obs.observe(o.concurrency ?? 8, o.now);

  const differences = observers.flatMap((obs) => {
    const d = obs.differences();
    obs.summary.differences = d.length;
    return d;
  });

  const disagreements: Disagreement[] = [];
  if (observers.length > 1) {
    const paths = new Set<string>();
    for (const obs of observers) for (const p of obs.observations.keys()) paths.add(p);
    for (const path of [...paths].sort()) {
      for (const area of ['targets', 'files'] as const) {
        const values: Record<string, string | null> = {};
        let applicable = false;
        for (const obs of observers) {
          const v = obs.effective(path)[area];
          if (v !== undefined) applicable = true;
          values[obs.label] = v ?? null;
        }
        if (applicable && new Set(Object.values(values)).size > 1) disagreements.push({ path, area, values });
      }
    }
  }

  const sources = observers.map((obs) => obs.summary);
  return {
    archive: { source: o.archive.source, createdAt: o.archive.createdAt, snapshot: { version: o.archive.snapshot.version, sha256: o.archive.snapshot.sha256 }, targets: Object.keys(o.archive.targets).length },
    sources,
    differences,
    disagreements,
    ok: differences.length === 0 && disagreements.length === 0 && sources.every((s) => s.verified && s.unreadable.length === 0),
  };
}

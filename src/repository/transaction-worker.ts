// SPDX-License-Identifier: Apache-2.0
// Transaction workers (PEP 480 §Snapshot Process): apply pending project transactions from the
// journal. Applying one renders the project's simple pages, stores them, and replaces the
// project's target rows (and marks their bins dirty) in a single database transaction: all or
// nothing. Transactions run concurrently, here and in other worker processes, but never two on
// the same project or the same bin (PEP 480 concurrency rules 1 and 2) and never two new claims
// at once (rules 3–5): the store's withProjectTransaction holds those locks across processes.
// A project another worker holds is skipped; that worker, or the next pass, applies it.
//
// The worker also gives each newly recorded file its pip-facing name (`files/<p>/<name>`, and
// `….metadata`), before the transaction commits: only the upload the store recorded as the
// owner of a file name ever gets it (uploads that lost a race for the name stored bytes too),
// and a crash before the commit leaves the transaction pending, so it is done again on restart.
import { encodeCanonical, Metadata, type SuccinctRoles } from '../tuf/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { crashPoint } from '../storage/crash-points.js';
import { NEW_DELEGATION_LOCK, type FileRecord, type JournalEntry, type ProjectTransaction, type StateStore, type TargetRow } from '../storage/state/types.js';
import { CoalescingRunner } from './coalescing-runner.js';
import { fileBlobPath, targetBlobPath, targetPath } from './layout.js';
import type { Logger } from './logger.js';
import { targetEntry } from './metadata-builder.js';
import { pageTargetCustom, renderProjectPages } from './simple-index.js';

export interface TransactionWorkerOptions {
  state: StateStore;
  blobs: BlobStore;
  bins: SuccinctRoles;
  log: Logger;
  clock?: () => Date;
  /** Called after transactions were applied: the snapshot process should publish. */
  onApplied: () => void;
  /** How many project transactions may run at once (default 8). */
  concurrency?: number | undefined;
}

/**
 * The target rows of a project: each file, its PEP 658 metadata, and the two simple pages.
 * Only the fields it lists are read (bench/pypi-scale-load.ts passes invented files and pages).
 */
export function projectTargets(
  project: string,
  files: readonly Pick<FileRecord, 'filename' | 'sha256' | 'size' | 'metadataSha256' | 'metadataSize'>[],
  pages: readonly { path: string; bytes: { readonly length: number }; sha256: string }[],
  binOf: (path: string) => string,
  /** The `custom` field of the pages' entries (the signed two-factor level, simple-index.ts). */
  pageCustom?: Record<string, unknown>
): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (path: string, sha256: string, length: number, custom?: Record<string, unknown>) =>
    rows.push({
      path,
      role: binOf(path),
      project,
      entry: custom ? encodeCanonical({ custom, hashes: { sha256 }, length }) : targetEntry(sha256, length),
    });
  for (const f of files) {
    add(targetPath(project, f.filename), f.sha256, f.size);
    if (f.metadataSha256 && f.metadataSize !== null) add(targetPath(project, `${f.filename}.metadata`), f.metadataSha256, f.metadataSize);
  }
  for (const p of pages) add(p.path, p.sha256, p.bytes.length, pageCustom);
  return rows;
}

/** Gives the files recorded by journal entries `seqs` (and their PEP 658 metadata) their pip-facing names. */
async function aliasRecordedFiles(blobs: BlobStore, files: readonly FileRecord[], seqs: readonly number[]): Promise<void> {
  const recorded = new Set(seqs);
  await Promise.all(
    files
      .filter((f) => recorded.has(f.journalSeq))
      .flatMap((f) => {
        const links = [blobs.alias(fileBlobPath(f.project, f.filename), targetBlobPath(targetPath(f.project, f.filename), f.sha256))];
        if (f.metadataSha256) {
          const name = `${f.filename}.metadata`;
          links.push(blobs.alias(fileBlobPath(f.project, name), targetBlobPath(targetPath(f.project, name), f.metadataSha256)));
        }
        return links;
      })
  );
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

export class TransactionWorker {
  private readonly runner: CoalescingRunner;
  private closed = false;
  private enabled = true;
  private readonly clock: () => Date;

  constructor(private readonly o: TransactionWorkerOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.runner = new CoalescingRunner(() => this.drain(), o.log, 'applying project transactions');
  }

  /** Asks the worker to drain the journal; calls made while it runs fold into one more pass. */
  kick(): void {
    if (this.enabled) this.runner.request();
  }

  /** Stops applying transactions in this process (an API server; workers do it). */
  disable(): void {
    this.enabled = false;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const pending = await this.o.state.pendingJournal(1000);
      if (pending.length === 0 || this.closed) return;
      const byProject = new Map<string, JournalEntry[]>();
      for (const e of pending) {
        const list = byProject.get(e.project);
        if (list) list.push(e);
        else byProject.set(e.project, [e]);
      }
      // In random order: workers in other processes read the same list and would otherwise
      // queue behind one another on the same projects.
      const projects = shuffled([...byProject.keys()]);
      const limit = this.o.concurrency ?? 8;
      let next = 0;
      let applied = 0;
      let busy = 0;
      const runOne = async (): Promise<void> => {
        while (next < projects.length && !this.closed) {
          const outcome = await this.applyProject(projects[next++] as string);
          if (outcome === 'busy') busy++;
          else applied += outcome;
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, projects.length) }, runOne));
      if (applied > 0) this.o.onApplied();
      // Everything left is in another worker's hands: it applies it, or a later pass does.
      if (applied === 0 && busy > 0) return;
    }
  }

  /**
   * Applies every pending transaction of one project as one atomic project transaction.
   * Returns how many journal entries it applied, or 'busy' when another worker holds the project.
   */
  private async applyProject(project: string): Promise<number | 'busy'> {
    const outcome = await this.o.state.withProjectTransaction(project, async (tx) => {
      const pending = await tx.pending();
      if (pending.length === 0) return 0; // another worker applied them meanwhile
      const seqs = pending.map((e) => e.seq);
      const delegation = await tx.delegation();
      if (delegation) {
        const newDelegation = pending.some((e) => e.kind === 'claim');
        await this.applyClaimedProject(tx, delegation.role, delegation.parent, seqs, newDelegation);
      } else {
        await this.applyUnclaimedProject(tx, project, seqs);
      }
      return seqs.length;
    });
    if (outcome.busy) return 'busy';
    if (outcome.value > 0) crashPoint('apply:after-commit');
    return outcome.value;
  }

  private async applyUnclaimedProject(tx: ProjectTransaction, project: string, seqs: number[]): Promise<void> {
    const files = await tx.files();
    const binOf = (path: string) => this.o.bins.roleForTarget(path);
    const pages = renderProjectPages(project, files);
    const rows = projectTargets(project, files, pages, binOf, pageTargetCustom(await tx.twoFactor()));
    await tx.lock([...rows.map((r) => r.role), ...(await tx.currentRoles())]);
    await Promise.all(pages.map((p) => this.o.blobs.put(targetBlobPath(p.path, p.sha256), p.bytes)));
    await aliasRecordedFiles(this.o.blobs, files, seqs);
    crashPoint('apply:before-commit');
    await tx.apply(seqs, rows, this.clock().toISOString());
  }

  /**
   * A claimed project's targets are exactly those its developers signed in the newest
   * project role (PEP 480): pages included, so nothing here is rendered or re-signed.
   */
  private async applyClaimedProject(tx: ProjectTransaction, role: string, parent: string, seqs: number[], newDelegation: boolean): Promise<void> {
    const latest = await tx.latestProjectRole();
    if (!latest) throw new Error(`claimed project ${role} has no signed project role`);
    const targets = Metadata.parse(latest.bytes, 'targets', role).signed.targets;
    const rows: TargetRow[] = [...targets.values()].map((t) => ({ path: t.path, role, project: latest.project, entry: encodeCanonical(t.toJSON()) }));
    await tx.lock([role, parent, ...(await tx.currentRoles()), ...(newDelegation ? [NEW_DELEGATION_LOCK] : [])]);
    await aliasRecordedFiles(this.o.blobs, await tx.files(), seqs);
    await tx.apply(seqs, rows, this.clock().toISOString(), [role]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.runner.close();
  }

  async idle(): Promise<void> {
    await this.runner.idle();
  }

  /** Why the last pass failed, while passes keep failing. */
  get lastError(): unknown {
    return this.runner.lastError;
  }
}

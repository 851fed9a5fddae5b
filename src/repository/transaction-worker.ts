// SPDX-License-Identifier: Apache-2.0
// Transaction workers (PEP 480 §Snapshot Process): apply pending project transactions from the
// journal. Applying one renders the project's simple pages, stores them, and replaces the
// project's target rows (and marks their bins dirty) in a single database transaction: all or
// nothing. Transactions run concurrently, but never two on the same project or the same bin
// (concurrency rules 1 and 2), enforced by taking a lock on each before starting.
import { encodeCanonical, Metadata, type SuccinctRoles } from '../tuf/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { crashPoint } from '../storage/crash-points.js';
import type { FileRecord, JournalEntry, StateStore, TargetRow } from '../storage/state/types.js';
import { CoalescingRunner } from './coalescing-runner.js';
import { KeyedLocks } from './keyed-locks.js';
import { targetBlobPath, targetPath } from './layout.js';
import type { Logger } from './logger.js';
import { targetEntry } from './metadata-builder.js';
import { renderProjectPages } from './simple-index.js';

export interface TransactionWorkerOptions {
  state: StateStore;
  blobs: BlobStore;
  bins: SuccinctRoles;
  log: Logger;
  clock?: () => Date;
  /** Called after transactions were applied: the snapshot process should publish. */
  onApplied: () => void;
  /** How many project transactions may run at once (default 8). */
  concurrency?: number;
}

/**
 * The target rows of a project: each file, its PEP 658 metadata, and the two simple pages.
 * Only the fields it lists are read (bench/pypi-scale-load.ts passes invented files and pages).
 */
export function projectTargets(
  project: string,
  files: readonly Pick<FileRecord, 'filename' | 'sha256' | 'size' | 'metadataSha256' | 'metadataSize'>[],
  pages: readonly { path: string; bytes: { readonly length: number }; sha256: string }[],
  binOf: (path: string) => string
): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (path: string, sha256: string, length: number) => rows.push({ path, role: binOf(path), project, entry: targetEntry(sha256, length) });
  for (const f of files) {
    add(targetPath(project, f.filename), f.sha256, f.size);
    if (f.metadataSha256 && f.metadataSize !== null) add(targetPath(project, `${f.filename}.metadata`), f.metadataSha256, f.metadataSize);
  }
  for (const p of pages) add(p.path, p.sha256, p.bytes.length);
  return rows;
}

export class TransactionWorker {
  private readonly locks = new KeyedLocks();
  private readonly runner: CoalescingRunner;
  private closed = false;
  private readonly clock: () => Date;

  constructor(private readonly o: TransactionWorkerOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.runner = new CoalescingRunner(() => this.drain(), o.log, 'applying project transactions');
  }

  /** Asks the worker to drain the journal; calls made while it runs fold into one more pass. */
  kick(): void {
    this.runner.request();
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
      const groups = [...byProject];
      const limit = this.o.concurrency ?? 8;
      let next = 0;
      const runOne = async (): Promise<void> => {
        while (next < groups.length) {
          const [project, entries] = groups[next++] as [string, JournalEntry[]];
          await this.applyProject(project, entries.map((e) => e.seq));
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, groups.length) }, runOne));
      this.o.onApplied();
    }
  }

  /** Applies every pending transaction of one project as one atomic project transaction. */
  private async applyProject(project: string, seqs: number[]): Promise<void> {
    const delegation = await this.o.state.getDelegation(project);
    if (delegation) return this.applyClaimedProject(project, delegation.role, delegation.parent, seqs);
    const files = await this.o.state.projectFiles(project);
    const binOf = (path: string) => this.o.bins.roleForTarget(path);
    const pages = renderProjectPages(project, files);
    const rows = projectTargets(project, files, pages, binOf);
    const lockKeys = [`project:${project}`, ...rows.map((r) => `role:${r.role}`)];
    await this.locks.withLocks(lockKeys, async () => {
      await Promise.all(pages.map((p) => this.o.blobs.put(targetBlobPath(p.path, p.sha256), p.bytes)));
      crashPoint('apply:before-commit');
      await this.o.state.applyProjectTransaction(project, seqs, rows, this.clock().toISOString());
      crashPoint('apply:after-commit');
    });
  }

  /**
   * A claimed project's targets are exactly those its developers signed in the newest
   * project role (PEP 480): pages included, so nothing here is rendered or re-signed.
   */
  private async applyClaimedProject(project: string, role: string, parent: string, seqs: number[]): Promise<void> {
    const latest = await this.o.state.latestProjectRole(project);
    if (!latest) throw new Error(`claimed project ${project} has no signed project role`);
    const targets = Metadata.parse(latest.bytes, 'targets', role).signed.targets;
    const rows: TargetRow[] = [...targets.values()].map((t) => ({ path: t.path, role, project, entry: encodeCanonical(t.toJSON()) }));
    await this.locks.withLocks([`project:${project}`, `role:${role}`, `role:${parent}`], () =>
      this.o.state.applyProjectTransaction(project, seqs, rows, this.clock().toISOString(), [role])
    );
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

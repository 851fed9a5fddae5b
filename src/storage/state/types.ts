// SPDX-License-Identifier: Apache-2.0
// The state store interface: every method is one unit of work (one database transaction), so
// that a backend on a database server (issue: PostgreSQL) keeps the same guarantees as the
// embedded default. Names follow PyPI/Warehouse (Project, File) and PEP 458 (journal, roles).

export interface UserRecord {
  id: number;
  name: string;
  isAdmin: boolean;
  createdAt: string;
}

export interface FileRecord {
  id: number;
  project: string; // normalized name
  version: string;
  filename: string;
  packagetype: 'bdist_wheel' | 'sdist';
  pythonVersion: string;
  requiresPython: string | null;
  size: number;
  sha256: string;
  md5: string | null;
  metadataSha256: string | null; // PEP 658 metadata file, wheels only
  metadataSize: number | null;
  uploadTime: string; // ISO 8601 UTC
  uploaderId: number;
  yanked: boolean;
  yankedReason: string | null;
  summary: string | null;
  journalSeq: number;
}

export type NewFile = Omit<FileRecord, 'id' | 'journalSeq' | 'yanked' | 'yankedReason'>;

export interface ProjectRecord {
  name: string;
  displayName: string;
  createdAt: string;
  protection: 'unclaimed' | 'recently-claimed' | 'claimed';
}

export type JournalState = 'pending' | 'applied' | 'published' | 'failed';

/** What a project transaction does: add a file, or change the yanked state of files. */
export type JournalKind = 'upload' | 'yank' | 'claim' | 'signed-upload' | 'key-change' | 'recover' | 'two-factor';

export interface JournalEntry {
  seq: number;
  kind: JournalKind;
  project: string;
  state: JournalState;
  createdAt: string;
  publishedVersion: number | null;
  error: string | null;
}

/** One target as it appears in a targets role: its canonical JSON fragment is kept verbatim. */
export interface TargetRow {
  path: string;
  role: string; // the role that lists it (a bin, or a project role)
  project: string;
  /** Canonical JSON of the TargetFile object ({"hashes":…,"length":…}). */
  entry: string;
}

/** PEP 480: a project whose developers hold its keys, delegated by recently-claimed or claimed. */
export interface ProjectDelegation {
  project: string;
  /** The project role's name: `project-<normalized name>`. */
  role: string;
  parent: 'recently-claimed' | 'claimed';
  /** Key id → public key in TUF JSON form. */
  keys: Record<string, unknown>;
  keyids: string[];
  threshold: number;
  createdAt: string;
  /** A key change of a claimed project, waiting for the next offline ceremony. */
  pending?: { keys: Record<string, unknown>; keyids: string[]; threshold: number };
}

/** A developer-signed version of a project role, kept verbatim (the index cannot re-sign it). */
export interface ProjectRoleVersion {
  project: string;
  version: number;
  bytes: Buffer;
}

export interface RoleState {
  name: string;
  version: number;
  expires: string; // TUF format
  /** Length and sha256 of the published file (for timestamp → snapshot). */
  length: number;
  sha256: string;
}

/** See StateStore.uploadChecks(). */
export interface UploadChecks {
  claimed: boolean;
  permission: 'new-project' | 'allowed' | 'forbidden';
  fileExists: boolean;
  /** A new project only: the existing project its name is too similar to (see similar-names.ts). */
  similarTo?: string;
}

/** What the snapshot process needs to start a publication, read in one consistent view. */
export interface PublishInputs {
  /**
   * Roles whose targets changed since their last publication, with a generation to clear.
   * Their targets are read afterwards with roleTargetsCanonical(), a chunk of roles at a time.
   */
  dirtyRoles: { name: string; generation: number }[];
  /** Journal entries applied but not yet in a published snapshot. */
  appliedSeqs: number[];
}

/**
 * The snapshot leader's lease (issue 6): exactly one process at a time publishes metadata. The
 * epoch grows with every change of leader; writes a leader makes carry its lease and the store
 * refuses them once another epoch began (fencing), so a leader that lost its lease while paused
 * can never commit a publication.
 */
export interface Lease {
  holder: string;
  epoch: number;
}

export interface LeaderInfo extends Lease {
  /** When the lease runs out unless renewed (ISO 8601, the store's clock). */
  expiresAt: string;
  expired: boolean;
}

/** A write that only the snapshot leader may make came from a process whose lease is gone. */
export class NotLeaderError extends Error {
  constructor(lease: Lease | undefined) {
    super(
      lease
        ? `${lease.holder} is no longer the snapshot leader (epoch ${lease.epoch} ended): another process publishes now`
        : 'this process is not the snapshot leader'
    );
    this.name = 'NotLeaderError';
  }
}

/** What a worker may do inside one project transaction (see StateStore.withProjectTransaction). */
export interface ProjectTransaction {
  /** The project's pending journal entries, oldest first, read under the project's lock. */
  pending(): Promise<{ seq: number; kind: JournalKind }[]>;
  files(): Promise<FileRecord[]>;
  delegation(): Promise<ProjectDelegation | undefined>;
  latestProjectRole(): Promise<ProjectRoleVersion | undefined>;
  /** The roles that list the project's targets now (their locks are needed to change them). */
  currentRoles(): Promise<string[]>;
  /**
   * Takes the locks on `keys` (roles, or NEW_DELEGATION_LOCK) for the rest of the transaction.
   * Called at most once, before apply: with the project lock first and these in a fixed order,
   * two transactions can never wait on each other in a cycle.
   */
  lock(keys: readonly string[]): Promise<void>;
  /** Whether the project is at level two-factor now (required, and every member has it). */
  twoFactor(): Promise<boolean>;
  /** Replaces the project's target rows, marks roles dirty, and marks `seqs` applied. */
  apply(seqs: readonly number[], targets: readonly TargetRow[], now: string, alsoDirty?: readonly string[]): Promise<void>;
}

/** Lock taken by every transaction that creates a new delegation (PEP 480 rules 3, 4 and 5). */
export const NEW_DELEGATION_LOCK = 'new-delegation';

/** Work other processes announce (PostgreSQL NOTIFY); an embedded store has no other processes. */
export type StoreEvent = { kind: 'journal' } | { kind: 'applied' } | { kind: 'published'; snapshotVersion: number } | { kind: 'dirty' };

/** A user's TOTP second factor (issue 14, level 2). */
export interface TwoFactorRecord {
  /** Base32 TOTP secret. */
  secret: string;
  /** The time step of the last code accepted: that one and earlier ones are refused (replay). */
  lastStep: number;
  enabledAt: string;
  /** Recovery codes not yet used. */
  recoveryLeft: number;
}

export class StateConflictError extends Error {
  constructor(
    readonly code: 'FILE_EXISTS' | 'NOT_OWNER' | 'USER_EXISTS' | 'PROJECT_NAME_TAKEN' | 'NAME_TOO_SIMILAR' | 'NOT_FOUND' | 'ALREADY_CLAIMED' | 'NOT_CLAIMED' | 'VERSION_CONFLICT' | 'TWO_FACTOR_ON',
    message: string
  ) {
    super(message);
    this.name = 'StateConflictError';
  }
}

export interface StateStore {
  close(): Promise<void>;

  // settings
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  // accounts
  addUser(name: string, isAdmin: boolean, tokenHash: string, now: string): Promise<UserRecord>;
  /** `twoFactor`: made from a session that passed the second factor (recorded with the token). */
  addToken(userId: number, tokenHash: string, description: string, now: string, twoFactor?: boolean): Promise<void>;
  userByTokenHash(tokenHash: string): Promise<UserRecord | undefined>;
  userByName(name: string): Promise<UserRecord | undefined>;

  // projects and files
  getProject(name: string): Promise<ProjectRecord | undefined>;
  listProjects(): Promise<ProjectRecord[]>;
  projectFiles(project: string): Promise<FileRecord[]>;
  fileByName(filename: string): Promise<FileRecord | undefined>;
  canUpload(project: string, userId: number): Promise<'new-project' | 'allowed' | 'forbidden'>;
  /**
   * The checks an unsigned upload passes before its bytes are stored, in one read: the project
   * is claimed, what the user may do with it (canUpload), and the file name is taken.
   * recordUpload() checks them again in its transaction.
   */
  uploadChecks(project: string, userId: number, filename: string): Promise<UploadChecks>;
  /**
   * Records an upload and its journal entry in one transaction; creates the project (the
   * uploader becomes its owner) when it is new. Throws StateConflictError on a duplicate file
   * name, a project the user may not upload to, or a new name too similar to an existing
   * project's (NAME_TOO_SIMILAR, also for two look-alike new names recorded at once).
   */
  recordUpload(file: NewFile, displayName: string, now: string): Promise<{ seq: number; fileId: number }>;

  /**
   * Yanks (or un-yanks) the files of a release, or one file, and journals the change.
   * Throws StateConflictError NOT_OWNER / NOT_FOUND.
   */
  setYanked(
    project: string,
    userId: number,
    which: { version: string } | { filename: string },
    yanked: boolean,
    reason: string | null,
    now: string
  ): Promise<{ seq: number; files: string[] }>;
  /** Adds a maintainer (or owner) to a project. Throws StateConflictError NOT_FOUND. */
  addProjectRole(project: string, userName: string, role: 'owner' | 'maintainer'): Promise<void>;
  projectRoles(project: string): Promise<{ user: string; role: 'owner' | 'maintainer' }[]>;

  // PEP 480 project roles
  delegations(parent?: 'recently-claimed' | 'claimed'): Promise<ProjectDelegation[]>;
  getDelegation(project: string): Promise<ProjectDelegation | undefined>;
  latestProjectRole(project: string): Promise<ProjectRoleVersion | undefined>;
  /**
   * Claims an unclaimed project for its developers' keys, with their first signed project role,
   * as one journaled transaction; a new name is registered with the claimer as owner.
   * Throws StateConflictError NOT_OWNER / ALREADY_CLAIMED / NAME_TOO_SIMILAR.
   */
  recordClaim(p: {
    project: string;
    /** The name as the claimer spelled it, for a project that does not exist yet. */
    displayName: string;
    userId: number;
    delegation: Omit<ProjectDelegation, 'createdAt' | 'parent' | 'project'>;
    role: ProjectRoleVersion;
    now: string;
  }): Promise<{ seq: number }>;
  /**
   * A developer-signed upload: new files (possibly none) and the next project role version.
   * Throws StateConflictError NOT_OWNER / FILE_EXISTS / VERSION_CONFLICT.
   */
  recordSignedUpload(p: { project: string; userId: number; files: NewFile[]; role: ProjectRoleVersion; now: string }): Promise<{ seq: number }>;
  /**
   * After an offline ceremony: moves `projects` from recently-claimed to claimed and stores the
   * offline-signed claimed role (or, with name bins, the claimed bins it changed; `claimed` is
   * then null), in one transaction; they and recently-claimed become dirty.
   * Throws StateConflictError NOT_FOUND when a project is no longer waiting.
   */
  promoteDelegations(projects: readonly string[], claimed: { version: number; bytes: Buffer } | null, now: string, bins?: readonly { role: string; version: number; bytes: Buffer }[]): Promise<void>;
  /**
   * Replaces a project's developer keys. For recently-claimed the change is published with the
   * next snapshot; for claimed it waits for the next offline ceremony. Journaled.
   * Throws StateConflictError NOT_OWNER / NOT_CLAIMED / VERSION_CONFLICT (keys changed meanwhile).
   */
  changeDelegationKeys(p: {
    project: string;
    userId: number;
    expectKeyids: readonly string[];
    keys: Record<string, unknown>;
    keyids: string[];
    threshold: number;
    now: string;
  }): Promise<{ seq: number; pendingCeremony: boolean }>;
  /**
   * Compromise recovery (PEP 480): every project in recently-claimed goes back to unclaimed (its
   * developers register their keys again), and files uploaded to unclaimed or recently-claimed
   * projects at or after `since` are discarded. Both journaled; returns what changed.
   */
  recoverOnlineCompromise(p: { since: string | null; now: string }): Promise<{ unclaimedAgain: string[]; discarded: { project: string; filename: string }[] }>;
  /** An operator replaces a project's developer keys without their signature (they were stolen). */
  replaceDelegationKeys(p: { project: string; keys: Record<string, unknown>; keyids: string[]; threshold: number; now: string }): Promise<{ seq: number; pendingCeremony: boolean }>;
  /** Stores an offline-signed role version for the snapshot process to publish. */
  storeSignedRole(role: string, version: number, bytes: Buffer): Promise<void>;
  /**
   * A role version signed by builders (`wheels-<project>`, issue 15): creates the role's row when
   * new, stores the bytes and marks the role dirty, in one transaction. False when that version
   * was stored already (another process published it first).
   */
  recordBuilderSignedRole(role: string, version: number, bytes: Buffer): Promise<boolean>;
  /** The newest offline-signed version of an offline role (claimed, targets, root). */
  latestSignedRole(role: string): Promise<{ version: number; bytes: Buffer } | undefined>;

  // journal (PEP 480 transaction log)
  pendingJournal(limit: number): Promise<JournalEntry[]>;
  journalEntry(seq: number): Promise<JournalEntry | undefined>;
  /** Applies a project transaction: replaces the project's target rows, marks roles dirty. */
  applyProjectTransaction(project: string, seqs: number[], targets: TargetRow[], now: string, alsoDirty?: readonly string[]): Promise<void>;
  /** Marks roles as changed, for the snapshot process to publish. */
  markDirty(roles: readonly string[]): Promise<void>;
  /** Records new delegated roles (version 0: unpublished, not dirty); existing ones are left as they are. */
  addRoles(names: readonly string[]): Promise<void>;
  failJournal(seqs: number[], error: string): Promise<void>;

  // metadata roles
  roleStates(): Promise<RoleState[]>;
  /** Records a newly published version of a role published outside a snapshot (root). */
  recordRoleVersion(role: RoleState): Promise<void>;
  /** Cheap check: is anything waiting for the worker or the snapshot process? */
  hasPendingWork(): Promise<boolean>;
  /** Dirty roles plus `alsoRebuild` (roles close to expiry), and the applied journal entries. */
  collectPublishInputs(alsoRebuild: readonly string[]): Promise<PublishInputs>;
  /**
   * The target rows of each named role, by path in byte order (the order a bin lists them);
   * an entry for every name, empty when the role lists nothing. Called with a bounded number of
   * roles at a time: after a bulk load every bin is dirty, millions of rows in all. The snapshot
   * process reads roleTargetsCanonical() instead; these rows are its reference in the tests.
   */
  roleTargets(names: readonly string[]): Promise<Map<string, { path: string; entry: string }[]>>;
  /**
   * What the snapshot process signs: each named role's targets as the body of its canonical
   * `"targets":{…}` object, `"path":entry` joined by commas in byte order of path (exactly what
   * binCanonical() builds from roleTargets()), '' when the role lists nothing. Built by the
   * database: one text per role instead of ~550 rows at PyPI size, where parsing the rows cost
   * a publication ~3 ms. Same calling pattern as roleTargets().
   */
  roleTargetsCanonical(names: readonly string[]): Promise<Map<string, string>>;
  /** Records a publication: new role states, published entries, dirty flags cleared. */
  commitPublication(p: {
    /** The leader's lease: refused with NotLeaderError once it is not the current one. */
    lease: Lease;
    roles: RoleState[];
    clearedDirty: { name: string; generation: number }[];
    publishedSeqs: number[];
    snapshotVersion: number;
    timestampBytes: Buffer;
    now: string;
  }): Promise<void>;
  latestTimestamp(): Promise<{ snapshotVersion: number; bytes: Buffer } | undefined>;
  /** The timestamps of the newest `limit` publications, newest first (GC keeps their Merkle trees). */
  recentTimestamps(limit: number): Promise<Buffer[]>;
  /** Roles created at init: stored with their versions. */
  initRoles(roles: RoleState[], targets: TargetRow[]): Promise<void>;
  currentTarget(path: string): Promise<TargetRow | undefined>;
  /** The snapshot versions that published those of `seqs` that are published. */
  publishedVersions(seqs: readonly number[]): Promise<Map<number, number>>;

  // PEP 480 concurrency rules across processes
  /**
   * Runs `fn` as one project transaction holding the project's lock, across every process that
   * shares this store (never two transactions on one project; the roles fn locks through
   * tx.lock: never two on one bin; NEW_DELEGATION_LOCK: new claims one at a time). Everything fn
   * writes through `tx` commits together or not at all. Returns `{ busy: true }` without running
   * fn when another transaction holds the project: the caller moves on to other projects.
   */
  withProjectTransaction<T>(project: string, fn: (tx: ProjectTransaction) => Promise<T>): Promise<{ busy: true } | { busy: false; value: T }>;

  // the snapshot leader (one publisher at a time across processes)
  /**
   * Becomes the snapshot leader if nobody holds an unexpired lease (or `replacing` names the
   * current holder's lease, known to be dead), or renews this holder's own lease. Returns the
   * lease, or undefined when another process leads.
   */
  acquireLeadership(holder: string, ttlMs: number, replacing?: Lease): Promise<Lease | undefined>;
  /** Extends a lease; false when it is no longer the current one. */
  renewLeadership(lease: Lease, ttlMs: number): Promise<boolean>;
  /** Ends a lease now, so that another process takes over without waiting for it to expire. */
  releaseLeadership(lease: Lease): Promise<void>;
  leader(): Promise<LeaderInfo | undefined>;
  /**
   * Records the metadata files a publication is about to create (fenced by the lease), so that
   * the next leader removes them if that publication never commits. commitPublication clears them.
   */
  recordPublicationIntent(lease: Lease, paths: readonly string[]): Promise<void>;
  /** Paths of a publication that did not commit. */
  publicationIntents(): Promise<string[]>;
  clearPublicationIntents(lease: Lease): Promise<void>;
  /** Calls `listener` for work announced by other processes; returns a function that stops it. */
  listen(listener: (event: StoreEvent) => void): Promise<() => Promise<void>>;

  // two-factor authentication (issue 14, level 2; tables in two-factor-sql.ts)
  twoFactor(userId: number): Promise<TwoFactorRecord | undefined>;
  /**
   * Turns TOTP on with its first accepted step and the hashes of ten recovery codes, and
   * journals a re-publication of the projects whose two-factor field may change.
   * Throws StateConflictError TWO_FACTOR_ON when it is on already.
   */
  enableTwoFactor(userId: number, secret: string, step: number, recoveryHashes: readonly string[], now: string): Promise<{ seqs: number[] }>;
  /** Turns TOTP off (recovery codes go too); journals as enableTwoFactor does. */
  disableTwoFactor(userId: number, now: string): Promise<{ seqs: number[] }>;
  /** Records an accepted TOTP step; false when that step or a later one was used (replay). */
  useTotpStep(userId: number, step: number): Promise<boolean>;
  /** Spends a recovery code; false when it is not the user's or was used. */
  useRecoveryCode(userId: number, codeHash: string, now: string): Promise<boolean>;
  /** Whether the token with this hash was made from a session that passed the second factor. */
  tokenTwoFactor(tokenHash: string): Promise<boolean>;
  /** Whether the project's owners require two-factor, and its members who do not have it on. */
  projectTwoFactor(project: string): Promise<{ required: boolean; membersWithout: string[] }>;
  /**
   * An owner requires (or stops requiring) two-factor for a project; journaled, so the signed
   * two-factor field of its pages follows. Throws StateConflictError NOT_FOUND / NOT_OWNER.
   */
  setProjectTwoFactor(project: string, userId: number, required: boolean, now: string): Promise<{ seq: number }>;
}

// SPDX-License-Identifier: Apache-2.0
// What the web pages keep besides the index's state: password hashes, browser sessions, the
// CSRF secret and the rendered descriptions, in tables of their own (web_passwords,
// web_sessions, web_session_factors, web_secrets, web_signin_failures, web_descriptions) next to the
// index's, in the same database: the embedded SQLite file (sqlite-web-store.ts) or PostgreSQL
// (pg-web-store.ts), chosen like the state store by openWebStore() (open-web-store.ts). The
// store also reads the index's tables for pages — search, a user's tokens and projects, the
// journal — and never writes them: changes to accounts and projects go through
// Repository/Accounts/StateStore.
// Every method is async, so that one interface serves a synchronous SQLite connection and a
// PostgreSQL pool; both give the same answers (test/storage/web-store.contract.test.ts).
import type { ProtectionLevelName } from '../../repository/protection-levels.js';
import type { UserRecord } from './types.js';

export interface TokenInfo {
  id: number;
  description: string;
  createdAt: string;
  /** Made from a session that passed the second factor. */
  twoFactor: boolean;
}

export interface UserProject {
  name: string;
  displayName: string;
  protection: ProtectionLevelName;
  role: 'owner' | 'maintainer';
  files: number;
  lastUpload: string | null;
}

export interface ProjectListing {
  name: string;
  displayName: string;
  protection: ProtectionLevelName;
  createdAt: string;
  summary: string | null;
  lastUpload: string | null;
}

export interface JournalSummary {
  counts: Record<'pending' | 'applied' | 'published' | 'failed', number>;
  failed: { seq: number; kind: string; project: string; createdAt: string; error: string | null }[];
  lastPublication: { snapshotVersion: number; createdAt: string } | undefined;
}

/**
 * What a project page shows from a wheel's METADATA file: its description rendered to HTML
 * (src/web/description/), and the summary and Requires-Python that the upload form may lack.
 */
export interface StoredDescription {
  html: string | null;
  summary: string | null;
  requiresPython: string | null;
}

export interface WebStore {
  close(): Promise<void>;

  /**
   * A named random secret, made on first use and kept (the CSRF key). Processes that ask at
   * the same time all get the same one.
   */
  secret(name: string, make: () => Buffer): Promise<Buffer>;

  // ---- passwords ------------------------------------------------------------------------
  passwordHash(userId: number): Promise<string | undefined>;
  /** Sets a password and ends the user's other sessions (all of them unless one is kept). */
  setPassword(userId: number, hash: string, now: string, keepSessionHash?: string): Promise<void>;
  /** Replaces a hash with a stronger one of the same password (sessions stay). */
  rehashPassword(userId: number, hash: string): Promise<void>;
  passwordUpdatedAt(userId: number): Promise<string | undefined>;

  // ---- sessions (by the SHA-256 of their id) -----------------------------------------------
  /**
   * Records a session; expired sessions are deleted on the way. `twoFactor`: the sign-in passed
   * the second factor (table web_session_factors), which making an API token requires.
   */
  createSession(idHash: string, userId: number, now: Date, lifetimeMs: number, twoFactor?: boolean): Promise<void>;
  /** The user of a live session, or undefined (unknown or expired). */
  sessionUser(idHash: string, now: Date): Promise<{ user: UserRecord; expiresAt: string; twoFactor: boolean } | undefined>;
  /** The session proved a second factor (enrolment): it is marked so, and the user's other sessions end. */
  secondFactorPassed(idHash: string, userId: number, now: Date): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  /** Ends all of a user's sessions; how many there were. */
  deleteUserSessions(userId: number): Promise<number>;

  // ---- failed sign-ins (shared by every process serving the pages) ----------------------
  /** When each failed sign-in under `key` after `since` happened (ms since the epoch), oldest first. */
  signInFailures(key: string, since: number): Promise<number[]>;
  /** Records a failed sign-in under `key`; failures at or before `forgetBefore` (any key) are dropped. */
  recordSignInFailure(key: string, at: number, forgetBefore: number): Promise<void>;
  /** Forgets the failures under `key` (after a successful sign-in). */
  clearSignInFailures(key: string): Promise<void>;

  // ---- descriptions, rendered once per METADATA file ----------------------------------------
  /** The rendering of the METADATA file with this SHA-256, if `renderer` made it. */
  storedDescription(metadataSha256: string, renderer: string): Promise<StoredDescription | undefined>;
  /** Keeps a rendering, replacing one an earlier renderer made. */
  storeDescription(metadataSha256: string, renderer: string, description: StoredDescription): Promise<void>;

  // ---- reads of the index's tables ----------------------------------------------------
  userById(id: number): Promise<UserRecord | undefined>;
  /** A user's API tokens: what they are for and when they were made (never the secret). */
  tokens(userId: number): Promise<TokenInfo[]>;
  /** The projects a user owns or maintains, by name. */
  userProjects(userId: number): Promise<UserProject[]>;
  /**
   * Projects whose name or a summary contains every word (name words are matched normalized;
   * letter case is ignored for ASCII letters only), best candidates first (exact name, name
   * prefix, name contains; better protected first; then by name), so that the limit drops the
   * weakest matches.
   */
  searchProjects(words: readonly string[], normalized: string, limit: number): Promise<ProjectListing[]>;
  /** Projects by their latest upload, newest first; projects without files last; then by name. */
  recentProjects(limit: number): Promise<ProjectListing[]>;
  protectionCounts(): Promise<Record<ProtectionLevelName, number>>;
  userCounts(): Promise<{ users: number; admins: number; withPassword: number }>;
  journalSummary(failedLimit: number): Promise<JournalSummary>;
}

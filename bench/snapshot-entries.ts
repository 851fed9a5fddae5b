// SPDX-License-Identifier: Apache-2.0
// Snapshot entries as the snapshot process writes them. Since the PEP 480 Table 1 change, an
// entry carries the role file's length and SHA-256 beside its version (about four times the
// bytes of a version-only entry). The call below compiles against either form of
// SnapshotMeta.set, and entryFormat() says which one this build writes, so the figures are
// always those of the code under test.
import { createHash } from 'node:crypto';
import { SnapshotMeta } from '../src/repository/metadata-builder.js';
import { BIN_PREFIX, binBitLength, ROLES } from '../src/repository/layout.js';
import { MetaFile, SuccinctRoles } from '../src/tuf/index.js';

type RoleFile = { length: number; sha256: string };
type SetWithFile = (role: string, version: number, file?: RoleFile) => void;

export const DELEGATORS: readonly string[] = [ROLES.targets, ROLES.claimed, ROLES.recentlyClaimed, ROLES.unclaimed];

export function binsOf(n: number): SuccinctRoles {
  return new SuccinctRoles([], 1, binBitLength(n), BIN_PREFIX);
}

/** A plausible file for a role at a version: an empty bin is about 350 bytes. */
export function roleFile(role: string, version: number): RoleFile {
  return { length: 350 + (version % 1000), sha256: createHash('sha256').update(`${role}@${version}`).digest('hex') };
}

let versionOnly = false;
/** Benchmark the old entries (version only) instead of what this build writes: to compare. */
export function useVersionOnlyEntries(on: boolean): void {
  versionOnly = on;
  format = undefined;
}

export function setEntry(meta: SnapshotMeta, role: string, version: number): void {
  if (versionOnly) (meta.set as SetWithFile).call(meta, role, version);
  else (meta.set as SetWithFile).call(meta, role, version, roleFile(role, version));
}

let format: 'version, length, sha256' | 'version only' | undefined;
/** What a snapshot entry holds in this build. */
export function entryFormat(): 'version, length, sha256' | 'version only' {
  if (!format) {
    const m = new SnapshotMeta();
    setEntry(m, 'probe', 1);
    format = m.canonical(1, new Date()).includes('"hashes"') ? 'version, length, sha256' : 'version only';
  }
  return format;
}

/** The same entry as a model, for the generic path. */
export function metaFile(role: string, version: number): MetaFile {
  if (entryFormat() === 'version only') return new MetaFile(version);
  const f = roleFile(role, version);
  return new MetaFile(version, f.length, { sha256: f.sha256 });
}

/** A SnapshotMeta listing every targets role (delegators and n bins), filled as SnapshotProcess.init() fills it. */
export function fullMeta(n: number): SnapshotMeta {
  const meta = new SnapshotMeta();
  for (const role of DELEGATORS) setEntry(meta, role, 1);
  for (const bin of binsOf(n).roleNames()) setEntry(meta, bin, 1);
  return meta;
}

// SPDX-License-Identifier: Apache-2.0
// Builds the canonical JSON of the roles the snapshot process re-signs all the time (bins,
// snapshot, timestamp) straight from cached fragments, in time linear in their size. Building
// a model and encoding it generically would cost several times as much on a 16,384-entry
// snapshot; the tests check that both give the same bytes.
import { canonicalString, compareCodePoints, formatExpires, SPEC_VERSION } from '../tuf/index.js';

/** `{"_type":"targets",…}` for a role with targets and no delegations (a hashed bin). */
export function binCanonical(version: number, expires: Date, targets: readonly { path: string; entry: string }[]): string {
  const parts: string[] = new Array<string>(targets.length);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as { path: string; entry: string };
    parts[i] = `${canonicalString(t.path)}:${t.entry}`;
  }
  return `{"_type":"targets","expires":"${formatExpires(expires)}","spec_version":"${SPEC_VERSION}","targets":{${parts.join(',')}},"version":${version}}`;
}

/** Canonical fragment of one target: `{"hashes":{"sha256":"…"},"length":N}`. */
export function targetEntry(sha256: string, length: number): string {
  return `{"hashes":{"sha256":"${sha256}"},"length":${length}}`;
}

/**
 * The versions of every targets role the snapshot lists, kept sorted, with each entry's
 * fragment cached: publishing re-joins the fragments instead of re-encoding 16,384 objects.
 */
export class SnapshotMeta {
  private versions = new Map<string, number>();
  private fragments = new Map<string, string>();
  private sorted: string[] = [];
  private sortedValid = true;

  /**
   * Lists a role at a version, with the length and SHA-256 of its file. The hashes are what make
   * a targets-type key alone useless to an attacker (PEP 480 Table 1): without them, whoever
   * holds the unclaimed (or a project's) key could re-sign a role under the version the snapshot
   * names and clients that have not cached it would accept it.
   */
  set(role: string, version: number, file?: { length: number; sha256: string }): void {
    if (!this.versions.has(role)) this.sortedValid = false;
    this.versions.set(role, version);
    const meta = file ? `{"hashes":{"sha256":"${file.sha256}"},"length":${file.length},"version":${version}}` : `{"version":${version}}`;
    this.fragments.set(role, `${canonicalString(`${role}.json`)}:${meta}`);
  }

  /** A copy to stage a publication on; the original changes only once it is committed. */
  clone(): SnapshotMeta {
    // Sort the original, not each throw-away clone: publications serialize clones, so an
    // unsorted original would be sorted again (16,384 names) at every publication.
    this.ensureSorted();
    const c = new SnapshotMeta();
    for (const [role, version] of this.versions) c.versions.set(role, version);
    for (const [role, fragment] of this.fragments) c.fragments.set(role, fragment);
    c.sorted = this.sorted;
    c.sortedValid = this.sortedValid;
    return c;
  }

  get(role: string): number | undefined {
    return this.versions.get(role);
  }

  get size(): number {
    return this.versions.size;
  }

  private ensureSorted(): void {
    if (this.sortedValid) return;
    // Sort by the file name as it appears in the JSON (`bins-0000.json`), by code point.
    this.sorted = [...this.versions.keys()].sort((a, b) => compareCodePoints(`${a}.json`, `${b}.json`));
    this.sortedValid = true;
  }

  canonical(version: number, expires: Date): string {
    this.ensureSorted();
    const parts = new Array<string>(this.sorted.length);
    for (let i = 0; i < this.sorted.length; i++) parts[i] = this.fragments.get(this.sorted[i] as string) as string;
    return `{"_type":"snapshot","expires":"${formatExpires(expires)}","meta":{${parts.join(',')}},"spec_version":"${SPEC_VERSION}","version":${version}}`;
  }
}

export function timestampCanonical(version: number, expires: Date, snapshot: { version: number; length: number; sha256: string }): string {
  return `{"_type":"timestamp","expires":"${formatExpires(expires)}","meta":{"snapshot.json":{"hashes":{"sha256":"${snapshot.sha256}"},"length":${snapshot.length},"version":${snapshot.version}}},"spec_version":"${SPEC_VERSION}","version":${version}}`;
}

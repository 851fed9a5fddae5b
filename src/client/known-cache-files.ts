// SPDX-License-Identifier: Apache-2.0
// Which metadata cache files this process knows the content of: the SHA-256 of the bytes it
// last read there and verified, or verified and wrote there (for a Merkle tree file, its name:
// the hash it proves). A long-lived client (the pip proxy)
// refreshes every few seconds and walks the same roles; when the verified listing names the same
// SHA-256 as the file it knows, the role verified in memory (src/tuf/verified-role-memo.ts) is
// those very bytes, and the file need not be read and hashed again.
//
// Trust never rests on this: what is recalled was verified from bytes with that hash, and is
// checked against this update (version, expiry, keys) as a loaded file is. It only decides that
// the cache need not be read, or written, for this role: a file changed behind our back by
// another process is the cache's business, read again once the listing names other bytes.

const known = new Map<string, string>();
/** Files remembered (a path and a hash each); past it, everything is forgotten at once. */
const MAX_FILES = 100_000;

/** Records that `path` holds bytes with this SHA-256 (hex) or content name, or, with undefined, that we do not know. */
export function noteCacheFile(path: string, sha256: string | undefined): void {
  if (sha256 === undefined) {
    known.delete(path);
    return;
  }
  if (known.size >= MAX_FILES) known.clear();
  known.set(path, sha256.toLowerCase());
}

/** Whether this process put or read and verified bytes with this SHA-256 at `path`. */
export function cacheFileHolds(path: string, sha256: string): boolean {
  return known.get(path) === sha256.toLowerCase();
}

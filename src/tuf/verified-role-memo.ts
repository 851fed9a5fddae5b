// SPDX-License-Identifier: Apache-2.0
// Roles already parsed and signature-checked in this process, by their exact bytes and the exact
// keys that checked them: delegated targets roles, and the root and timestamp every update
// starts with. A long-lived client (the pip proxy) starts a new
// update every few seconds and walks the same delegations each time: targets → claimed → a name
// bin → a project role. Parsing and verifying a 190 KB `claimed` costs ~8 ms; its SHA-256 ~0.3 ms.
//
// Why this is sound: parsing is a function of the bytes and the role name, and the threshold
// check a function of the bytes and the (keyid → public key, threshold) it was given. An entry is
// found only for the same role name, the same SHA-256 of the bytes and the same keys and
// threshold, so it answers exactly what a new check would. Everything that depends on the
// update (the version the snapshot or Merkle leaf names, expiry at this update's reference time,
// the role's self-naming field) is checked by the caller every time, memo or not.
import { createHash } from 'node:crypto';
import type { Key } from './keys.js';
import type { RoleKeys } from './models/delegations.js';
import type { Metadata } from './models/metadata.js';
import type { AnySigned } from './models/roles.js';

/** At most this many bytes of source metadata are remembered (least recently used go first). */
const MAX_BYTES = 64 * 2 ** 20;

const entries = new Map<string, { md: Metadata; size: number }>();
let heldBytes = 0;

/**
 * The memo's key: role name, SHA-256 of the bytes, threshold and every authorized key's public
 * value. `sha256` must be the bytes' digest, checked (the hash the verified snapshot or Merkle
 * leaf lists, once the bytes matched it, or to recall without the bytes); else it is computed.
 */
export function verifiedRoleKey(roleName: string, bytes: Uint8Array | undefined, sha256: string | undefined, roleKeys: RoleKeys, keys: ReadonlyMap<string, Key>): string {
  if (sha256 === undefined && bytes === undefined) throw new TypeError('verifiedRoleKey needs the bytes or their SHA-256');
  const digest = sha256 ?? createHash('sha256').update(bytes as Uint8Array).digest('hex');
  const keyParts = roleKeys.keyids.map((id) => {
    const k = keys.get(id);
    return k ? `${id}=${k.keytype}/${k.scheme}/${k.publicValue}` : `${id}=?`;
  });
  return `${roleName}\n${digest}\n${roleKeys.threshold}\n${keyParts.join('\n')}`;
}

/**
 * The key of a root verified against its own keys and threshold (§5.2): that check is a function
 * of the bytes alone.
 */
export function selfSignedRootKey(bytes: Uint8Array): string {
  return `root (self-signed)\n${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The role remembered under `key`; its type is the one remembered under it (keys name the role). */
export function recallVerifiedRole<T extends AnySigned>(key: string): Metadata<T> | undefined {
  const hit = entries.get(key);
  if (!hit) return undefined;
  entries.delete(key); // most recently used last
  entries.set(key, hit);
  return hit.md as Metadata<T>;
}

export function rememberVerifiedRole(key: string, md: Metadata): void {
  if (entries.has(key)) return;
  const size = md.bytes.byteLength;
  if (size > MAX_BYTES) return;
  entries.set(key, { md, size });
  heldBytes += size;
  for (const [k, e] of entries) {
    if (heldBytes <= MAX_BYTES) break;
    entries.delete(k);
    heldBytes -= e.size;
  }
}

/** For tests: forget everything. */
export function clearVerifiedRoles(): void {
  entries.clear();
  heldBytes = 0;
}

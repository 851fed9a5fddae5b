// SPDX-License-Identifier: Apache-2.0
// A change of a project's developer keys (PEP 480: "an existing verified identity signs for the
// new one"): a small signed document naming the keys and threshold before and after, signed
// by a threshold of the keys trusted now. Naming the current keys makes an old change useless
// to replay once the keys moved on; the expiry bounds how long a signed change stays usable.
import { canonicalBytes, expiresIn, formatExpires, Key, parseExpires, verifyThreshold, type Signature, type Signer } from '../tuf/index.js';

export const DELEGATION_CHANGE_TYPE = 'bulwark-delegation-change';

export interface DelegationChange {
  _type: typeof DELEGATION_CHANGE_TYPE;
  project: string;
  previous_keyids: string[];
  keys: Record<string, unknown>;
  threshold: number;
  expires: string;
}

export interface SignedDelegationChange {
  signed: DelegationChange;
  signatures: Signature[];
}

export class DelegationChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DelegationChangeError';
  }
}

export async function signDelegationChange(
  change: Omit<DelegationChange, '_type' | 'expires'>,
  signers: readonly Signer[],
  now = new Date()
): Promise<SignedDelegationChange> {
  const signed: DelegationChange = { _type: DELEGATION_CHANGE_TYPE, ...change, expires: formatExpires(expiresIn(now, 86_400)) };
  const bytes = canonicalBytes(signed);
  return { signed, signatures: await Promise.all(signers.map((s) => s.sign(bytes))) };
}

/**
 * Checks a change against the keys trusted now; returns the new keys.
 * @throws DelegationChangeError saying what is wrong
 */
export function verifyDelegationChange(
  doc: unknown,
  project: string,
  current: { keys: Record<string, unknown>; keyids: readonly string[]; threshold: number },
  now = new Date()
): { keys: Map<string, Key>; threshold: number } {
  const d = doc as Partial<SignedDelegationChange>;
  const s = d.signed;
  if (!s || s._type !== DELEGATION_CHANGE_TYPE || !Array.isArray(d.signatures)) throw new DelegationChangeError('not a signed delegation change');
  if (s.project !== project) throw new DelegationChangeError(`the change is for ${String(s.project)}, not ${project}`);
  try {
    if (parseExpires(s.expires, 'change').getTime() <= now.getTime()) throw new DelegationChangeError('the signed change has expired: sign it again');
  } catch (e) {
    if (e instanceof DelegationChangeError) throw e;
    throw new DelegationChangeError((e as Error).message);
  }
  if (!Array.isArray(s.previous_keyids) || s.previous_keyids.length !== current.keyids.length || current.keyids.some((k) => !s.previous_keyids.includes(k))) {
    throw new DelegationChangeError('the change was made for other keys than the ones trusted now: sign it again');
  }
  const trusted = new Map<string, Key>();
  for (const [id, k] of Object.entries(current.keys)) trusted.set(id, Key.fromJSON(k, 'key'));
  try {
    verifyThreshold(`delegation change of ${project}`, current, trusted, canonicalBytes(s), d.signatures);
  } catch (e) {
    throw new DelegationChangeError(`${(e as Error).message}: a threshold of the keys trusted now must sign the change`);
  }
  const keys = new Map<string, Key>();
  for (const k of Object.values(s.keys ?? {})) {
    const key = Key.fromJSON(k, 'key');
    if (key.keytype !== 'ed25519' || !/^[0-9a-f]{64}$/.test(key.publicValue)) throw new DelegationChangeError('only ed25519 keys are supported');
    keys.set(key.keyId, key);
  }
  if (keys.size === 0 || !Number.isInteger(s.threshold) || s.threshold < 1 || s.threshold > keys.size) {
    throw new DelegationChangeError(`the threshold must be 1 to ${keys.size} (the number of keys)`);
  }
  return { keys, threshold: s.threshold };
}

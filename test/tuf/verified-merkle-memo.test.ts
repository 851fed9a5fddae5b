// Snapshot Merkle tree files verified once per process (src/tuf/verified-merkle-memo.ts): the
// same bytes under the same name and tree shape are not verified again; any other bytes are,
// so a forged file under a remembered name is still refused.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { leafText, MerkleProofError, MerkleTreeBuilder, verifyNodeFile, type MerkleField } from '../../src/tuf/index.js';
import { clearVerifiedMerkleFiles, recallMerkleFileBytes, verifiedMerkleFile } from '../../src/tuf/verified-merkle-memo.js';

function tree(): { field: MerkleField; name: string; hash: string; bytes: Buffer } {
  const entries = Array.from({ length: 200 }, (_, i) => ({ role: `role-${i}`, leaf: leafText(`role-${i}`, 1 + (i % 3)) }));
  const t = MerkleTreeBuilder.build(64, entries);
  const node = t.allFiles().find((f) => f.name.endsWith('.node.json')) as { name: string; bytes: Buffer };
  return { field: t.field, name: node.name, hash: node.name.slice(0, 64), bytes: node.bytes };
}

describe('verified Merkle tree files are remembered by name, shape and exact bytes', () => {
  beforeEach(() => clearVerifiedMerkleFiles());

  it('the same bytes again are not verified again and give the same result', () => {
    const { field, name, hash, bytes } = tree();
    let calls = 0;
    const verify = (b: Buffer) => () => (calls++, verifyNodeFile(b, hash, 2, field));
    const first = verifiedMerkleFile(name, 'shape', bytes, verify(bytes));
    const again = verifiedMerkleFile(name, 'shape', Buffer.from(bytes), verify(Buffer.from(bytes)));
    assert.equal(calls, 1);
    assert.equal(again, first);
    assert.deepEqual(recallMerkleFileBytes(name), bytes);
  });

  it('other bytes under a remembered name are verified, and a forgery refused', () => {
    const { field, name, hash, bytes } = tree();
    verifiedMerkleFile(name, 'shape', bytes, () => verifyNodeFile(bytes, hash, 2, field));
    // One child hash changed: well-formed, but no longer hashing to the name.
    const text = bytes.toString('utf8');
    const at = text.indexOf('["') + 2;
    const forged = Buffer.from(text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1));
    assert.throws(() => verifiedMerkleFile(name, 'shape', forged, () => verifyNodeFile(forged, hash, 2, field)), MerkleProofError);
    // …and the genuine file is still accepted (re-verified: the failure replaced nothing).
    let calls = 0;
    verifiedMerkleFile(name, 'shape', bytes, () => (calls++, verifyNodeFile(bytes, hash, 2, field)));
    assert.equal(calls, 0);
  });

  it('the same bytes under another tree shape are verified again', () => {
    const { field, name, hash, bytes } = tree();
    verifiedMerkleFile(name, '64/8', bytes, () => verifyNodeFile(bytes, hash, 2, field));
    let calls = 0;
    verifiedMerkleFile(name, '128/8', bytes, () => (calls++, verifyNodeFile(bytes, hash, 2, field)));
    assert.equal(calls, 1);
  });
});

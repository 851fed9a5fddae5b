// Recently-claimed bins (src/repository/recently-claimed-bins.ts): one claim builds and re-signs
// only the bin its name falls in, not every bin; a promotion, a new key, a bin published by
// someone else and a publication that never happened are still caught. The store is a double that
// serves the delegations and the published files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentlyClaimedBins, type SignedRole } from '../../src/repository/recently-claimed-bins.js';
import { metadataBlobPath } from '../../src/repository/layout.js';
import { nameBinOf, nameBinRole } from '../../src/repository/name-bins.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import type { ProjectDelegation, StateStore } from '../../src/storage/state/types.js';
import { Ed25519Signer, Metadata } from '../../src/tuf/index.js';

const BINS = 64;
const EXPIRES = new Date(Date.now() + 86_400_000);
const developer = Ed25519Signer.generate();

function delegation(project: string): ProjectDelegation {
  return {
    project,
    role: `project-${project}`,
    parent: 'recently-claimed',
    keys: { [developer.keyId]: developer.publicKey.toJSON() },
    keyids: [developer.keyId],
    threshold: 1,
    createdAt: '2026-12-03T00:00:00Z',
  };
}

/** The index's side: delegations in the state, published role files by version. */
function index() {
  const delegations = new Map<string, ProjectDelegation>();
  const versions = new Map<string, number>();
  const files = new Map<string, Buffer>();
  const state = { delegations: async () => [...delegations.values()] } as unknown as StateStore;
  const blobs = { get: async (path: string) => files.get(path) } as unknown as BlobStore;
  const bins = new RecentlyClaimedBins(state, blobs, (name) => versions.get(name) ?? 0, BINS);
  const publish = (roles: SignedRole[]) => {
    for (const r of roles) {
      versions.set(r.name, r.version);
      files.set(metadataBlobPath(r.name, r.version), r.bytes);
    }
    return roles.map((r) => r.name).sort();
  };
  return { delegations, versions, files, bins, publish };
}

const binOf = (project: string) => nameBinRole('recently-claimed', nameBinOf(project, BINS), BINS);
const projects = (r: SignedRole) => [...(Metadata.parse(r.bytes, 'targets', r.name).signed.delegations?.roles?.keys() ?? [])];

describe('recently-claimed bins: a claim touches only its own bin', () => {
  it('one claim builds and re-signs the one bin its name falls in', async () => {
    const ix = index();
    const signer = Ed25519Signer.generate();
    for (let i = 0; i < 300; i++) ix.delegations.set(`proj-${i}`, delegation(`proj-${i}`));
    const first = ix.publish(await ix.bins.changed(signer, EXPIRES, new Set()));
    assert.equal(first.length, BINS + 1, 'the first call signs recently-claimed and every bin');

    ix.delegations.set('newcomer', delegation('newcomer'));
    const roles = await ix.bins.changed(signer, EXPIRES, new Set());
    assert.deepEqual(ix.publish(roles), [binOf('newcomer')]);
    assert.equal(ix.bins.binsBuilt, 1, 'the other bins were not built');
    assert.ok(projects(roles[0] as SignedRole).includes('project-newcomer'));

    assert.deepEqual(await ix.bins.changed(signer, EXPIRES, new Set()), [], 'nothing changed: nothing signed');
    assert.equal(ix.bins.binsBuilt, 0);
  });

  it('still catches a promotion, a new key, a bin published by someone else, and a signed bin never published', async () => {
    const ix = index();
    const signer = Ed25519Signer.generate();
    for (let i = 0; i < 100; i++) ix.delegations.set(`proj-${i}`, delegation(`proj-${i}`));
    ix.publish(await ix.bins.changed(signer, EXPIRES, new Set()));

    // A promotion: the project leaves recently-claimed, its bin is signed without it.
    ix.delegations.delete('proj-7');
    const promoted = await ix.bins.changed(signer, EXPIRES, new Set());
    assert.deepEqual(ix.publish(promoted), [binOf('proj-7')]);
    assert.ok(!projects(promoted[0] as SignedRole).includes('project-proj-7'));

    // Signed but never published (the publication failed): built and signed again next time.
    ix.delegations.set('lost', delegation('lost'));
    assert.deepEqual((await ix.bins.changed(signer, EXPIRES, new Set())).map((r) => r.name), [binOf('lost')]);
    assert.deepEqual(ix.publish(await ix.bins.changed(signer, EXPIRES, new Set())), [binOf('lost')]);

    // Another process published a bin (its version moved): compared again, and equal, not re-signed.
    const other = binOf('proj-3');
    const v = ix.versions.get(other) ?? 0;
    ix.files.set(metadataBlobPath(other, v + 1), ix.files.get(metadataBlobPath(other, v)) as Buffer);
    ix.versions.set(other, v + 1);
    assert.deepEqual(await ix.bins.changed(signer, EXPIRES, new Set()), []);
    assert.equal(ix.bins.binsBuilt, 1);

    // A new recently-claimed key: every bin is signed again with it.
    const rotated = ix.publish(await ix.bins.changed(Ed25519Signer.generate(), EXPIRES, new Set()));
    assert.equal(rotated.length, BINS + 1);
  });
});

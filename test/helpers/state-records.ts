// SPDX-License-Identifier: Apache-2.0
// Records for tests that fill a StateStore directly (the state store and web store contracts):
// a file as an upload records it, role states, a developer delegation, a signed project role,
// and this test's lease as the snapshot leader.
import assert from 'node:assert/strict';
import type { Lease, NewFile, RoleState, StateStore } from '../../src/storage/state/types.js';

export const NOW = '2025-01-01T00:00:00.000Z';

/** This test's lease as the snapshot leader (commitPublication is fenced by it). */
export async function lead(s: StateStore): Promise<Lease> {
  const lease = await s.acquireLeadership('contract-test', 600_000);
  assert.ok(lease, 'the test leads');
  return lease;
}

export function file(project: string, filename: string, uploaderId: number, extra: Partial<NewFile> = {}): NewFile {
  return {
    project,
    version: '1.0',
    filename,
    packagetype: filename.endsWith('.whl') ? 'bdist_wheel' : 'sdist',
    pythonVersion: filename.endsWith('.whl') ? 'py3' : 'source',
    requiresPython: null,
    size: 1234,
    sha256: 'a'.repeat(64),
    md5: null,
    metadataSha256: null,
    metadataSize: null,
    uploadTime: NOW,
    uploaderId,
    summary: null,
    ...extra,
  };
}

export function role(name: string, version = 1): RoleState {
  return { name, version, expires: '2030-01-01T00:00:00Z', length: 100 + version, sha256: 'b'.repeat(64) };
}

export const BASE_ROLES = ['root', 'timestamp', 'snapshot', 'targets', 'claimed', 'recently-claimed', 'unclaimed', 'bins-0', 'bins-1'];

export const delegation = (role: string, keyid = 'k1') => ({ role, keys: { [keyid]: { keytype: 'ed25519', keyval: { public: keyid } } }, keyids: [keyid], threshold: 1 });

export const roleBytes = (project: string, version: number) => ({ project, version, bytes: Buffer.from(`{"signed":{"v":${version}},"p":"${project}","bin":"\u0000\u00ff"}`, 'latin1') });

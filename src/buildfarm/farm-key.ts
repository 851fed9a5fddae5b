// SPDX-License-Identifier: Apache-2.0
// The build farm's key: an Ed25519 key of the index (keys/build-farm.pem, 0600), made the first
// time the farm or the API needs it. It signs the farm's attestations, build reports and its
// share of each wheels role; alone it can never publish a wheel (the delegation needs ≥ 2 keys).
import { join } from 'node:path';
import { Ed25519Signer, type Signer } from '../tuf/index.js';
import { createFileExclusive } from '../storage/atomic-write.js';
import { loadSigner } from '../repository/keyring.js';

export const FARM_KEY_FILE = 'keys/build-farm.pem';

export async function loadOrCreateFarmKey(dataDir: string): Promise<Signer> {
  try {
    return await loadSigner(`file:${FARM_KEY_FILE}`, dataDir);
  } catch {
    // Two processes may get here at once: the first file wins, and both load it.
    const fresh = Ed25519Signer.generate();
    await createFileExclusive(join(dataDir, FARM_KEY_FILE), fresh.exportPkcs8Pem(), 0o600);
    return loadSigner(`file:${FARM_KEY_FILE}`, dataDir);
  }
}

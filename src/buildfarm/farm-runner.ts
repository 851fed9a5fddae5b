// SPDX-License-Identifier: Apache-2.0
// One pass of `bulwark build-farm` on the index: build every developer-signed sdist of an
// opted-in project that the farm has not built yet, report each build (the farm's wheel bytes
// are kept for publication), and move every opted-in project on (a publication a crash cut
// short is finished here).
import { createHash } from 'node:crypto';
import type { BlobStore } from '../storage/blob-store.js';
import { crashPoint } from '../storage/crash-points.js';
import { targetBlobPath, targetPath } from '../repository/layout.js';
import type { Signer } from '../tuf/index.js';
import { signedBuildReport } from './build-report.js';
import type { BuildFarm } from './farm-service.js';
import { buildWheel, type NetworkIsolation } from './isolated-build.js';

export interface BuilderSettings {
  isolation: NetworkIsolation;
  timeoutMs: number;
  memoryBytes: number;
  /** The builder's identity in attestations (a URI). */
  builderId: string;
  /** Directories builds must not see (data directory, keys, caches). */
  hide: string[];
}

export interface PassResult {
  built: { project: string; sdist: string; ok: boolean; wheel?: string; sha256?: string; reason?: string }[];
}

export async function runFarmPass(farm: BuildFarm, blobs: BlobStore, key: Signer, settings: BuilderSettings): Promise<PassResult> {
  const result: PassResult = { built: [] };
  for (const item of await farm.queue(key.keyId)) {
    const blob = targetBlobPath(targetPath(item.project, item.filename), item.sha256);
    const bytes = await blobs.get(blob);
    if (!bytes || createHash('sha256').update(bytes).digest('hex') !== item.sha256) {
      result.built.push({ project: item.project, sdist: item.filename, ok: false, reason: 'the signed sdist is not in the store' });
      continue;
    }
    const started = new Date();
    const outcome = await buildWheel({ sdist: { filename: item.filename, bytes }, ...settings });
    crashPoint('build:after-build');
    const { signed, log } = await signedBuildReport(item.project, { filename: item.filename, sha256: item.sha256 }, outcome, key, settings.builderId, started, new Date());
    await farm.recordReport(signed, log, outcome.ok ? { bytes: outcome.wheel.bytes, metadata: outcome.metadata } : undefined);
    result.built.push(
      outcome.ok
        ? { project: item.project, sdist: item.filename, ok: true, wheel: outcome.wheel.filename, sha256: outcome.wheel.sha256 }
        : { project: item.project, sdist: item.filename, ok: false, reason: outcome.reason }
    );
  }
  for (const p of await farm.optedIn()) await farm.advance(p.project);
  return result;
}

// SPDX-License-Identifier: Apache-2.0
// One planned upload (bench/pypi-scale-data.ts) through the real path, for the PyPI-scale
// benchmarks: UploadService.upload (file stored, journal entry) → transaction worker → snapshot
// process, until the publication that lists it is out.
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Repository } from '../src/repository/repository.js';
import type { UploadForm } from '../src/repository/uploads.js';
import type { UserRecord } from '../src/storage/state/types.js';
import { seededBytes } from './common.js';
import type { PlannedUpload } from './pypi-scale-data.js';
import { sdistParts } from '../test/helpers/memory-dists.js';

const sha = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');

/** Times of one upload: `upload()` alone, and from `upload()` until it is published. */
export interface UploadTiming {
  seq: number;
  recordMs: number;
  endToEndMs: number;
}

/**
 * Uploads `u` as the k-th upload of a run (its bytes from `seed + k`) and waits `until` it is
 * done: by default until the publication that lists it is out.
 */
export async function uploadPlanned(
  repo: Repository,
  user: UserRecord,
  u: PlannedUpload,
  k: number,
  seed: number,
  until: (seq: number) => Promise<unknown> = (seq) => repo.publisher.waitForSeq(seq)
): Promise<UploadTiming> {
  // The HTTP layer hands over a file already on disk (fsynced) with its digests
  // (src/server/http/receive-file.ts): made before timing.
  const bytes = Buffer.concat(sdistParts({ name: u.displayName, version: u.version }, [seededBytes(seed + k, u.size)]));
  await mkdir(repo.tmpDir, { recursive: true });
  const tmpPath = join(repo.tmpDir, `bench-upload-${k}`);
  const fh = await open(tmpPath, 'w');
  await fh.writeFile(bytes);
  await fh.sync();
  await fh.close();
  const digests = { sha256: sha('sha256', bytes), md5: sha('md5', bytes) };
  const form: UploadForm = new Map([
    [':action', ['file_upload']],
    ['protocol_version', ['1']],
    ['name', [u.displayName]],
    ['version', [u.version]],
    ['filetype', ['sdist']],
    ['pyversion', ['source']],
    ['sha256_digest', [digests.sha256]],
    ['md5_digest', [digests.md5]],
  ]);
  const ta = performance.now();
  const receipt = await repo.uploads.upload(user, form, { tmpPath, filename: u.filename, size: bytes.length, ...digests });
  const tb = performance.now();
  await until(receipt.seq);
  return { seq: receipt.seq, recordMs: tb - ta, endToEndMs: performance.now() - ta };
}

// SPDX-License-Identifier: Apache-2.0
// The download weights config.json names for the /admin/ chart ("protectionWeights"), read once
// and kept while the file is unchanged: the full PyPI ranks file takes seconds to parse.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { RepositoryConfig } from '../repository/config.js';
import { readDownloadWeights, WeightsFileError, type DownloadWeights, type WeightKind } from './download-weights.js';

let cached: { key: string; weights: DownloadWeights } | undefined;

/** undefined when config.json names no weights file; WeightsFileError when it names a bad one. */
export async function configuredWeights(dataDir: string, config: RepositoryConfig): Promise<DownloadWeights | undefined> {
  const setting: unknown = config.protectionWeights;
  if (setting === undefined) return undefined;
  const s = setting as Record<string, unknown>;
  const kind: WeightKind | undefined = typeof s?.['ranks'] === 'string' ? 'ranks' : typeof s?.['downloads'] === 'string' ? 'downloads' : undefined;
  if (!kind) throw new WeightsFileError('config.json', undefined, '"protectionWeights" must be {"ranks": "FILE"} or {"downloads": "FILE"}');
  const file = resolve(dataDir, s[kind] as string);
  let info;
  try {
    info = await stat(file);
  } catch (e) {
    throw new WeightsFileError(file, undefined, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): fix "protectionWeights" in config.json`);
  }
  const key = `${kind}\0${file}\0${info.mtimeMs}\0${info.size}`;
  if (cached?.key !== key) cached = { key, weights: await readDownloadWeights(file, kind) };
  return cached.weights;
}

// SPDX-License-Identifier: Apache-2.0
// Offline ceremonies for bench/pypi-claiming-bench.ts, with the library functions behind
// `bulwark admin promote --export`, `bulwark admin sign` and `bulwark admin promote --import`
// (and `bulwark migrate`): the file is written to disk and read back as the commands would
// carry it to and from the offline machine, signed with the demo repository's claimed key.
import { readFile, writeFile } from 'node:fs/promises';
import { signCeremonyFile, type CeremonyFile, type CeremonySummary } from '../src/repository/ceremony.js';
import { loadSigner } from '../src/repository/keyring.js';
import type { Repository } from '../src/repository/repository.js';

export interface CeremonyTiming {
  /** projects promoted (0 for a migration) */
  projects: number;
  /** roles the file carries */
  roles: number;
  /** the exported (unsigned) and the signed file, bytes as carried */
  exportedBytes: number;
  signedBytes: number;
  exportMs: number;
  /** offline: read the file, sign every role it carries, write it */
  signMs: number;
  importMs: number;
}

/** Export → sign offline (the demo claimed key) → import, each step timed. */
export async function runCeremony(
  repo: Repository,
  file: string,
  exportFn: (repo: Repository) => Promise<CeremonyFile>,
  importFn: (repo: Repository, file: CeremonyFile) => Promise<CeremonySummary>
): Promise<CeremonyTiming> {
  const dir = repo.config.demoOfflineKeysDir;
  if (!dir) throw new Error('the claiming benchmark needs a demo repository (its claimed key signs the ceremonies)');
  const t0 = performance.now();
  const exported = `${JSON.stringify(await exportFn(repo))}\n`;
  await writeFile(file, exported);
  const t1 = performance.now();
  const claimedKey = await loadSigner(`file:${dir}/claimed.pem`, repo.dataDir);
  const signedFile = await signCeremonyFile(JSON.parse(await readFile(file, 'utf8')) as CeremonyFile, [claimedKey]);
  const signed = `${JSON.stringify(signedFile)}\n`;
  await writeFile(`${file}.signed`, signed);
  const t2 = performance.now();
  const summary = await importFn(repo, JSON.parse(await readFile(`${file}.signed`, 'utf8')) as CeremonyFile);
  const t3 = performance.now();
  return {
    projects: summary.promote.length,
    roles: 1 + (signedFile.roles?.length ?? 0),
    exportedBytes: Buffer.byteLength(exported),
    signedBytes: Buffer.byteLength(signed),
    exportMs: t1 - t0,
    signMs: t2 - t1,
    importMs: t3 - t2,
  };
}

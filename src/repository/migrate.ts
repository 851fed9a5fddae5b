// SPDX-License-Identifier: Apache-2.0
// `bulwark migrate`: moves a repository made before name bins (claimed and recently-claimed
// delegating to every project directly) to the layout of ADR 0005. claimed and its bins are
// offline roles, so this is a ceremony like a promotion:
//   1. export: the next claimed (delegating to the bins) and every claimed bin (version 1, with
//      the projects claimed now), unsigned, in one ceremony file. Nothing published changes.
//   2. the claimed key holders sign it (`bulwark admin sign`).
//   3. import: checked against what the index would export now, then recorded in one
//      transaction with the bins' roles; the snapshot process publishes claimed and its bins
//      together, and (once the index runs with the new layout) recently-claimed and its bins,
//      re-signed online. Until 3, the old layout stays published and fully working.
import { ROLE_NAME_FIELD, canonicalFileText, encodeCanonical, expiresIn, Metadata, RepositoryError, type Key, type Targets } from '../tuf/index.js';
import { binDelegator, groupByBin, projectBin } from './bin-delegations.js';
import { CeremonyError, claimedKeysOfTargets, publishedTargetsRole, type CeremonyFile, type CeremonySummary } from './ceremony.js';
import { saveConfig } from './config.js';
import { ROLES, usesNameBins } from './layout.js';
import { nameBinCountOf, nameBinRoles } from './name-bins.js';
import type { Repository } from './repository.js';

/** Step 1: the unsigned claimed role and claimed bins of the new layout. */
export async function exportMigration(repo: Repository, now = new Date(), onProgress?: (done: number, total: number) => void): Promise<CeremonyFile> {
  if (usesNameBins(repo.config)) throw new CeremonyError(`${repo.dataDir} uses name bins already: nothing to migrate`);
  const current = await publishedTargetsRole(repo, ROLES.claimed);
  const expires = expiresIn(now, repo.config.expiry.claimed);
  const claimed = binDelegator(ROLES.claimed, await claimedKeysOfTargets(repo), current.signed.version + 1, expires, nameBinCountOf(repo.config));
  // The projects claimed now, with the keys clients trust now (a pending key change waits for the next promotion).
  const groups = groupByBin(ROLES.claimed, await repo.state.delegations(ROLES.claimed), nameBinCountOf(repo.config));
  const names = nameBinRoles(ROLES.claimed, nameBinCountOf(repo.config));
  const roles = names.map((name, i) => {
    if (i % 128 === 0) onProgress?.(i, names.length);
    return { name, metadata: { signatures: [], signed: projectBin(name, groups.get(name) ?? [], 1, expires).toJSON() } };
  });
  onProgress?.(names.length, names.length);
  const summary: CeremonySummary = {
    role: ROLES.claimed,
    version: claimed.version,
    expires: expires.toISOString(),
    promote: [],
    keyChanges: [],
    delegations: [...groups.values()].reduce((n, g) => n + g.length, 0),
    bins: names,
  };
  return { metadata: { signatures: [], signed: claimed.toJSON() }, roles, summary };
}

/** Step 3: checks the signed file and records it; the caller's repository switches layout. */
export async function importMigration(repo: Repository, file: CeremonyFile, now = new Date()): Promise<CeremonySummary> {
  // Imported before, and stopped before the layout was switched: finish.
  const recorded = await repo.state.latestSignedRole(ROLES.claimed);
  if (recorded && !usesNameBins(repo.config) && recorded.bytes.equals(Buffer.from(canonicalFileText(encodeCanonical(file.metadata)), 'utf8'))) {
    await saveConfig(repo.dataDir, { ...repo.config, projectDelegations: 'name-bins' });
    return file.summary;
  }
  const expected = await exportMigration(repo, now);
  const parse = (m: unknown, name: string) => {
    try {
      return Metadata.parse(Buffer.from(canonicalFileText(encodeCanonical(m)), 'utf8'), 'targets', name);
    } catch (e) {
      throw new CeremonyError(`${name}: not targets metadata: ${(e as Error).message}`);
    }
  };
  const same = (md: Metadata<Targets>, want: unknown, name: string) => {
    const w = want as { version: number; delegations: unknown };
    if (md.signed.version !== w.version) throw new CeremonyError(`${name} version ${md.signed.version} is not the expected ${w.version}: export again`);
    if (encodeCanonical(md.signed.delegations?.toJSON() ?? null) !== encodeCanonical(w.delegations)) throw new CeremonyError(`${name}: the signed delegations differ from the index's (a project was promoted meanwhile?): export and sign again`);
    if (md.signed.expires.getTime() <= now.getTime()) throw new CeremonyError(`${name} has already expired`);
  };
  const verify = (md: Metadata<Targets>, name: string, roleKeys: { keyids: readonly string[]; threshold: number }, keys: ReadonlyMap<string, Key>) => {
    try {
      md.verifyRole(name, roleKeys, keys);
    } catch (e) {
      if (e instanceof RepositoryError) throw new CeremonyError(`${name}: ${e.message}: have holders of the claimed keys sign it (bulwark admin sign)`);
      throw e;
    }
  };
  const targets = (await publishedTargetsRole(repo, ROLES.targets)).signed.delegations;
  const claimedRoleKeys = targets?.roleKeys(ROLES.claimed);
  if (!targets || !claimedRoleKeys) throw new CeremonyError('targets does not delegate to claimed');
  const claimed = parse(file.metadata, ROLES.claimed);
  verify(claimed, ROLES.claimed, claimedRoleKeys, targets.keys);
  same(claimed, expected.metadata.signed, ROLES.claimed);
  const delegations = claimed.signed.delegations;
  const wantBins = expected.roles ?? [];
  if ((file.roles ?? []).length !== wantBins.length) throw new CeremonyError(`the file carries ${(file.roles ?? []).length} claimed bins, not ${wantBins.length}: sign the file \`bulwark migrate\` wrote`);
  const bins = wantBins.map((want, i) => {
    const got = file.roles?.[i];
    if (got?.name !== want.name) throw new CeremonyError(`claimed bin ${i} is ${String(got?.name)}, not ${want.name}`);
    const md = parse(got.metadata, want.name);
    const rk = delegations?.roleKeys(want.name);
    if (!delegations || !rk) throw new CeremonyError(`the signed claimed does not delegate to ${want.name}`);
    verify(md, want.name, rk, delegations.keys);
    same(md, want.metadata.signed, want.name);
    if (md.signed.unrecognized[ROLE_NAME_FIELD] !== want.name) throw new CeremonyError(`${want.name} names itself ${JSON.stringify(md.signed.unrecognized[ROLE_NAME_FIELD])}`);
    return { role: want.name, version: md.signed.version, bytes: md.bytes };
  });
  // Roles first (unpublished, not dirty), then claimed and its bins in one transaction, then
  // the layout. A crash before the transaction changes nothing published; after it, the tree
  // published is valid in either layout (claimed → bins; recently-claimed direct until the
  // index runs with the new layout), and running the import again finishes it.
  await repo.state.addRoles([...nameBinRoles(ROLES.claimed, nameBinCountOf(repo.config)), ...nameBinRoles(ROLES.recentlyClaimed, nameBinCountOf(repo.config))]);
  await repo.state.promoteDelegations([], { version: claimed.signed.version, bytes: claimed.bytes }, now.toISOString(), bins);
  await saveConfig(repo.dataDir, { ...repo.config, projectDelegations: 'name-bins' });
  return expected.summary;
}

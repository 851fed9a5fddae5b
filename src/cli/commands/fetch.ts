// SPDX-License-Identifier: Apache-2.0
// `bulwark fetch PROJECT`: download a project's files, verified through TUF from the pinned root.
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { compareVersions, normalizeProjectName, normalizeVersion, parseDistributionFilename } from '../../packaging/index.js';
import { metadataDirFor, seedRoot } from '../../client/client-cache.js';
import { describeFailure, VerifiedIndex } from '../../client/verified-index.js';
import type { ProtectionLevelName } from '../../repository/protection-levels.js';
import { wheelsRoleName } from '../../attest/index.js';
import type { Updater } from '../../client/updater.js';
import { projectRoleName } from '../../repository/layout.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { chooseNetworkIsolation } from '../../buildfarm/isolated-build.js';
import { describeReproduction, reproduceFetched, type FetchedBuild, type Reproduction } from '../../buildfarm/verify-build.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { addLevelOptions, levelPolicyFrom, type LevelOptions } from './level-options.js';

interface FetchOptions extends LevelOptions {
  requireAuditor?: boolean;
  version?: string;
  file?: string;
  index: string;
  root?: string;
  dest: string;
  mirror: string[];
  cache?: string;
  verifyBuild?: boolean;
}

interface PageFile {
  filename: string;
  yanked?: boolean | string;
}

interface FetchedFile {
  file: string;
  path: string;
  sha256: string;
  size: number;
  role: string;
  level: ProtectionLevelName;
  verified_build: boolean;
  builders?: { keyid: string; builder_id: string }[];
  built_from?: { filename: string; sha256: string };
  attestations: { path: string; sha256?: string }[];
  /** --verify-build: the local rebuild's verdict. */
  reproduced?: Reproduction;
}

/** The wheels `wheels-<project>` lists, when the developers' verified role delegates to it. */
async function delegatedWheels(updater: Updater, project: string): Promise<string[]> {
  const projectRole = updater.getVerifiedRole(projectRoleName(project));
  const wheelsRole = wheelsRoleName(project);
  if (!projectRole?.signed.delegations?.roles?.has(wheelsRole)) return [];
  // Opted in, but no wheel was verified yet: the builders have not published the role.
  if (!(await updater.isListed(wheelsRole))) return [];
  const wheels = await updater.loadTargets(wheelsRole, projectRoleName(project));
  return [...wheels.signed.targets.keys()].filter((p) => p.startsWith(`${project}/`) && p.endsWith('.whl')).map((p) => p.slice(project.length + 1));
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerFetch(program: Command): void {
  const cmd = program
    .command('fetch <project>')
    .description('download verified files of a project (default: every file of the newest release)')
    .requiredOption('--index <url>', 'base URL of the index (metadata under URL/metadata/, targets under URL/targets/)')
    .option('--root <file>', 'the trusted initial root.json (needed the first time for this index)')
    .option('--version <version>', 'files of this release')
    .option('--file <name>', 'just this file')
    .option('--dest <dir>', 'where to write the files', '.')
    .option('--mirror <url>', 'a mirror with the same layout, tried before the index (repeatable)', collect, [])
    .option('--cache <dir>', 'metadata cache directory (default: per index under ~/.cache/bulwark)')
    .option('--verify-build', "also rebuild each verified wheel from its signed sdist here; bytes are compared only with the builders' tool versions")
    .option('--require-auditor', 'use only timestamps an auditor root names has verified and signed for (refuses with UNAUDITED_TREE, STALE_AUDIT, AUDIT_SIGNATURE or AUDIT_MISMATCH)');
  addLevelOptions(cmd)
    .action(async (project: string, o: FetchOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      const name = normalizeProjectName(project);
      const policy = await levelPolicyFrom(o, 'bulwark fetch');
      const admit = policy ? (level: ProtectionLevelName) => policy.admit(name, level) : undefined;
      const metadataDir = o.cache ? resolve(o.cache) : metadataDirFor(o.index);
      await seedRoot(metadataDir, o.root).catch((e: Error) => {
        throw new CliError(e.message, EXIT.usage, 'NO_ROOT');
      });
      const index = new VerifiedIndex({ indexUrl: o.index, mirrors: o.mirror, metadataDir, maxAgeMs: 60_000, ...(o.requireAuditor ? { requireAuditor: true } : {}) });
      const written: FetchedFile[] = [];
      const builds: FetchedBuild[] = [];
      try {
        let wanted: string[];
        if (o.file) wanted = [o.file];
        else {
          const page = JSON.parse((await index.get(`${name}/index.json`, admit)).bytes.toString('utf8')) as { versions?: string[]; files: PageFile[] };
          const versionOf = (f: string) => {
            try {
              return normalizeVersion(parseDistributionFilename(f).version);
            } catch {
              return undefined; // not a distribution we understand: never selected by version
            }
          };
          const live = page.files.filter((f) => !f.yanked);
          const versions = [...new Set(live.map((f) => versionOf(f.filename)).filter((v): v is string => v !== undefined))].sort(compareVersions);
          const version = o.version !== undefined ? normalizeVersion(o.version) : versions.at(-1);
          wanted = page.files.filter((f) => versionOf(f.filename) === version && (o.version !== undefined || !f.yanked)).map((f) => f.filename);
          // Verified builds (level 4): wheels of this version that the developers delegated.
          for (const wheel of await delegatedWheels(await index.current(), name)) if (versionOf(wheel) === version && !wanted.includes(wheel)) wanted.push(wheel);
          if (wanted.length === 0) throw new CliError(`${name} has no files${o.version ? ` for version ${o.version}` : ''}`, EXIT.notFound, 'NOT_FOUND');
        }
        for (const file of wanted) {
          const t = await index.get(`${name}/${file}`, admit);
          const path = join(resolve(o.dest), file);
          await writeFileAtomic(path, t.bytes);
          written.push({
            file,
            path,
            sha256: t.target.hashes['sha256'] ?? '',
            size: t.bytes.length,
            role: t.role,
            level: t.level,
            verified_build: t.build !== undefined,
            ...(t.build ? { builders: t.build.builders.map((b) => ({ keyid: b.keyid, builder_id: b.builderId })), built_from: t.build.builtFrom } : {}),
            attestations: t.build ? [{ path: t.build.attestation }] : t.attestations.map((a) => ({ path: a.path, sha256: a.sha256 })),
          });
          if (t.build) builds.push({ wheel: { filename: file, sha256: t.target.hashes['sha256'] ?? '' }, builtFrom: t.build.builtFrom, builders: t.build.builders });
        }
        if (o.verifyBuild) {
          const verdicts = await reproduceFetched(builds, async (sdist) => (await index.get(`${name}/${sdist}`, admit)).bytes, chooseNetworkIsolation(true));
          for (const w of written) {
            const r = verdicts.get(w.file);
            if (r) w.reproduced = r;
          }
        }
      } catch (e) {
        if (e instanceof CliError) throw e;
        const f = describeFailure(e);
        throw new CliError(f.message, f.status === 404 ? EXIT.notFound : EXIT.failure, f.code);
      }
      output(
        opts,
        { project: name, files: written },
        written.map((w) => `${w.path}  (${w.size} bytes, ${w.level}, vouched for by ${w.role}${w.built_from ? `; verified build of ${w.built_from.filename} by ${w.builders?.length ?? 0} builders` : ''})${w.reproduced ? `\n  ${describeReproduction(w.reproduced)}` : ''}`).join('\n')
      );
      if (written.some((w) => w.reproduced?.result === 'disagree')) throw new CliError('a verified wheel rebuilt here with the same tools gives different bytes', EXIT.failure, 'BUILD_DISAGREES');
    });
}

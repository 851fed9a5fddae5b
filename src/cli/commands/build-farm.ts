// SPDX-License-Identifier: Apache-2.0
// `bulwark build-farm`: the index's own builder of verified wheels (issue 15). Builds every new
// developer-signed sdist of projects that opted in, reports each build with the farm's key, and
// signs the proposals of wheels roles; a role is published once a threshold of its builders
// (the farm and independent rebuilders) signed the same wheel bytes.
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { loadOrCreateFarmKey } from '../../buildfarm/farm-key.js';
import { BuildFarm } from '../../buildfarm/farm-service.js';
import { runFarmPass } from '../../buildfarm/farm-runner.js';
import { Repository } from '../../repository/repository.js';
import { globalOptions, output } from '../context.js';
import { addBuilderOptions, builderSettings, repeat, type BuilderOptions } from './builder-options.js';

export function registerBuildFarm(program: Command): void {
  addBuilderOptions(program.command('build-farm').description("build opted-in projects' developer-signed sdists into wheels, attest them, and sign their wheels roles")).action(
    async (o: BuilderOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      try {
        const key = await loadOrCreateFarmKey(opts.data);
        // Builds never see the data directory (keys, database, blobs) nor key files kept elsewhere.
        const keyDirs = Object.values(repo.config.onlineKeys)
          .filter((s) => s.startsWith('file:/'))
          .map((s) => dirname(s.slice('file:'.length)));
        const settings = builderSettings(o, `bulwark-build-farm:${key.keyId}`, [opts.data, ...keyDirs]);
        // The serving process publishes: it finds the wheels role marked dirty by its polling.
        const farm = new BuildFarm({ dataDir: opts.data, state: repo.state, blobs: repo.blobs, requestPublication: () => undefined, farmSigner: key });
        await repeat(o.once === true, settings.intervalMs, async () => {
          const r = await runFarmPass(farm, repo.blobs, key, settings);
          if (r.built.length > 0 || o.once) {
            output(opts, r, r.built.map((b) => `${b.project}: ${b.sdist} → ${b.ok ? `${b.wheel} (sha256 ${b.sha256})` : `FAILED: ${b.reason}`}`).join('\n') || 'nothing to build');
          }
        });
      } finally {
        await repo.close();
      }
    }
  );
}

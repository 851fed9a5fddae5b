// SPDX-License-Identifier: Apache-2.0
// Options `bulwark build-farm` and `bulwark rebuilder` share: isolation and limits of each
// build, and how often to look for work.
import type { Command } from 'commander';
import { BuildSetupError, checkBuildTools, chooseNetworkIsolation } from '../../buildfarm/isolated-build.js';
import type { BuilderSettings } from '../../buildfarm/farm-runner.js';
import { CliError, EXIT } from '../context.js';

export interface BuilderOptions {
  once?: boolean;
  interval: string;
  networkIsolation: boolean;
  buildTimeout: string;
  buildMemory: string;
}

export function addBuilderOptions(cmd: Command): Command {
  return cmd
    .option('--once', 'one pass (build what is waiting, sign what is ready), then exit')
    .option('--interval <seconds>', 'pause between passes', '30')
    .option('--no-network-isolation', 'build even where no network namespace can be made (unshare -n / -rn): builds then HAVE the network')
    .option('--build-timeout <seconds>', 'wall-clock limit of one build (its processes are killed)', '600')
    .option('--build-memory <MiB>', 'address-space limit of a build', '2048');
}

export function builderSettings(o: BuilderOptions, builderId: string, hide: string[]): BuilderSettings & { intervalMs: number } {
  const timeout = Number(o.buildTimeout);
  const memory = Number(o.buildMemory);
  const interval = Number(o.interval);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError('--build-timeout must be a positive number of seconds', EXIT.usage, 'USAGE');
  if (!Number.isInteger(memory) || memory < 64) throw new CliError('--build-memory must be at least 64 (MiB)', EXIT.usage, 'USAGE');
  if (!Number.isFinite(interval) || interval <= 0) throw new CliError('--interval must be a positive number of seconds', EXIT.usage, 'USAGE');
  try {
    checkBuildTools();
    const isolation = chooseNetworkIsolation(!o.networkIsolation);
    if (isolation === 'none') process.stderr.write('bulwark: WARNING: builds run WITH the network (--no-network-isolation)\n');
    return { isolation, timeoutMs: timeout * 1000, memoryBytes: memory * 1024 * 1024, builderId, hide, intervalMs: interval * 1000 };
  } catch (e) {
    if (e instanceof BuildSetupError) throw new CliError(e.message, EXIT.config, 'BUILD_SETUP');
    throw e;
  }
}

/** Runs `pass` once, or forever with a pause, until SIGINT/SIGTERM. */
export async function repeat(once: boolean, intervalMs: number, pass: () => Promise<void>): Promise<void> {
  if (once) return pass();
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  while (!stop) {
    await pass().catch((e: unknown) => process.stderr.write(`bulwark: pass failed: ${(e as Error).message}\n`));
    for (let waited = 0; waited < intervalMs && !stop; waited += 250) await new Promise((r) => setTimeout(r, 250));
  }
}

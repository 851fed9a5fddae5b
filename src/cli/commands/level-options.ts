// SPDX-License-Identifier: Apache-2.0
// `--min-level LEVEL`, `--allow PROJECT` and `--allow-file FILE` of `bulwark proxy` and
// `bulwark fetch`: refuse projects whose verified protection level is below LEVEL, except the
// named ones.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { LevelPolicy } from '../../client/level-policy.js';
import { isValidProjectName } from '../../packaging/index.js';
import { parseProtectionLevel, PROTECTION_LEVELS } from '../../repository/protection-levels.js';
import { CliError, EXIT } from '../context.js';
import { collect } from './fetch.js';

export interface LevelOptions {
  minLevel?: string;
  allow: string[];
  allowFile?: string;
}

export function addLevelOptions(cmd: Command): Command {
  return cmd
    .option('--min-level <level>', `refuse projects below this protection level (${PROTECTION_LEVELS.join(' < ')})`)
    .option('--allow <project>', 'let this project through whatever its level (repeatable)', collect, [])
    .option('--allow-file <file>', 'let the projects named in this file through (one a line; # starts a comment)');
}

function usage(message: string): CliError {
  return new CliError(message, EXIT.usage, 'USAGE');
}

/** The policy the options ask for, or undefined without --min-level. `by` names the refuser. */
export async function levelPolicyFrom(o: LevelOptions, by: string): Promise<LevelPolicy | undefined> {
  if (o.minLevel === undefined) {
    if (o.allow.length > 0 || o.allowFile !== undefined) throw usage('--allow and --allow-file need --min-level');
    return undefined;
  }
  let minimum;
  try {
    minimum = parseProtectionLevel(o.minLevel);
  } catch (e) {
    throw usage(`--min-level: ${(e as Error).message}`);
  }
  const allow = [...o.allow];
  if (o.allowFile !== undefined) {
    const text = await readFile(o.allowFile, 'utf8').catch((e: Error) => {
      throw usage(`--allow-file: cannot read ${o.allowFile}: ${e.message}`);
    });
    for (const [i, line] of text.split('\n').entries()) {
      const name = line.replace(/#.*/, '').trim();
      if (name === '') continue;
      if (!isValidProjectName(name)) throw usage(`--allow-file ${o.allowFile}, line ${i + 1}: "${name.slice(0, 100)}" is not a valid project name`);
      allow.push(name);
    }
  }
  for (const name of o.allow) if (!isValidProjectName(name)) throw usage(`--allow: "${name.slice(0, 100)}" is not a valid project name`);
  return new LevelPolicy(minimum, allow, by);
}

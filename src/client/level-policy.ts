// SPDX-License-Identifier: Apache-2.0
// `--min-level LEVEL` with `--allow PROJECT`: which projects a client accepts, by the level it
// verified for them. A refusal names the project, its level, the minimum and how to let it through.
import { normalizeProjectName } from '../packaging/index.js';
import { meetsLevel, type ProtectionLevelName } from '../repository/protection-levels.js';
import { LEVEL_MEANING } from './verified-level.js';

export class BelowMinimumLevelError extends Error {
  readonly code = 'BELOW_MIN_LEVEL';
  constructor(
    readonly project: string,
    readonly level: ProtectionLevelName,
    readonly minimum: ProtectionLevelName,
    by: string
  ) {
    super(`${project} is ${level} (${LEVEL_MEANING[level]}); ${by} requires ${minimum} or better (--allow ${project} to accept it)`);
    this.name = 'BelowMinimumLevelError';
  }
}

export class LevelPolicy {
  private readonly allowed: ReadonlySet<string>;

  /** `by` names the one who refuses, in the message: "this proxy", "bulwark fetch". */
  constructor(
    readonly minimum: ProtectionLevelName,
    allow: readonly string[],
    private readonly by: string
  ) {
    this.allowed = new Set(allow.map(normalizeProjectName));
  }

  /** @throws BelowMinimumLevelError when `project` is below the minimum and not allowed */
  admit(project: string, level: ProtectionLevelName): void {
    const name = normalizeProjectName(project);
    if (meetsLevel(level, this.minimum) || this.allowed.has(name)) return;
    throw new BelowMinimumLevelError(name, level, this.minimum, this.by);
  }
}

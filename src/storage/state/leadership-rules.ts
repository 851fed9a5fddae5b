// SPDX-License-Identifier: Apache-2.0
// Who may become the snapshot leader, decided the same way by every backend (each reads the
// current lease inside its own transaction, on its own clock, and writes the result).
import type { Lease } from './types.js';

/**
 * The lease `holder` gets, or undefined when another process leads. A live lease of another
 * holder is only taken over when `replacing` names it exactly (its holder is known to be dead);
 * every change of holder, and every lease taken after it ran out, starts a new epoch, so that
 * writes fenced by the old epoch are refused.
 */
export function decideLeadership(
  current: { holder: string; epoch: number; live: boolean } | undefined,
  holder: string,
  replacing: Lease | undefined
): Lease | undefined {
  if (!current) return { holder, epoch: 1 };
  if (current.live && current.holder === holder) return { holder, epoch: current.epoch };
  const deadHolder = replacing !== undefined && replacing.holder === current.holder && replacing.epoch === current.epoch;
  if (current.live && !deadHolder) return undefined;
  return { holder, epoch: current.epoch + 1 };
}

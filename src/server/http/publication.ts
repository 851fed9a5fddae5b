// SPDX-License-Identifier: Apache-2.0
import type { Repository } from '../../repository/repository.js';

/** The snapshot version that published transaction `seq`, or undefined after `ms`. */
export function waitForPublication(repo: Repository, seq: number, ms: number): Promise<number | undefined> {
  return Promise.race([
    repo.publications.waitFor(seq),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref()),
  ]);
}

// Where the tests find the shared list of PyPI's projects (../shared/data beside the repository,
// as in the brief; also beside a clone made elsewhere, and under BULWARK_SHARED_DATA). Only tests
// and benchmarks read it; the product never does.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from './processes.js';

export function sharedDataFile(name: string): string | undefined {
  const dirs = [process.env.BULWARK_SHARED_DATA, resolve(repoRoot, '..', 'shared', 'data'), resolve(repoRoot, '..', '..', 'shared', 'data'), '/work/shared/data'];
  return dirs.filter((d): d is string => !!d).map((d) => resolve(d, name)).find((f) => existsSync(f));
}

/** The list of PyPI's 886,300 projects (name, latest version and month, popularity rank). */
export const PYPI_PROJECTS_FILE = sharedDataFile('pypi-projects.tsv.gz');

// Builds test distributions with test/fixtures/make_dist.py (stdlib only, deterministic).
import { join } from 'node:path';
import { repoRoot, runCommand } from './processes.js';

export const makeDistScript = join(repoRoot, 'test', 'fixtures', 'make_dist.py');

export interface DistOptions {
  name: string;
  version: string;
  kind?: 'wheel' | 'sdist' | 'both';
  requiresPython?: string;
  summary?: string;
  /** Extra Python appended to the package's __init__.py (after __version__). */
  moduleCode?: string;
  /** Requires-Dist lines, e.g. ['other>=1.0']. */
  requiresDist?: string[];
  /** A file whose text is the description, instead of the default one. */
  descriptionFile?: string;
  /** Description-Content-Type (default text/markdown; '' for none). */
  descriptionContentType?: string;
  outDir: string;
}

/** Builds a wheel and/or sdist (default: both) into outDir; returns their absolute paths. */
export async function buildDist(opts: DistOptions): Promise<string[]> {
  const args = [makeDistScript, '--name', opts.name, '--version', opts.version, '--out', opts.outDir];
  args.push('--kind', opts.kind ?? 'both');
  if (opts.requiresPython !== undefined) args.push('--requires-python', opts.requiresPython);
  if (opts.summary !== undefined) args.push('--summary', opts.summary);
  if (opts.moduleCode !== undefined) args.push('--module-code', opts.moduleCode);
  for (const req of opts.requiresDist ?? []) args.push('--requires-dist', req);
  if (opts.descriptionFile !== undefined) args.push('--description-file', opts.descriptionFile);
  if (opts.descriptionContentType !== undefined) args.push('--description-content-type', opts.descriptionContentType);
  const r = await runCommand('python3', args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`make_dist.py failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.split('\n').filter((line) => line !== '');
}

// SPDX-License-Identifier: Apache-2.0
// `bulwark audit archive | compare | snapshot-hash` (PEP 480 §Auditing Snapshots): keep the
// hash of every target offline, check indexes and mirrors against it and against each other,
// and print the current snapshot's hash for publication.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ArchiveFormatError, createArchive, parseArchive, snapshotHash, writeArchive } from '../../audit/archive.js';
import { compareSources, type CompareReport } from '../../audit/compare.js';
import { metadataDirFor } from '../../client/client-cache.js';
import { resolveSource } from '../../mirror/source.js';
import { DownloadError, Metadata, RepositoryError } from '../../tuf/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { progressBar } from '../progress.js';

/** `--index URL`, else the data directory (`--data`, `$BULWARK_DATA`, ./bulwark-data) and its `root.json`. */
async function sourceAndRoot(o: { index?: string; root?: string }, cmd: Command): Promise<{ base: string; label: string; rootBytes: Buffer }> {
  const data = globalOptions(cmd).data;
  const label = o.index ?? data;
  const source = await resolveSource(label).catch((e: Error) => {
    throw new CliError(o.index ? e.message : `${e.message}; pass --index URL or --data DIR`, EXIT.usage, 'USAGE');
  });
  let rootPath = o.root;
  if (!rootPath && !o.index) rootPath = join(data, 'root.json');
  if (!rootPath && o.index) {
    const cached = join(metadataDirFor(o.index), 'root.json');
    rootPath = await readFile(cached).then(
      () => cached,
      () => undefined
    );
  }
  if (!rootPath) throw new CliError('no trusted root: pass --root ROOT.json (the index’s initial root metadata)', EXIT.usage, 'NO_ROOT');
  let rootBytes: Buffer;
  try {
    rootBytes = await readFile(resolve(rootPath));
    Metadata.parse(rootBytes, 'root');
  } catch (e) {
    throw new CliError(`cannot use ${rootPath} as the trusted root: ${(e as Error).message}`, EXIT.usage, 'NO_ROOT');
  }
  return { base: source.base, label, rootBytes };
}

function refused(e: unknown): never {
  if (e instanceof RepositoryError) throw new CliError(`TUF verification failed (${e.code}): ${e.message}`, EXIT.failure, e.code);
  if (e instanceof DownloadError) throw new CliError(`download failed (${e.code}): ${e.message}`, EXIT.failure, e.code);
  throw e;
}

const short = (h: string | null) => (h === null ? '(none)' : h.length === 64 ? `${h.slice(0, 16)}…` : h);

function humanReport(r: CompareReport): string {
  const lines = [`archive: snapshot ${r.archive.snapshot.version} (sha256 ${r.archive.snapshot.sha256}), ${r.archive.targets} target(s), of ${r.archive.source} at ${r.archive.createdAt}`];
  for (const s of r.sources) {
    const snap = s.snapshot ? `snapshot ${s.snapshot.version} (sha256 ${s.snapshot.sha256})` : 'no verified snapshot';
    lines.push(`${s.source}: ${snap}; ${s.checked} path(s) checked, ${s.differences} difference(s)`);
    if (s.error) lines.push(`  ERROR ${s.error.message}`);
    for (const u of s.unreadable) lines.push(`  UNREADABLE ${u}`);
    for (const d of r.differences.filter((x) => x.source === s.source)) {
      lines.push(`  ${d.kind.padEnd(7)} ${d.path}  [${d.role ?? '?'}]  expected ${short(d.expected)}  actual ${short(d.actual)}  ${d.file}`);
      lines.push(`          ${d.reason}`);
    }
  }
  if (r.disagreements.length > 0) {
    lines.push('sources disagree:');
    for (const d of r.disagreements) {
      lines.push(`  ${d.path} (${d.area}): ${Object.entries(d.values).map(([s, v]) => `${s} ${short(v)}`).join(', ')}`);
    }
  }
  const problems = r.differences.length + r.disagreements.length;
  lines.push(r.ok ? 'No differences.' : `${problems} difference(s)${r.sources.some((s) => s.error || s.unreadable.length > 0) ? ', and sources that could not be checked' : ''}.`);
  return lines.join('\n');
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('audits (PEP 480): archive target hashes offline, compare indexes and mirrors against them');

  audit
    .command('archive')
    .description('write the hash, length and vouching role of every target of the current snapshot, verified from the root, to an offline archive')
    .option('--index <url>', 'the index (or mirror) URL; default: the static tree of the data directory (--data)')
    .option('--root <file>', 'the trusted root.json (default with --data: DIR/root.json)')
    .requiredOption('--out <file>', 'the archive to write (JSON, atomically)')
    .action(async (o: { index?: string; root?: string; out: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const src = await sourceAndRoot(o, cmd);
      const bar = progressBar('roles', !opts.json);
      let archive;
      try {
        archive = await createArchive({ ...src, onRole: (d, t) => bar.update(d, t) });
      } catch (e) {
        refused(e);
      } finally {
        bar.stop();
      }
      const out = resolve(o.out);
      await writeArchive(out, archive);
      output(
        opts,
        { archive: out, source: archive.source, root: archive.root.version, timestamp: archive.timestamp, snapshot: archive.snapshot, roles: Object.keys(archive.roles).length, targets: Object.keys(archive.targets).length },
        `Archived ${Object.keys(archive.targets).length} target(s) of snapshot ${archive.snapshot.version} (sha256 ${archive.snapshot.sha256}) to ${out}`
      );
    });

  audit
    .command('compare <source...>')
    .description('check the bytes each SOURCE (index or mirror URL, or a static tree directory) serves against the archive and against each other; exit 1 on any difference')
    .requiredOption('--archive <file>', 'an archive written by `bulwark audit archive`')
    .option('--concurrency <n>', 'parallel downloads per source', '8')
    .action(async (sources: string[], o: { archive: string; concurrency: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const concurrency = Number(o.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new CliError('--concurrency must be a whole number ≥ 1', EXIT.usage, 'USAGE');
      let archive;
      try {
        archive = parseArchive(await readFile(resolve(o.archive), 'utf8'));
      } catch (e) {
        if (e instanceof ArchiveFormatError || (e as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`${o.archive}: ${(e as Error).message}`, EXIT.usage, 'BAD_ARCHIVE');
        throw e;
      }
      const report = await compareSources({ archive, sources, concurrency }).catch((e: Error) => {
        if (/neither an http/.test(e.message)) throw new CliError(e.message, EXIT.usage, 'USAGE');
        throw e;
      });
      output(opts, report, humanReport(report));
      if (!report.ok) process.exitCode = EXIT.failure;
    });

  audit
    .command('snapshot-hash')
    .description('print the version and sha256 of the current snapshot, verified from the root: what an operator publishes')
    .option('--index <url>', 'the index URL; default: the static tree of the data directory (--data)')
    .option('--root <file>', 'the trusted root.json (default: DIR/root.json, or the cached root of the index)')
    .action(async (o: { index?: string; root?: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const src = await sourceAndRoot(o, cmd);
      let r;
      try {
        r = await snapshotHash(src);
      } catch (e) {
        refused(e);
      }
      output(opts, { source: src.label, ...r }, `snapshot ${r.snapshot} sha256 ${r.sha256} (${r.length} bytes; timestamp ${r.timestamp}, root ${r.root})`);
    });
}

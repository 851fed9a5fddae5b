// `bulwark audit`: archive a real index's target hashes (verified from its root), compare the
// index with itself (no differences), a mirror with a swapped and a removed target (both
// reported, and the sources' disagreement), and the index after a new upload (added); print the
// snapshot hash an operator publishes.
import assert from 'node:assert/strict';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditArchive } from '../../src/audit/archive.js';
import type { CompareReport } from '../../src/audit/compare.js';
import { syncMirror } from '../../src/mirror/sync.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { runBulwark, runCommand, tempDir } from '../helpers/processes.js';
import { buildWheels, sha256, upload, type Wheel } from '../mirror/fixture.js';

/** sha256 of the wheel's `*.dist-info/METADATA`, read by Python's zipfile (not by Bulwark's code). */
async function wheelMetadataSha256(wheel: Buffer): Promise<string> {
  const script = [
    'import base64, hashlib, io, sys, zipfile',
    'z = zipfile.ZipFile(io.BytesIO(base64.b64decode(sys.stdin.read())))',
    "[name] = [n for n in z.namelist() if n.endswith('.dist-info/METADATA') and n.count('/') == 1]",
    'print(hashlib.sha256(z.read(name)).hexdigest())',
  ].join('\n');
  const r = await runCommand('python3', ['-c', script], { input: wheel.toString('base64') });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

describe('audit archive, compare and snapshot-hash', () => {
  let index: IndexUnderTest;
  let token: string;
  let root: string;
  let work: string;
  let archivePath: string;
  let archive: AuditArchive;
  let alpha: Wheel;
  let beta: Wheel;
  let gamma: Wheel;
  const publicDir = () => join(index.dataDir, 'public');

  const compare = async (...sources: string[]) => {
    const r = await runBulwark(['audit', 'compare', '--archive', archivePath, ...sources, '--json']);
    assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
    return { code: r.code, report: JSON.parse(r.stdout) as CompareReport };
  };

  before(async () => {
    index = await startIndex({ bins: 16 });
    token = await index.user('alice');
    root = join(index.dataDir, 'root.json');
    [alpha, beta, gamma] = (await buildWheels([
      ['alpha', '1.0'],
      ['beta', '1.0'],
      ['gamma', '1.0'],
    ])) as [Wheel, Wheel, Wheel];
    await upload(index, token, alpha);
    await upload(index, token, beta);
    // The archive is of the classic snapshot, which trails publications by up to its interval
    // (merkle.classicSnapshotIntervalMs): let it catch up with both uploads.
    await index.repo.settle();
    work = await tempDir('audit');
    archivePath = join(work, 'archive.json');
  });
  after(() => index?.close());

  it('archives the hash, length and vouching role of every target, and the snapshot hash', async () => {
    const r = await runBulwark(['audit', 'archive', '--index', index.url, '--root', root, '--out', archivePath, '--json']);
    assert.equal(r.code, 0, r.stderr);
    archive = JSON.parse(await readFile(archivePath, 'utf8')) as AuditArchive;
    const paths = Object.keys(archive.targets).sort();
    assert.deepEqual(paths, [`alpha/${alpha.name}`, `alpha/${alpha.name}.metadata`, 'alpha/index.html', 'alpha/index.json', `beta/${beta.name}`, `beta/${beta.name}.metadata`, 'beta/index.html', 'beta/index.json']);
    const a = archive.targets[`alpha/${alpha.name}`];
    assert.deepEqual(a && { sha256: a.sha256, length: a.length }, { sha256: sha256(alpha.bytes), length: alpha.bytes.length });
    assert.match(a?.role ?? '', /^bins-[0-9a-f]$/, 'an unclaimed project is vouched for by its hashed bin');
    for (const [path, t] of Object.entries(archive.targets)) {
      const slash = path.indexOf('/');
      const bytes = await readFile(join(publicDir(), 'targets', path.slice(0, slash), `${t.sha256}.${path.slice(slash + 1)}`));
      assert.equal(sha256(bytes), t.sha256, path);
    }
    const snapshotBytes = await readFile(join(publicDir(), 'metadata', `${archive.snapshot.version}.snapshot.json`));
    assert.equal(archive.snapshot.sha256, sha256(snapshotBytes));
    assert.equal(archive.timestamp.sha256, sha256(await readFile(join(publicDir(), 'metadata/timestamp.json'))));
    assert.ok(archive.roles['targets'] && archive.roles['unclaimed'] && archive.roles['bins-0']);

    // The same archive from the data directory's static tree, offline.
    const local = join(work, 'local.json');
    const l = await runBulwark(['audit', 'archive', '--data', index.dataDir, '--out', local, '--json']);
    assert.equal(l.code, 0, l.stderr);
    assert.deepEqual((JSON.parse(await readFile(local, 'utf8')) as AuditArchive).targets, archive.targets);
  });

  it('prints the current snapshot hash and version', async () => {
    const r = await runBulwark(['audit', 'snapshot-hash', '--index', index.url, '--root', root, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { snapshot: number; sha256: string };
    assert.deepEqual({ snapshot: out.snapshot, sha256: out.sha256 }, { snapshot: archive.snapshot.version, sha256: archive.snapshot.sha256 });
    const human = await runBulwark(['audit', 'snapshot-hash', '--data', index.dataDir]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`snapshot ${archive.snapshot.version} sha256 ${archive.snapshot.sha256}`));
  });

  it('finds no difference between the index and its archive (over HTTP and on disk)', async () => {
    const { code, report } = await compare(index.url, index.dataDir);
    assert.equal(code, 0, JSON.stringify(report, null, 1));
    assert.equal(report.ok, true);
    assert.deepEqual(report.differences, []);
    assert.deepEqual(report.disagreements, []);
    assert.ok(report.sources.every((s) => s.verified && s.checked === 8));
  });

  it('reports a swapped and a removed target on a mirror, and that the mirror and the index disagree', async () => {
    const dir = await tempDir('audit-mirror');
    await syncMirror({ upstream: index.url, dir, rootPath: root });
    const swapped = `alpha/${alpha.name}`;
    const removed = `beta/${beta.name}.metadata`;
    const swappedFile = join(dir, 'targets/alpha', `${sha256(alpha.bytes)}.${alpha.name}`);
    await writeFile(`${swappedFile}.new`, beta.bytes);
    await rename(`${swappedFile}.new`, swappedFile); // the files/ alias keeps the real bytes
    const removedSha = archive.targets[removed]?.sha256 as string;
    await unlink(join(dir, 'targets/beta', `${removedSha}.${beta.name}.metadata`));

    const { code, report } = await compare(dir, index.url);
    assert.equal(code, 1);
    const mirrorDiffs = report.differences.filter((d) => d.source === dir);
    assert.deepEqual(
      mirrorDiffs.map((d) => ({ kind: d.kind, path: d.path, expected: d.expected, actual: d.actual })),
      [
        { kind: 'changed', path: swapped, expected: sha256(alpha.bytes), actual: sha256(beta.bytes) },
        { kind: 'removed', path: removed, expected: removedSha, actual: null },
      ]
    );
    assert.match(mirrorDiffs[0]?.role ?? '', /^bins-/);
    assert.deepEqual(report.differences.filter((d) => d.source === index.url), [], 'the index itself is intact');
    assert.deepEqual(
      report.disagreements.map((d) => [d.path, d.area, d.values[dir], d.values[index.url]]),
      [
        [swapped, 'targets', sha256(beta.bytes), sha256(alpha.bytes)],
        [removed, 'targets', null, removedSha],
      ]
    );
    const human = await runBulwark(['audit', 'compare', '--archive', archivePath, dir]);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /changed +alpha\//);
    assert.match(human.stdout, /removed +beta\//);
  });

  it('reports every file of a new upload as added', async () => {
    await upload(index, token, gamma);
    await index.repo.settle(); // the classic snapshot catches up with the upload
    const { code, report } = await compare(index.url);
    assert.equal(code, 1);
    // The expected hashes come from the bytes, not from the report: the wheel's METADATA read
    // by Python's zipfile, the simple pages as the index serves them to pip.
    const page = async (accept: string) => sha256(Buffer.from(await (await fetch(`${index.url}/simple/gamma/`, { headers: { accept } })).arrayBuffer()));
    assert.deepEqual(
      report.differences.map((d) => [d.kind, d.path, d.expected, d.actual]),
      [
        ['added', `gamma/${gamma.name}`, null, sha256(gamma.bytes)],
        ['added', `gamma/${gamma.name}.metadata`, null, await wheelMetadataSha256(gamma.bytes)],
        ['added', 'gamma/index.html', null, await page('text/html')],
        ['added', 'gamma/index.json', null, await page('application/vnd.pypi.simple.v1+json')],
      ]
    );
    assert.ok(report.differences.every((d) => d.actual !== null && /^bins-/.test(d.role ?? '')));
    assert.ok((report.sources[0]?.snapshot?.version ?? 0) > archive.snapshot.version);
  });
});

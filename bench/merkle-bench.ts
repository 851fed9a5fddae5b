// SPDX-License-Identifier: Apache-2.0
// Snapshot Merkle tree benchmark (docs/merkle-snapshots.md), with the snapshot process's own code:
//
//   start-up      the tree rebuilt from the stored role states (treeOfRoles), as a leader does
//                 when it takes over; and writing every file of it (first start after upgrade)
//   publication   stage + commit of the leaves one publication changes (1 and 10 roles): the
//                 rehashing, and the files it writes (top, changed nodes, changed shards)
//   client        what a warm refresh after one upload elsewhere downloads at most: the
//                 timestamp (≈ 600 B), the new top, one node file per level and one shard
//                 (each the largest of its kind, gzip as served)
//
// Run: node dist/bench/merkle-bench.js [--bins 16384] [--projects 0] [--iterations 200] [--write] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { merkleSettings } from '../src/repository/config.js';
import { ensureTreeFiles, leafOfRole, treeOfRoles } from '../src/repository/merkle-files.js';
import { FsBlobStore } from '../src/storage/blob-store.js';
import type { RoleState } from '../src/storage/state/types.js';
import { fmt, parseFlags, prng, summarize, table, timeRuns } from './common.js';

const flags = parseFlags('node dist/bench/merkle-bench.js [flags]', {
  bins: { default: 16384, help: 'hashed bins (one leaf each; the shard count follows: max(64, bins))' },
  projects: { default: 0, help: 'project roles besides the bins (216000 - 16388 for the issue 12 target size)' },
  iterations: { default: 200, help: 'publications measured per change size' },
  write: { default: false, help: 'also write every file of the tree to a temporary directory (durably)' },
  json: { default: false, help: 'print one JSON object instead of tables' },
});

const random = prng(12);
const hex = () => Array.from({ length: 64 }, () => Math.floor(random() * 16).toString(16)).join('');
const roles: RoleState[] = [];
for (const name of ['targets', 'claimed', 'recently-claimed', 'unclaimed']) roles.push({ name, version: 3, expires: '2030-01-01T00:00:00Z', length: 1500, sha256: hex() });
const width = Math.max(1, Math.ceil(Math.log2(flags.bins) / 4));
for (let i = 0; i < flags.bins; i++) roles.push({ name: `bins-${i.toString(16).padStart(width, '0')}`, version: 1 + (i % 7), expires: '2030-01-01T00:00:00Z', length: 2000 + i, sha256: hex() });
for (let i = 0; i < flags.projects; i++) roles.push({ name: `project-p${i}`, version: 1 + (i % 3), expires: '2030-01-01T00:00:00Z', length: 900, sha256: hex() });
const shards = merkleSettings({ bins: flags.bins }).shards;

// Start-up: the rebuild a new leader runs.
const buildMs: number[] = [];
let tree = treeOfRoles(shards, roles);
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  tree = treeOfRoles(shards, roles);
  buildMs.push(performance.now() - t);
}
const files = tree.allFiles();
const gz = (b: Buffer) => gzipSync(b, { level: 9 }).length;
const top = files.find((f) => f.name.endsWith('.tree.json'));
// allFiles() lists the top, then the node files level by level, then the shards.
const levelSizes: { raw: number; gzip: number }[] = [];
for (let d = 1, at = 1, count = 1; d < tree.fanout.length; d++) {
  count *= tree.fanout[d - 1] as number;
  const level = files.slice(at, at + count);
  levelSizes.push({ raw: Math.max(...level.map((f) => f.bytes.length)), gzip: Math.max(...level.map((f) => gz(f.bytes))) });
  at += count;
}
const shardFiles = files.filter((f) => f.name.endsWith('.shard.json'));
const shardSizes = summarize(shardFiles.map((f) => f.bytes.length));
const shardGzipMax = Math.max(...shardFiles.map((f) => Math.min(f.bytes.length, gz(f.bytes))));
const TIMESTAMP_BYTES = 600;

let writeMs: number | undefined;
if (flags.write) {
  const dir = mkdtempSync(join(tmpdir(), 'merkle-bench-'));
  try {
    const t = performance.now();
    await ensureTreeFiles(new FsBlobStore(dir), tree, { compress: true });
    writeMs = performance.now() - t;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Publications: stage + commit of k changed leaves (new versions of random roles).
const perPublication: Record<string, { ms: ReturnType<typeof summarize>; files: number; bytes: number }> = {};
for (const k of [1, 10]) {
  let files = 0;
  let bytes = 0;
  const ms = await timeRuns(flags.iterations, () => {
    const changes = Array.from({ length: k }, () => {
      const r = roles[Math.floor(random() * roles.length)] as RoleState;
      r.version += 1;
      r.sha256 = hex();
      return { role: r.name, leaf: leafOfRole(r) };
    });
    const staged = tree.stage(changes);
    staged.commit();
    files += staged.files.length;
    bytes += staged.files.reduce((n, f) => n + f.bytes.length, 0);
  });
  perPublication[`${k} role${k > 1 ? 's' : ''}`] = { ms, files: files / (flags.iterations + Math.min(5, flags.iterations)), bytes: bytes / (flags.iterations + Math.min(5, flags.iterations)) };
}

const nodeGzip = levelSizes.reduce((n, l) => n + l.gzip, 0);
const warmRefresh = (top ? gz(top.bytes) : 0) + nodeGzip + shardGzipMax;
const result = {
  roles: roles.length,
  shards,
  fanout: tree.fanout,
  startup: { buildMs: summarize(buildMs), writeAllMs: writeMs, files: files.length },
  sizes: { top: top?.bytes.length, topGzip: top && gz(top.bytes), nodeLevels: levelSizes, shardMedian: shardSizes.median, shardMax: shardSizes.max, shardGzipMax },
  perPublication,
  warmRefreshTreeBytes: warmRefresh,
  warmRefreshBytes: warmRefresh + TIMESTAMP_BYTES,
};
if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(`Snapshot Merkle tree: ${roles.length} roles, ${shards} shards, fan-out [${tree.fanout.join(', ')}]\n\n`);
  process.stdout.write(
    `${table(
      ['measure', 'value'],
      [
        ['start-up rebuild (median of 3)', `${fmt.ms(result.startup.buildMs.median)} ms`],
        ['write every file (first start)', writeMs === undefined ? 'not run (--write)' : `${fmt.ms(writeMs)} ms for ${files.length} files`],
        ['top file', `${fmt.bytes(result.sizes.top ?? 0)} (${fmt.bytes(result.sizes.topGzip ?? 0)} gzip)`],
        ...levelSizes.map((l, i) => [`node file, level ${i + 1} (max)`, `${fmt.bytes(l.raw)} (${fmt.bytes(l.gzip)} gzip)`]),
        ['shard file (median / max)', `${fmt.bytes(shardSizes.median)} / ${fmt.bytes(shardSizes.max)} (${fmt.bytes(shardGzipMax)} gzip max)`],
        ...Object.entries(perPublication).map(([k, v]) => [`publication, ${k} changed: median / p99`, `${fmt.ms(v.ms.median)} / ${fmt.ms(v.ms.p99)} ms, ${fmt.num(v.files)} files, ${fmt.bytes(v.bytes)}`]),
        ['warm refresh tree bytes (top, nodes, shard; gzip)', fmt.bytes(warmRefresh)],
        [`warm refresh with a ${TIMESTAMP_BYTES} B timestamp`, fmt.bytes(warmRefresh + TIMESTAMP_BYTES)],
      ]
    )}\n`
  );
}

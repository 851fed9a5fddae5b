// SPDX-License-Identifier: Apache-2.0
// The client's CPU per warm refresh (issue 12 target: ≤ 5 ms) on metadata shaped like PyPI's,
// without the 70-minute pypi-claiming-bench: the signed roles are made with the repository's own
// builders (buildOfflineRoles, binDelegator, projectBin, binCanonical, treeOfRoles,
// timestampCanonical) and written as the index publishes them, once, into --dir; an index-like
// static server (a child process, so its CPU is not counted) serves them on 127.0.0.1. Then, per
// probe, what `bulwark proxy` does once its reuse window is over: a new Updater on the warm cache,
// refresh(), getTargetInfo() of the probe's page; CPU by process.cpuUsage.
//
// Shapes that cost the client CPU, as at full size: 16,384 hashed bins (the unclaimed probe's bin
// holds ~54 projects' pages), claimed and recently-claimed each delegating to 1,024 name bins
// (≈200 KiB), name bins with ~190 project delegations each (≈70–90 KiB), a project role of
// --project-targets files, and a snapshot Merkle tree with a leaf per role (≈216,000 leaves).
// Not from a real repository: the other project roles exist only as leaves and delegations (with
// random public keys), the classic snapshot is not written, and the bins besides the probe's are
// empty. What the client reads and verifies on a probe's path is what it reads at full size.
//
//   node dist/bench/client-cpu-bench.js [--dir DIR] [--runs 30] [--cpu-prof] [--json]
// A run in a new process (`--runs 1 --fresh`) gives the first-refresh cost.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { Updater } from '../src/client/updater.js';
import { binDelegator, projectBin, type ProjectKeys } from '../src/repository/bin-delegations.js';
import { merkleSettings, DEFAULT_EXPIRY } from '../src/repository/config.js';
import { buildOfflineRoles } from '../src/repository/init.js';
import { BIN_PREFIX, binBitLength, metadataBlobPath, projectRoleName, ROLES } from '../src/repository/layout.js';
import { binCanonical, targetEntry, timestampCanonical } from '../src/repository/metadata-builder.js';
import { merkleBlobPath, treeOfRoles } from '../src/repository/merkle-files.js';
import { nameBinOf, nameBinPaths, nameBinRole } from '../src/repository/name-bins.js';
import type { RoleState } from '../src/storage/state/types.js';
import { Delegations, Ed25519Signer, expiresIn, formatExpires, Metadata, signCanonical, SuccinctRoles, TargetFile, Targets } from '../src/tuf/index.js';
import { fmt, note, parseFlags, prng, summarize, table } from './common.js';

const flags = parseFlags('node dist/bench/client-cpu-bench.js [flags]', {
  dir: { default: join(tmpdir(), 'bulwark-client-cpu-bench'), help: 'where the synthetic index is built (once) and cached' },
  bins: { default: 16384, help: 'hashed bins' },
  claimed: { default: 190_000, help: 'project roles delegated through claimed' },
  recent: { default: 10_000, help: 'project roles delegated through recently-claimed' },
  'project-targets': { default: 2000, help: 'files listed by each probe project role' },
  runs: { default: 30, help: 'refreshes measured per probe (median reported)' },
  probe: { default: 'all', help: 'claimed, recently-claimed, unclaimed or all' },
  fresh: { default: false, help: '(internal) one warm refresh of --probe in this new process, as JSON' },
  'cpu-prof': { default: false, help: 'write a .cpuprofile of the measured runs per probe (summarise with cpuprofile-summary)' },
  serve: { default: '', help: '(internal) serve DIR/public on 127.0.0.1 and print the URL' },
  'serve-url': { default: '', help: '(internal) the server of a --fresh run' },
  json: { default: false, help: 'print JSON' },
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PROBES = ['claimed', 'recently-claimed', 'unclaimed'] as const;
type ProbeKind = (typeof PROBES)[number];
interface Manifest {
  probes: Record<ProbeKind, string>;
  leaves: number;
}

// --- the static server (child process) -----------------------------------------------------

if (flags.serve) {
  const root = join(flags.serve, 'public');
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] as string));
    readFile(join(root, path)).then(
      (b) => res.writeHead(200, { 'content-length': b.length }).end(b),
      () => res.writeHead(404).end()
    );
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
} else {
  await main();
}

// --- building the index --------------------------------------------------------------------

/** A normalized project name that name bin `bin` delegates (its n-th). */
function nameInBin(bin: number, n: number): string {
  const patterns = nameBinPaths(bin).map((p) => p.slice(0, -2)).filter((p) => p.endsWith('*'));
  const p = patterns[n % patterns.length] as string;
  const body = p.slice(0, -1);
  const open = body.indexOf('[');
  const prefix = open < 0 ? body : body.slice(0, open) + body.slice(open + 1, open + 2);
  const name = `${prefix}-bench${n}`;
  if (nameBinOf(name) !== bin) throw new Error(`${name} is not in name bin ${bin}`);
  return name;
}

async function build(dir: string): Promise<Manifest> {
  const started = performance.now();
  const pub = join(dir, 'public');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(pub, 'metadata', 'merkle'), { recursive: true });
  const now = new Date();
  const exp = (role: keyof typeof DEFAULT_EXPIRY) => expiresIn(now, DEFAULT_EXPIRY[role]);
  const gen = () => Ed25519Signer.generate();
  const online = { timestamp: gen(), snapshot: gen(), 'recently-claimed': gen(), unclaimed: gen() };
  const offline = { root: gen(), targets: gen(), claimed: gen() };
  const holder = (s: Ed25519Signer) => ({ keys: [s.publicKey], threshold: 1 });
  const models = buildOfflineRoles(online, { root: holder(offline.root), targets: holder(offline.targets), claimed: holder(offline.claimed) }, now, DEFAULT_EXPIRY);
  const roles: RoleState[] = [];
  const publish = async (name: string, bytes: Uint8Array, expires: Date) => {
    await writeFile(join(pub, metadataBlobPath(name, 1)), bytes);
    roles.push({ name, version: 1, expires: formatExpires(expires), length: bytes.length, sha256: sha256(bytes) });
  };
  const root = await Metadata.sign(models.root, [offline.root]);
  await writeFile(join(dir, 'root.json'), root.bytes);
  await publish(ROLES.root, root.bytes, root.signed.expires);
  await publish(ROLES.targets, (await Metadata.sign(models.targets, [offline.targets])).bytes, exp('targets'));

  // claimed / recently-claimed, their name bins, project delegations (random keys but the probes').
  const random = prng(458);
  const fakeKey = () => ({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: Buffer.from(Array.from({ length: 32 }, () => Math.floor(random() * 256))).toString('hex') } });
  const probes = {} as Record<ProbeKind, string>;
  for (const [parent, count, signer] of [
    [ROLES.claimed, flags.claimed, offline.claimed],
    [ROLES.recentlyClaimed, flags.recent, online['recently-claimed']],
  ] as const) {
    const delegator = await Metadata.sign(binDelegator(parent, holder(signer), 1, exp(parent === ROLES.claimed ? 'claimed' : 'recently-claimed'), 1024), [signer]);
    await publish(parent, delegator.bytes, delegator.signed.expires);
    const perBin = Math.ceil(count / 1024);
    const probeBin = 500;
    for (let bin = 0; bin < 1024; bin++) {
      const projects: ProjectKeys[] = [];
      for (let n = 0; n < perBin && bin * perBin + n < count; n++) {
        const project = nameInBin(bin, n);
        const isProbe = bin === probeBin && n === 0;
        const dev = isProbe ? Ed25519Signer.fromSeed(createHash('sha256').update(`client-cpu-bench ${project}`).digest()) : undefined;
        const key = dev ? dev.publicKey.toJSON() : fakeKey();
        const keyid = dev ? dev.keyId : sha256(Buffer.from(JSON.stringify(key)));
        projects.push({ project, role: projectRoleName(project), keys: { [keyid]: key }, keyids: [keyid], threshold: 1 } as ProjectKeys);
        if (dev) {
          probes[parent === ROLES.claimed ? 'claimed' : 'recently-claimed'] = project;
          const targets = new Map<string, TargetFile>();
          for (let f = 0; f < flags['project-targets']; f++) {
            const path = f === 0 ? `${project}/index.json` : `${project}/${project}-${f}.0.tar.gz`;
            targets.set(path, TargetFile.fromJSON(path, JSON.parse(targetEntry(sha256(Buffer.from(path)), 1000 + f)), path));
          }
          const md = await Metadata.sign(new Targets({ version: 1, expires: exp('claimed'), targets, delegations: undefined }), [dev]);
          await publish(projectRoleName(project), md.bytes, md.signed.expires);
        } else {
          roles.push({ name: projectRoleName(project), version: 1 + (n % 3), expires: formatExpires(exp('claimed')), length: 900 + n, sha256: sha256(Buffer.from(project)) });
        }
      }
      const name = nameBinRole(parent, bin);
      const md = await Metadata.sign(projectBin(name, projects, 1, delegator.signed.expires), [signer]);
      await publish(name, md.bytes, md.signed.expires);
    }
  }

  // unclaimed → hashed bins; the probe's bin lists ~54 projects' pages, as a full one does.
  const succinct = new SuccinctRoles([online.unclaimed.keyId], 1, binBitLength(flags.bins), BIN_PREFIX);
  const unclaimed = await Metadata.sign(
    new Targets({ version: 1, expires: exp('unclaimed'), targets: new Map(), delegations: new Delegations(new Map([[online.unclaimed.keyId, online.unclaimed.publicKey]]), undefined, succinct) }),
    [online.unclaimed]
  );
  await publish(ROLES.unclaimed, unclaimed.bytes, unclaimed.signed.expires);
  probes.unclaimed = 'zz-unclaimed-probe';
  const probeBin = succinct.binForTarget(`${probes.unclaimed}/index.json`);
  const binEntries: { path: string; entry: string }[] = [];
  for (let p = 0; binEntries.length < 54 * 3; p++) {
    const path = p === 0 ? `${probes.unclaimed}/index.json` : `unclaimed-${p}/index.json`;
    if (succinct.binForTarget(path) !== probeBin) continue;
    binEntries.push({ path, entry: targetEntry(sha256(Buffer.from(path)), 2000 + p) });
    for (const f of ['1.0.tar.gz', '1.0-py3-none-any.whl']) binEntries.push({ path: path.replace('index.json', f), entry: targetEntry(sha256(Buffer.from(path + f)), 3000 + p) });
  }
  binEntries.sort((a, b) => (a.path < b.path ? -1 : 1));
  const binExpires = exp('bins');
  const emptyBin = (await signCanonical(binCanonical(1, binExpires, []), [online.unclaimed])).bytes;
  for (let i = 0; i < flags.bins; i++) {
    const bytes = i === probeBin ? (await signCanonical(binCanonical(1, binExpires, binEntries), [online.unclaimed])).bytes : emptyBin;
    await publish(succinct.binName(i), bytes, binExpires);
  }

  // The Merkle tree of every role, and a timestamp naming it.
  const shards = merkleSettings({ bins: flags.bins }).shards;
  const tree = treeOfRoles(shards, roles);
  for (const f of tree.allFiles()) await writeFile(join(pub, merkleBlobPath(f.name)), f.bytes);
  const placeholder = randomBytes(32); // the classic snapshot is not written: Merkle-mode clients never ask for it
  const timestamp = await signCanonical(timestampCanonical(1, exp('timestamp'), { version: 1, length: 1, sha256: sha256(placeholder) }, tree.field), [online.timestamp]);
  await writeFile(join(pub, metadataBlobPath(ROLES.timestamp, null)), timestamp.bytes);
  const manifest: Manifest = { probes, leaves: roles.length };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  note(`client-cpu-bench: built ${roles.length} roles in ${fmt.ms(performance.now() - started)} ms in ${dir}`);
  return manifest;
}

// --- measuring ------------------------------------------------------------------------------

async function serve(dir: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  return { url, stop: () => child.kill() };
}

/** One warm refresh + lookup: a new Updater on the cache, refresh(), getTargetInfo(); CPU ms. */
async function refreshCpu(cache: string, url: string, project: string): Promise<number> {
  const c0 = process.cpuUsage();
  const u = new Updater({ metadataDir: cache, indexUrl: url });
  await u.refresh();
  if (!(await u.getTargetInfo(`${project}/index.json`))) throw new Error(`${project}/index.json is not a target`);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

/** The first warm refresh of a new process (code not yet compiled, no process-wide memo). */
function firstInNewProcess(dir: string, kind: ProbeKind, url: string): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--fresh', '--dir', dir, '--probe', kind, '--serve-url', url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`--fresh run failed (${code})`)))));
}

async function measure(kind: ProbeKind, project: string, url: string, dir: string): Promise<{ first: number; median: number; p90: number }> {
  const cache = join(dir, `cache-${kind}`);
  await rm(cache, { recursive: true, force: true });
  await mkdir(cache, { recursive: true });
  await writeFile(join(cache, 'root.json'), await readFile(join(dir, 'root.json')));
  await refreshCpu(cache, url, project); // cold: fills the cache
  const first = await firstInNewProcess(dir, kind, url);
  await refreshCpu(cache, url, project); // warm-up of this process
  const session = flags['cpu-prof'] ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  const ms: number[] = [];
  for (let i = 0; i < flags.runs; i++) ms.push(await refreshCpu(cache, url, project));
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    const file = join(dir, `${kind}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    note(`  profile: ${file}`);
    session.disconnect();
  }
  const s = summarize(ms);
  return { first, median: s.median, p90: s.p90 };
}

async function main(): Promise<void> {
  const dir = flags.dir;
  if (flags.fresh) {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const kind = flags.probe as ProbeKind;
    process.stdout.write(`${await refreshCpu(join(dir, `cache-${kind}`), flags['serve-url'], manifest.probes[kind])}\n`);
    return;
  }
  const manifest = existsSync(join(dir, 'manifest.json')) ? (JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest) : await build(dir);
  const { url, stop } = await serve(dir);
  try {
    const results: Record<string, { first: number; median: number; p90: number }> = {};
    for (const kind of PROBES) {
      if (flags.probe !== 'all' && flags.probe !== kind) continue;
      results[kind] = await measure(kind, manifest.probes[kind], url, dir);
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ leaves: manifest.leaves, results })}\n`);
    else {
      process.stdout.write(
        `${table(
          ['probe', 'first warm refresh in process', `median of ${flags.runs}`, 'p90'],
          Object.entries(results).map(([k, r]) => [k, `${fmt.ms(r.first)} ms`, `${fmt.ms(r.median)} ms`, `${fmt.ms(r.p90)} ms`])
        )}\n`
      );
    }
  } finally {
    stop();
  }
}

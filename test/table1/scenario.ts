// PEP 480 Table 1: the honest repository every attack starts from, built once per run with
// the real index in this process (real HTTP on 127.0.0.1, the real upload, claim and
// signed-upload APIs, the real promotion ceremony with the demo offline claimed key).
//
// Timeline (all within a few seconds of `builtAt`):
//   1. demo repository, 16 bins; user alice
//   2. twine-style uploads: unclaimed-pkg 1.0, claimed-pkg 1.0, recent-pkg 1.0
//   3. claimed-pkg claimed (developer key A) → recently-claimed; then promoted to claimed
//      (ceremony: export, sign with keys/offline-DEMO-ONLY/claimed.pem, import)
//   4. recent-pkg claimed (developer key B) → recently-claimed
//      ── "earlier": the state a synced client last saw; its cache is kept as a template
//   5. unclaimed-pkg 1.1 (the security fix a freeze withholds), recent-pkg 1.1 and
//      claimed-pkg 1.1 (developer-signed uploads)
//      ── "latest": the newest published state; a client synced to it is kept as well
// Then the index is stopped; attackers only ever see its public/ tree and key files.
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Updater } from '../../src/client/updater.js';
import { PROJECT_ROLE_DAYS } from '../../src/cli/commands/claim.js';
import { sendClaim, sendSignedUpload } from '../../src/developer/index-api.js';
import { currentProjectState, nextRelease, readLocalFile } from '../../src/developer/release-builder.js';
import { exportPromotion, importPromotion, signCeremonyFile } from '../../src/repository/ceremony.js';
import { initDemoRepository } from '../../src/repository/init.js';
import { Auditor } from '../../src/auditor/auditor.js';
import { signStatement } from '../../src/auditor/statement.js';
import { SIMPLE_HTML, SIMPLE_JSON, targetPath } from '../../src/repository/layout.js';
import { delegatorsOfProject } from './forge.js';
import { Repository } from '../../src/repository/repository.js';
import { buildServer } from '../../src/server/app.js';
import { Ed25519Signer, expiresIn, Metadata, Targets } from '../../src/tuf/index.js';
import { basicAuth, uploadForm } from '../helpers/index-under-test.js';
import { buildZip } from '../packaging/zip-writer.js';

export type ProjectKind = 'claimed' | 'recently-claimed' | 'unclaimed';
export const PROJECT_KINDS: readonly ProjectKind[] = ['claimed', 'recently-claimed', 'unclaimed'];

export const PROJECTS: Readonly<Record<ProjectKind, string>> = {
  claimed: 'claimed-pkg',
  'recently-claimed': 'recent-pkg',
  unclaimed: 'unclaimed-pkg',
};

/** A published state: the timestamp.json the index served then, and client caches synced to it. */
export interface PublishedState {
  timestamp: Buffer;
  /** A metadata directory of a classic client that refreshed then and looked up every project's files. */
  clientCache: string;
  /** The same for a Merkle client (no auditor): its rollback baseline is merkle-versions.json. */
  merkleCache: string;
}

export interface Scenario {
  workDir: string;
  dataDir: string;
  publicDir: string;
  /** The root clients pin (the repository's initial root.json). */
  pinnedRoot: Buffer;
  bins: number;
  builtAt: Date;
  /** Developer key files (PKCS#8 PEM) of the projects that have developer keys. */
  developerKeys: Readonly<Record<'claimed' | 'recently-claimed', string>>;
  earlier: PublishedState;
  latest: PublishedState;
  /**
   * The auditor root names, and its statements on the earlier and the latest tree (the latter
   * served). `stateDir` is the state of the honest auditor (src/auditor) after it verified both
   * trees, and `signer` its key: the suite runs that auditor over an attacker's tree (as if the
   * attacker controlled the index it polls); the attacker never holds the key.
   */
  auditor: { keyid: string; earlierStatement: Buffer; latestStatement: Buffer; stateDir: string; signer: Ed25519Signer };
  /** Target paths of every project's files, as published in the latest state. */
  targets: Readonly<Record<ProjectKind, string[]>>;
  /** A file published after `earlier`: what a freeze withholds. */
  securityFix: string;
  /** A file published before `earlier`. */
  oldFile: string;
  buildMs: number;
  /** A new directory under the run's work dir. */
  tempDir(prefix: string): Promise<string>;
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** A small pure-Python wheel, built in memory. */
export function wheel(project: string, version: string): { filename: string; bytes: Buffer } {
  const dist = project.replace(/[-_.]+/g, '_');
  const distInfo = `${dist}-${version}.dist-info`;
  const files: [string, string][] = [
    [`${dist}/__init__.py`, `__version__ = "${version}"\n`],
    [`${distInfo}/METADATA`, `Metadata-Version: 2.1\nName: ${project}\nVersion: ${version}\nSummary: PEP 480 Table 1 fixture\n\n`],
    [`${distInfo}/WHEEL`, 'Wheel-Version: 1.0\nGenerator: bulwark-table1\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n'],
  ];
  const record = files.map(([name, data]) => `${name},sha256=${createHash('sha256').update(data).digest('base64url')},${Buffer.byteLength(data)}`);
  record.push(`${distInfo}/RECORD,,`);
  files.push([`${distInfo}/RECORD`, `${record.join('\n')}\n`]);
  return { filename: `${dist}-${version}-py3-none-any.whl`, bytes: buildZip(files.map(([name, data]) => ({ name, data }))) };
}

async function legacyUpload(url: string, token: string, project: string, version: string, file: { filename: string; bytes: Buffer }): Promise<void> {
  const form = uploadForm(
    {
      ':action': 'file_upload',
      protocol_version: '1',
      metadata_version: '2.1',
      name: project,
      version,
      filetype: 'bdist_wheel',
      pyversion: 'py3',
      sha256_digest: sha256(file.bytes),
      md5_digest: md5(file.bytes),
    },
    { name: file.filename, bytes: file.bytes }
  );
  const res = await fetch(`${url}/legacy/`, { method: 'POST', body: form, headers: { authorization: basicAuth(token) } });
  if (!res.ok) throw new Error(`upload of ${file.filename} failed: ${res.status} ${await res.text()}`);
}

/** `projectDelegations: 'direct'`: the layout from before name bins (for `bulwark migrate`). */
export async function buildScenario(opts: { bins?: number; projectDelegations?: 'direct' | 'name-bins' } = {}): Promise<Scenario> {
  const started = performance.now();
  const workDir = await mkdtemp(join(tmpdir(), 'bulwark-table1-'));
  let counter = 0;
  const tempDir = async (prefix: string) => {
    const dir = join(workDir, 'tmp', `${prefix}-${++counter}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  const dataDir = join(workDir, 'data');
  const bins = opts.bins ?? 16;
  // An auditor root names (src/auditor/): its statements let --require-auditor clients close the new-client window.
  const auditorKey = Ed25519Signer.generate();
  await initDemoRepository(dataDir, { bins, auditors: { keys: [auditorKey.publicKey] }, ...(opts.projectDelegations ? { projectDelegations: opts.projectDelegations } : {}) });
  const repo = await Repository.open(dataDir, { compress: false });
  await repo.start();
  let app: FastifyInstance | undefined;
  try {
    app = await buildServer(repo, { waitForPublishMs: 10_000 });
    const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/+$/, '');
    const { token } = await repo.accounts.addUser('alice');
    const pinnedRoot = await readFile(join(dataDir, 'root.json'));

    /** A client of the honest index (fresh cache unless given one), classic unless asked for Merkle mode. */
    const honestClient = async (metadataDir?: string, mode: 'classic' | 'merkle' = 'classic') => {
      const dir = metadataDir ?? (await tempDir('honest-client'));
      await writeFile(join(dir, 'root.json'), pinnedRoot);
      const u = new Updater({ metadataDir: dir, indexUrl: url, ...(mode === 'classic' ? { snapshotMode: 'classic' as const } : {}) });
      await u.refresh();
      return u;
    };

    // Developer keys: plain Ed25519 keys (what `bulwark key new` derives), kept as PEM files.
    const keysDir = join(workDir, 'developer-keys');
    const developer = { claimed: Ed25519Signer.generate(), 'recently-claimed': Ed25519Signer.generate() };
    const developerKeys = { claimed: join(keysDir, `${PROJECTS.claimed}.pem`), 'recently-claimed': join(keysDir, `${PROJECTS['recently-claimed']}.pem`) };
    await mkdir(keysDir, { recursive: true });
    for (const kind of ['claimed', 'recently-claimed'] as const) await writeFile(developerKeys[kind], developer[kind].exportPkcs8Pem(), { mode: 0o600 });

    // The flows of `bulwark claim` and `bulwark upload` (src/cli/commands/claim.ts, upload.ts).
    const claim = async (project: string, signer: Ed25519Signer) => {
      const state = await currentProjectState(await honestClient(), project);
      if (state.claimed) throw new Error(`${project} is already claimed`);
      const pages = state.pageFiles.length === 0 && state.targets.size === 0 ? nextRelease(state, [], { now: new Date() }) : undefined;
      const targets = pages ? pages.targets : state.targets;
      const role = await Metadata.sign(new Targets({ version: 1, expires: expiresIn(new Date(), PROJECT_ROLE_DAYS * 86400), targets, delegations: undefined }), [signer]);
      await sendClaim(url, token, project, { keys: [signer.publicKey.toJSON()], threshold: 1 }, role.bytes, pages?.pages ?? []);
      await repo.settle();
    };
    const signedUpload = async (project: string, signer: Ed25519Signer, version: string) => {
      const w = wheel(project, version);
      const path = join(await tempDir('dist'), w.filename);
      await writeFile(path, w.bytes);
      const state = await currentProjectState(await honestClient(), project);
      if (!state.claimed || !state.projectRole) throw new Error(`${project} is not claimed`);
      const files = [await readLocalFile(path, project)];
      const next = nextRelease(state, files, { now: new Date() });
      const role = await Metadata.sign(
        new Targets({ version: state.projectRole.version + 1, expires: expiresIn(new Date(), PROJECT_ROLE_DAYS * 86400), targets: next.targets, delegations: undefined }),
        [signer]
      );
      await sendSignedUpload(url, token, project, role.bytes, files, next.pages);
      await repo.settle();
    };
    const upload = async (project: string, version: string) => {
      const w = wheel(project, version);
      await legacyUpload(url, token, project, version, w);
      await repo.settle();
      return targetPath(project, w.filename);
    };
    /** Refreshes a client and looks up every file of every project, so its cache holds all it needs. */
    const syncedClient = async (mode: 'classic' | 'merkle' = 'classic'): Promise<string> => {
      const dir = await tempDir(`synced-${mode}-client`);
      const u = await honestClient(dir, mode);
      for (const project of Object.values(PROJECTS)) {
        const state = await currentProjectState(u, project);
        for (const path of state.targets.keys()) if (!(await u.findTarget(path))) throw new Error(`${path} is not vouched for`);
      }
      return dir;
    };

    // 2. Three projects with a file each.
    const oldFile = await upload(PROJECTS.unclaimed, '1.0');
    await upload(PROJECTS.claimed, '1.0');
    await upload(PROJECTS['recently-claimed'], '1.0');
    // 3. claimed-pkg: claimed, then promoted to claimed in an offline ceremony.
    await claim(PROJECTS.claimed, developer.claimed);
    const offlineClaimed = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'offline-DEMO-ONLY', 'claimed.pem'), 'utf8'));
    const ceremony = await signCeremonyFile(await exportPromotion(repo), [offlineClaimed]);
    const promoted = await importPromotion(repo, ceremony);
    if (promoted.promote.map((p) => p.project).join() !== PROJECTS.claimed) throw new Error('the promotion should move exactly claimed-pkg');
    repo.publisher.request();
    await repo.settle();
    // 4. recent-pkg: claimed, stays in recently-claimed.
    await claim(PROJECTS['recently-claimed'], developer['recently-claimed']);
    // The honest auditor follows every tree (its statements are those signed below).
    const auditorState = await tempDir('auditor');
    await Auditor.init(auditorState, pinnedRoot);
    const auditorPoll = () => new Auditor({ dir: auditorState, indexUrl: url, signer: auditorKey, token: '', publish: async () => undefined, statementExpirySeconds: 86_400 }).poll();
    await auditorPoll();
    const earlier: PublishedState = {
      timestamp: await readFile(join(dataDir, 'public', 'metadata', 'timestamp.json')),
      clientCache: await syncedClient(),
      merkleCache: await syncedClient('merkle'),
    };

    // 5. Newer releases of all three.
    const securityFix = await upload(PROJECTS.unclaimed, '1.1');
    await signedUpload(PROJECTS['recently-claimed'], developer['recently-claimed'], '1.1');
    await signedUpload(PROJECTS.claimed, developer.claimed, '1.1');
    await auditorPoll();
    const latest: PublishedState = {
      timestamp: await readFile(join(dataDir, 'public', 'metadata', 'timestamp.json')),
      clientCache: await syncedClient(),
      merkleCache: await syncedClient('merkle'),
    };
    // The honest auditor's statements on the earlier and the latest tree (signed here, as
    // `bulwark auditor` would after verifying them); the index serves the latest. They live a
    // day, not 5 minutes, so that a slow run does not see them expire.
    const statement = (ts: Buffer, version: number) => signStatement({ timestamp: Metadata.parse(ts, 'timestamp'), version, now: new Date(), expirySeconds: 86_400 }, [auditorKey]);
    const auditor = {
      keyid: auditorKey.keyId,
      earlierStatement: await statement(earlier.timestamp, 1),
      latestStatement: await statement(latest.timestamp, 2),
      stateDir: auditorState,
      signer: auditorKey,
    };
    await mkdir(join(dataDir, 'public', 'metadata', 'audit'), { recursive: true });
    await writeFile(join(dataDir, 'public', 'metadata', 'audit', `${auditor.keyid}.json`), auditor.latestStatement);

    // Check the layout the attacks assume: where each project is delegated now.
    const check = await honestClient();
    const targets = {} as Record<ProjectKind, string[]>;
    for (const kind of PROJECT_KINDS) {
      const project = PROJECTS[kind];
      const state = await currentProjectState(check, project);
      const expectedRole = kind === 'unclaimed' ? /^bins-/ : new RegExp(`^project-${project}$`);
      if (!expectedRole.test(state.role)) throw new Error(`${project} is vouched for by ${state.role}`);
      targets[kind] = [...state.targets.keys()].sort();
      for (const page of [SIMPLE_HTML, SIMPLE_JSON]) if (!targets[kind].includes(targetPath(project, page))) throw new Error(`${project} has no ${page}`);
    }
    // The role delegating each project: claimed / recently-claimed, or their name bins (ADR 0005).
    const delegatedBy = (project: string) => delegatorsOfProject(project).filter((r) => check.getVerifiedRole(r)?.signed.delegations?.roles?.has(`project-${project}`));
    if (!delegatedBy(PROJECTS.claimed).every((r) => r.startsWith('claimed')) || delegatedBy(PROJECTS.claimed).length !== 1) throw new Error('claimed-pkg should be delegated by claimed');
    if (!delegatedBy(PROJECTS['recently-claimed']).every((r) => r.startsWith('recently-claimed')) || delegatedBy(PROJECTS['recently-claimed']).length !== 1) {
      throw new Error('recent-pkg (only) should be delegated by recently-claimed');
    }

    const scenario: Scenario = {
      workDir,
      dataDir,
      publicDir: join(dataDir, 'public'),
      pinnedRoot,
      bins,
      builtAt: new Date(),
      developerKeys,
      auditor,
      earlier,
      latest,
      targets,
      securityFix,
      oldFile,
      buildMs: 0,
      tempDir,
      close: () => rm(workDir, { recursive: true, force: true }),
    };
    await app.close();
    app = undefined;
    await repo.close();
    scenario.buildMs = performance.now() - started;
    return scenario;
  } catch (e) {
    await app?.close();
    await repo.close().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
    throw e;
  }
}

/** A client metadata directory: a copy of `template`, or just the pinned root. */
export async function clientDir(scenario: Scenario, template: string | undefined): Promise<string> {
  const dir = await scenario.tempDir('victim');
  if (template) await cp(template, dir, { recursive: true });
  else await writeFile(join(dir, 'root.json'), scenario.pinnedRoot);
  return dir;
}

// SPDX-License-Identifier: Apache-2.0
// One pass of `bulwark rebuilder`, run by an independent party with its own key: it trusts the
// index for nothing but hints. For each sdist the index says it should build, it finds the file
// through TUF (it must be listed by the developers' own role, `project-<p>`, whose signed
// delegation to `wheels-<p>` must name this key), downloads and verifies it, builds it in
// isolation, and sends a signed report. Then it signs the proposals of wheels roles in which
// every wheel is one it built itself, byte for byte. Its own builds are kept in its data
// directory (--data), so a proposal is checked against what it built, never what it was told.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoleName } from '../repository/layout.js';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { crashPoint } from '../storage/crash-points.js';
import type { Updater } from '../client/updater.js';
import type { Signer } from '../tuf/index.js';
import { signedBuildReport } from './build-report.js';
import type { BuilderSettings } from './farm-runner.js';
import type { OpenProposal, QueueItem } from './farm-service.js';
import { buildWheel } from './isolated-build.js';
import { checkProposal, wheelsDelegationOf, type OwnBuild, type SignedBuildReport } from './proposals.js';

export class RebuilderError extends Error {
  constructor(
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'RebuilderError';
  }
}

export interface RebuilderOptions {
  indexUrl: string;
  token: string;
  key: Signer;
  /** The rebuilder's own records (its builds). */
  dataDir: string;
  /** A refreshed TUF updater for the index, from the rebuilder's pinned root. */
  updater: () => Promise<Updater>;
  settings: BuilderSettings;
  now?: () => Date;
}

export interface RebuilderPass {
  built: { project: string; sdist: string; ok: boolean; wheel?: string; sha256?: string; reason?: string }[];
  skipped: { project: string; sdist: string; reason: string }[];
  signed: { project: string; version: number }[];
  refused: { project: string; version: number; reason: string }[];
}

async function api<T>(o: RebuilderOptions, path: string, body?: unknown): Promise<T> {
  const url = `${o.indexUrl.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${o.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new RebuilderError('NETWORK', `cannot reach ${url}: ${(e as Error).message}`);
  }
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new RebuilderError(json.error?.code ?? 'HTTP', `${url}: ${json.error?.message ?? `${res.status} ${res.statusText}`}`);
  return json as T;
}

const buildsDir = (o: RebuilderOptions, project: string) => join(o.dataDir, 'builds', project);

/** The wheels this rebuilder built for a project, by file name. */
async function ownBuilds(o: RebuilderOptions, project: string): Promise<Map<string, OwnBuild>> {
  const out = new Map<string, OwnBuild>();
  const dir = buildsDir(o, project);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith('.json')) continue;
    const r = (JSON.parse(await readFile(join(dir, f), 'utf8')) as SignedBuildReport).report;
    if (r.ok && r.wheel && r.metadata && r.envelope) out.set(r.wheel.filename, { sha256: r.wheel.sha256, length: r.wheel.length, metadataSha256: r.metadata.sha256, envelope: r.envelope });
  }
  return out;
}

async function buildOne(o: RebuilderOptions, updater: Updater, item: QueueItem, pass: RebuilderPass): Promise<void> {
  const skip = (reason: string): void => {
    pass.skipped.push({ project: item.project, sdist: item.filename, reason });
  };
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(item.project) || !/^[A-Za-z0-9._+-]+\.(tar\.gz|zip)$/.test(item.filename)) return skip('not a project and sdist name');
  // Through TUF: the sdist must be listed by the developers' own role, and that role must
  // delegate wheels to this key.
  const role = projectRoleName(item.project);
  const found = await updater.findTarget(`${item.project}/${item.filename}`);
  if (!found || found.role !== role) return skip(`not signed by ${item.project}'s developers (TUF: ${found ? `listed by ${found.role}` : 'not found'})`);
  const projectRole = updater.getVerifiedRole(role);
  const delegation = projectRole && wheelsDelegationOf(item.project, projectRole.bytes, role);
  if (!delegation?.keys.has(o.key.keyId)) return skip(`${role} does not delegate its wheels to this rebuilder's key ${o.key.keyId}`);
  const sha256 = found.target.hashes['sha256'] as string;
  const bytes = await updater.downloadTarget(found.target); // length and hashes verified
  const started = new Date();
  const outcome = await buildWheel({ sdist: { filename: item.filename, bytes }, ...o.settings });
  crashPoint('build:after-build');
  const { signed, log } = await signedBuildReport(item.project, { filename: item.filename, sha256 }, outcome, o.key, o.settings.builderId, started, new Date());
  await writeFileAtomic(join(buildsDir(o, item.project), `${item.filename}.json`), JSON.stringify(signed));
  await writeFileAtomic(join(buildsDir(o, item.project), `${item.filename}.log`), log);
  await api(o, '/api/build-farm/reports', { signed, log });
  pass.built.push(
    outcome.ok
      ? { project: item.project, sdist: item.filename, ok: true, wheel: outcome.wheel.filename, sha256: outcome.wheel.sha256 }
      : { project: item.project, sdist: item.filename, ok: false, reason: outcome.reason }
  );
}

async function signProposal(o: RebuilderOptions, p: OpenProposal, pass: RebuilderPass): Promise<void> {
  const bundles = new Map(Object.entries(p.bundles ?? {}).map(([name, b64]) => [name, Buffer.from(String(b64), 'base64')]));
  try {
    if (typeof p.signed !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(String(p.project))) throw new RebuilderError('BAD_PROPOSAL', 'malformed proposal');
    const signed = checkProposal(p.project, p.signed, await ownBuilds(o, p.project), bundles, o.now?.() ?? new Date());
    if (signed.version !== p.version) throw new RebuilderError('BAD_PROPOSAL', `the proposal says version ${p.version}, its body ${signed.version}`);
  } catch (e) {
    pass.refused.push({ project: String(p.project), version: Number(p.version), reason: (e as Error).message });
    return;
  }
  const sig = await o.key.sign(Buffer.from(p.signed, 'utf8'));
  await api(o, `/api/build-farm/proposals/${encodeURIComponent(p.project)}/${p.version}/signatures`, sig);
  pass.signed.push({ project: p.project, version: p.version });
}

export async function runRebuilderPass(o: RebuilderOptions): Promise<RebuilderPass> {
  const pass: RebuilderPass = { built: [], skipped: [], signed: [], refused: [] };
  const keyid = o.key.keyId;
  const { sdists } = await api<{ sdists: QueueItem[] }>(o, `/api/build-farm/queue?keyid=${keyid}`);
  if (sdists.length > 0) {
    const updater = await o.updater();
    for (const item of sdists) await buildOne(o, updater, item, pass);
  }
  const { proposals } = await api<{ proposals: OpenProposal[] }>(o, `/api/build-farm/proposals?keyid=${keyid}`);
  for (const p of proposals) await signProposal(o, p, pass);
  return pass;
}

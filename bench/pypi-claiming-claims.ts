// SPDX-License-Identifier: Apache-2.0
// Claimed projects for bench/pypi-claiming-bench.ts, in bulk, on PostgreSQL: which projects are
// claimed (a seeded draw), their developers' keys (one Ed25519 key each, from a seed), their
// first project roles (real TUF metadata listing exactly the project's current targets, signed
// with that key), and the rows a claim leaves once the transaction worker has applied it
// (ProjectRoleService.claim → recordClaim → applyClaimedProject), written in one transaction:
// the delegation (parent recently-claimed, as every claim starts), the signed role, the
// project's protection, the role's row (dirty), and the project's target rows moved from the
// unclaimed bins to its role. Benchmark tooling, not product code: 200,000 claims one by one
// through recordClaim would take longer than the whole load.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { projectRoleName } from '../src/repository/layout.js';
import { Ed25519Signer, Metadata, TargetFile, Targets } from '../src/tuf/index.js';
import { prng, type Progress } from './common.js';

/** A claim ready to record: the project role as its developer signed it. */
export interface SignedClaim {
  project: string;
  keyid: string;
  /** the public key, TUF JSON */
  key: unknown;
  bytes: Buffer;
}

/**
 * `n` distinct projects drawn uniformly with a seeded PRNG (partial Fisher–Yates), in draw
 * order; `exclude` are never drawn.
 */
export function drawProjects(names: readonly string[], n: number, seed: number, exclude: ReadonlySet<string> = new Set()): string[] {
  const pool = names.filter((p) => !exclude.has(p));
  if (n > pool.length) throw new RangeError(`cannot draw ${n} of ${pool.length} projects`);
  const rand = prng(seed ^ 0xc1a1d);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
  }
  return pool.slice(0, n);
}

/** The developer key of a project: derived from the run's seed, so a run can sign again. */
export function developerSigner(project: string, seed: number): Ed25519Signer {
  return Ed25519Signer.fromSeed(createHash('sha256').update(`bench developer ${seed} ${project}`).digest());
}

const BATCH = 2000;

/**
 * Signs version 1 of each project's role over its current target rows (read `BATCH` projects
 * at a time), as `bulwark claim` would.
 */
export async function signClaims(client: pg.Client, projects: readonly string[], seed: number, expires: Date, bar: Progress): Promise<SignedClaim[]> {
  const out: SignedClaim[] = [];
  for (let start = 0; start < projects.length; start += BATCH) {
    const batch = projects.slice(start, start + BATCH);
    const rows = (await client.query('SELECT project, path, entry FROM targets WHERE project = ANY($1::text[]) ORDER BY project, path', [batch])).rows as { project: string; path: string; entry: string }[];
    const byProject = new Map<string, Map<string, TargetFile>>();
    for (const r of rows) {
      let m = byProject.get(r.project);
      if (!m) byProject.set(r.project, (m = new Map()));
      m.set(r.path, TargetFile.fromJSON(r.path, JSON.parse(r.entry), r.path));
    }
    for (const project of batch) {
      const targets = byProject.get(project);
      if (!targets) throw new Error(`${project} has no target rows`);
      const signer = developerSigner(project, seed);
      const md = await Metadata.sign(new Targets({ version: 1, expires, targets, delegations: undefined }), [signer]);
      out.push({ project, keyid: signer.keyId, key: signer.publicKey.toJSON(), bytes: md.bytes });
    }
    bar.tick(batch.length);
  }
  return out;
}

/** JSON lines of claims (bytes in base64), to hand signed claims to another process. */
export function claimsToLines(claims: readonly SignedClaim[]): string {
  return claims.map((c) => JSON.stringify({ ...c, bytes: c.bytes.toString('base64') })).join('\n');
}

export function claimsFromLines(text: string): SignedClaim[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const c = JSON.parse(l) as Omit<SignedClaim, 'bytes'> & { bytes: string };
      return { ...c, bytes: Buffer.from(c.bytes, 'base64') };
    });
}

/**
 * Records the claims as applied (see the header), in one transaction; every bin that loses a
 * target and `recently-claimed` get one more dirty generation.
 */
export async function recordClaims(url: string, claims: readonly SignedClaim[], now: string, bar: Progress): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const seqs = new Map(
      ((await client.query('SELECT project, MAX(seq) AS seq FROM journal WHERE project = ANY($1::text[]) GROUP BY project', [claims.map((c) => c.project)])).rows as { project: string; seq: number }[]).map((r) => [
        r.project,
        Number(r.seq),
      ])
    );
    for (let start = 0; start < claims.length; start += BATCH) {
      const batch = claims.slice(start, start + BATCH);
      const projects = batch.map((c) => c.project);
      const roles = projects.map(projectRoleName);
      await client.query(
        `INSERT INTO delegations(project, role, parent, keys, keyids, threshold, created_at)
         SELECT p, r, 'recently-claimed', k, i, 1, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(p, r, k, i)`,
        [projects, roles, batch.map((c) => JSON.stringify({ [c.keyid]: c.key })), batch.map((c) => JSON.stringify([c.keyid])), now]
      );
      await client.query(
        'INSERT INTO project_role_versions(project, version, bytes, journal_seq) SELECT p, 1, b, s FROM unnest($1::text[], $2::bytea[], $3::int[]) AS u(p, b, s)',
        [projects, batch.map((c) => c.bytes), projects.map((p) => seqs.get(p) ?? 0)]
      );
      await client.query("UPDATE projects SET protection = 'recently-claimed' WHERE name = ANY($1::text[])", [projects]);
      await client.query("INSERT INTO roles(name, version, expires, length, sha256, dirty) SELECT r, 0, '', 0, '', 1 FROM unnest($1::text[]) AS u(r)", [roles]);
      const bins = (await client.query('SELECT DISTINCT role FROM targets WHERE project = ANY($1::text[])', [projects])).rows.map((r: { role: string }) => r.role);
      await client.query("UPDATE targets SET role = 'project-' || project WHERE project = ANY($1::text[])", [projects]);
      await client.query('UPDATE roles SET dirty = dirty + 1 WHERE name = ANY($1::text[])', [bins]);
      bar.tick(batch.length);
    }
    await client.query("UPDATE roles SET dirty = dirty + 1 WHERE name = 'recently-claimed'");
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}

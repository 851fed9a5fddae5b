// SPDX-License-Identifier: Apache-2.0
// Small JSON endpoints: the status of a project transaction (is my upload in a published
// snapshot yet?), PyPI's JSON API (/pypi/<project>/json), and a health check.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { compareVersions, isValidProjectName, normalizeProjectName } from '../../packaging/index.js';
import type { Repository } from '../../repository/repository.js';
import { fileUrl, projectLevel } from '../../repository/simple-index.js';
import type { FileRecord } from '../../storage/state/types.js';
import { sendProblem } from '../http/problem.js';

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

function fileJson(req: FastifyRequest, f: FileRecord) {
  return {
    filename: f.filename,
    url: new URL(fileUrl(f), `${baseUrl(req)}/simple/${f.project}/`).href,
    digests: { sha256: f.sha256, md5: f.md5 },
    md5_digest: f.md5,
    size: f.size,
    packagetype: f.packagetype,
    python_version: f.pythonVersion,
    requires_python: f.requiresPython,
    upload_time_iso_8601: f.uploadTime,
    yanked: f.yanked,
    yanked_reason: f.yankedReason,
  };
}

export function registerApiRoutes(app: FastifyInstance, repo: Repository): void {
  app.get('/api/v1/transactions/:seq', async (req: FastifyRequest<{ Params: { seq: string } }>, reply) => {
    const seq = Number(req.params.seq);
    const entry = Number.isSafeInteger(seq) ? await repo.state.journalEntry(seq) : undefined;
    if (!entry) return sendProblem(reply, 404, 'NOT_FOUND', `No transaction ${req.params.seq}.`, 'json');
    return {
      transaction: entry.seq,
      kind: entry.kind,
      project: entry.project,
      status: entry.state,
      snapshot_version: entry.publishedVersion,
      error: entry.error,
    };
  });

  const projectJson = async (req: FastifyRequest<{ Params: { project: string; version?: string } }>, reply: import('fastify').FastifyReply) => {
    if (!isValidProjectName(req.params.project)) return sendProblem(reply, 404, 'NOT_FOUND', 'No such project: not a valid project name.', 'json');
    const name = normalizeProjectName(req.params.project);
    const project = await repo.state.getProject(name);
    if (!project) return sendProblem(reply, 404, 'NOT_FOUND', `No project named ${name}.`, 'json');
    const files = await repo.state.projectFiles(name);
    const versions = [...new Set(files.map((f) => f.version))].sort(compareVersions);
    const unyanked = versions.filter((v) => files.some((f) => f.version === v && !f.yanked));
    const version = req.params.version ?? unyanked.at(-1) ?? versions.at(-1);
    if (version === undefined || !versions.includes(version)) return sendProblem(reply, 404, 'NOT_FOUND', `No release ${req.params.version ?? ''} of ${name}.`, 'json');
    const ofVersion = files.filter((f) => f.version === version);
    const releases: Record<string, unknown[]> = {};
    for (const v of versions) releases[v] = files.filter((f) => f.version === v).map((f) => fileJson(req, f));
    return {
      info: {
        name: project.displayName,
        version,
        summary: ofVersion.find((f) => f.summary)?.summary ?? null,
        requires_python: ofVersion.find((f) => f.requiresPython)?.requiresPython ?? null,
        package_url: `${baseUrl(req)}/project/${name}/`,
        project_url: `${baseUrl(req)}/project/${name}/`,
        yanked: ofVersion.length > 0 && ofVersion.every((f) => f.yanked),
        bulwark_protection: await projectLevel(repo.state, project),
      },
      ...(req.params.version ? {} : { releases }),
      urls: ofVersion.map((f) => fileJson(req, f)),
      last_serial: Math.max(0, ...files.map((f) => f.journalSeq)),
    };
  };
  app.get('/pypi/:project/json', projectJson);
  app.get('/pypi/:project/:version/json', projectJson);

  app.get('/health', () => ({ ok: true, snapshot_version: repo.snapshotVersion }));
}

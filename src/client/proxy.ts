// SPDX-License-Identifier: Apache-2.0
// `bulwark proxy`: a PEP 503/691 index on 127.0.0.1 for pip, serving only verified bytes. A
// project page is the TUF target `<project>/index.json` (or `.html`), and every file it links
// to (`../../files/<project>/<name>`) is the target `<project>/<name>`, each fetched from the
// index or a mirror and checked against the TUF metadata before a byte reaches pip. With a
// level policy, a project below the minimum is refused before its page or a file is fetched;
// what was served, and at which level, is recorded for `GET /-/report`.
import fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { isValidProjectName, MAX_NAME_SEGMENT_LENGTH, negotiateSimpleContentType, normalizeProjectName, SIMPLE_JSON } from '../packaging/index.js';
import type { LevelPolicy } from './level-policy.js';
import { IdleTimer, ServedReport } from './served-report.js';
import { describeFailure, type AdmitLevel, type VerifiedIndex } from './verified-index.js';
import { mergeVerifiedWheels, verifiedWheelFiles } from './verified-wheels-page.js';

export interface ProxyOptions {
  /** `--min-level` and `--allow`: without it every verified project is served. */
  policy?: LevelPolicy;
  /** Where served projects and files are recorded (default: a new one). */
  report?: ServedReport;
  /** Log the summary line after this long without requests, following a burst (ms; default 2 s). */
  idleSummaryMs?: number;
}

function reasonPhrase(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/**
 * pip logs a failed project-page fetch only with -v, then says just "No matching
 * distribution". It does warn, always, about a page with an unsupported Content-Type and
 * prints that type: so pip gets its refusal in the Content-Type of a 200 response without a
 * single link, and the user sees why. Other clients get the honest 502.
 */
function refusalForPip(reply: FastifyReply, message: string): FastifyReply {
  const quoted = reasonPhrase(message).replace(/["\\]/g, "'");
  return reply.code(200).header('content-type', `text/x.bulwark-refused; reason="${quoted}"`).send(`${message}\n`);
}

/** A URL segment that is no valid project name (e.g. `..%2f`): 404, never a redirect. */
function notAProject(reply: FastifyReply): FastifyReply {
  return reply.code(404).type('text/plain; charset=utf-8').send('404 No such project: not a valid project name\n');
}

export function buildProxy(index: VerifiedIndex, log: FastifyBaseLogger | undefined, o: ProxyOptions = {}): FastifyInstance {
  // maxParamLength: every valid project and file name reaches its routes.
  const app = fastify({ ...(log ? { loggerInstance: log } : { logger: false }), routerOptions: { maxParamLength: MAX_NAME_SEGMENT_LENGTH } });
  const report = o.report ?? new ServedReport();
  const idle = new IdleTimer(o.idleSummaryMs ?? 2000, () => {
    if (report.toJSON().projects.length > 0) app.log.info({ summary: report.toJSON().summary }, report.summaryLine());
  });
  app.addHook('onClose', async () => idle.stop());
  const admit = (project: string): AdmitLevel | undefined => (o.policy ? (level) => o.policy?.admit(project, level) : undefined);
  const fail = (reply: FastifyReply, path: string, e: unknown, page = false) => {
    const f = describeFailure(e);
    if (f.status === 502) reply.log.error({ target: path, code: f.code }, `ATTACK? ${f.message}`);
    else reply.log.warn({ target: path, code: f.code }, f.message);
    const fromPip = /^pip\//.test(reply.request.headers['user-agent'] ?? '');
    if (page && fromPip && f.status !== 404) return refusalForPip(reply, f.message);
    reply.code(f.status);
    reply.raw.statusMessage = reasonPhrase(f.message);
    return reply.type('text/plain; charset=utf-8').send(`${f.status} ${f.message}\n`);
  };

  app.get('/simple/', (_req, reply) =>
    reply.type('text/html; charset=utf-8').send('<!DOCTYPE html><html><body><p>Bulwark verifying proxy: ask for /simple/&lt;project&gt;/</p></body></html>\n')
  );
  app.get('/-/report', (_req, reply) => reply.send(report.toJSON()));
  app.get('/simple/:project/', async (req, reply) => {
    idle.touch();
    const { project } = req.params as { project: string };
    if (!isValidProjectName(project)) return notAProject(reply);
    const normalized = normalizeProjectName(project);
    if (normalized !== project) return reply.redirect(`/simple/${normalized}/`, 301);
    reply.header('Vary', 'Accept');
    const type = negotiateSimpleContentType(req.headers.accept);
    if (type === null) return reply.code(406).send('406 Not Acceptable\n');
    const path = `${normalized}/${type === SIMPLE_JSON ? 'index.json' : 'index.html'}`;
    try {
      const t = await index.get(path, admit(normalized));
      req.log.info({ target: path, role: t.role, level: t.level }, 'verified project page');
      report.page(normalized, t.level);
      // Verified wheels (issue 15, docs/adr/0006): listed beside the developers' own files.
      const wheels = await verifiedWheelFiles(index, normalized, admit(normalized), req.log).catch((e: unknown) => {
        req.log.warn({ project: normalized, err: (e as Error).message }, 'verified wheels unavailable');
        return [];
      });
      return reply.type(type === 'text/html' ? 'text/html; charset=utf-8' : type).send(mergeVerifiedWheels(t.bytes, type === SIMPLE_JSON, wheels));
    } catch (e) {
      return fail(reply, path, e, true);
    }
  });
  app.get('/simple/:project', (req, reply) => {
    const { project } = req.params as { project: string };
    return isValidProjectName(project) ? reply.redirect(`/simple/${normalizeProjectName(project)}/`, 301) : notAProject(reply);
  });
  app.get('/files/:project/:name', async (req, reply) => {
    idle.touch();
    const { project, name } = req.params as { project: string; name: string };
    if (!isValidProjectName(project)) return notAProject(reply);
    const path = `${project}/${name}`;
    try {
      const t = await index.get(path, admit(project));
      req.log.info({ target: path, role: t.role, level: t.level, bytes: t.bytes.length }, 'verified file');
      report.file(normalizeProjectName(project), {
        filename: name,
        sha256: t.target.hashes['sha256'] ?? '',
        level: t.level,
        verified_build: t.build !== undefined,
        ...(t.build ? { builders: t.build.builders.map((b) => ({ keyid: b.keyid, builder_id: b.builderId })), built_from: t.build.builtFrom } : {}),
        attestations: t.build ? [t.build.attestation] : t.attestations.map((a) => a.path),
      });
      return reply.type('application/octet-stream').send(t.bytes);
    } catch (e) {
      return fail(reply, path, e);
    }
  });
  return app;
}

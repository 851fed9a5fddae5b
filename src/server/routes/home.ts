// SPDX-License-Identifier: Apache-2.0
// GET /: a plain landing page saying what this index is and where its parts are.
import type { FastifyInstance } from 'fastify';
import type { Repository } from '../../repository/repository.js';

export function registerHomeRoutes(app: FastifyInstance, repo: Repository): void {
  app.get('/', async (_req, reply) => {
    const projects = (await repo.state.listProjects()).length;
    const demo = repo.config.mode === 'demo'
      ? '<p role="alert"><strong>Demo repository:</strong> its offline keys are on this server. Do not use it for real packages.</p>'
      : '';
    return reply.type('text/html; charset=utf-8').send(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bulwark package index</title></head>
<body><main>
<h1>Bulwark package index</h1>${demo}
<p>${projects} project(s). Every file is vouched for by TUF metadata (PEP 458/480).</p>
<ul>
<li><a href="/simple/">Simple index</a> (PEP 503/691): <code>pip install --index-url http://HOST/simple/ NAME</code></li>
<li>Upload: <code>twine upload --repository-url http://HOST/legacy/ dist/*</code></li>
<li><a href="/metadata/1.root.json">Initial root metadata</a> and the <a href="/metadata/timestamp.json">current timestamp</a></li>
</ul>
</main></body></html>
`);
  });
}

// An index running inside the test process on real HTTP (127.0.0.1, a free port), on a fresh
// demo repository with a small bin count. For tests that need to look at the repository's
// state directly; tests of the command itself use startBulwark() from processes.ts.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, saveConfig, type RepositoryConfig } from '../../src/repository/config.js';
import { initDemoRepository } from '../../src/repository/init.js';
import { Repository } from '../../src/repository/repository.js';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { memorySdist } from './memory-dists.js';
import { removeTempDir, tempDir } from './processes.js';

export interface IndexUnderTest {
  url: string;
  dataDir: string;
  repo: Repository;
  app: FastifyInstance;
  /** Creates a user and returns its API token. */
  user(name: string): Promise<string>;
  /** Every file of the static tree with its bytes, plus the journal length: "what changed?" */
  fingerprint(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

export async function startIndex(
  opts: {
    bins?: number;
    server?: ServerOptions;
    now?: Date;
    /** postgres://… to keep the state in PostgreSQL. */
    databaseUrl?: string;
    /** Changes config.json before the index opens. */
    configure?: (cfg: RepositoryConfig) => RepositoryConfig;
  } = {}
): Promise<IndexUnderTest> {
  const dataDir = await tempDir('bulwark-index');
  await initDemoRepository(dataDir, { bins: opts.bins ?? 16, ...(opts.now ? { now: opts.now } : {}) });
  if (opts.configure) {
    const cfg = await loadConfig(dataDir);
    if (!cfg) throw new Error(`no config.json in ${dataDir}`);
    await saveConfig(dataDir, opts.configure(cfg));
  }
  const repo = await Repository.open(dataDir, { compress: true, ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}) });
  await repo.start();
  const app = await buildServer(repo, { waitForPublishMs: 10_000, ...opts.server });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: address,
    dataDir,
    repo,
    app,
    async user(name) {
      return (await repo.accounts.addUser(name)).token;
    },
    async fingerprint() {
      await repo.settle();
      const out = new Map<string, string>();
      for (const f of await listFiles(join(dataDir, 'public'))) {
        if (f.endsWith('.gz') || f.endsWith('.br')) continue; // written in the background
        out.set(f.slice(dataDir.length), (await readFile(f)).toString('base64'));
      }
      const journal = await repo.state.pendingJournal(1_000_000);
      out.set('journal:pending', String(journal.length));
      out.set('projects', JSON.stringify(await repo.state.listProjects()));
      out.set('tmp', JSON.stringify(await repo.tmpFiles()));
      return out;
    },
    async close() {
      await app.close();
      await repo.close();
      await removeTempDir(dataDir);
    },
  };
}

/** Builds the multipart form twine sends for one file. */
export function uploadForm(fields: Record<string, string>, file?: { name: string; bytes: Uint8Array }): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append('content', new Blob([file.bytes]), file.name);
  return form;
}

/** The form twine sends for a small in-memory sdist of `project` `version`. */
export function sdistUploadForm(project: string, version: string): FormData {
  const { bytes } = memorySdist({ name: project, version, payload: Buffer.from(`${project}-${version}`) });
  const fields = { ':action': 'file_upload', protocol_version: '1', name: project, version, filetype: 'sdist', pyversion: 'source', sha256_digest: createHash('sha256').update(bytes).digest('hex') };
  return uploadForm(fields, { name: `${project}-${version}.tar.gz`, bytes });
}

export function basicAuth(token: string): string {
  return `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`;
}

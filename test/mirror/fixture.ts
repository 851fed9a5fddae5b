// Shared by the mirror and audit tests: a real index (in-process, 16 bins) and uploads of small
// wheels through the /legacy/ form, as twine sends them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildDist } from '../helpers/dists.js';
import { basicAuth, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { tempDir } from '../helpers/processes.js';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

export interface Wheel {
  project: string;
  version: string;
  name: string;
  bytes: Buffer;
}

/** Builds wheels (in parallel) for `name==version` pairs. */
export async function buildWheels(specs: [string, string][]): Promise<Wheel[]> {
  const dir = await tempDir('wheels');
  return Promise.all(
    specs.map(async ([project, version]) => {
      const [path] = await buildDist({ name: project, version, kind: 'wheel', outDir: dir });
      return { project, version, name: basename(path as string), bytes: await readFile(path as string) };
    })
  );
}

/** Uploads a wheel and waits until it is in a published snapshot. */
export async function upload(index: IndexUnderTest, token: string, w: Wheel): Promise<number> {
  const fields = {
    ':action': 'file_upload',
    protocol_version: '1',
    name: w.project,
    version: w.version,
    filetype: 'bdist_wheel',
    pyversion: 'py3',
    metadata_version: '2.1',
    sha256_digest: sha256(w.bytes),
    md5_digest: md5(w.bytes),
  };
  const res = await fetch(`${index.url}/legacy/`, { method: 'POST', body: uploadForm(fields, { name: w.name, bytes: w.bytes }), headers: { authorization: basicAuth(token) } });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text) as { status: string; snapshot_version: number };
  assert.equal(body.status, 'published', text);
  return body.snapshot_version;
}

/** Relative paths of every file under `dir/area` (dot files excluded). */
export async function listTree(dir: string, area: string): Promise<string[]> {
  const entries = await readdir(join(dir, area), { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1))
    .sort();
}

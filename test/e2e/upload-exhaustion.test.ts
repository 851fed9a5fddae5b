// Issue 13's memory and disk attacks on a real `bulwark serve`: a body sent without valid
// credentials to any route that takes one is refused from the request's headers, before a
// byte of it is kept in memory or written to disk; and a signed-in user cannot make the server
// hold more than the per-request budget of text fields and in-memory parts either.
// Before the fix, 500 text fields of 4 MiB to /legacy/ took the server from 135 MB to 2.2 GB
// before its 401, and signed-upload wrote and fsynced every file under tmp/ before its 401.
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';
import { multipartFlood, multipartFloodLength, partHead, sendRaw, type RawResponse } from '../helpers/raw-http.js';

const MiB = 1024 * 1024;
/** What the server may grow by (peak resident memory) over all the attacks. */
const MAX_MEMORY_GROWTH = 256 * MiB;
/** What the server may write (files, logs, answers) while refusing one attack. */
const MAX_WRITTEN = 1 * MiB;
/** The attacks offer gigabytes; a server that reads more than this before answering has lost. */
const MAX_SEND = 320 * MiB;
/** The budget of text fields and in-memory parts per request this test's server runs with. */
const FORM_BUDGET = 8 * MiB;
/**
 * The largest file this test's server takes. A refused body is discarded up to one upload's
 * size (file and form), so that twine gets the answer; past that the connection is cut.
 */
const MAX_UPLOAD = 8 * MiB;
/** The distribution files per signed upload this test's server takes. */
const MAX_FILES = 2;
const BOUNDARY = 'exhaustion-boundary';

interface Attack {
  name: string;
  path: string;
  contentType: string;
  length: number;
  body: () => Iterable<Buffer>;
}

function multipartAttack(name: string, path: string, part: { name: string; filename?: string; count: number; partBytes: number }): Attack {
  return {
    name,
    path,
    contentType: `multipart/form-data; boundary=${BOUNDARY}`,
    length: multipartFloodLength(BOUNDARY, part),
    body: () => multipartFlood(BOUNDARY, part),
  };
}

/** A JSON body of `bytes` bytes: one endless string. */
function jsonAttack(name: string, path: string, bytes: number): Attack {
  return {
    name,
    path,
    contentType: 'application/json',
    length: bytes,
    body: function* () {
      const mib = Buffer.alloc(MiB, 'a');
      yield Buffer.from('{"x":"');
      for (let left = bytes - 8; left > 0; left -= MiB) yield left >= MiB ? mib : mib.subarray(0, left);
      yield Buffer.from('"}');
    },
  };
}

const ATTACKS: Attack[] = [
  multipartAttack('/legacy/: 500 text fields of 4 MiB', '/legacy/', { name: 'description', count: 500, partBytes: 4 * MiB }),
  multipartAttack('signed-upload: 200 pages of 16 MiB', '/api/v1/projects/victim/signed-upload', { name: 'page', filename: 'index.html', count: 200, partBytes: 16 * MiB }),
  multipartAttack('signed-upload: 200 files of 100 MiB', '/api/v1/projects/victim/signed-upload', { name: 'content', filename: 'victim-1.0.tar.gz', count: 200, partBytes: 100 * MiB }),
  multipartAttack('claim: 200 pages of 16 MiB', '/api/v1/projects/victim/claim', { name: 'page', filename: 'index.json', count: 200, partBytes: 16 * MiB }),
  jsonAttack('keys: a 2 GiB JSON body', '/api/v1/projects/victim/keys', 2048 * MiB),
  jsonAttack('yank: a 2 GiB JSON body', '/api/v1/projects/victim/yank', 2048 * MiB),
];

describe('upload routes under a memory and disk attack (real bulwark serve)', () => {
  let server: RunningServer;
  let dataDir: string;
  let token: string;
  let baselinePeak: number;

  /** A /proc/<pid>/status or /proc/<pid>/io field of the server process, in bytes. */
  const procField = async (file: 'status' | 'io', field: string): Promise<number> => {
    const text = await readFile(`/proc/${server.proc.pid}/${file}`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+)( kB)?$`, 'm').exec(text);
    assert.ok(m, `no ${field} in /proc/${server.proc.pid}/${file}`);
    return Number(m[1]) * (m[2] ? 1024 : 1);
  };
  const peakMemory = () => procField('status', 'VmHWM');
  const bytesWritten = () => procField('io', 'wchar');
  const tmpFiles = async () => readdir(join(dataDir, 'tmp')).catch(() => []);

  const attack = (a: Attack, authorization?: string) =>
    sendRaw(server.url, {
      head: [`POST ${a.path} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Type: ${a.contentType}`, `Content-Length: ${a.length}`, ...(authorization ? [`Authorization: ${authorization}`] : [])].join('\r\n'),
      body: a.body(),
      // Like twine, which reads the answer only once it has sent the whole body: the server
      // must cut the connection itself.
      ignoreAnswer: true,
      maxSendBytes: MAX_SEND,
      answerTimeoutMs: 3_000,
    });

  before(async () => {
    dataDir = await tempDir('exhaustion-data');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    server = await startBulwark({ dataDir, args: ['--max-upload-size', String(MAX_UPLOAD), '--max-form-size', String(FORM_BUDGET), '--max-files', String(MAX_FILES)] });
    token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'alice', '--json'])).stdout) as { token: string }).token;
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    baselinePeak = await peakMemory();
  });
  after(() => server?.stop());

  /** The answer, and (`early`) that the server cut the connection long before the body's end. */
  const assertRefusedEarly = (r: RawResponse, status: number, code: string, what: string, early = true) => {
    assert.equal(r.status, status, `${what}: expected ${status} ${code}, got ${r.status ?? 'no answer'} after ${r.sentBytes} bytes: ${r.body.slice(0, 300)}`);
    assert.match(r.body, new RegExp(code), `${what}: the answer names ${code}`);
    // (plus what the sockets buffer on the way)
    if (early) assert.ok(!r.sentAll && r.sentBytes < MAX_UPLOAD + FORM_BUDGET + 32 * MiB, `${what}: refused after ${r.sentBytes} body bytes (not early)`);
  };

  for (const a of ATTACKS) {
    it(`refuses ${a.name} without credentials before reading it`, async () => {
      const written = await bytesWritten();
      const r = await attack(a);
      const wrote = (await bytesWritten()) - written;
      assert.ok(wrote < MAX_WRITTEN, `${a.name}: the server wrote ${wrote} bytes while refusing it`);
      const grown = (await peakMemory()) - baselinePeak;
      assert.ok(grown < MAX_MEMORY_GROWTH, `${a.name}: peak memory grew by ${grown} bytes`);
      assertRefusedEarly(r, 401, 'UNAUTHENTICATED', a.name);
      assert.deepEqual(await tmpFiles(), []);
      assert.equal((await fetch(`${server.url}/health`)).status, 200, 'the server still answers');
    });
  }

  it('refuses the same attacks with a wrong token (403) before reading them', async () => {
    for (const a of [ATTACKS[0], ATTACKS[2]] as Attack[]) {
      const written = await bytesWritten();
      const r = await attack(a, 'Bearer bulwark-not-a-real-token');
      const wrote = (await bytesWritten()) - written;
      assertRefusedEarly(r, 403, 'INVALID_TOKEN', a.name);
      assert.ok(wrote < MAX_WRITTEN, `${a.name}: the server wrote ${wrote} bytes while refusing it`);
    }
    const grown = (await peakMemory()) - baselinePeak;
    assert.ok(grown < MAX_MEMORY_GROWTH, `peak memory grew by ${grown} bytes`);
  });

  it('holds a signed-in user to the budget of text fields (413 FORM_TOO_LARGE on /legacy/)', async () => {
    const fields = multipartAttack('fields over the budget', '/legacy/', { name: 'description', count: 40, partBytes: 1 * MiB });
    const r = await attack(fields, `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`);
    assertRefusedEarly(r, 413, 'FORM_TOO_LARGE', 'fields over the budget');
    assert.match(r.body, new RegExp(`${FORM_BUDGET}`), 'the answer states the limit');
    assert.deepEqual(await tmpFiles(), []);
  });

  it('holds a signed-in user to the budget of in-memory parts (413 FORM_TOO_LARGE on signed-upload)', async () => {
    const role = Buffer.from('{"signed":{},"signatures":[]}');
    // Its two pages (index.html, index.json) of 5 MiB each: under the 16 MiB a page may have, over the budget together.
    const pages = multipartFlood(BOUNDARY, { name: 'page', filename: 'index.html', count: 2, partBytes: 5 * MiB });
    const r = await sendRaw(server.url, {
      head: ['POST /api/v1/projects/victim/signed-upload HTTP/1.1', 'Host: 127.0.0.1', `Content-Type: multipart/form-data; boundary=${BOUNDARY}`, `Authorization: Bearer ${token}`, 'Transfer-Encoding: chunked'].join('\r\n'),
      body: chunked([partHead(BOUNDARY, 'role', 'role.json'), role, Buffer.from('\r\n'), ...pages]),
      ignoreAnswer: true,
      maxSendBytes: MAX_SEND,
      answerTimeoutMs: 3_000,
    });
    assertRefusedEarly(r, 413, 'FORM_TOO_LARGE', 'pages over the budget', false);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'FORM_TOO_LARGE');
    const grown = (await peakMemory()) - baselinePeak;
    assert.ok(grown < MAX_MEMORY_GROWTH, `peak memory grew by ${grown} bytes`);
    assert.equal((await fetch(`${server.url}/health`)).status, 200, 'the server still answers');
  });

  it('refuses a signed upload of more files than --max-files with 400 TOO_MANY_FILES, and keeps none', async () => {
    const files = multipartAttack('too many files', '/api/v1/projects/victim/signed-upload', { name: 'content', filename: 'victim-1.0.tar.gz', count: MAX_FILES + 1, partBytes: 1024 });
    const r = await attack(files, `Bearer ${token}`);
    assert.equal(r.status, 400, r.body);
    const error = (JSON.parse(r.body) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'TOO_MANY_FILES');
    assert.match(error.message, new RegExp(`at most ${MAX_FILES} distributions`));
    assert.deepEqual(await tmpFiles(), []);
  });
});

/** Frames body chunks for Transfer-Encoding: chunked. */
function* chunked(chunks: Iterable<Buffer>): Generator<Buffer> {
  for (const c of chunks) {
    if (c.length === 0) continue;
    yield Buffer.from(`${c.length.toString(16)}\r\n`);
    yield c;
    yield Buffer.from('\r\n');
  }
  yield Buffer.from('0\r\n\r\n');
}

// The exit code says whose fault it is, so a script (or a test checking "exit 1") can tell a
// refusal from a crash: 1 failure, 2 usage, 3 no repository, 70 internal error (a bug, the
// only case with a stack), 78 configuration. With --json the error is an object on stdout.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { initDemoRepository } from '../../src/repository/init.js';
import { runBulwark, tempDir } from '../helpers/processes.js';

interface JsonError {
  error: { code: string; message: string; exit_code: number };
}
const jsonError = (stdout: string) => (JSON.parse(stdout) as JsonError).error;
const STACK = /\n\s+at /;
const env = { BULWARK_DATABASE_URL: '' };

describe('exit codes and --json errors', () => {
  let data: string;
  before(async () => {
    data = await tempDir('exit-codes');
    await initDemoRepository(data, { bins: 16 });
  });

  it('2 for a bad command line, with a JSON error under --json', async () => {
    const r = await runBulwark(['--json', 'frobnicate'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(jsonError(r.stdout), { code: 'USAGE', message: "unknown command 'frobnicate'", exit_code: 2 });
  });

  it('3 when there is no repository', async () => {
    const r = await runBulwark(['--data', await tempDir('exit-empty'), '--json', 'status'], { env });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(jsonError(r.stdout).code, 'NO_REPOSITORY');
  });

  it('78 for a database URL that is not PostgreSQL, and for a config.json that is not JSON', async () => {
    const url = await runBulwark(['--data', data, '--database', 'mysql://u:secret@db/x', '--json', 'status'], { env });
    assert.equal(url.code, 78, url.stderr);
    assert.equal(jsonError(url.stdout).code, 'CONFIGURATION');
    assert.doesNotMatch(url.stderr, /secret/);
    assert.doesNotMatch(url.stderr, STACK);
    const broken = await tempDir('exit-config');
    await initDemoRepository(broken, { bins: 16 });
    await writeFile(join(broken, 'config.json'), '{"formatVersion": 1,');
    const r = await runBulwark(['--data', broken, '--json', 'status'], { env });
    assert.equal(r.code, 78, r.stderr);
    assert.equal(jsonError(r.stdout).code, 'CONFIGURATION');
    assert.match(r.stderr, /config\.json is not JSON/);
    assert.doesNotMatch(r.stderr, STACK);
  });

  it('70 for an internal error, with the stack on stderr only', async () => {
    // A state file that is not a database: nothing the code anticipates, so it is reported as a bug.
    const damaged = await tempDir('exit-internal');
    await initDemoRepository(damaged, { bins: 16 });
    await writeFile(join(damaged, 'bulwark.db'), Buffer.alloc(8192, 'x'));
    await writeFile(join(damaged, 'bulwark.db-wal'), '');
    const r = await runBulwark(['--data', damaged, '--json', 'status'], { env });
    assert.equal(r.code, 70, r.stderr);
    const e = jsonError(r.stdout);
    assert.equal(e.code, 'INTERNAL');
    assert.equal(e.exit_code, 70);
    assert.doesNotMatch(e.message, STACK);
    assert.match(r.stderr, /internal error \(a bug/);
    assert.match(r.stderr, STACK);
  });

  it('--help lists the exit codes', async () => {
    const r = await runBulwark(['--help'], { env });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /70 internal error/);
    assert.match(r.stdout, /78 configuration error/);
  });
});

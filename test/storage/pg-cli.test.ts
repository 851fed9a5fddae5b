// The command line on PostgreSQL: the global --database option (and $BULWARK_DATABASE_URL)
// reach every command that opens the repository, and `bulwark serve` takes uploads into it.
// Skipped (with a message) only when PostgreSQL is not installed and CI is not set.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { initDemoRepository } from '../../src/repository/init.js';
import { PgState } from '../../src/storage/state/pg-state.js';
import { postgresOrSkip } from '../helpers/postgres.js';
import { runBulwark, startBulwark, tempDir } from '../helpers/processes.js';
import { memorySdist } from '../helpers/memory-dists.js';

const pgInfo = await postgresOrSkip();

describe('bulwark --database', { skip: pgInfo.skip ?? false }, () => {
  it('user add, status and serve use the PostgreSQL state', async () => {
    const url = await pgInfo.cluster!.createDatabase('cli');
    const data = await tempDir('pg-cli');
    await initDemoRepository(data, { bins: 16 });
    const env = { BULWARK_DATABASE_URL: '' };
    const added = await runBulwark(['--data', data, '--database', url, '--json', 'user', 'add', 'bob'], { env });
    assert.equal(added.code, 0, added.stderr);
    const state = await PgState.connect(url);
    try {
      assert.equal((await state.userByName('bob'))?.name, 'bob');
      // Without --database the embedded file refuses: the state moved.
      // A configuration error (78), with the message and no stack: not a crash (70).
      const embedded = await runBulwark(['--data', data, 'user', 'add', 'carol'], { env });
      assert.equal(embedded.code, 78, embedded.stderr);
      assert.match(embedded.stderr, /moved to PostgreSQL .*: pass --database or set BULWARK_DATABASE_URL/);
      assert.doesNotMatch(embedded.stderr, /\n\s+at /);
      // $BULWARK_DATABASE_URL is the default.
      const carol = await runBulwark(['--data', data, 'user', 'add', 'carol'], { env: { BULWARK_DATABASE_URL: url } });
      assert.equal(carol.code, 0, carol.stderr);
      assert.ok(await state.userByName('carol'));
      const status = await runBulwark(['--data', data, '--database', url, '--json', 'status'], { env });
      assert.equal(status.code, 0, status.stderr);

      const server = await startBulwark({ dataDir: data, args: ['--database', url], env });
      try {
        const token = (JSON.parse(added.stdout) as { token: string }).token;
        const { bytes } = memorySdist({ name: 'cliproj', version: '1.0' });
        const form = new FormData();
        for (const [k, v] of Object.entries({ ':action': 'file_upload', protocol_version: '1', name: 'cliproj', version: '1.0', filetype: 'sdist', pyversion: 'source', sha256_digest: createHash('sha256').update(bytes).digest('hex') })) form.append(k, v);
        form.append('content', new Blob([bytes]), 'cliproj-1.0.tar.gz');
        const r = await fetch(`${server.url}/legacy/`, { method: 'POST', body: form, headers: { authorization: `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}` } });
        assert.equal(r.status, 200, await r.clone().text());
        assert.equal(((await r.json()) as { status: string }).status, 'published');
        assert.equal((await state.fileByName('cliproj-1.0.tar.gz'))?.project, 'cliproj');
      } finally {
        await server.stop();
      }
    } finally {
      await state.close();
    }
  });
});

// The embedded store serves one process: a second `bulwark serve` on the same data directory
// refuses to start (it would apply transactions beside the first), while the first keeps
// serving; after the first stops, a new one starts at once. `bulwark worker` needs PostgreSQL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initDemoRepository } from '../../src/repository/init.js';
import { runBulwark, startBulwark, tempDir } from '../helpers/processes.js';

describe('one process on the embedded store', () => {
  it('a second serve on the same data directory refuses; worker asks for PostgreSQL', async () => {
    const data = await tempDir('one-server');
    await initDemoRepository(data, { bins: 16 });
    const env = { BULWARK_DATABASE_URL: '' };
    const first = await startBulwark({ dataDir: data, env });
    try {
      const second = await runBulwark(['serve', '--data', data, '--port', '0'], { env, timeoutMs: 30_000 });
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, /another bulwark process \(.+\) serves .*the embedded store serves one process/);
      const health = await fetch(`${first.url}/health`);
      assert.equal(health.status, 200, 'the first still serves');
      const worker = await runBulwark(['worker', '--data', data], { env });
      assert.equal(worker.code, 2);
      assert.match(worker.stderr, /needs PostgreSQL/);
    } finally {
      await first.stop();
    }
    const again = await startBulwark({ dataDir: data, env });
    await again.stop();
  });
});

// Isolated builds (issue 15 item 2): the same sdist builds to the same wheel bytes twice; a
// build that reaches for the network fails (and, as a control, the same build without
// isolation does reach it); a build that needs a tool the machine lacks fails with its log.
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildWheel, chooseNetworkIsolation } from '../../src/buildfarm/isolated-build.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';
import { setuptoolsSdist } from '../helpers/setuptools-sdists.js';

describe('isolated wheel builds', () => {
  let dir: string;
  const isolation = chooseNetworkIsolation(false);
  const write = async (sdist: { filename: string; bytes: Buffer }) => {
    const path = join(dir, sdist.filename);
    await writeFile(path, sdist.bytes);
    return path;
  };

  before(async () => {
    dir = await tempDir('isolated-build');
  });
  after(async () => {
    await removeTempDir(dir);
  });

  it('builds a pure-Python sdist to the same wheel bytes twice, stamped with its PKG-INFO mtime', async () => {
    const path = await write(setuptoolsSdist({ name: 'twice-pkg', version: '1.0' }));
    const a = await buildWheel({ sdist: { path }, isolation });
    const b = await buildWheel({ sdist: { path }, isolation });
    assert.ok(a.ok, a.ok ? '' : a.log);
    assert.ok(b.ok, b.ok ? '' : b.log);
    assert.equal(a.wheel.filename, 'twice_pkg-1.0-py3-none-any.whl');
    assert.equal(a.wheel.sha256, b.wheel.sha256);
    assert.equal(a.sourceDateEpoch, 315532800); // the fixture's tar mtime
    assert.match(a.tools.setuptools, /^\d+\./);
    assert.match(a.tools.wheel, /^\d+\./);
    assert.match(a.tools.pip, /^\d+\./);
    assert.deepEqual(a.command.slice(-1), ['twice_pkg-1.0.tar.gz']);
  });

  it('cuts the build off from the network (the same build without isolation reaches it)', async () => {
    let connections = 0;
    const server: Server = createServer((s) => {
      connections++;
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const path = await write(
        setuptoolsSdist({ name: 'phone-home', version: '1.0', setupCode: `import socket\nsocket.create_connection(('127.0.0.1', ${port}), timeout=5).close()\n` })
      );
      const isolated = await buildWheel({ sdist: { path }, isolation });
      assert.equal(isolated.ok, false);
      assert.match(isolated.log, /create_connection|Network is unreachable|Connection refused/);
      assert.equal(connections, 0);
      const open = await buildWheel({ sdist: { path }, isolation: 'none' });
      assert.ok(open.ok, open.ok ? '' : open.log);
      assert.ok(connections > 0); // setup.py runs more than once in a pip build
    } finally {
      server.close();
    }
  });

  it('fails a build that needs a tool the machine lacks, and keeps its log', async () => {
    const path = await write(
      setuptoolsSdist({
        name: 'needs-backend',
        version: '1.0',
        pyproject: '[build-system]\nrequires = ["bulwark_missing_backend"]\nbuild-backend = "bulwark_missing_backend"\n',
      })
    );
    const r = await buildWheel({ sdist: { path }, isolation });
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.match(r.reason, /pip wheel failed/);
    assert.match(r.log, /bulwark_missing_backend/);
    assert.match(r.log, /SOURCE_DATE_EPOCH=315532800/);
  });

  it("hides the index's directories and environment from the build (without hiding, the same build reads them)", async () => {
    const secrets = join(dir, 'data-dir');
    await mkdir(secrets, { recursive: true });
    await chmod(dir, 0o755); // readable to every user, as a data directory may well be
    await writeFile(join(secrets, 'online-key.pem'), 'THE-ONLINE-KEY\n', { mode: 0o644 });
    process.env['BULWARK_TEST_SECRET'] = 'THE-TOKEN';
    try {
      const path = await write(
        setuptoolsSdist({ name: 'snoop', version: '1.0', setupCode: `try:\n    data = open(${JSON.stringify(join(secrets, 'online-key.pem'))}).read()\nexcept OSError as e:\n    data = 'unreadable: %s' % e\nraise SystemExit('ENV %s READ %s' % (sorted(os.environ), data))\n` })
      );
      const hidden = await buildWheel({ sdist: { path }, isolation, hide: [secrets] });
      assert.equal(hidden.ok, false);
      assert.doesNotMatch(hidden.log, /THE-ONLINE-KEY/);
      assert.match(hidden.log, /READ unreadable/);
      assert.doesNotMatch(hidden.log, /BULWARK_TEST_SECRET|THE-TOKEN/);
      const open = await buildWheel({ sdist: { path }, isolation });
      assert.match(open.log, /READ THE-ONLINE-KEY/);
    } finally {
      delete process.env['BULWARK_TEST_SECRET'];
    }
  });

  it('stops a build at its time limit and at its memory limit', async () => {
    const slow = await buildWheel({ sdist: { path: await write(setuptoolsSdist({ name: 'slow', version: '1.0', setupCode: 'time.sleep(600)\n' })) }, isolation, timeoutMs: 5000 });
    assert.equal(slow.ok, false);
    assert.ok(!slow.ok);
    assert.match(slow.reason, /longer than 5 s/);
    const greedy = await buildWheel({
      sdist: { path: await write(setuptoolsSdist({ name: 'greedy', version: '1.0', setupCode: 'hog = bytearray(3 * 1024 ** 3)\n' })) },
      isolation,
      memoryBytes: 1024 ** 3,
    });
    assert.equal(greedy.ok, false);
    assert.match(greedy.log, /MemoryError/);
  });
});

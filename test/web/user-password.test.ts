// `bulwark user password NAME`: the password from --password-fd, $BULWARK_PASSWORD or a prompt
// (none here: no terminal), checked against the policy, stored as a scrypt hash.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { SqliteWebStore } from '../../src/storage/state/sqlite-web-store.js';
import { verifyPassword } from '../../src/web/passwords.js';
import { removeTempDir, runBulwark, tempDir } from '../helpers/processes.js';

describe('bulwark user password', () => {
  let dir: string;
  const bulwark = (args: string[], opts: { env?: Record<string, string>; input?: string } = {}) =>
    runBulwark(['--data', dir, ...args], { env: { BULWARK_PASSWORD: undefined as unknown as string, ...opts.env }, ...(opts.input !== undefined ? { input: opts.input } : {}) });

  before(async () => {
    dir = await tempDir('web-user-password');
    assert.equal((await runBulwark(['--data', dir, 'init', '--bins', '16'])).code, 0);
    assert.equal((await bulwark(['user', 'add', 'root-admin', '--admin'])).code, 0);
  });
  after(() => removeTempDir(dir));

  const storedHash = async () => {
    const state = new SqliteState(join(dir, 'bulwark.db'));
    const id = (await state.userByName('root-admin'))?.id as number;
    await state.close();
    const store = new SqliteWebStore(join(dir, 'bulwark.db'));
    try {
      return await store.passwordHash(id);
    } finally {
      await store.close();
    }
  };

  it('reads the password from a file descriptor and stores a scrypt hash of it', async () => {
    const r = await bulwark(['user', 'password', 'root-admin', '--password-fd', '0', '--json'], { input: 'a fine long password\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { name: 'root-admin', admin: true, password: 'set' });
    const hash = await storedHash();
    assert.match(hash ?? '', /^scrypt\$/);
    assert.equal(await verifyPassword('a fine long password', hash), true);
  });

  it('reads $BULWARK_PASSWORD', async () => {
    const r = await bulwark(['user', 'password', 'root-admin'], { env: { BULWARK_PASSWORD: 'another fine password' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await verifyPassword('another fine password', await storedHash()), true);
  });

  it('refuses weak passwords, unknown users, and having nowhere to read from', async () => {
    const weak = await bulwark(['user', 'password', 'root-admin'], { env: { BULWARK_PASSWORD: 'short' } });
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /at least 10 characters/);
    const unknown = await bulwark(['user', 'password', 'nobody'], { env: { BULWARK_PASSWORD: 'a fine long password' } });
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /no user named nobody/);
    const none = await bulwark(['user', 'password', 'root-admin'], { input: '' });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /BULWARK_PASSWORD|--password-fd/);
    assert.equal(await verifyPassword('another fine password', await storedHash()), true, 'unchanged');
  });
});

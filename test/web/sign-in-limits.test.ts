// SPDX-License-Identifier: Apache-2.0
// Failed sign-ins cannot lock an account's owner out: an attacker failing 50 times from one
// address is refused on that (account, address) pair, while the owner at another address signs
// in with the right password (after at most a bounded slow-down). Real HTTP, two client
// addresses on the loopback network (127.0.0.2 and 127.0.0.3).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { accountSlowdownMs, SIGN_IN_POLICY } from '../../src/web/rate-limit.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { runBulwark } from '../helpers/processes.js';
import { Client } from './client.js';

const PASSWORD = 'the owner knows this one';

describe('sign-in limits', () => {
  let index: IndexUnderTest;
  before(async () => {
    index = await startIndex();
    await index.repo.accounts.addUser('root-admin', { admin: true });
    await index.repo.accounts.addUser('bob');
    for (const name of ['root-admin', 'bob']) {
      const r = await runBulwark(['--data', index.dataDir, 'user', 'password', name], { env: { BULWARK_PASSWORD: PASSWORD, BULWARK_DATABASE_URL: '' } });
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => index.close());

  it('an attacker failing 50 times from one address does not lock the administrator out', async () => {
    const attacker = new Client(index.url, '127.0.0.2');
    const csrf = Client.csrf((await attacker.request('/account/login/')).body);
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      statuses.push((await attacker.request('/account/login/', { form: { csrf_token: csrf, next: '/', username: 'root-admin', password: `guess ${i}` } })).status);
    }
    assert.deepEqual(statuses.filter((s) => s === 400).length, SIGN_IN_POLICY.perPair, 'wrong passwords, until the pair is refused');
    assert.deepEqual(statuses.slice(SIGN_IN_POLICY.perPair), Array(50 - SIGN_IN_POLICY.perPair).fill(429));
    const stillRefused = await attacker.request('/account/login/', { form: { csrf_token: csrf, next: '/', username: 'root-admin', password: PASSWORD } });
    assert.equal(stillRefused.status, 429, 'from the attacker’s address even the right password waits');
    assert.ok(Number(stillRefused.headers.get('retry-after')) > 0);
    // The attacker's address may still sign in to another account it knows the password of.
    assert.equal((await new Client(index.url, '127.0.0.2').login('bob', PASSWORD)).status, 303);

    const owner = new Client(index.url, '127.0.0.3');
    const signedIn = await owner.login('root-admin', PASSWORD);
    assert.equal(signedIn.status, 303, signedIn.body);
    assert.equal((await owner.request('/admin/')).status, 200, 'the administrator is in');
  });

  it('the per-account slow-down grows with the failures and stays bounded', () => {
    assert.equal(accountSlowdownMs(0), 0);
    assert.equal(accountSlowdownMs(SIGN_IN_POLICY.slowAfter - 1), 0);
    let previous = 0;
    for (const n of [SIGN_IN_POLICY.slowAfter, SIGN_IN_POLICY.slowAfter + 1, SIGN_IN_POLICY.slowAfter + 3, 1_000, 1e9]) {
      const ms = accountSlowdownMs(n);
      assert.ok(ms > 0 && ms >= previous && ms <= SIGN_IN_POLICY.slowMaxMs, `${n} failures: ${ms} ms`);
      previous = ms;
    }
    assert.equal(accountSlowdownMs(1e9), SIGN_IN_POLICY.slowMaxMs);
  });
});

// Password hashing: scrypt with stored parameters, random salts, constant-time checks, and the
// same cost for unknown accounts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PASSWORD_PARAMS, hashPassword, needsRehash, passwordProblem, verifyPassword } from '../../src/web/passwords.js';

const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('password hashing', () => {
  it('uses memory-hard defaults (at least 64 MiB)', () => {
    assert.ok(128 * DEFAULT_PASSWORD_PARAMS.N * DEFAULT_PASSWORD_PARAMS.r >= 64 * 1024 * 1024);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('correct horse battery staple');
    assert.match(h, /^scrypt\$65536\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.equal(await verifyPassword('correct horse battery staple', h), true);
    assert.equal(await verifyPassword('correct horse battery stapler', h), false);
    assert.equal(await verifyPassword('', h), false);
  });

  it('salts every hash', async () => {
    const [a, b] = [await hashPassword('same password', FAST), await hashPassword('same password', FAST)];
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same password', a), true);
    assert.equal(await verifyPassword('same password', b), true);
  });

  it('normalizes Unicode (NFKC), so the same password typed differently matches', async () => {
    const h = await hashPassword('caf\u00e9 au lait!', FAST);
    assert.equal(await verifyPassword('cafe\u0301 au lait!', h), true);
  });

  it('refuses when there is no hash or a malformed or abusive one, after doing the work', async () => {
    assert.equal(await verifyPassword('anything at all', undefined), false);
    assert.equal(await verifyPassword('anything at all', 'plain text'), false);
    assert.equal(await verifyPassword('anything at all', 'scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), false);
  });

  it('says when a hash is weaker than the defaults', async () => {
    assert.equal(needsRehash(await hashPassword('some password', FAST)), true);
    assert.equal(needsRehash('garbage'), true);
  });

  it('has a policy for new passwords', () => {
    assert.match(passwordProblem('short') ?? '', /at least 10/);
    assert.match(passwordProblem('aaaaaaaaaaaa') ?? '', /repeat/);
    assert.match(passwordProblem('alice-is-great', 'Alice') ?? '', /user name/);
    assert.match(passwordProblem('x'.repeat(2000)) ?? '', /at most/);
    assert.equal(passwordProblem('a reasonable passphrase', 'alice'), undefined);
  });
});

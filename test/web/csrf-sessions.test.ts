// CSRF tokens (session-bound and signed double-submit), same-site checks, session ids, and the
// web store's sessions and passwords on a real database.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { SqliteWebStore } from '../../src/storage/state/sqlite-web-store.js';
import { checkCsrfToken, csrfToken, newCsrfSecret, sameOriginRequest } from '../../src/web/csrf.js';
import { cookieAttributes, hashSessionId, isWellFormedSessionId, newSessionId } from '../../src/web/sessions.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';

describe('CSRF tokens', () => {
  const secret = newCsrfSecret();

  it('accepts the token made for the same binding only', () => {
    const t = csrfToken(secret, 'session:abc');
    assert.equal(checkCsrfToken(secret, 'session:abc', t), true);
    assert.equal(checkCsrfToken(secret, 'session:abd', t), false);
    assert.equal(checkCsrfToken(secret, 'anon:abc', t), false);
    assert.equal(checkCsrfToken(newCsrfSecret(), 'session:abc', t), false, 'another secret');
  });

  it('refuses missing, malformed and oversized tokens, and a missing binding', () => {
    const t = csrfToken(secret, 'anon:n');
    for (const bad of [undefined, '', 42, ['x'], t.slice(1), `${t}x`, 'x'.repeat(500)]) assert.equal(checkCsrfToken(secret, 'anon:n', bad), false);
    assert.equal(checkCsrfToken(secret, undefined, t), false);
  });

  it('refuses requests a browser marks as cross-site or from another origin', () => {
    const host = '127.0.0.1:8080';
    assert.equal(sameOriginRequest({}, host), true, 'no browser headers (old browsers, curl)');
    assert.equal(sameOriginRequest({ 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:8080' }, host), true);
    assert.equal(sameOriginRequest({ 'sec-fetch-site': 'none' }, host), true);
    assert.equal(sameOriginRequest({ 'sec-fetch-site': 'cross-site' }, host), false);
    assert.equal(sameOriginRequest({ 'sec-fetch-site': 'same-site' }, host), false);
    assert.equal(sameOriginRequest({ origin: 'http://evil.example' }, host), false);
    assert.equal(sameOriginRequest({ origin: 'null' }, host), false);
    assert.equal(sameOriginRequest({ origin: 'not a url' }, host), false);
  });
});

describe('session ids and cookies', () => {
  it('makes 256-bit ids and stores only their hash', () => {
    const id = newSessionId();
    assert.equal(isWellFormedSessionId(id), true);
    assert.equal(Buffer.from(id, 'base64url').length, 32);
    assert.notEqual(newSessionId(), id);
    assert.match(hashSessionId(id), /^[0-9a-f]{64}$/);
    assert.equal(hashSessionId(id).includes(id), false);
    for (const bad of ['', 'short', `${id}x`, `${id.slice(0, 42)}!`, undefined, 1]) assert.equal(isWellFormedSessionId(bad), false);
  });

  it('sets HttpOnly and SameSite=Lax always, Secure over https', () => {
    assert.deepEqual(cookieAttributes(false), { httpOnly: true, sameSite: 'lax', secure: false, path: '/' });
    assert.deepEqual(cookieAttributes(true, 60), { httpOnly: true, sameSite: 'lax', secure: true, path: '/', maxAge: 60 });
  });
});

describe('web store: sessions and passwords', () => {
  let dir: string;
  let state: SqliteState;
  let store: SqliteWebStore;
  let alice: number;
  let bob: number;

  before(async () => {
    dir = await tempDir('web-store');
    state = new SqliteState(join(dir, 'bulwark.db'));
    alice = (await state.addUser('alice', false, 'h1', new Date().toISOString())).id;
    bob = (await state.addUser('bob', true, 'h2', new Date().toISOString())).id;
    store = new SqliteWebStore(join(dir, 'bulwark.db'));
  });
  after(async () => {
    await store.close();
    await state.close();
    await removeTempDir(dir);
  });

  it('keeps one CSRF secret across connections', async () => {
    const a = await store.secret('csrf-v1', newCsrfSecret);
    const other = new SqliteWebStore(join(dir, 'bulwark.db'));
    assert.deepEqual(await other.secret('csrf-v1', newCsrfSecret), a);
    await other.close();
  });

  it('finds the user of a live session, not of an expired or unknown one', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    await store.createSession('s1', alice, now, 60_000);
    assert.equal((await store.sessionUser('s1', now))?.user.name, 'alice');
    assert.equal(await store.sessionUser('s1', new Date(now.getTime() + 60_000)), undefined, 'expired');
    assert.equal(await store.sessionUser('nope', now), undefined);
    await store.deleteSession('s1');
    assert.equal(await store.sessionUser('s1', now), undefined);
  });

  it('ends other sessions when the password changes, keeping the one that changed it', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    await store.createSession('a1', alice, now, 60_000);
    await store.createSession('a2', alice, now, 60_000);
    await store.createSession('b1', bob, now, 60_000);
    await store.setPassword(alice, 'scrypt$hash', now.toISOString(), 'a2');
    assert.equal(await store.sessionUser('a1', now), undefined);
    assert.equal((await store.sessionUser('a2', now))?.user.name, 'alice');
    assert.equal((await store.sessionUser('b1', now))?.user.isAdmin, true, "another user's session stays");
    assert.equal(await store.passwordHash(alice), 'scrypt$hash');
    await store.setPassword(alice, 'scrypt$hash2', now.toISOString());
    assert.equal(await store.sessionUser('a2', now), undefined, 'without a kept session, all end');
  });

  it('reads tokens without their hashes', async () => {
    await state.addToken(alice, 'h3', 'CI', new Date().toISOString());
    const tokens = await store.tokens(alice);
    assert.deepEqual(tokens.map((t) => t.description).sort(), ['CI', 'initial token']);
    assert.equal(JSON.stringify(tokens).includes('h3'), false);
  });
});

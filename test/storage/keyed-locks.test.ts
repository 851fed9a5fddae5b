import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedLocks } from '../../src/storage/state/keyed-locks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedLocks', () => {
  it('never runs two tasks holding a common key at once, and runs disjoint ones together', async () => {
    const locks = new KeyedLocks();
    const active = new Map<string, number>();
    const events: string[] = [];
    let maxTogether = 0;
    let running = 0;
    const task = (name: string, keys: string[]) =>
      locks.withLocks(keys, async () => {
        for (const k of keys) {
          assert.equal(active.get(k) ?? 0, 0, `${name}: ${k} already held`);
          active.set(k, 1);
        }
        running++;
        maxTogether = Math.max(maxTogether, running);
        events.push(`start ${name}`);
        await sleep(10);
        events.push(`end ${name}`);
        running--;
        for (const k of keys) active.set(k, 0);
      });
    await Promise.all([
      task('a', ['project:x', 'role:bins-1']),
      task('b', ['role:bins-1', 'project:y']), // shares bins-1 with a
      task('c', ['project:z', 'role:bins-2']), // disjoint
      task('d', ['project:x']), // shares project:x with a
    ]);
    assert.equal(maxTogether >= 2, true, 'disjoint tasks ran concurrently');
    assert.ok(events.indexOf('end a') < events.indexOf('start b'));
    assert.ok(events.indexOf('end a') < events.indexOf('start d'));
    assert.equal(locks.held, 0, 'all locks released');
  });

  it('releases the locks when a task throws', async () => {
    const locks = new KeyedLocks();
    await assert.rejects(locks.withLocks(['k'], () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await locks.withLocks(['k'], () => Promise.resolve('ran')), 'ran');
    assert.equal(locks.held, 0);
  });
});

describe('KeyedLocks.tryAcquire', () => {
  it('takes a free key, refuses a held one, and hands a released key to the next waiter', async () => {
    const locks = new KeyedLocks();
    const release = locks.tryAcquire('project:x');
    assert.ok(release);
    assert.equal(locks.tryAcquire('project:x'), undefined);
    let waiterHasIt = false;
    const waiting = locks.acquire('project:x').then((r) => {
      waiterHasIt = true;
      return r;
    });
    await sleep(5);
    assert.equal(waiterHasIt, false);
    release();
    release(); // a second call is harmless
    const second = await waiting;
    assert.equal(waiterHasIt, true);
    assert.equal(locks.tryAcquire('project:x'), undefined, 'the waiter holds it now');
    second();
    assert.equal(locks.held, 0);
  });
});

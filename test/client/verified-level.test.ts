// The level a client proves from the delegations it walked, the --min-level policy, and the
// served report with its summary line (issue 14, items 3 and 4), without a network.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BelowMinimumLevelError, LevelPolicy } from '../../src/client/level-policy.js';
import { IdleTimer, ServedReport } from '../../src/client/served-report.js';
import { verifiedLevel } from '../../src/client/verified-level.js';

describe('verified protection levels', () => {
  it('takes the level from the top-level delegation walked, never from a deeper role name', () => {
    assert.equal(verifiedLevel({ delegationPath: ['targets', 'claimed', 'project-a'] }), 'claimed');
    assert.equal(verifiedLevel({ delegationPath: ['targets', 'recently-claimed', 'project-a'] }), 'recently-claimed');
    assert.equal(verifiedLevel({ delegationPath: ['targets', 'unclaimed', 'bins-3'] }), 'unclaimed');
    // A role the unclaimed key delegates to and names "claimed" proves nothing more.
    assert.equal(verifiedLevel({ delegationPath: ['targets', 'unclaimed', 'claimed'] }), 'unclaimed');
    assert.equal(verifiedLevel({ delegationPath: ['targets'] }), 'unclaimed');
  });

  it('refuses a project below the minimum unless allowed, by its normalised name', () => {
    const policy = new LevelPolicy('recently-claimed', ['Some_Dep'], 'this proxy');
    policy.admit('app', 'claimed');
    policy.admit('app', 'recently-claimed');
    policy.admit('some-dep', 'unclaimed');
    assert.throws(
      () => policy.admit('Requests', 'unclaimed'),
      (e: unknown) =>
        e instanceof BelowMinimumLevelError &&
        e.message === 'requests is unclaimed (index-signed only); this proxy requires recently-claimed or better (--allow requests to accept it)'
    );
    assert.throws(() => policy.admit('x', 'two-factor'), BelowMinimumLevelError);
  });

  it('reports a project at the lowest level of its page and files, each file once, and sums the projects', () => {
    const r = new ServedReport();
    r.page('b', 'claimed');
    r.file('b', { filename: 'b-1.whl', sha256: 'aa', level: 'claimed' });
    r.file('b', { filename: 'b-1.whl', sha256: 'aa', level: 'claimed' });
    r.page('a', 'recently-claimed');
    r.file('a', { filename: 'a-1.whl', sha256: 'bb', level: 'unclaimed' });
    r.page('c', 'unclaimed');
    const json = r.toJSON();
    assert.deepEqual(json.projects.map((p) => [p.name, p.level, p.files.length]), [['a', 'unclaimed', 1], ['b', 'claimed', 1], ['c', 'unclaimed', 0]]);
    assert.deepEqual(json.summary, { claimed: 1, unclaimed: 2 });
    assert.equal(r.summaryLine(), '3 projects: 1 claimed, 2 unclaimed: the unclaimed ones are a, c');
  });

  it('fires the idle callback once after a burst of touches', async () => {
    let fired = 0;
    const idle = new IdleTimer(5, () => fired++);
    for (let i = 0; i < 5; i++) idle.touch();
    while (fired === 0) await new Promise((res) => setTimeout(res, 5));
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(fired, 1);
    idle.stop();
  });
});

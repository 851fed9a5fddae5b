// SPDX-License-Identifier: Apache-2.0
// A publication with more dirty bins than one chunk (SnapshotProcess reads target rows 512
// roles at a time, so that a bulk load of millions of rows never sits in memory at once): every
// bin is published with exactly its rows, and a bin changed between the read of its generation
// and the read of its rows is published with the newer rows and stays dirty for the next time.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, saveConfig } from '../../src/repository/config.js';
import { initDemoRepository } from '../../src/repository/init.js';
import { metadataBlobPath } from '../../src/repository/layout.js';
import { silentLogger } from '../../src/repository/logger.js';
import { targetEntry } from '../../src/repository/metadata-builder.js';
import { Repository } from '../../src/repository/repository.js';
import type { TargetRow } from '../../src/storage/state/types.js';
import { encodeCanonical, Metadata } from '../../src/tuf/index.js';
import { tempDir } from '../helpers/processes.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const NOW = new Date().toISOString();

describe('snapshot process: dirty bins read in chunks', () => {
  let repo: Repository;
  let dir: string;

  before(async () => {
    dir = await tempDir('chunks');
    await initDemoRepository(dir, { bins: 2048 });
    // Publications here are made by the test alone: no snapshot Merkle tree, so no classic
    // snapshot is built beside them (its build asks for a publication of its own).
    const cfg = await loadConfig(dir);
    assert.ok(cfg);
    await saveConfig(dir, { ...cfg, merkle: { enabled: false } });
    repo = await Repository.open(dir, { compress: false, log: silentLogger });
    await repo.publisher.init();
  });
  after(() => repo.close());

  /** The targets a published bin lists, as path → canonical entry. */
  async function published(bin: string): Promise<Map<string, string>> {
    const version = repo.publisher.roleState(bin)?.version;
    assert.ok(version, `${bin} published`);
    const bytes = await readFile(join(dir, 'public', metadataBlobPath(bin, version)));
    const md = Metadata.parse(bytes, 'targets', bin);
    return new Map([...md.signed.targets].map(([path, t]) => [path, encodeCanonical(t.toJSON())]));
  }

  it('publishes every dirty bin with its rows, chunk by chunk; a bin changed meanwhile stays dirty', async () => {
    const row = (project: string, path: string, length: number): TargetRow => ({ path, role: repo.bins.roleForTarget(path), project, entry: targetEntry(sha256(path), length) });
    const rows = Array.from({ length: 4096 }, (_, i) => row('many', `many/many-${i}.tar.gz`, i + 1));
    await repo.state.applyProjectTransaction('many', [], rows, NOW);
    const dirty = (await repo.state.collectPublishInputs([])).dirtyRoles.map((r) => r.name);
    assert.ok(dirty.length > 2 * 512, `more than two chunks of dirty bins (${dirty.length})`);

    // While the publication runs, after it read the generations, a new target lands in a bin
    // of the chunk it is about to read.
    let late: TargetRow | undefined;
    const calls: number[] = [];
    const roleTargetsCanonical = repo.state.roleTargetsCanonical.bind(repo.state);
    repo.state.roleTargetsCanonical = async (names) => {
      if (calls.length === 1) {
        for (let k = 0; !late; k++) {
          const candidate = row('late', `late/late-${k}.tar.gz`, 7);
          if (names.includes(candidate.role)) late = candidate;
        }
        await repo.state.applyProjectTransaction('late', [], [late], NOW);
      }
      calls.push(names.length);
      return roleTargetsCanonical(names);
    };
    try {
      await repo.publisher.publish();
    } finally {
      repo.state.roleTargetsCanonical = roleTargetsCanonical;
    }
    assert.equal(calls.length, Math.ceil(dirty.length / 512), 'one read per chunk');
    assert.ok(Math.max(...calls) <= 512, `at most 512 roles per read: ${calls.join(', ')}`);
    assert.ok(late);

    // Each bin lists exactly its rows as read: late's bin already has it (read after the change).
    const expected = new Map<string, Map<string, string>>(dirty.map((b) => [b, new Map()]));
    for (const r of [...rows, late]) expected.get(r.role)?.set(r.path, r.entry);
    for (const bin of dirty) assert.deepEqual(await published(bin), expected.get(bin), `${bin} lists exactly its rows`);

    // Its generation grew after it was read, so the publication did not clear it.
    const versionBefore = repo.publisher.roleState(late.role)?.version ?? 0;
    assert.deepEqual((await repo.state.collectPublishInputs([])).dirtyRoles.map((r) => r.name), [late.role], 'only the bin changed meanwhile is dirty');
    await repo.publisher.publish();
    assert.equal(repo.publisher.roleState(late.role)?.version, versionBefore + 1, 'published again by the next publication');
    assert.equal((await published(late.role)).get(late.path), late.entry);
    assert.deepEqual((await repo.state.collectPublishInputs([])).dirtyRoles, []);
  });
});

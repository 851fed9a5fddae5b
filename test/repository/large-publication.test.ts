// A publication larger than one chunk of bins (the snapshot process reads and writes 512 bins
// at a time to bound its memory): every bin of 1,024 changes at once, and every file the new
// snapshot names exists with the length and hash it names.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata } from '../../src/tuf/index.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';

describe('a publication of every bin at once', () => {
  let index: IndexUnderTest;
  before(async () => {
    index = await startIndex({ bins: 1024 });
  });
  after(() => index.close());

  it('writes every bin the snapshot names, across chunks', async () => {
    const bins = [...index.repo.bins.roleNames()];
    assert.equal(bins.length, 1024);
    await index.repo.state.markDirty(bins);
    await index.repo.settle();
    const meta = (name: string) => readFile(join(index.dataDir, 'public', 'metadata', name));
    const ts = Metadata.parse(await meta('timestamp.json'), 'timestamp');
    const snapshotBytes = await meta(`${ts.signed.snapshotMeta.version}.snapshot.json`);
    ts.signed.snapshotMeta.verify('snapshot', snapshotBytes);
    const snapshot = Metadata.parse(snapshotBytes, 'snapshot');
    let checked = 0;
    for (const bin of bins) {
      const m = snapshot.signed.meta.get(`${bin}.json`);
      assert.equal(m?.version, 2, `${bin} was republished`);
      m!.verify(bin, await meta(`${m!.version}.${bin}.json`));
      checked++;
    }
    assert.equal(checked, 1024);
  });
});

// Level two-factor as a client proves it (issue 14, level 2): from the signed `custom` field of
// the project's page target in its bin, never from the index's JSON. The index writes the field
// when the project requires two-factor and every owner and maintainer has it, re-publishes the
// page when that changes, and a mirror that adds the field without the bin key is refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashRecoveryCode, newRecoveryCodes, newTotpSecret } from '../../src/accounts/totp.js';
import { Ed25519Signer } from '../../src/tuf/index.js';
import { AttackRepository, Client, Published, refused, republish, resign, signedDoc, type Uploaded } from '../attacks/harness.js';

describe('two-factor level from signed metadata', () => {
  let fx: AttackRepository;
  let guarded: Uploaded;
  let plain: Uploaded;
  let uploaderId: number;
  before(async () => {
    fx = await AttackRepository.create('two-factor-level');
    guarded = await fx.upload('guarded', '1.0');
    plain = await fx.upload('plain', '1.0');
    uploaderId = (await fx.repo.state.userByName('uploader'))?.id as number;
  });
  after(() => fx.close());

  const settle = async () => {
    fx.repo.worker.kick();
    await fx.repo.settle();
  };
  const pageEntry = async (project: string) => {
    const path = `${project}/index.json`;
    const bin = signedDoc(await fx.metadata(fx.binFor(path)));
    return (bin['targets'] as Record<string, { custom?: unknown }>)[path];
  };
  const levels = async () => {
    const client = await Client.create(fx.rootBytes);
    const mirror = await fx.mirror();
    const vi = client.verifiedIndex({ index: mirror.url });
    return {
      page: (await vi.get('guarded/index.json')).level,
      file: (await vi.get(guarded.path)).level,
      plain: (await vi.get(plain.path)).level,
    };
  };

  it('is unclaimed while the project requires two-factor but a member does not have it', async () => {
    await fx.repo.state.setProjectTwoFactor('guarded', uploaderId, true, new Date().toISOString());
    await settle();
    assert.equal((await pageEntry('guarded'))?.custom, undefined);
    assert.deepEqual(await levels(), { page: 'unclaimed', file: 'unclaimed', plain: 'unclaimed' });
  });

  it('is two-factor, page and files, once every member has it: the bin signs the field', async () => {
    await fx.repo.state.enableTwoFactor(uploaderId, newTotpSecret(), 1, newRecoveryCodes().map(hashRecoveryCode), new Date().toISOString());
    await settle();
    assert.deepEqual((await pageEntry('guarded'))?.custom, { bulwark: { two_factor: true } });
    assert.equal((await pageEntry('plain'))?.custom, undefined, 'a project that does not require it carries no field');
    assert.deepEqual(await levels(), { page: 'two-factor', file: 'two-factor', plain: 'unclaimed' });
  });

  it('a mirror that adds the field to another project without the bin key is refused', async () => {
    const mirror = await fx.mirror();
    const now = await Published.of(mirror);
    const path = 'plain/index.json';
    const bin = fx.binFor(path);
    const attacker = Ed25519Signer.generate();
    const forged = await resign(await now.role(bin), [attacker], (d) => {
      d['version'] = now.version(bin) + 1;
      d['targets'][path]['custom'] = { bulwark: { two_factor: true } };
    });
    // With stolen snapshot and timestamp keys, but not the bin's: the bin's signature fails.
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { [bin]: forged } });
    const client = await Client.create(fx.rootBytes);
    const vi = client.verifiedIndex({ index: mirror.url });
    await refused(vi.get(path), 'UNSIGNED_METADATA', 'repository');
    // A file's level is read from its page's entry, so the forged bin is refused for it too.
    await refused(vi.get(plain.path), 'UNSIGNED_METADATA', 'repository');
  });

  it('drops back to unclaimed when a member turns two-factor off (the page is re-published)', async () => {
    const before = await fx.version(fx.binFor('guarded/index.json'));
    const { seqs } = await fx.repo.state.disableTwoFactor(uploaderId, new Date().toISOString());
    assert.equal(seqs.length, 1, 'one re-publication of the project the member belongs to');
    await settle();
    assert.ok((await fx.version(fx.binFor('guarded/index.json'))) > before);
    assert.equal((await pageEntry('guarded'))?.custom, undefined);
    assert.deepEqual(await levels(), { page: 'unclaimed', file: 'unclaimed', plain: 'unclaimed' });
  });
});

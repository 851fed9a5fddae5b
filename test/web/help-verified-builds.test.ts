// /help/protection/ explains level 4 (issue 15): developer-signed sources, and wheels that two
// independent builders reproduced.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { protectionHelpPage } from '../../src/web/pages.js';

describe('/help/protection/', () => {
  it('has a section on verified builds that says what they guarantee and how to opt in', () => {
    const text = String(protectionHelpPage({}, { recentlyClaimedDays: 7, claimedDays: 180 }));
    const section = /<section id="verified-builds"[\s\S]*?<\/section>/.exec(text)?.[0];
    assert.ok(section, 'a #verified-builds section');
    for (const words of ['developer-signed sdist', 'at least two', 'bulwark project build-farm enable', 'in-toto attestation', 'never replaced']) assert.ok(section.includes(words), words);
  });
});

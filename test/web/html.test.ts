// Escaping: every interpolated value is escaped unless it is markup made by html``; local-path
// checks for redirects; the small formatters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, formatBytes, formatDate, html, join, safeLocalPath } from '../../src/web/html.js';

describe('html escaping', () => {
  it('escapes the characters that matter in content and quoted attributes', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\`</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
  });

  it('escapes interpolated values and keeps the template', () => {
    const name = '<script>alert(1)</script>';
    assert.equal(html`<p title="${name}">${name}</p>`.toString(), '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  });

  it('does not escape nested html`` fragments twice, and escapes strings in arrays', () => {
    const items = ['a&b', html`<b>${'c<d'}</b>`];
    assert.equal(html`<i>${items}</i>`.toString(), '<i>a&amp;b<b>c&lt;d</b></i>');
    assert.equal(join(['<x>', html`<br>`], ', ').toString(), '&lt;x&gt;, <br>');
  });

  it('renders nothing for null, undefined and booleans, and numbers as text', () => {
    assert.equal(html`${null}${undefined}${false}${true}${0}${42}`.toString(), '042');
  });

  it('cannot be fooled by objects that look like markup', () => {
    const fake = { toString: () => '<img src=x onerror=alert(1)>' } as unknown as string;
    assert.equal(html`${fake}`.toString(), '&lt;img src=x onerror=alert(1)&gt;');
  });
});

describe('safeLocalPath', () => {
  it('accepts paths on this site', () => {
    assert.equal(safeLocalPath('/manage/account/', '/'), '/manage/account/');
    assert.equal(safeLocalPath('/search/?q=a%20b', '/'), '/search/?q=a%20b');
  });
  it('refuses other sites, schemes and odd characters', () => {
    for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '', 'manage', '/a b', '/x\r\nSet-Cookie: a=b', 42, undefined, `/${'a'.repeat(600)}`]) {
      assert.equal(safeLocalPath(bad, '/fallback/'), '/fallback/', String(bad));
    }
  });
});

describe('formatters', () => {
  it('formats sizes in binary units', () => {
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(20 * 1024 * 1024), '20 MiB');
  });
  it('formats dates in UTC, and leaves garbage as it is', () => {
    assert.equal(formatDate('2025-01-31T14:05:09.123Z'), '2025-01-31 14:05 UTC');
    assert.equal(formatDate('not a date'), 'not a date');
  });
});

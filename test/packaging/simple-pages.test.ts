import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderIndexHtml, renderIndexJson, renderProjectHtml, renderProjectJson } from '../../src/packaging/index.js';
import type { SimpleFile, SimpleProject } from '../../src/packaging/index.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

const wheel: SimpleFile = {
  filename: 'foo_bar-1.0-py3-none-any.whl',
  url: '../../files/foo_bar-1.0-py3-none-any.whl',
  sha256: A,
  size: 1234,
  uploadTime: '2026-11-23T10:00:00.000000Z',
  requiresPython: '>=3.8',
  coreMetadataSha256: B,
};
const sdist: SimpleFile = {
  filename: 'foo_bar-0.9.tar.gz',
  url: '../../files/foo_bar-0.9.tar.gz',
  sha256: C,
  size: 99,
  uploadTime: '2026-11-22T09:30:00Z',
  yanked: 'broken',
};
// Given out of order: the renderers must sort files by name and versions by PEP 440.
const project: SimpleProject = { name: 'foo-bar', versions: ['1.0', '0.10', '0.9', '1.0rc1'], files: [wheel, sdist] };

describe('renderProjectHtml', () => {
  it('renders the exact PEP 503 page', () => {
    const expected =
      '<!DOCTYPE html>\n' +
      '<html>\n' +
      '  <head>\n' +
      '    <meta charset="utf-8">\n' +
      '    <meta name="pypi:repository-version" content="1.1">\n' +
      '    <title>Links for foo-bar</title>\n' +
      '  </head>\n' +
      '  <body>\n' +
      '    <h1>Links for foo-bar</h1>\n' +
      `    <a href="../../files/foo_bar-0.9.tar.gz#sha256=${C}" data-yanked="broken">foo_bar-0.9.tar.gz</a><br />\n` +
      `    <a href="../../files/foo_bar-1.0-py3-none-any.whl#sha256=${A}" data-requires-python="&gt;=3.8" ` +
      `data-dist-info-metadata="sha256=${B}" data-core-metadata="sha256=${B}">foo_bar-1.0-py3-none-any.whl</a><br />\n` +
      '  </body>\n' +
      '</html>\n';
    assert.equal(renderProjectHtml(project), expected);
  });

  it('is deterministic whatever the input order', () => {
    const reordered = { ...project, files: [sdist, wheel], versions: [...project.versions].reverse() };
    assert.equal(renderProjectHtml(reordered), renderProjectHtml(project));
    assert.equal(renderProjectJson(reordered), renderProjectJson(project));
  });

  it('escapes hostile file names, URLs, requires-python and yank reasons', () => {
    const hostile: SimpleFile = {
      filename: `x"><script>alert('1')</script>&.whl`,
      url: `files/a&b"c'<d>`,
      sha256: A,
      size: 1,
      uploadTime: '2026-01-01T00:00:00Z',
      requiresPython: `>=3"><img src=x onerror='a'>`,
      yanked: `</a><b>"&'`,
    };
    const html = renderProjectHtml({ name: 'x', versions: [], files: [hostile] });
    const anchor = html.split('\n').find((line) => line.includes('<a ')) ?? '';
    assert.equal(
      anchor,
      `    <a href="files/a&amp;b&quot;c&#x27;&lt;d&gt;#sha256=${A}" ` +
        `data-requires-python="&gt;=3&quot;&gt;&lt;img src=x onerror=&#x27;a&#x27;&gt;" ` +
        `data-yanked="&lt;/a&gt;&lt;b&gt;&quot;&amp;&#x27;">` +
        `x&quot;&gt;&lt;script&gt;alert(&#x27;1&#x27;)&lt;/script&gt;&amp;.whl</a><br />`,
    );
    assert.equal(html.includes('<script>'), false);
  });

  it('marks a yank without a reason with an empty data-yanked', () => {
    const html = renderProjectHtml({ name: 'x', versions: [], files: [{ ...sdist, yanked: true }] });
    assert.match(html, new RegExp(`#sha256=${C}" data-yanked="">`));
  });

  it('renders a project without files', () => {
    assert.match(renderProjectHtml({ name: 'x', versions: [], files: [] }), /<h1>Links for x<\/h1>\n {2}<\/body>/);
  });
});

describe('renderProjectJson', () => {
  it('renders the exact PEP 691 document', () => {
    const expected =
      '{"meta":{"api-version":"1.1"},"name":"foo-bar","versions":["0.9","0.10","1.0rc1","1.0"],"files":[' +
      `{"filename":"foo_bar-0.9.tar.gz","url":"../../files/foo_bar-0.9.tar.gz","hashes":{"sha256":"${C}"},` +
      `"yanked":"broken","size":99,"upload-time":"2026-11-22T09:30:00Z","core-metadata":false,"dist-info-metadata":false},` +
      `{"filename":"foo_bar-1.0-py3-none-any.whl","url":"../../files/foo_bar-1.0-py3-none-any.whl","hashes":{"sha256":"${A}"},` +
      `"requires-python":">=3.8","yanked":false,"size":1234,"upload-time":"2026-11-23T10:00:00.000000Z",` +
      `"core-metadata":{"sha256":"${B}"},"dist-info-metadata":{"sha256":"${B}"}}]}`;
    assert.equal(renderProjectJson(project), expected);
  });

  it('round-trips hostile strings through JSON and says true for a yank without reason', () => {
    const reason = `"},"yanked":false,"x":"`;
    const doc = JSON.parse(
      renderProjectJson({ name: 'x', versions: [], files: [{ ...sdist, yanked: reason }, { ...wheel, yanked: '' }] }),
    ) as { files: Array<{ yanked: unknown }> };
    assert.deepEqual(
      doc.files.map((f) => f.yanked),
      [reason, true],
    );
  });
});

describe('index pages', () => {
  it('renders the exact root HTML page, sorted, with relative links', () => {
    assert.equal(
      renderIndexHtml(['zope-interface', 'foo-bar', 'a']),
      '<!DOCTYPE html>\n<html>\n  <head>\n    <meta charset="utf-8">\n' +
        '    <meta name="pypi:repository-version" content="1.1">\n    <title>Simple index</title>\n  </head>\n  <body>\n' +
        '    <a href="a/">a</a><br />\n    <a href="foo-bar/">foo-bar</a><br />\n    <a href="zope-interface/">zope-interface</a><br />\n' +
        '  </body>\n</html>\n',
    );
  });

  it('renders the exact root JSON document', () => {
    assert.equal(
      renderIndexJson(['zope-interface', 'foo-bar', 'a']),
      '{"meta":{"api-version":"1.1"},"projects":[{"name":"a"},{"name":"foo-bar"},{"name":"zope-interface"}]}',
    );
  });
});

describe('caller mistakes are refused, not rendered', () => {
  const cases: Array<[string, () => unknown]> = [
    ['non-normalized project name', () => renderIndexJson(['Foo_Bar'])],
    ['invalid project name', () => renderIndexHtml(['<x>'])],
    ['duplicate project', () => renderIndexJson(['a', 'a'])],
    ['duplicate file name', () => renderProjectJson({ ...project, files: [wheel, wheel] })],
    ['duplicate version', () => renderProjectJson({ ...project, versions: ['1.0', '1.0'] })],
    ['upper-case or short sha256', () => renderProjectHtml({ ...project, files: [{ ...wheel, sha256: A.toUpperCase() }] })],
    ['bad metadata sha256', () => renderProjectHtml({ ...project, files: [{ ...wheel, coreMetadataSha256: 'abc' }] })],
    ['url with a fragment', () => renderProjectHtml({ ...project, files: [{ ...wheel, url: 'x#y' }] })],
    ['negative size', () => renderProjectJson({ ...project, files: [{ ...wheel, size: -1 }] })],
    ['non-UTC upload time', () => renderProjectJson({ ...project, files: [{ ...wheel, uploadTime: '2026-11-23T10:00:00+01:00' }] })],
  ];
  for (const [what, fn] of cases) it(what, () => assert.throws(fn, TypeError));
});

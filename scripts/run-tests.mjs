#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Optional arguments filter test files by substring: `npm test -- packaging`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);
function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.name.endsWith('.test.js')) yield path;
  }
}
const files = [...walk(join(root, 'dist', 'test'))]
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // A test that hangs fails after 45 minutes (the crash test's 106 kills took 9–16 alone on a loaded 2-core machine) instead of holding CI until its own limit.
  ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-timeout=2700000', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit' }
);
process.exit(result.status ?? 1);

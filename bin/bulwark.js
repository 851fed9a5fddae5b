#!/usr/bin/env node
// The `bulwark` command: runs the compiled CLI (build with `npm run build`).
// Node 20.19+ or 22.12+ (package.json "engines"): some dependencies are ES modules that their
// CommonJS dependents load with require(), which older releases refuse (ERR_REQUIRE_ESM).
const [major, minor] = process.versions.node.split('.').map(Number);
if (!((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23)) {
  process.stderr.write(`bulwark: needs Node.js 20.19 or later on 20, or 22.12 or later (this is ${process.version})\n`);
  process.exit(78);
}
await import('../dist/src/cli/main.js');

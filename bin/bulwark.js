#!/usr/bin/env node
// The `bulwark` command: runs the compiled CLI (build with `npm run build`).
import '../dist/src/cli/main.js';

// Imported first by static-tree.test.ts, before anything loads @fastify/static: wraps
// fs/promises' readdir (the object CommonJS modules destructure at load) to count the calls.
import fsp from 'node:fs/promises';

export const readdirCalls: string[] = [];
const original = fsp.readdir;
(fsp as { readdir: unknown }).readdir = (path: unknown, ...rest: unknown[]) => {
  readdirCalls.push(String(path));
  return (original as (...a: unknown[]) => unknown)(path, ...rest);
};

// sdists that setuptools builds (a setup.py, a package, PKG-INFO), for the build farm's tests:
// written in memory with fixed mtimes, so the same options give the same bytes. `setupCode` is
// extra Python run by setup.py before setup(): the hostile or irreproducible part of a test.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { buildTar } from './memory-dists.js';

export interface SetuptoolsSdistOptions {
  name: string;
  version: string;
  /** Python run by setup.py before setup() (e.g. a network call, or writing the build time). */
  setupCode?: string;
  /** A pyproject.toml (e.g. naming a build backend that is not installed). */
  pyproject?: string;
}

const escape = (name: string) => name.replace(/[-_.]+/g, '_');

export function setuptoolsSdist(o: SetuptoolsSdistOptions): { filename: string; bytes: Buffer; sha256: string } {
  const stem = `${escape(o.name)}-${o.version}`;
  const pkg = escape(o.name).toLowerCase();
  const pkgInfo = `Metadata-Version: 2.1\nName: ${o.name}\nVersion: ${o.version}\nSummary: build farm fixture ${o.name}\n`;
  const setup = `import os, time\nfrom setuptools import setup\n${o.setupCode ?? ''}\nsetup(name=${JSON.stringify(o.name)}, version=${JSON.stringify(o.version)}, packages=[${JSON.stringify(pkg)}], description=${JSON.stringify(`build farm fixture ${o.name}`)})\n`;
  const bytes = gzipSync(
    buildTar([
      { name: `${stem}/`, type: '5' },
      { name: `${stem}/PKG-INFO`, data: pkgInfo },
      { name: `${stem}/setup.py`, data: setup },
      { name: `${stem}/${pkg}/`, type: '5' },
      { name: `${stem}/${pkg}/__init__.py`, data: `VERSION = ${JSON.stringify(o.version)}\n` },
      ...(o.pyproject ? [{ name: `${stem}/pyproject.toml`, data: o.pyproject }] : []),
    ])
  );
  return { filename: `${stem}.tar.gz`, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** setup.py code that writes the time of the build into the package: no two builds agree. */
export const EMBED_BUILD_TIME = `
_pkg = [d for d in os.listdir('.') if os.path.isdir(d) and os.path.exists(os.path.join(d, '__init__.py'))][0]
with open(os.path.join(_pkg, 'built.py'), 'w') as _f:
    _f.write('BUILT_AT = %d\\n' % time.time_ns())
`;

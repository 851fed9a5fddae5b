// SPDX-License-Identifier: Apache-2.0
// `bulwark fetch --verify-build`: the user rebuilds a verified wheel from its signed sdist on
// their own machine. Bytes are compared only when the machine's tool versions (Python,
// setuptools, wheel, pip) are those an attestation names: with other tools a different wheel
// proves nothing, so the answer is then "cannot reproduce", neither agreement nor disagreement.
import { spawnSync } from 'node:child_process';
import type { ToolVersions } from '../attest/index.js';
import { keysDir } from '../developer/developer-key.js';
import { buildWheel, DEBIAN_PYTHON, type NetworkIsolation } from './isolated-build.js';

export type Reproduction =
  | { result: 'agree'; sha256: string; tools: ToolVersions }
  | { result: 'disagree'; sha256: string; expected: string; tools: ToolVersions; log: string }
  | { result: 'cannot-reproduce'; reason: string; tools?: ToolVersions; log?: string };

/** The versions of this machine's build tools, as a build would record them (undefined: a tool is missing). */
export function localToolVersions(python = DEBIAN_PYTHON): ToolVersions | undefined {
  const code = 'import importlib.metadata as m, json, sys; print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], **{n: m.version(n) for n in ("setuptools", "wheel", "pip")}}))';
  const r = spawnSync(python, ['-I', '-c', code], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as ToolVersions;
}

const sameTools = (a: ToolVersions, b: ToolVersions) => a.python === b.python && a.setuptools === b.setuptools && a.wheel === b.wheel && a.pip === b.pip;

export async function reproduceWheel(o: {
  wheel: { filename: string; sha256: string };
  sdist: { filename: string; bytes: Buffer };
  /** The tool versions each agreeing builder attested. */
  attestedTools: readonly ToolVersions[];
  isolation: NetworkIsolation;
  timeoutMs?: number;
  hide?: readonly string[];
}): Promise<Reproduction> {
  const tools = localToolVersions();
  if (!tools) return { result: 'cannot-reproduce', reason: `${DEBIAN_PYTHON} with setuptools, wheel and pip is not installed here` };
  if (!o.attestedTools.some((t) => sameTools(t, tools))) {
    const attested = o.attestedTools.map((t) => `Python ${t.python}, setuptools ${t.setuptools}, wheel ${t.wheel}, pip ${t.pip}`).join('; ');
    return { result: 'cannot-reproduce', reason: `this machine has Python ${tools.python}, setuptools ${tools.setuptools}, wheel ${tools.wheel}, pip ${tools.pip}; the builders used ${attested}`, tools };
  }
  const built = await buildWheel({ sdist: o.sdist, isolation: o.isolation, hide: o.hide ?? [keysDir()], ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
  if (!built.ok) return { result: 'cannot-reproduce', reason: `the local build failed: ${built.reason}`, tools, log: built.log };
  if (built.wheel.filename !== o.wheel.filename) return { result: 'disagree', sha256: built.wheel.sha256, expected: o.wheel.sha256, tools, log: `the local build made ${built.wheel.filename}, not ${o.wheel.filename}\n${built.log}` };
  if (built.wheel.sha256 !== o.wheel.sha256) return { result: 'disagree', sha256: built.wheel.sha256, expected: o.wheel.sha256, tools, log: built.log };
  return { result: 'agree', sha256: built.wheel.sha256, tools };
}

/** A verified wheel `bulwark fetch` wrote, with what its builders attested. */
export interface FetchedBuild {
  wheel: { filename: string; sha256: string };
  builtFrom: { filename: string; sha256: string };
  builders: readonly { tools: ToolVersions }[];
}

/**
 * Rebuilds each fetched verified wheel from its sdist, which `getSdist` fetches through TUF
 * (the developers' role vouches for it). Network isolation as the builders use it, when the
 * machine offers it (else the build runs without, said in the result's log).
 */
export async function reproduceFetched(builds: readonly FetchedBuild[], getSdist: (filename: string) => Promise<Buffer>, isolation: NetworkIsolation): Promise<Map<string, Reproduction>> {
  const out = new Map<string, Reproduction>();
  for (const b of builds) {
    const bytes = await getSdist(b.builtFrom.filename);
    out.set(b.wheel.filename, await reproduceWheel({ wheel: b.wheel, sdist: { filename: b.builtFrom.filename, bytes }, attestedTools: b.builders.map((x) => x.tools), isolation }));
  }
  return out;
}

/** One line for people: what the local rebuild says. */
export function describeReproduction(r: Reproduction): string {
  switch (r.result) {
    case 'agree':
      return `rebuilt here: the same bytes (sha256 ${r.sha256})`;
    case 'disagree':
      return `REBUILT HERE WITH THE SAME TOOLS: DIFFERENT BYTES (sha256 ${r.sha256}, the builders' ${r.expected})`;
    case 'cannot-reproduce':
      return `cannot reproduce here (neither agrees nor disagrees): ${r.reason}`;
  }
}

// SPDX-License-Identifier: Apache-2.0
// What a builder (the farm or a rebuilder) makes of one build: for a wheel, its in-toto
// attestation (SLSA provenance naming the sdist, the builder, the command and the tool
// versions, in a DSSE envelope signed with the builder's key); and in every case a build report
// signed with the same key, which the index checks against the project's delegation.
import { createHash } from 'node:crypto';
import { signEnvelope, statementBytes, wheelProvenanceStatement } from '../attest/index.js';
import type { Signer } from '../tuf/index.js';
import type { BuildOutcome } from './isolated-build.js';
import { reportBytes, type BuildReport, type SignedBuildReport } from './proposals.js';

/** Logs kept and sent are cut to this size (the end, where the error is, is kept). */
export const MAX_LOG_CHARS = 128 * 1024; // a report with its log stays under the API's 1 MiB JSON limit, escapes included

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function trimLog(log: string): string {
  return log.length <= MAX_LOG_CHARS ? log : `[… ${log.length - MAX_LOG_CHARS} characters cut]\n${log.slice(-MAX_LOG_CHARS)}`;
}

export async function signedBuildReport(
  project: string,
  sdist: { filename: string; sha256: string },
  outcome: BuildOutcome,
  signer: Signer,
  builderId: string,
  startedOn: Date,
  finishedOn: Date
): Promise<{ signed: SignedBuildReport; log: string }> {
  const log = trimLog(outcome.log);
  const report: BuildReport = {
    project,
    sdist,
    keyid: signer.keyId,
    ok: outcome.ok,
    log_sha256: sha256(Buffer.from(log, 'utf8')),
    at: finishedOn.toISOString(),
  };
  if (outcome.ok) {
    report.wheel = { filename: outcome.wheel.filename, sha256: outcome.wheel.sha256, length: outcome.wheel.bytes.length };
    report.metadata = { sha256: sha256(outcome.metadata), length: outcome.metadata.length };
    report.tools = outcome.tools;
    const statement = wheelProvenanceStatement({
      wheel: { name: outcome.wheel.filename, sha256: outcome.wheel.sha256 },
      sdist: { name: sdist.filename, sha256: sdist.sha256 },
      builderId,
      command: outcome.command,
      tools: outcome.tools,
      startedOn: startedOn.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      finishedOn: finishedOn.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    report.envelope = await signEnvelope(statementBytes(statement), [signer]);
  } else {
    report.reason = outcome.reason;
  }
  const sig = await signer.sign(reportBytes(report));
  return { signed: { report, signature: sig }, log };
}

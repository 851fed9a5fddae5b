// SPDX-License-Identifier: Apache-2.0
// The SLSA provenance v1 predicate (https://slsa.dev/spec/v1.0/provenance) a builder of the
// build farm writes for a wheel: built from one sdist (the only resolved dependency), by which
// builder, with which command and which tool versions.
//   buildDefinition.buildType            WHEEL_BUILD_TYPE
//   buildDefinition.externalParameters   { command: [argv…], sdist: filename }
//   buildDefinition.internalParameters   { tools: { python, setuptools, wheel, pip } }
//   buildDefinition.resolvedDependencies [ { name: sdist filename, digest: { sha256 } } ]
//   runDetails.builder.id                the builder's identity (a URI)
//   runDetails.metadata                  { startedOn, finishedOn } (RFC 3339, optional)
import type { JsonValue } from '../tuf/canonical-json.js';
import { AttestationError } from './errors.js';
import type { Statement, Subject } from './statement.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const WHEEL_BUILD_TYPE = 'https://bulwark.dev/build-farm/wheel/v1';
export const TOOL_NAMES = ['python', 'setuptools', 'wheel', 'pip'] as const;
export type ToolVersions = Record<(typeof TOOL_NAMES)[number], string>;

const MAX_ARGS = 64;
const MAX_TEXT = 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** What one builder says about one wheel. */
export interface WheelProvenance {
  wheel: Subject;
  sdist: Subject;
  builderId: string;
  command: string[];
  tools: ToolVersions;
  startedOn?: string;
  finishedOn?: string;
}

/** The in-toto statement for a wheel build (sign it with signEnvelope(statementBytes(…))). */
export function wheelProvenanceStatement(p: WheelProvenance): Statement {
  const metadata: { [k: string]: JsonValue } = {};
  if (p.startedOn !== undefined) metadata['startedOn'] = p.startedOn;
  if (p.finishedOn !== undefined) metadata['finishedOn'] = p.finishedOn;
  return {
    subjects: [{ name: p.wheel.name, sha256: p.wheel.sha256 }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: WHEEL_BUILD_TYPE,
        externalParameters: { command: [...p.command], sdist: p.sdist.name },
        internalParameters: { tools: { ...p.tools } },
        resolvedDependencies: [{ name: p.sdist.name, digest: { sha256: p.sdist.sha256 } }],
      },
      runDetails: { builder: { id: p.builderId }, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) },
    },
  };
}

function isObject(v: unknown): v is { [k: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function field(obj: unknown, key: string, where: string): { [k: string]: JsonValue } {
  const v = isObject(obj) ? obj[key] : undefined;
  if (!isObject(v)) throw bad(`${where}.${key} must be an object`);
  return v;
}

function text(obj: { [k: string]: JsonValue }, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT) throw bad(`${where}.${key} must be a non-empty string`);
  return v;
}

function bad(message: string): AttestationError {
  return new AttestationError('BAD_STATEMENT', message);
}

/**
 * Reads a wheel build's provenance out of a parsed statement: exactly one subject (the wheel),
 * exactly one resolved dependency (the sdist), and every field above well-typed.
 * @throws AttestationError BAD_STATEMENT
 */
export function parseWheelProvenance(statement: Statement, where = 'provenance'): WheelProvenance {
  if (statement.predicateType !== SLSA_PROVENANCE_V1) throw bad(`${where}: predicate type "${statement.predicateType}" is not ${SLSA_PROVENANCE_V1}`);
  const wheel = statement.subjects[0];
  if (statement.subjects.length !== 1 || !wheel) throw bad(`${where}: a wheel build names exactly one subject, not ${statement.subjects.length}`);
  const def = field(statement, 'predicate', where) && field(statement.predicate, 'buildDefinition', `${where}.predicate`);
  const at = `${where}.predicate.buildDefinition`;
  if (def['buildType'] !== WHEEL_BUILD_TYPE) throw bad(`${at}.buildType must be ${WHEEL_BUILD_TYPE}`);
  const external = field(def, 'externalParameters', at);
  const command = external['command'];
  if (!Array.isArray(command) || command.length === 0 || command.length > MAX_ARGS || command.some((a) => typeof a !== 'string' || a.length > MAX_TEXT)) {
    throw bad(`${at}.externalParameters.command must be a list of 1 to ${MAX_ARGS} strings`);
  }
  const toolsObj = field(field(def, 'internalParameters', at), 'tools', `${at}.internalParameters`);
  const tools = {} as ToolVersions;
  for (const name of TOOL_NAMES) tools[name] = text(toolsObj, name, `${at}.internalParameters.tools`);
  const deps = def['resolvedDependencies'];
  if (!Array.isArray(deps) || deps.length !== 1) throw bad(`${at}.resolvedDependencies must list exactly one sdist`);
  const dep = deps[0];
  if (!isObject(dep)) throw bad(`${at}.resolvedDependencies[0] must be an object`);
  const sdistName = text(dep, 'name', `${at}.resolvedDependencies[0]`);
  const digest = field(dep, 'digest', `${at}.resolvedDependencies[0]`);
  if (typeof digest['sha256'] !== 'string' || !SHA256_HEX.test(digest['sha256'])) throw bad(`${at}.resolvedDependencies[0].digest.sha256 must be 64 lowercase hex digits`);
  if (external['sdist'] !== sdistName) throw bad(`${at}.externalParameters.sdist must name the resolved dependency "${sdistName}"`);
  const run = field(statement.predicate, 'runDetails', `${where}.predicate`);
  const builderId = text(field(run, 'builder', `${where}.predicate.runDetails`), 'id', `${where}.predicate.runDetails.builder`);
  const out: WheelProvenance = { wheel: { ...wheel }, sdist: { name: sdistName, sha256: digest['sha256'] }, builderId, command: command as string[], tools };
  const metadata = run['metadata'];
  if (metadata !== undefined) {
    if (!isObject(metadata)) throw bad(`${where}.predicate.runDetails.metadata must be an object`);
    for (const k of ['startedOn', 'finishedOn'] as const) {
      const v = metadata[k];
      if (v === undefined) continue;
      if (typeof v !== 'string' || !RFC3339.test(v)) throw bad(`${where}.predicate.runDetails.metadata.${k} must be an RFC 3339 UTC time`);
      out[k] = v;
    }
  }
  return out;
}

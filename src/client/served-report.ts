// SPDX-License-Identifier: Apache-2.0
// What a client really got: every project and file the proxy served, with the level it verified
// for each. A project's level is the lowest of its page's and files' levels (what the install can
// rely on). `GET /-/report`, `--report FILE` and the idle summary line all come from here.
import { levelOrder, PROTECTION_LEVELS, type ProtectionLevelName } from '../repository/protection-levels.js';

export interface ServedFile {
  filename: string;
  sha256: string;
  level: ProtectionLevelName;
  /** A wheel of `wheels-<project>` whose builders agreed (level 4), and who they were. */
  verified_build?: boolean;
  builders?: { keyid: string; builder_id: string }[];
  built_from?: { filename: string; sha256: string };
  /** Target paths of the file's in-toto attestations. */
  attestations?: string[];
}

export interface ServedProject {
  name: string;
  level: ProtectionLevelName;
  files: ServedFile[];
}

export interface ServedReportJson {
  projects: ServedProject[];
  summary: Partial<Record<ProtectionLevelName, number>>;
}

export class ServedReport {
  private readonly projects = new Map<string, ServedProject>();

  private project(name: string, level: ProtectionLevelName): ServedProject {
    const p = this.projects.get(name) ?? { name, level, files: [] };
    if (levelOrder(level) < levelOrder(p.level)) p.level = level;
    this.projects.set(name, p);
    return p;
  }

  /** A project page served at `level`. */
  page(project: string, level: ProtectionLevelName): void {
    this.project(project, level);
  }

  /** A file served at `level`; the same file served again is listed once. */
  file(project: string, file: ServedFile): void {
    const p = this.project(project, file.level);
    if (!p.files.some((f) => f.filename === file.filename && f.sha256 === file.sha256)) p.files.push({ ...file });
  }

  toJSON(): ServedReportJson {
    const projects = [...this.projects.values()].sort((a, b) => a.name.localeCompare(b.name)).map((p) => ({ ...p, files: [...p.files] }));
    const summary: Partial<Record<ProtectionLevelName, number>> = {};
    for (const p of projects) summary[p.level] = (summary[p.level] ?? 0) + 1;
    return { projects, summary };
  }

  /** "31 projects: 3 claimed, 1 two-factor, 27 unclaimed: the unclaimed ones are a, b, …" */
  summaryLine(): string {
    const { projects, summary } = this.toJSON();
    const counts = [...PROTECTION_LEVELS].reverse().flatMap((l) => (summary[l] ? [`${summary[l]} ${l}`] : []));
    const unclaimed = projects.filter((p) => p.level === 'unclaimed').map((p) => p.name);
    const line = `${projects.length} project${projects.length === 1 ? '' : 's'}: ${counts.join(', ')}`;
    return unclaimed.length ? `${line}: the unclaimed ones are ${unclaimed.join(', ')}` : line;
  }
}

/**
 * Calls `onIdle` once after `delayMs` without activity, following any activity: `touch()` on each
 * request. The timer does not keep the process alive.
 */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly onIdle: () => void
  ) {}

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onIdle();
    }, this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

// The guest's global state as one long-lived helper of our own reads it (bpf-src/state_watch,
// static C): every readable sysctl under kernel., net.core., vm. and user., the mount table,
// modules, processes, lo (link, addresses, routes, qdiscs), every BPF program, map and link, and
// the programs attached to the cgroups the agent watches. Asked with one line, it answers with
// the parts that changed since its last answer; node keeps the rest. Under TCG an exec per
// question costs tens of milliseconds and node's reads of ~240 files hundreds; this is one
// round trip. No fallback: without an answer there is no fingerprint, and the caller says so.
//
// The round trip goes through two FIFOs (fifo-helper.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FifoHelper } from './fifo-helper.js';

/** The helper beside the samples: the agent runs as harness/guest/build/agent.mjs. */
export const STATE_HELPER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../bpf-src/build/state_watch',
);

/** What the helper answered: the sysctls, and each other part's lines. */
export interface StateNow {
  sysctls: Map<string, string>;
  parts: Map<string, string[]>;
}

/** An answer's lines: "@part" starts a part, an empty line ends the answer. */
function parseAnswer(text: string): { sysctls: [string, string][]; parts: Map<string, string[]> } {
  const sysctls: [string, string][] = [];
  const parts = new Map<string, string[]>();
  let at: string | null = null;
  for (const line of text.split('\n')) {
    if (line === '') break;
    if (line.startsWith('@')) {
      at = line.slice(1);
      if (at !== 'sysctl') parts.set(at, []);
    } else if (at === 'sysctl') {
      const tab = line.indexOf('\t');
      sysctls.push([line.slice(0, tab), line.slice(tab + 1)]);
    } else if (at) parts.get(at)?.push(line);
  }
  return { sysctls, parts };
}

/** The helper reads a line of up to 8 KiB: "watch" lines are cut below it. */
const LINE_MAX_CHARS = 7000;
const PATH_MAX_CHARS = 4000;

function chunksOf(paths: string[]): string[][] {
  const chunks: string[][] = [];
  let chars = LINE_MAX_CHARS;
  for (const p of paths) {
    if (chars + p.length + 1 > LINE_MAX_CHARS) {
      chunks.push([]);
      chars = 0;
    }
    chunks.at(-1)?.push(p);
    chars += p.length + 1;
  }
  return chunks;
}

/** What checks files for the agent after each cell (the state helper): false when it could not
 * take them. */
export interface FileWatcher {
  watchFiles(paths: string[]): boolean;
}

export class StateReader implements FileWatcher {
  // replaced, never changed in place, when an answer changes them: a fingerprint keeps the maps
  // it was given, and an unchanged part is the same object in the next one (fingerprint.ts
  // compares those by identity)
  private sysctls = new Map<string, string>();
  private parts = new Map<string, string[]>();
  private helper: FifoHelper | null = null;

  /** Why the helper cannot answer (it was never there, it died, it hung), or null. */
  get broken(): string | null {
    return this.helper ? this.helper.broken : 'not started';
  }

  /** Starts the helper over FIFOs in `fifoDir` (a directory only root can enter). */
  static async start(proc: string, excludedSysctls: string[], cgroups: string[], fifoDir: string, file = STATE_HELPER) {
    const reader = new StateReader();
    const args = [...cgroups.flatMap((c) => ['-c', c]), ...excludedSysctls.flatMap((x) => ['-x', x]), proc];
    reader.helper = await FifoHelper.start('state helper', file, args, fifoDir);
    return reader;
  }

  get pid(): number | undefined {
    return this.helper?.pid;
  }

  /** The state now; null when the helper cannot answer (`broken` says why). `detach`: first
   * detach that program from that cgroup ("DIR ATTACH_TYPE PROG_ID"). */
  async read(detach?: string): Promise<StateNow | null> {
    const text = this.helper?.ask(detach ? `detach ${detach}` : '') ?? null;
    if (text === null) return null;
    const a = parseAnswer(text);
    if (a.sysctls.length) this.sysctls = new Map([...this.sysctls, ...a.sysctls]);
    if (a.parts.size) this.parts = new Map([...this.parts, ...a.parts]);
    return { sysctls: this.sysctls, parts: this.parts };
  }

  /** Kills every process whose real, effective or saved uid is `uid` and says which they were;
   * null when the helper cannot answer (`broken` says why). */
  reap(uid: number): { pids: number[] } | { error: string } | null {
    const text = this.helper?.ask(`reap ${uid}`) ?? null;
    if (text === null) return null;
    const lines = parseAnswer(text).parts.get('reaped') ?? [];
    const error = lines.find((l) => l.startsWith('error '));
    return error ? { error: error.slice(6) } : { pids: lines.map(Number) };
  }

  /** Watches these files from now on (their identity now: see state_watch.c); false when the
   * helper did not take them (the caller then checks them itself). */
  watchFiles(paths: string[]): boolean {
    if (paths.some((p) => /[\t\n]/.test(p) || p.length > PATH_MAX_CHARS)) return false;
    for (const chunk of chunksOf(paths)) {
      const text = this.helper?.ask(`watch ${chunk.join('\t')}`) ?? null;
      const answer = text === null ? null : parseAnswer(text).parts.get('watched');
      if (!answer || answer.length) return false; // no answer, or "error …"
    }
    return true;
  }

  /** The watched files changed since they were watched (each said once, then no longer watched);
   * null when the helper cannot answer. */
  changedFiles(): Set<string> | null {
    const text = this.helper?.ask('changed') ?? null;
    if (text === null) return null;
    const lines = parseAnswer(text).parts.get('changed');
    return lines ? new Set(lines) : null;
  }

  close(): void {
    this.helper?.close();
  }
}

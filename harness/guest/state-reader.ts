// The guest's global state as one long-lived helper of our own reads it (bpf-src/state_watch,
// static C): every readable sysctl under kernel., net.core., vm. and user., the mount table,
// modules, processes, lo (link, addresses, routes, qdiscs), every BPF program, map and link, and
// the programs attached to the cgroups the agent watches. Asked with one line, it answers with
// the parts that changed since its last answer; node keeps the rest. Under TCG an exec per
// question costs tens of milliseconds and node's reads of ~240 files hundreds; this is one
// round trip. No fallback: without an answer there is no fingerprint, and the caller says so.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATH_ENV } from './proc.js';

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

const ANSWER_TIMEOUT_MS = 5000;

export class StateReader {
  // replaced, never changed in place, when an answer changes them: a fingerprint keeps the maps
  // it was given, and an unchanged part is the same object in the next one (fingerprint.ts
  // compares those by identity)
  private sysctls = new Map<string, string>();
  private parts = new Map<string, string[]>();
  private helper: ReturnType<typeof spawn> | null = null;
  private buffer = '';
  private answer: { sysctls: [string, string][]; parts: Map<string, string[]>; at: string | null } | null = null;
  private waiter: ((ok: boolean) => void) | null = null;
  /** Why the helper cannot answer (it was never there, it died, it hung), or null. */
  broken: string | null = null;

  constructor(proc: string, excludedSysctls: string[], cgroups: string[]) {
    if (!fs.existsSync(STATE_HELPER)) {
      this.broken = `${STATE_HELPER} is missing (bpf-src was not built)`;
      return;
    }
    const args = [...cgroups.flatMap((c) => ['-c', c]), ...excludedSysctls.flatMap((x) => ['-x', x]), proc];
    this.helper = spawn(STATE_HELPER, args, { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: PATH_ENV } });
    this.helper.stdout?.setEncoding('utf8');
    this.helper.stdout?.on('data', (d: string) => this.take(d));
    this.helper.on('error', (e) => this.fail(`the state helper: ${e.message}`));
    this.helper.on('exit', (code, signal) => this.fail(`the state helper exited (${signal ?? code})`));
  }

  get pid(): number | undefined {
    return this.helper?.pid;
  }

  private take(d: string): void {
    this.buffer += d;
    for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 1);
      this.answer ??= { sysctls: [], parts: new Map(), at: null };
      const a = this.answer;
      if (line === '') this.settle();
      else if (line.startsWith('@')) {
        a.at = line.slice(1);
        if (a.at !== 'sysctl') a.parts.set(a.at, []);
      } else if (a.at === 'sysctl') {
        const tab = line.indexOf('\t');
        a.sysctls.push([line.slice(0, tab), line.slice(tab + 1)]);
      } else if (a.at) a.parts.get(a.at)?.push(line);
    }
  }

  private settle(): void {
    const a = this.answer;
    this.answer = null;
    if (a) {
      if (a.sysctls.length) this.sysctls = new Map([...this.sysctls, ...a.sysctls]);
      if (a.parts.size) this.parts = new Map([...this.parts, ...a.parts]);
    }
    const w = this.waiter;
    this.waiter = null;
    w?.(true);
  }

  private fail(why: string): void {
    this.broken ??= why;
    this.helper = null;
    const w = this.waiter;
    this.waiter = null;
    w?.(false);
  }

  private ask(line: string): Promise<boolean> {
    const h = this.helper;
    if (this.broken || !h?.stdin?.writable || this.waiter) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        h.kill('SIGKILL');
        this.fail(`the state helper did not answer within ${ANSWER_TIMEOUT_MS} ms`);
      }, ANSWER_TIMEOUT_MS);
      this.waiter = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
      h.stdin?.write(`${line}\n`);
    });
  }

  /** The state now; null when the helper cannot answer (`broken` says why). `detach`: first
   * detach that program from that cgroup ("DIR ATTACH_TYPE PROG_ID"). */
  async read(detach?: string): Promise<StateNow | null> {
    if (!(await this.ask(detach ? `detach ${detach}` : ''))) return null;
    return { sysctls: this.sysctls, parts: this.parts };
  }

  close(): void {
    this.helper?.stdin?.end();
  }
}

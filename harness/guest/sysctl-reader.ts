// Every readable sysctl under kernel., net.core., vm. and user., read after every cell. node's
// reads cost hundreds of milliseconds for the ~240 files under TCG, so a long-lived helper of our
// own (bpf-src/sysctl_watch, static C) keeps them open and answers a line on stdin with the values
// that changed since its last answer; without it, node reads its own open descriptors.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATH_ENV } from './proc.js';

/** The helper beside the samples: the agent runs as harness/guest/build/agent.mjs. */
const HELPER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../bpf-src/build/sysctl_watch');
const TREES = ['kernel', 'net/core', 'vm', 'user'];

export class SysctlReader {
  private readonly values = new Map<string, string>();
  private helper: ReturnType<typeof spawn> | null = null;
  private buffer = '';
  private changed: [string, string][] = [];
  private waiter: ((ok: boolean) => void) | null = null;
  private fds: Map<string, number> | null = null;
  readonly how: string;

  constructor(
    private readonly proc: string,
    private readonly excluded: string[],
  ) {
    if (fs.existsSync(HELPER)) {
      this.helper = spawn(HELPER, [proc, ...excluded], { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: PATH_ENV } });
      this.helper.stdout?.setEncoding('utf8');
      this.helper.stdout?.on('data', (d: string) => this.take(d));
      this.helper.on('error', () => this.settle(false));
      this.helper.on('exit', () => this.settle(false));
      this.how = HELPER;
    } else this.how = 'node (no sysctl_watch helper)';
  }

  get pid(): number | undefined {
    return this.helper?.pid;
  }

  private take(d: string): void {
    this.buffer += d;
    for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 1);
      if (line === '') this.settle(true);
      else {
        const tab = line.indexOf('\t');
        this.changed.push([line.slice(0, tab), line.slice(tab + 1)]);
      }
    }
  }

  private settle(ok: boolean): void {
    if (ok) for (const [k, v] of this.changed) this.values.set(k, v);
    this.changed = [];
    const w = this.waiter;
    this.waiter = null;
    w?.(ok);
  }

  private ask(): Promise<boolean> {
    const h = this.helper;
    if (!h?.stdin?.writable || h.exitCode !== null || this.waiter) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        h.kill('SIGKILL');
        this.helper = null;
        this.settle(false);
      }, 5000);
      this.waiter = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
      h.stdin?.write('\n');
    });
  }

  /** Every sysctl's value now, whitespace folded. */
  async read(): Promise<Map<string, string>> {
    if (this.helper && (await this.ask())) return new Map(this.values);
    this.helper = null;
    this.fds ??= openAll(this.proc, new Set(this.excluded));
    const now = new Map<string, string>();
    for (const [name, fd] of this.fds) {
      const v = readAt(fd);
      if (v !== null) now.set(name, v.trim().replace(/\s+/g, ' '));
    }
    return now;
  }

  close(): void {
    this.helper?.stdin?.end();
  }
}

const buffer = Buffer.alloc(65536);

/** An open sysctl read again from offset 0 (the kernel answers anew); null when unreadable. */
function readAt(fd: number): string | null {
  try {
    return buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
  } catch {
    return null;
  }
}

function openAll(proc: string, excluded: Set<string>): Map<string, number> {
  const fds = new Map<string, number>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const name = path.relative(path.join(proc, 'sys'), p).split(path.sep).join('.');
        if (excluded.has(name)) continue;
        try {
          const fd = fs.openSync(p, 'r');
          if (readAt(fd) === null) fs.closeSync(fd);
          else fds.set(name, fd);
        } catch {}
      }
    }
  };
  for (const t of TREES) if (fs.existsSync(path.join(proc, 'sys', t))) walk(path.join(proc, 'sys', t));
  return fds;
}

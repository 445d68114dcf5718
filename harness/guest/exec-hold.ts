// The hold of a user's loader at its exec, released by the agent, never a delay to catch.
// strace stops every traced process at the end of its first execve with a SIGSTOP of its own
// (syscall-trace.ts: inject=execve:signal=SIGSTOP:when=1); the trace says so with a SIGSTOP whose
// si_code is SI_KERNEL (no process can send one) and then `stopped by SIGSTOP`. The first process
// of the trace is the loader (setpriv's process, after its exec): its /proc status is read while
// it is stopped, then it is continued. Every other process so held (a child the loader forked
// and that exec'd) is continued at once. A stop the program makes itself is left alone.
import fs from 'node:fs';
import path from 'node:path';
import { procStatus } from './proc.js';

const INJECTED = /^(\d+)\s+--- SIGSTOP \{si_signo=SIGSTOP, si_code=SI_KERNEL\b/;
const STOPPED = /^(\d+)\s+--- stopped by SIGSTOP ---/;
const FIRST_PID = /^(\d+)\s/;
/** inotify on the trace's directory wakes the reader; this poll only covers a missed event. */
const POLL_MS = 50;

export class ExecHolds {
  private offset = 0;
  private partial = '';
  private loaderPid: number | null = null;
  private readonly injected = new Set<number>();
  private readonly watcher: fs.FSWatcher;
  private readonly poll: NodeJS.Timeout;
  private settle: ((status: Record<string, string> | null) => void) | null = null;
  /** The loader's /proc status while it was held; null if it never was (it did not start). */
  readonly loaderStatus: Promise<Record<string, string> | null>;

  /** `traceFile` must not exist yet: strace creates it. `onLoader` gets the loader's pid. */
  constructor(
    private readonly traceFile: string,
    private readonly expectedName: string,
    private readonly onLoader: (pid: number) => void,
  ) {
    this.loaderStatus = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.watcher = fs.watch(path.dirname(traceFile), () => this.scan());
    this.poll = setInterval(() => this.scan(), POLL_MS);
    this.scan();
  }

  /** Reads what strace wrote since the last look; holds and releases what it finds. */
  scan(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.traceFile, 'r');
    } catch {
      return; // strace has not created it yet
    }
    try {
      const buf = Buffer.alloc(1 << 16);
      for (let n = fs.readSync(fd, buf, 0, buf.length, this.offset); n > 0; ) {
        this.offset += n;
        this.partial += buf.subarray(0, n).toString('utf8');
        n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      }
    } finally {
      fs.closeSync(fd);
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.readLine(line);
  }

  private readLine(line: string): void {
    if (this.loaderPid === null) {
      const first = FIRST_PID.exec(line);
      if (first) this.loaderPid = Number(first[1]);
    }
    const injected = INJECTED.exec(line);
    if (injected) {
      this.injected.add(Number(injected[1]));
      return;
    }
    const stopped = STOPPED.exec(line);
    const pid = Number(stopped?.[1]);
    if (!stopped || !this.injected.delete(pid)) return;
    // strace wrote the line at the group-stop; the process stays stopped until continued
    if (pid === this.loaderPid && this.settle) this.holdLoader(pid);
    this.release(pid);
  }

  private holdLoader(pid: number): void {
    const status = procStatus(pid);
    const held = status?.State?.startsWith('t') || status?.State?.startsWith('T');
    const settle = this.settle;
    this.settle = null;
    if (status && held && status.Name === this.expectedName) {
      this.onLoader(pid);
      settle?.(status);
    } else settle?.(null);
  }

  private release(pid: number): void {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {}
  }

  /** strace has exited: read what is left; a loader never held has no status. */
  close(): void {
    this.scan();
    this.watcher.close();
    clearInterval(this.poll);
    this.settle?.(null);
    this.settle = null;
  }
}

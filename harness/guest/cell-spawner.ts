// The samples are started by a long-lived launcher of our own (bpf-src/cell_spawn, static C),
// not by node: under TCG node's spawn forks the ~60 MB agent and moves it into the cell's cgroup
// and back (8-18 ms a cell), where the launcher forks a small process (2-3 ms). What the child
// gets is what node's spawn gave it (cell_spawn.c says each step); whether it really ran as the
// cell's uid with exactly the cell's capabilities is what the kernel's /proc status says while it
// is stopped at its start (below), judged by the agent (judge.ts), so a launcher that got
// anything wrong is an infra error.
//
// The child's stdout and stderr are pipes only the launcher reads: it says what the child wrote
// when it says the child ended, so nothing of an earlier cell can reach a later cell's output.
// The handshake (the sample's byte on fd 3 and its stop) is the launcher's too: it says what
// /proc/<pid>/status held while the sample was stopped. A launcher that died or stopped answering
// (a root cell can kill it) ends the boot.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PATH_ENV, parseStatus, procState } from './proc.js';
import { ToolError } from './tools.js';

/** The launcher beside the samples: the agent runs as harness/guest/build/agent.mjs. */
export const CELL_SPAWN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../bpf-src/build/cell_spawn');

const ANSWER_TIMEOUT_MS = 5000;

/** What a cell's sample is started with. */
export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  uid: number;
  gid: number;
  /** Capabilities the uid is given as ambient before the exec (a mask; 0n: none). */
  ambient: bigint;
  /** The bounding set is cut to this mask (absent: left whole). */
  bounding?: bigint;
  /** no_new_privs set just before the exec. */
  noNewPrivs?: boolean;
  /** A seccomp filter refusing these syscalls with EPERM (absent: no filter; []: one refusing none). */
  deny?: string[];
  /** RLIMIT_MEMLOCK (soft and hard) set before the exec, in bytes (null: unlimited; absent: the launcher's). */
  memlock?: number | null;
  env: Record<string, string>;
  /** The cell's cgroup directory, or null (process groups only). */
  cgroup: string | null;
}

const signalName = (n: number): NodeJS.Signals | null =>
  (Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined) ?? null;

/** What a sample wrote, as the launcher kept it: the last MiB of stdout (its result line comes
 * last) and the last 8 KiB of stderr (cell_spawn.c's OUT_TAIL and ERR_TAIL). */
export interface SampleOutput {
  stdout: string;
  stderr: string;
}

/** A started sample: 'exit' (code, signal) and then 'close' when the launcher says it ended, with
 * its output in `output`. */
export class SpawnedSample extends EventEmitter {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  output: SampleOutput = { stdout: '', stderr: '' };
  /** /proc/<pid>/status while the sample was stopped at its handshake; null once it exited
   * without one (it never stopped, or the launcher is gone). */
  readonly held: Promise<Record<string, string> | null>;
  private settleHeld: (status: Record<string, string> | null) => void = () => {};
  private ended = false;

  constructor(readonly pid: number) {
    super();
    this.held = new Promise((resolve) => {
      this.settleHeld = resolve;
    });
  }

  /** The launcher's "held": the status it read while the sample was stopped. */
  wasHeld(status: Record<string, string> | null): void {
    this.settleHeld(status);
  }

  /** `code` -1: a signal ended it; null: the launcher is gone and will never say (the reset
   * after the cell blames it, cell.ts). */
  exited(code: number | null, signal: number, output?: SampleOutput): void {
    if (this.ended) return;
    this.ended = true;
    this.settleHeld(null);
    if (output) this.output = output;
    this.exitCode = code === null || code < 0 ? null : code;
    this.signalCode = code === -1 ? signalName(signal) : null;
    // told on the next turn: the launcher can say a quick sample ended in the same read as the
    // answer to its spawn, before the caller of spawn() has its listeners on
    setImmediate(() => {
      this.emit('exit', this.exitCode, this.signalCode);
      this.emit('close');
    });
  }
}

/** A launcher's HEX field: the bytes it stands for ("-": none). */
const unhex = (field: string | undefined) => (field && field !== '-' ? Buffer.from(field, 'hex').toString('utf8') : '');

/** A request as the launcher reads it: its length, then NUL-terminated fields. */
function encode(seq: number, r: SpawnRequest): Buffer {
  const env = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
  const argv = [r.file, ...r.args];
  const fields = [
    seq,
    r.cgroup ?? '',
    r.uid,
    r.gid,
    r.ambient.toString(16),
    r.bounding === undefined ? '-' : r.bounding.toString(16),
    r.noNewPrivs ? 1 : 0,
    r.deny ? `deny:${r.deny.join(',') || '-'}` : '-',
    r.memlock === undefined ? '-' : r.memlock === null ? 'unlimited' : r.memlock,
    r.cwd,
    env.length,
    ...env,
    argv.length,
    ...argv,
  ];
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(''));
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

export class CellSpawner {
  private seq = 0;
  private pending: { seq: number; resolve: (line: string) => void } | null = null;
  private readonly running = new Map<number, SpawnedSample>();
  /** What the launcher said of a child before spawn() had made its SpawnedSample (the answer to
   * the request and the child's "held" or "exit" can come in one read). */
  private readonly early = new Map<number, string[]>();
  private lines = '';
  /** Why no sample can be started any more (it never started, it died, it stopped answering). */
  broken: string | null = null;

  private constructor(private readonly helper: ReturnType<typeof spawn>) {
    helper.stdout?.setEncoding('utf8');
    helper.stdout?.on('data', (d: string) => this.read(d));
    let err = '';
    helper.stderr?.on('data', (d: Buffer) => {
      err = (err + d).slice(-2000);
    });
    helper.on('exit', (code, signal) => this.fail(`the cell launcher exited (${signal ?? code}) ${err.trim()}`));
    helper.on('error', (e) => this.fail(`the cell launcher: ${e.message}`));
    helper.stdin?.on('error', () => {});
  }

  /** Starts the launcher (`file`: another build of it, for the host's tests); resolves once it
   * said it is ready (or with `broken` set). */
  static async start(file = CELL_SPAWN): Promise<CellSpawner> {
    const helper = spawn(file, [], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: PATH_ENV } });
    const spawner = new CellSpawner(helper);
    const ready = await spawner.answer(0);
    if (ready !== 'ready') spawner.fail(`the cell launcher did not start: ${ready}`);
    helper.unref();
    return spawner;
  }

  get pid(): number | undefined {
    return this.helper.pid;
  }

  /** Why the launcher can no longer be trusted to answer, or null: gone, stopped or traced. */
  check(): string | null {
    if (this.broken) return this.broken;
    // stopped or traced, it could be made to start anything: a root cell can do both
    const state = this.helper.pid ? procState(this.helper.pid) : null;
    if (state === null || 'ZXTt'.includes(state))
      this.fail(`the cell launcher is no longer running (state ${state ?? 'gone'})`);
    return this.broken;
  }

  /** Starts a sample; throws a ToolError when the launcher cannot (the cell is then an infra
   * error). */
  async spawn(r: SpawnRequest): Promise<SpawnedSample> {
    if (this.broken) throw new ToolError(this.broken);
    const seq = ++this.seq;
    this.helper.stdin?.write(encode(seq, r));
    const line = await this.answer(seq);
    const [word, of, pid, ...rest] = line.split(' ');
    if (word !== 'spawned' || of !== String(seq) || rest.length !== 0 || !/^\d+$/.test(pid ?? '')) {
      if (!this.broken && word !== 'failed') this.fail(`the cell launcher answered "${line}"`);
      throw new ToolError(this.broken ?? `the cell launcher: ${line}`);
    }
    const sample = new SpawnedSample(Number(pid));
    this.running.set(sample.pid, sample);
    for (const said of this.early.get(sample.pid) ?? []) this.onLine(said);
    this.early.delete(sample.pid);
    return sample;
  }

  close(): void {
    this.helper.stdin?.end();
    this.broken ??= 'closed';
  }

  /** The next answer to request `seq` (0: the ready line); "" when there is none in time. */
  private answer(seq: number): Promise<string> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fail(`the cell launcher did not answer within ${ANSWER_TIMEOUT_MS} ms`);
      }, ANSWER_TIMEOUT_MS);
      this.pending = {
        seq,
        resolve: (line) => {
          clearTimeout(timer);
          this.pending = null;
          resolve(line);
        },
      };
    });
  }

  private read(data: string): void {
    this.lines += data;
    let nl = this.lines.indexOf('\n');
    while (nl >= 0) {
      const line = this.lines.slice(0, nl);
      this.lines = this.lines.slice(nl + 1);
      this.onLine(line);
      nl = this.lines.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    const [word, a, b, c, out, err] = line.split(' ');
    if ((word === 'held' || word === 'exit') && !this.running.has(Number(a))) {
      this.early.set(Number(a), [...(this.early.get(Number(a)) ?? []), line]);
      return;
    }
    if (word === 'held') {
      // read while it was stopped; a status that says otherwise was not a handshake's
      const status = parseStatus(unhex(b));
      this.running.get(Number(a))?.wasHeld(/^[tT]/.test(status.State ?? '') ? status : null);
    } else if (word === 'exit') {
      const sample = this.running.get(Number(a));
      this.running.delete(Number(a));
      sample?.exited(Number(b), Number(c), { stdout: unhex(out), stderr: unhex(err) });
    } else this.pending?.resolve(line);
  }

  /** The launcher is of no more use: it is killed, a waiting request ends, the boot ends. */
  private fail(why: string): void {
    this.broken ??= why;
    try {
      this.helper.kill('SIGKILL');
    } catch {}
    this.pending?.resolve('');
    for (const sample of this.running.values()) sample.exited(null, 0);
    this.running.clear();
  }
}

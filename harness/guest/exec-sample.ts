// Runs one sample: as the cell's uid (the launcher sets no groups, the cell's gid and uid before
// the exec; the agent holds no inheritable or ambient capabilities, agent.ts checks), inside the
// cell's cgroup, with the handshake that lets the agent judge what the kernel says the running
// process holds. A sample is started by the agent's launcher (cell-spawner.ts); a user's loader
// runs under strace, through setpriv, spawned by node. When the sample's own process exits,
// whatever it left running is killed, so nothing it started can hold its stdout open and hang
// the cell.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { launcherShape } from './cell-caps.js';
import { type CellCgroup, spawnOomKillable } from './cell-cgroup.js';
import { type CellSpawner, type SampleOutput, SpawnedSample } from './cell-spawner.js';
import { agentTool, type CellPaths } from './commands.js';
import { ExecHolds } from './exec-hold.js';
import { PATH_ENV, procState } from './proc.js';
import { type GuestCell, sampleResult } from './protocol.js';
import { straceArgv } from './syscall-trace.js';

const STDOUT_TAIL = 1 << 20;
const STDERR_TAIL = 8192;

export interface ExecResult {
  /** /proc/<pid>/status while the sample was stopped at its start, or null if it never stopped. */
  status: Record<string, string> | null;
  code: number | null;
  signal: string | null;
  /** The last MiB of stdout: the result line comes last. */
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** What was still running in the cell's cgroup when the sample exited (killed). */
  leftovers: number[];
  execMs: number;
  /** Spawn → the launcher said the sample stopped at its start (fork, exec, until main, its
   * status read); null without a handshake. */
  startMs: number | null;
  /** Spawn → the sample's first bpf(2), as its result line says; null when it made none. */
  firstBpfMs: number | null;
}

/**
 * The samples stop themselves once (cm_init: a byte on fd 3, then SIGSTOP) when
 * CAPMATRIX_HANDSHAKE is set: the launcher, their parent, reads what the kernel says the stopped
 * process holds (not what the sample reports) and lets it go on (cell_spawn.c).
 */
async function handshake(child: SpawnedSample, onReady: () => void): Promise<Record<string, string> | null> {
  const status = await child.held;
  if (status) onReady();
  return status;
}

/** The loader's name in /proc/<pid>/status after its exec: the kernel's comm, 15 bytes. */
const loaderName = (file: string) => path.basename(file).slice(0, 15);

/**
 * strace waits for every process it traces, one that left the cell's cgroup too: once the loader
 * itself has exited, strace gets a second to finish, then the cell is ended as a sample's is
 * (what is left is killed; the reset finds what escaped). The loader's exit status is in the trace.
 */
async function endWithLoader(pid: number, child: CellChild, cgroup: CellCgroup | null): Promise<void> {
  const gone = () => {
    const state = procState(pid);
    return state === null || state === 'Z' || state === 'X';
  };
  while (child.exitCode === null && child.signalCode === null && !gone()) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 1000));
  if (child.exitCode === null && child.signalCode === null) killCell(child, cgroup);
}

/** strace must stay root to let the loader gain its file capabilities, so setpriv drops to the
 * uid. setpriv stands in front of a root loader too: strace holds a process at its first execve
 * that it saw begin, and it does not see the start of the command it runs itself. */
function argvOf(cell: GuestCell, file: string, args: string[], traceFile: string): string[] {
  const id = String(cell.uid);
  const drop = cell.uid === 0 ? [] : [`--reuid=${id}`, `--regid=${id}`, '--clear-groups'];
  const [, ...traced] = straceArgv(traceFile, [agentTool('setpriv'), ...drop, '--inh-caps=-all', '--', file, ...args]);
  return [agentTool('strace'), ...traced];
}

/** The sample's first bpf(2), as its result line says (capmatrix_result.h), from the spawn, in ms. */
function firstBpfSince(stdout: string, spawnedNs: bigint): number | null {
  const parsed = sampleResult(stdout);
  const ns = parsed && 'res' in parsed ? parsed.res.firstBpfNs : undefined;
  if (ns === undefined) return null;
  const ms = Number(BigInt(Math.round(ns)) - spawnedNs) / 1e6;
  return ms >= 0 ? Math.round(ms) : null;
}

/** What strace and the loader write, as it comes: the last MiB of stdout (as the launcher keeps a
 * sample's), the last 8 KiB of stderr, and a spawn that failed as a line of stderr. Read it once
 * the process closed. */
function collectOutput(child: ChildProcess): SampleOutput {
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d) => {
    out.stdout = (out.stdout + d).slice(-STDOUT_TAIL);
  });
  child.stderr?.on('data', (d) => {
    out.stderr = (out.stderr + d).slice(-STDERR_TAIL);
  });
  child.on('error', (e) => {
    out.stderr += `\nspawn: ${e.message}`;
  });
  return out;
}

/** Kills everything of the cell: its cgroup, or (without cgroups) the sample's process group. */
function killCell(child: CellChild, cgroup: CellCgroup | null): void {
  if (cgroup) {
    cgroup.kill();
    return;
  }
  try {
    process.kill(-(child.pid ?? 0), 'SIGKILL');
  } catch {}
}

/** A sample started by the launcher, or a user's loader's strace started by node. */
type CellChild = ChildProcess | SpawnedSample;

/** How the cell's process is started: by the launcher (a sample), or by node under strace (a
 * user's loader, mode 'exec', the trace written to `traceFile`). */
export type Launch = { spawner: CellSpawner } | { traceFile: string };

/** strace and the loader under it, spawned by node with the agent inside the cell's cgroup. */
function spawnTraced(
  cell: GuestCell,
  at: CellPaths,
  args: string[],
  cwd: string,
  cgroup: CellCgroup | null,
  traceFile: string,
) {
  const argv = argvOf(cell, at.sample, args, traceFile);
  const start = () =>
    spawn(argv[0] ?? at.sample, argv.slice(1), {
      cwd,
      env: { PATH: PATH_ENV, HOME: at.dir, CAPMATRIX_CELL: cell.id },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group too, for a guest without cgroups
    });
  return cgroup ? cgroup.spawnInside(start) : spawnOomKillable(start);
}

export async function execSample(
  cell: GuestCell,
  at: CellPaths,
  args: string[],
  cwd: string,
  cgroup: CellCgroup | null,
  launch: Launch,
): Promise<ExecResult> {
  const file = at.sample;
  const traceFile = 'traceFile' in launch ? launch.traceFile : null;
  const started = performance.now();
  const startedNs = process.hrtime.bigint();
  let startMs: number | null = null;
  const child: CellChild =
    'spawner' in launch
      ? await launch.spawner.spawn({
          file,
          args,
          cwd,
          uid: cell.uid,
          gid: cell.uid,
          ...launcherShape(cell),
          env: { PATH: PATH_ENV, HOME: at.dir, CAPMATRIX_CELL: cell.id, CAPMATRIX_HANDSHAKE: '1' },
          cgroup: cgroup?.dir ?? null,
        })
      : spawnTraced(cell, at, args, cwd, cgroup, launch.traceFile);
  const spawned = child instanceof SpawnedSample ? child : null;
  const traced = child instanceof SpawnedSample ? null : child;
  return new Promise<ExecResult>((resolve) => {
    // a sample's output comes with its end, from the launcher
    const output = traced ? collectOutput(traced) : null;
    let timedOut = false;
    let leftovers: number[] = [];
    let exited: { code: number | null; signal: string | null } | null = null;
    const holds = traceFile
      ? new ExecHolds(traceFile, loaderName(file), (pid) => void endWithLoader(pid, child, cgroup))
      : null;
    const status = spawned
      ? handshake(spawned, () => {
          startMs = Math.round(performance.now() - started);
        })
      : (holds?.loaderStatus ?? null);
    const finish = async () => {
      clearTimeout(timer);
      clearTimeout(closeGuard);
      const { code = null, signal = null } = exited ?? {};
      const execMs = Math.round(performance.now() - started);
      const { stdout, stderr } = output ?? spawned?.output ?? { stdout: '', stderr: '' };
      const firstBpfMs = traceFile ? null : firstBpfSince(stdout, startedNs);
      resolve({ status: await status, code, signal, stdout, stderr, timedOut, leftovers, execMs, startMs, firstBpfMs });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killCell(child, cgroup);
    }, cell.timeoutSec * 1000);
    let closeGuard: NodeJS.Timeout | undefined;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      holds?.close();
      leftovers = cgroup?.pids() ?? [];
      if (leftovers.length) killCell(child, cgroup);
      // a pipe still held by something outside the cgroup must not hang the cell (a sample's
      // pipes are the launcher's, read to their end when it says the sample ended)
      if (traced)
        closeGuard = setTimeout(() => {
          for (const s of traced.stdio) s?.destroy();
          void finish();
        }, 2000);
    });
    child.on('close', () => void finish());
  });
}

// The host's one way to run another program: an argument array (never a shell), its output
// captured, and a failure that says what was run and what it said. (zx went: it runs commands
// through a shell, and its synchronous form cannot hold a package index.)
import { spawnSync } from 'node:child_process';

export interface Ran {
  ok: boolean;
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** What went wrong, for a message: the spawn error, the exit code or the signal, and stderr. */
  why: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Let the program write to this terminal (apt-get, a kernel build) instead of capturing. */
  inherit?: boolean;
}

export function run(cmd: string, args: readonly string[], o: RunOptions = {}): Ran {
  const r = spawnSync(cmd, args, {
    cwd: o.cwd,
    env: o.env,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: o.inherit ? ['ignore', 'inherit', 'inherit'] : 'pipe',
  });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  const how = r.error ? r.error.message : r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
  return {
    ok: !r.error && r.status === 0,
    status: r.status,
    signal: r.signal,
    stdout,
    stderr,
    why: `${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
  };
}

/** Runs it and returns its stdout; throws naming the command when it fails. */
export function mustRun(cmd: string, args: readonly string[], o: RunOptions = {}): string {
  const r = run(cmd, args, o);
  if (!r.ok) throw new Error(`\`${[cmd, ...args].join(' ')}\` failed (${r.why})`);
  return r.stdout;
}

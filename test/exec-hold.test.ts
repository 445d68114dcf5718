// The hold of a user's loader at its exec, for real on this host: strace stops the loader and
// every child that execs, the agent's reader reads the loader's status while it is stopped and
// continues them all. No timing window: a loader nobody releases stays stopped.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { ExecHolds } from '../harness/guest/exec-hold.js';
import { procState } from '../harness/guest/proc.js';
import { straceArgv } from '../harness/guest/syscall-trace.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-hold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `command` under the trace with the holds; resolves with what the holds saw. */
function traced(name: string, command: string[], release = true) {
  const traceFile = path.join(dir, name);
  const argv = straceArgv(traceFile, ['setpriv', '--inh-caps=-all', '--', ...command]);
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let loaderPid = 0;
  const holds = release
    ? new ExecHolds(traceFile, path.basename(command[0] ?? '').slice(0, 15), (pid) => {
        loaderPid = pid;
      })
    : null;
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      holds?.close();
      resolve(code);
    }),
  );
  return {
    child,
    holds,
    exited,
    stdout: () => stdout,
    loaderPid: () => loaderPid,
    trace: () => readFileSync(traceFile, 'utf8'),
  };
}

test('the loader is held at its exec until released; children that exec are released too', async () => {
  const run = traced('forks', ['/bin/sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do /bin/true; done; echo done']);
  const status = await run.holds?.loaderStatus;
  expect(status?.Name).toBe('sh');
  expect(status?.State).toMatch(/^t/);
  expect(run.loaderPid()).toBeGreaterThan(0);
  expect(await run.exited).toBe(0);
  expect(run.stdout()).toBe('done\n');
  // each exec was stopped by strace and continued by the reader
  expect(run.trace().match(/--- stopped by SIGSTOP ---/g)?.length).toBe(9);
});

test('without a release the loader stays stopped: nothing depends on being quick', async () => {
  const run = traced('unreleased', ['/bin/true'], false);
  const pid = await new Promise<number>((resolve) => {
    const poll = setInterval(() => {
      const m = /^(\d+)\s+--- stopped by SIGSTOP ---/m.exec(readFileSyncSafe(path.join(dir, 'unreleased')));
      if (m) {
        clearInterval(poll);
        resolve(Number(m[1]));
      }
    }, 20);
  });
  await new Promise((r) => setTimeout(r, 1000));
  expect(procState(pid)).toBe('t');
  process.kill(pid, 'SIGCONT');
  expect(await run.exited).toBe(0);
});

test('a loader that is not the expected program is not taken for it', async () => {
  const traceFile = path.join(dir, 'other');
  const argv = straceArgv(traceFile, ['setpriv', '--inh-caps=-all', '--', '/bin/true']);
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: 'ignore' });
  const holds = new ExecHolds(traceFile, 'not-true', () => {});
  child.on('exit', () => holds.close());
  expect(await holds.loaderStatus).toBeNull();
});

function readFileSyncSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

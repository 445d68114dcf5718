// The samples' launcher (bpf-src/cell_spawn, harness/guest/cell-spawner.ts) run on the host: what
// a child gets (its pipes and nothing else, /dev/null, its directory and environment, its uid
// without groups or capabilities), the handshake (the status read at the stop after the byte on
// fd 3, and no other stop), how its end is told, and that a launcher killed under a running
// sample ends it and every later spawn instead of hanging. The guest runs it in every VM
// test; the judge there reads each sample's /proc status.
import { mkdtempSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CellSpawner, type SpawnedSample, type SpawnRequest } from '../harness/guest/cell-spawner.js';
import { procState, procStatus } from '../harness/guest/proc.js';
import { ToolError } from '../harness/guest/tools.js';
import { SAMPLES_BUILD_DIR } from '../harness/paths.js';

const isRoot = process.getuid?.() === 0;
const own = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
let spawner: CellSpawner;

beforeAll(async () => {
  spawner = await CellSpawner.start(path.join(SAMPLES_BUILD_DIR, 'cell_spawn'));
  expect(spawner.broken).toBeNull();
});
afterAll(() => spawner.close());

/** Starts `script` under /bin/sh. */
const start = (script: string, more: Partial<SpawnRequest> = {}) =>
  spawner.spawn({
    file: '/bin/sh',
    args: ['-c', script],
    cwd: '/',
    ...own,
    ambient: 0n,
    env: { PATH: '/usr/bin:/bin' },
    cgroup: null,
    ...more,
  });

/** Runs `script` under /bin/sh; resolves with what it wrote on each pipe and how it ended. */
const run = async (script: string, more: Partial<SpawnRequest> = {}) => ended(await start(script, more));

function ended(sample: SpawnedSample) {
  return new Promise<{ out: string; err: string; code: number | null; signal: string | null }>((resolve) =>
    sample.on('close', () =>
      resolve({
        out: sample.output.stdout,
        err: sample.output.stderr,
        code: sample.exitCode,
        signal: sample.signalCode,
      }),
    ),
  );
}

test("a child gets its two pipes and the handshake's fd 3, /dev/null, its directory and environment, nothing else", async () => {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'capmatrix-spawn-')));
  const r = await run(
    'echo "$CELL $HOME"; pwd; cat; echo err >&2; echo hs >&3; env | sort | tr "\\n" " "; echo; exec ls /proc/self/fd',
    {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', CELL: 'c1', HOME: dir },
    },
  );
  const lines = r.out.trim().split('\n');
  expect(lines.slice(0, 2)).toEqual([`c1 ${dir}`, dir]);
  // the whole environment is the request's (sh adds PWD, and OLDPWD in some versions)
  expect(lines[2]?.split(' ').filter((v) => v && !/^(PWD|OLDPWD|SHLVL|_)=/.test(v))).toEqual([
    'CELL=c1',
    `HOME=${dir}`,
    'PATH=/usr/bin:/bin',
  ]);
  // ls's own directory handle is 4: nothing of the launcher's or an earlier child's is open
  expect(lines.slice(3)).toEqual(['0', '1', '2', '3', '4']);
  expect(r).toMatchObject({ err: 'err\n', code: 0, signal: null });
});

test('the stop after the byte on fd 3 is held: the status read while stopped, then it goes on', async () => {
  const sample = await start('printf s >&3; kill -STOP $$; echo went on');
  const end = ended(sample);
  const status = await sample.held;
  expect(status).toMatchObject({ Pid: String(sample.pid), Uid: expect.stringMatching(new RegExp(`^${own.uid}\\s`)) });
  expect(status?.State).toMatch(/^T/);
  expect(await end).toMatchObject({ out: 'went on\n', code: 0 });
});

test('a stop without the byte is not a handshake: left stopped, and no status once it ends', async () => {
  const sample = await start('kill -STOP $$; echo never');
  const end = ended(sample);
  await expect.poll(() => procState(sample.pid)).toBe('T');
  process.kill(sample.pid, 'SIGKILL');
  expect(await sample.held).toBeNull();
  expect(await end).toMatchObject({ out: '', code: null, signal: 'SIGKILL' });
});

test('the output is the last MiB of stdout and 8 KiB of stderr, whatever bytes; a pipe left open does not hold the end', async () => {
  const big = await run(
    'head -c 1500000 /dev/zero | tr "\\0" a; printf "\\001\\nend"; head -c 9000 /dev/zero | tr "\\0" b >&2; echo E >&2',
  );
  expect(big.out.length).toBe(1 << 20);
  expect(big.out.endsWith('a\u0001\nend')).toBe(true);
  expect(big.err).toBe(`${'b'.repeat(8190)}E\n`);
  const t = Date.now();
  const left = await run('sleep 5 & echo started');
  expect(left).toMatchObject({ out: 'started\n', code: 0 });
  expect(Date.now() - t).toBeLessThan(4000);
});

test('an exit code and a signal are told as node tells them; an exec that fails is 127 with why', async () => {
  expect(await run('exit 3')).toMatchObject({ code: 3, signal: null });
  expect(await run('kill -TERM $$')).toMatchObject({ code: null, signal: 'SIGTERM' });
  const missing = await run('', { file: '/nonexistent/capmatrix-sample', args: [] });
  expect(missing).toMatchObject({ code: 127, signal: null });
  expect(missing.err).toMatch(/cell_spawn: \/nonexistent\/capmatrix-sample: No such file or directory/);
  // a relative path is refused before any fork, and the launcher goes on
  await expect(
    spawner.spawn({ file: 'sh', args: [], cwd: '/', ...own, ambient: 0n, env: {}, cgroup: null }),
  ).rejects.toThrow(/malformed request/);
  expect(spawner.check()).toBeNull();
});

test.runIf(isRoot)('as root it starts the child as the cell uid: no groups, no capabilities of any set', async () => {
  const r = await run('grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb|SigBlk|SigIgn):" /proc/self/status', {
    uid: 65534,
    gid: 65534,
  });
  const status = Object.fromEntries(
    r.out
      .trim()
      .split('\n')
      .map((l) => l.split(/:\s*/) as [string, string]),
  );
  expect(status).toEqual({
    Uid: '65534\t65534\t65534\t65534',
    Gid: '65534\t65534\t65534\t65534',
    Groups: '',
    CapInh: '0000000000000000',
    CapPrm: '0000000000000000',
    CapEff: '0000000000000000',
    CapAmb: '0000000000000000',
    SigBlk: '0000000000000000',
    SigIgn: '0000000000000000',
  });
});

test.runIf(isRoot)(
  "an ambient grant: the uid holds exactly the set as ambient, inheritable, permitted and effective (systemd's AmbientCapabilities=)",
  async () => {
    // CAP_NET_RAW (13) and CAP_BPF (39): one in each of the two 32-bit words capset takes
    const set = (1n << 13n) | (1n << 39n);
    const r = await run('grep -E "^(Uid|CapInh|CapPrm|CapEff|CapAmb):" /proc/self/status', {
      uid: 65534,
      gid: 65534,
      ambient: set,
    });
    const hex = set.toString(16).padStart(16, '0');
    expect(r.out.trim().split('\n')).toEqual([
      'Uid:\t65534\t65534\t65534\t65534',
      `CapInh:\t${hex}`,
      `CapPrm:\t${hex}`,
      `CapEff:\t${hex}`,
      `CapAmb:\t${hex}`,
    ]);
    // for the launcher's own uid there is nothing to grant: refused, not ignored
    const own0 = await run('true', { uid: 0, gid: 0, ambient: set });
    expect(own0).toMatchObject({ code: 127 });
    expect(own0.err).toMatch(/an ambient grant for the launcher's own uid/);
  },
);

test.runIf(isRoot)(
  "a rootful container's shape: uid 0 holds exactly the bounding set it was cut to, under a seccomp filter refusing what it names",
  async () => {
    const set = (1n << 13n) | (1n << 39n);
    const hex = set.toString(16).padStart(16, '0');
    const r = await run(
      'grep -E "^(Uid|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; unshare -U true 2>&1; echo "unshare $?"',
      { uid: 0, gid: 0, bounding: set, deny: ['unshare'] },
    );
    expect(r.out.trim().split('\n')).toEqual([
      'Uid:\t0\t0\t0\t0',
      `CapPrm:\t${hex}`,
      `CapEff:\t${hex}`,
      `CapBnd:\t${hex}`,
      'NoNewPrivs:\t0',
      'Seccomp:\t2',
      expect.stringMatching(/Operation not permitted/),
      'unshare 1',
    ]);
  },
);

test.runIf(isRoot)(
  'memlock unlimited where the launcher may raise it; where it may not (no CAP_SYS_RESOURCE), the child is not run',
  async () => {
    const r = await run('grep "^Max locked memory" /proc/self/limits', { uid: 0, gid: 0, memlock: null });
    const mayRaise = (BigInt(`0x${procStatus('self')?.CapEff ?? '0'}`) >> 24n) & 1n;
    if (mayRaise) expect(r.out).toMatch(/^Max locked memory\s+unlimited\s+unlimited\s+bytes\s*$/);
    else expect(r).toMatchObject({ code: 127, err: expect.stringMatching(/RLIMIT_MEMLOCK: Operation not permitted/) });
  },
);

test('a memlock limit in bytes: soft and hard, lowered as the cell asks', async () => {
  const r = await run('grep "^Max locked memory" /proc/self/limits', { memlock: 65536 });
  expect(r.out).toMatch(/^Max locked memory\s+65536\s+65536\s+bytes\s*$/);
});

test.runIf(isRoot)(
  "a pod's user without file capabilities, under no_new_privs: the bounding set cut, nothing held (what capabilities.add alone gives)",
  async () => {
    const set = (1n << 13n) | (1n << 39n);
    const r = await run('grep -E "^(Uid|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status', {
      uid: 65534,
      gid: 65534,
      bounding: set,
      noNewPrivs: true,
    });
    expect(r.out.trim().split('\n')).toEqual([
      'Uid:\t65534\t65534\t65534\t65534',
      'CapPrm:\t0000000000000000',
      'CapEff:\t0000000000000000',
      `CapBnd:\t${set.toString(16).padStart(16, '0')}`,
      'NoNewPrivs:\t1',
      'Seccomp:\t0',
    ]);
  },
);

test('a launcher killed under a running sample ends it and every later spawn, never hangs', async () => {
  const doomed = await CellSpawner.start(path.join(SAMPLES_BUILD_DIR, 'cell_spawn'));
  const sample = await doomed.spawn({
    file: '/bin/sh',
    args: ['-c', 'exec sleep 30 >/dev/null 2>&1 3>&-'],
    cwd: '/',
    ...own,
    ambient: 0n,
    env: {},
    cgroup: null,
  });
  const end = ended(sample);
  if (doomed.pid) process.kill(doomed.pid, 'SIGKILL');
  expect(await end).toMatchObject({ code: null, signal: null });
  expect(doomed.check()).toMatch(/cell launcher (exited|is no longer running)/);
  await expect(
    doomed.spawn({ file: '/bin/true', args: [], cwd: '/', ...own, ambient: 0n, env: {}, cgroup: null }),
  ).rejects.toThrow(ToolError);
  process.kill(-sample.pid, 'SIGKILL'); // its own session and process group
});

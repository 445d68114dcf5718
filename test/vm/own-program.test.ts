// capmatrix as a user adds it to their own project: packed with `npm pack`, installed into a
// throwaway project outside the checkout (examples/own-program, docs/own-program.md's example), asked
// about that project's own BPF object and its own loader, on the real default kernel.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PACKAGE_ROOT } from '../../harness/paths.js';
import type { RunResults } from '../../harness/report/results-json.js';

const EXAMPLE = path.join(PACKAGE_ROOT, 'examples', 'own-program');
// an object and a loader of the project's own for the labels that were wrong (issue #29)
const LABELS = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'own-labels');
const work = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-own-'));
const project = path.join(work, 'my-bpf-tool');
// the search's candidates, fewer than the default eight to keep npm test short
const CANDIDATES = 'CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_ADMIN';

function mustRun(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}): exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `npx capmatrix …` in the project; resolves with its exit code and output. */
function npx(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['--no-install', 'capmatrix', ...args], { cwd: project });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A scenario file of the project: `body` after the import every one of them has. */
function writeScenario(name: string, body: string): void {
  writeFileSync(path.join(project, 'scenarios', `${name}.ts`), `import { defineScenario } from 'capmatrix';\n${body}`);
}

/** Four scenarios beside the example's (docs/own-program.md), written into the project before the run. */
function writeExtraScenarios(): void {
  // the object's tc classifier: a network program type, then the clsact hook through netlink
  writeScenario(
    'tc-object',
    `export default defineScenario({
  name: 'tc-object',
  object: './build/prog.bpf.o',
  programs: ['tc_pass'],
  axes: { caps: [['CAP_BPF'], ['CAP_BPF', 'CAP_NET_ADMIN']], sysctl: {} },
  expect: [
    { when: { lacks: ['CAP_NET_ADMIN'] }, outcome: 'EPERM@prog_load', reason: 'SCHED_CLS needs bpf_net_capable()' },
    { outcome: 'ok', reason: 'CAP_BPF + CAP_NET_ADMIN: loaded, and attached to lo ingress' },
  ],
});
`,
  );
  // an object whose bare SEC("uprobe") goes where the scenario says (capmatrix's own uprobe
  // sample's object, on bash's readline): the uprobe PMU wants CAP_SYS_ADMIN on this kernel
  writeScenario(
    'uprobe-object',
    `export default defineScenario({
  name: 'uprobe-object',
  object: ${JSON.stringify(path.join(PACKAGE_ROOT, 'bpf-src', 'build', 'uprobe.bpf.o'))},
  uprobe: '/usr/bin/bash:readline',
  axes: { caps: [['CAP_BPF', 'CAP_PERFMON'], ['CAP_SYS_ADMIN']], sysctl: {} },
  expect: [
    { when: { lacks: ['CAP_SYS_ADMIN'] }, outcome: 'EACCES@perf_open', reason: 'uprobes need CAP_SYS_ADMIN again (ba677dbe77af)' },
    { outcome: 'ok', reason: 'CAP_SYS_ADMIN: loaded and attached' },
  ],
});
`,
  );
  // a second scenario beside the example's: grep as "loader", printing its own /proc status,
  // shows that under the trace the program holds exactly the file capabilities of its cell
  writeScenario(
    'traced-caps',
    `export default defineScenario({
  name: 'traced-caps',
  exec: ['grep', '-E', '^(Uid|CapInh|CapPrm|CapEff|CapAmb|TracerPid):', '/proc/self/status'],
  okWhen: { stdout: 'CapEff' },
  axes: { caps: [[], ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON']], sysctl: {} },
  expect: [{ outcome: 'ok', reason: 'grep reads its own status' }],
});
`,
  );
  // the labels that were wrong: a loader that refuses by itself after an id walk, libbpf's module
  // BTF walk refused, a CO-RE relocation that cannot resolve, a program loaded but not attached
  writeScenario(
    'labels',
    `export default [
  defineScenario({
  name: 'self-refuse',
  exec: ['./build/self-refuse'],
  axes: { caps: [[], ['CAP_SYS_ADMIN']], sysctl: {} },
  expect: [
    { when: { lacks: ['CAP_SYS_ADMIN'] }, outcome: 'EPERM@get_next_id', reason: 'BPF_BTF_GET_NEXT_ID wants CAP_SYS_ADMIN (bpf_obj_get_next_id)' },
    { outcome: 'refused@loader', reason: 'it wants uid 0 whatever its capabilities; the walk ends with ENOENT, no refusal' },
  ],
  }),
  defineScenario({
  name: 'core-module',
  object: './build/labels.bpf.o',
  programs: ['core_module'],
  axes: { caps: [['CAP_BPF'], ['CAP_BPF', 'CAP_SYS_ADMIN']], sysctl: {} },
  expect: [
    { when: { lacks: ['CAP_SYS_ADMIN'] }, outcome: 'EPERM@get_next_id', reason: 'struct ovl_fs is in the overlay module BTF: libbpf walks BTF ids (CAP_SYS_ADMIN)' },
    { outcome: 'ok', reason: 'CAP_SYS_ADMIN: the walk finds overlay BTF' },
  ],
  }),
  defineScenario({
  name: 'bare-uprobe',
  object: './build/labels.bpf.o',
  programs: ['plain', 'bare_uprobe'],
  axes: { caps: [['CAP_BPF', 'CAP_PERFMON']], sysctl: {} },
  expect: [{ outcome: 'EOPNOTSUPP@attach', reason: 'SEC("uprobe") has no target: loaded is not attached' }],
  }),
  defineScenario({
  name: 'pinned-by-name',
  object: './build/pins.bpf.o',
  axes: { caps: [['CAP_BPF'], ['CAP_BPF', 'CAP_DAC_OVERRIDE']], sysctl: {} },
  expect: [
    { when: { lacks: ['CAP_DAC_OVERRIDE'] }, outcome: 'EACCES@obj_get', reason: "libbpf looks for the pin first: systemd's /sys/fs/bpf is root's, mode 0700" },
    { outcome: 'ok', reason: 'CAP_DAC_OVERRIDE: found none, created and pinned it' },
  ],
  }),
  defineScenario({
  name: 'bare-uprobe-loaded',
  object: './build/labels.bpf.o',
  programs: ['plain', 'bare_uprobe'],
  loadOnly: ['bare_uprobe'],
  axes: { caps: [['CAP_BPF', 'CAP_PERFMON']], sysctl: {} },
  expect: [{ outcome: 'ok', reason: 'loaded only, as asked' }],
  }),
];
`,
  );
  // and hostile loaders: the harness's fault program goes for the results file with
  // SYS_ADMIN+DAC_OVERRIDE+FOWNER and leaves a child behind outside its cgroup; tc leaves a qdisc
  writeScenario(
    'hostile',
    `const fault = ${JSON.stringify(path.join(PACKAGE_ROOT, 'bpf-src', 'build', 'fault'))};
export default [
  defineScenario({
  name: 'hostile-forge',
  exec: [fault, 'forge'],
  axes: { caps: [['CAP_SYS_ADMIN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER']], sysctl: {} },
  expect: [{ outcome: 'ok', reason: 'it exits 0 whatever it managed: only its own cell may say so' }],
  }),
  defineScenario({
  name: 'hostile-escape',
  exec: [fault, 'cgroup-escape'],
  axes: { caps: [['CAP_DAC_OVERRIDE']], sysctl: {} },
  expect: [{ outcome: 'ok', reason: 'its child is found and killed: state-not-reset' }],
  }),
  defineScenario({
  name: 'hostile-qdisc',
  exec: ['tc', 'qdisc', 'add', 'dev', 'lo', 'clsact'],
  axes: { caps: [['CAP_NET_ADMIN']], sysctl: {} },
  expect: [{ outcome: 'ok', reason: 'the clsact qdisc outlives it: removed, state-not-reset' }],
  }),
];
`,
  );
}

type Ran = { code: number | null; stdout: string; stderr: string };
let shipped: string[] = [];
/** `capmatrix expected` on capmatrix's own scenarios before anything of the package is built. */
let expectedFresh = '';
let xdpAcross: Promise<Ran>;
let sockSearch: Promise<Ran>;
let coreSearch: Promise<Ran>;
let matrixRun: Promise<Ran>;

const sorted = (sets: string[][]) => sets.map((s) => [...s].sort().join('+')).sort();

beforeAll(() => {
  // the cell's uid runs the loader from the project directory: it must be able to enter it
  chmodSync(work, 0o755);
  const tarball = mustRun('npm', ['pack', '--silent', '--pack-destination', work], PACKAGE_ROOT)
    .trim()
    .split('\n')
    .at(-1);
  cpSync(EXAMPLE, project, { recursive: true, filter: (f) => !f.includes(`${path.sep}build`) });
  const pkg = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8'));
  pkg.devDependencies.capmatrix = `file:${path.join(work, tarball ?? '')}`;
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
  mustRun('make', ['-s'], project);
  cpSync(LABELS, project, { recursive: true });
  mustRun('make', ['-s', '-f', 'labels.mk'], project);
  // what was installed, before the first run builds anything inside the package
  shipped = mustRun('find', ['.', '-type', 'f'], path.join(project, 'node_modules', 'capmatrix')).split('\n');
  const own = path.join(project, 'node_modules', 'capmatrix', 'scenarios');
  expectedFresh = mustRun(
    'npx',
    ['--no-install', 'capmatrix', 'expected', '--scenario', 'prog-lwt', '--scenario-dir', own],
    project,
  );
  writeExtraScenarios();
  // three VMs at once: the XDP program's search on two kernels (a boot each) and the exec
  // scenarios' matrix; the other two searches after it
  xdpAcross = npx([
    'minimize',
    '--object',
    'build/prog.bpf.o',
    '--program',
    'xdp_len',
    '--caps',
    CANDIDATES,
    '--kernel',
    'debian-5.10,debian-6.12',
    '--emit',
    'setcap,systemd,docker,podman,kubernetes',
    '--json',
  ]);
  sockSearch = xdpAcross.then(() =>
    npx(['minimize', '--object', 'build/prog.bpf.o', '--program', 'count_packets', '--caps', CANDIDATES, '--json']),
  );
  coreSearch = xdpAcross.then(() =>
    npx(['minimize', '--object', 'build/labels.bpf.o', '--program', 'core_missing', '--caps', 'CAP_BPF,CAP_SYS_ADMIN']),
  );
  // --share-boots: the hostile loaders share the honest ones' boot, to show what holds inside one
  matrixRun = npx(['matrix', '--json', '--retries', '0', '--share-boots', '--results', path.join(project, 'results')]);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a project of its own, capmatrix installed from npm pack', () => {
  test('the package ships no checkout: no tests, no results, no built samples', () => {
    const files = shipped;
    expect(files).toContain('./dist/types/index.d.ts');
    expect(files).toContain('./bpf-src/object_loader/object_loader.c');
    expect(
      files.filter((f) => /^\.\/(test|results|\.github|examples|bpf-src\/build|harness\/guest\/build)\//.test(f)),
    ).toEqual([]);
    // its own scenarios name objects its setup builds: `expected` needs none of them
    expect(expectedFresh).toMatch(/prog-lwt/);
    expect(expectedFresh).toMatch(/EPERM@probe/);
    expect(mustRun('npx', ['--no-install', 'capmatrix', '--version'], project).trim()).toBe(
      JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version,
    );
  });

  test('minimize --object finds what the socket filter needs', async () => {
    const sock = await sockSearch;
    expect(sock.code, sock.stderr).toBe(0);
    const sockJson = JSON.parse(sock.stdout);
    // unprivileged_bpf_disabled=2 (Debian's boot default): CAP_BPF, or CAP_SYS_ADMIN which implies it
    expect(sorted(sockJson.minimalSets)).toEqual(['CAP_BPF', 'CAP_SYS_ADMIN']);
    expect(sockJson.cells).toBeGreaterThan(0);
  }, 900_000);

  test('minimize --kernel debian-5.10,debian-6.12: the XDP program on both kernels in one command, one answer with its range', async () => {
    const xdp = await xdpAcross;
    expect(xdp.code, xdp.stderr).toBe(0);
    const a = JSON.parse(xdp.stdout);
    expect(a.kernels).toEqual(['debian-5.10', 'debian-6.12']);
    expect(a.failed).toEqual([]);
    // XDP is a network program type (5.10: CAP_NET_ADMIN or CAP_SYS_ADMIN; 6.12: bpf_net_capable,
    // the same two), and data_end - data is pointer arithmetic (allow_ptr_leaks: CAP_PERFMON or
    // CAP_SYS_ADMIN) on both
    expect(a.answers.map((x: { range: string; minimalSets: string[][] }) => [x.range, sorted(x.minimalSets)])).toEqual([
      ['5.10–6.12', ['CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON', 'CAP_SYS_ADMIN']],
    ]);
    // each kernel's own search, in a boot of its own: the verifier's refusal without CAP_PERFMON
    expect(a.perKernel.map((k: { kernel: { id: string } }) => k.kernel.id)).toEqual(['debian-5.10', 'debian-6.12']);
    for (const k of a.perKernel) {
      expect(k.runDir).toMatch(new RegExp(`/${k.kernel.id}$`));
      const why = k.why.find((w: { without: string }) => w.without === 'CAP_PERFMON');
      expect(why.outcome, k.kernel.id).toBe('EACCES@verifier');
      expect(why.line).toMatch(/pointer -= pointer prohibited/);
    }
    // every form of each set, run in the same boot as its search, on each kernel: ok on both
    for (const set of a.sets) {
      const forms = Object.fromEntries(set.forms.map((f: { form: string }) => [f.form, f]));
      expect(Object.keys(forms).sort()).toEqual(['docker', 'kubernetes', 'podman', 'setcap', 'systemd']);
      for (const f of Object.values(forms) as { form: string; ok: { range: string }[]; failing: unknown[] }[]) {
        expect(
          f.ok.map((r) => r.range),
          `${set.caps} ${f.form}`,
        ).toEqual(['5.10–6.12']);
        expect(f.failing, `${set.caps} ${f.form}`).toEqual([]);
      }
      expect(forms.systemd.text).toContain(`CapabilityBoundingSet=${set.caps.join(' ')}`);
      expect(forms.docker.text).toMatch(/^docker run --cap-drop ALL --cap-add /);
      expect(forms.kubernetes.text).toContain('# Dockerfile: RUN setcap ');
    }
    // each kernel's runs: the form's own cell ok, and the pod without its setcap line (what
    // capabilities.add alone gives a non-root uid) and with allowPrivilegeEscalation: false failing
    for (const k of a.perKernel) {
      for (const entry of k.forms) {
        const kube = entry.forms.find((f: { form: string }) => f.form === 'kubernetes');
        const [pod, noSetcap, noEscalation] = kube.checks;
        expect(pod).toMatchObject({ grant: 'pod', check: { ok: true, cell: expect.stringMatching(/\/pod:/) } });
        for (const miss of [noSetcap, noEscalation]) {
          expect(miss.check.ok, `${k.kernel.id} ${miss.grant}`).toBe(false);
          expect(miss.check.outcome).toMatch(/^EPERM@/);
          expect(miss.check.cell).toContain(`/${miss.grant}:`);
        }
        const docker = entry.forms.find((f: { form: string }) => f.form === 'docker');
        expect(docker.checks[0].check.cell).toMatch(/\/rootful:/);
      }
    }
    const text = await npx([
      'merge',
      '--out',
      path.join(work, 'merged-text'),
      ...a.perKernel.map((k: { runDir: string }) => path.join(k.runDir, 'minimize.json')),
    ]);
    expect(text.stdout).toMatch(/kubernetes, checked on 5\.10–6\.12 \(ok as uid 65534, /);
    // a CI job per kernel: `capmatrix merge` of their minimize.json gives the same answer
    const merged = await npx([
      'merge',
      '--json',
      '--out',
      path.join(work, 'merged-minimize'),
      ...[...a.perKernel].reverse().map((k: { runDir: string }) => path.join(k.runDir, 'minimize.json')),
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(JSON.parse(merged.stdout).answers).toEqual(a.answers);
  }, 900_000);

  test("a CO-RE relocation that cannot resolve: libbpf's line, not the errno, and even root fails", async () => {
    const r = await coreSearch;
    // no set works: a finding, not an error
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /no subset of the candidates works; with all of them: EINVAL@prog_load failed to resolve CO-RE relocation <byte_off> \[\d+\] struct sk_buff___labels\.labels_no_such_field/,
    );
    expect(r.stdout).toMatch(
      /even root fails \(uid 0, every capability\): EINVAL@prog_load failed to resolve CO-RE relocation/,
    );
    // the whole universe fails, so every subset is taken as failing: one run, and root's
    expect(r.stdout).toContain('2 cells run in one boot');
    expect(r.stdout).toContain('(1 + root over 1 search of 2^2)');
    expect(r.stdout).toMatch(
      /, boot defaults \(kernel\.unprivileged_bpf_disabled=2, kernel\.perf_event_paranoid=3\)\n/,
    );
    expect(r.stdout).toContain('monotonicity: not checked (no minimal set).');
  }, 900_000);

  test('an exec scenario of the project: its own loader, no CAPMATRIX_RESULT line, the right stages', async () => {
    const r = await matrixRun;
    // the escaped child is an infra error (exit 3) of its own cell; every other cell matches
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    const run = JSON.parse(readFileSync(path.join(project, 'results', 'latest', 'results.json'), 'utf8')) as RunResults;
    const cell = (id: string) => run.cells.find((c) => c.id === id);
    const why = run.cells.map((c: { id: string; infraError?: string }) => `${c.id}: ${c.infraError ?? ''}`).join('\n');
    expect(Object.fromEntries(run.cells.map((c) => [c.id, c.verdict])), why).toEqual({
      'bare-uprobe/PERFMON+BPF/default': 'match',
      'bare-uprobe-loaded/PERFMON+BPF/default': 'match',
      'core-module/BPF/default': 'match',
      'core-module/SYS_ADMIN+BPF/default': 'match',
      'hostile-forge/DAC_OVERRIDE+FOWNER+SYS_ADMIN/default': 'match',
      'pinned-by-name/BPF/default': 'match',
      'pinned-by-name/DAC_OVERRIDE+BPF/default': 'match',
      'hostile-escape/DAC_OVERRIDE/default': 'infra-error',
      'hostile-qdisc/NET_ADMIN/default': 'infra-error',
      'my-loader/none/default': 'match',
      'my-loader/NET_ADMIN+BPF/default': 'match',
      'my-loader/NET_ADMIN+PERFMON+BPF/default': 'match',
      'self-refuse/none/default': 'match',
      'self-refuse/SYS_ADMIN/default': 'match',
      'tc-object/BPF/default': 'match',
      'tc-object/NET_ADMIN+BPF/default': 'match',
      'traced-caps/none/default': 'match',
      'traced-caps/NET_ADMIN+PERFMON+BPF/default': 'match',
      'uprobe-object/PERFMON+BPF/default': 'match',
      'uprobe-object/SYS_ADMIN/default': 'match',
    });
    expect(cell('tc-object/NET_ADMIN+BPF/default')?.observed?.detail).toMatch(/loaded and attached \(tc\)/);
    expect(cell('uprobe-object/SYS_ADMIN/default')?.observed?.detail).toMatch(/loaded and attached \(uprobe\)/);
    expect(cell('hostile-escape/DAC_OVERRIDE/default')?.infraError).toMatch(
      /processes of uid 65534 outside the cell's cgroup: \d+ \(killed\)/,
    );
    expect(cell('hostile-qdisc/NET_ADMIN/default')?.infraError).toMatch(
      /lo qdisc added: qdisc clsact ffff: parent ingress \(undone\)/,
    );
    for (const c of run.cells) expect(JSON.stringify(c.observed ?? {}), c.id).not.toMatch(/FORGED/);
    // the labels: each names what really said no, or that nothing did
    const denied = (id: string) => (cell(id)?.capChecks ?? []).filter((k) => !k.granted);
    expect(cell('self-refuse/SYS_ADMIN/default')?.observed?.detail).toMatch(
      /the loader refused by itself .*\| saw \d+ BTF objects; this tool must be run as root/,
    );
    expect(denied('self-refuse/SYS_ADMIN/default')).toEqual([]);
    // strace reads the loader's memory as root (CAP_SYS_PTRACE): the tracer's checks are not the loader's
    for (const id of ['self-refuse/none/default', 'self-refuse/SYS_ADMIN/default', 'my-loader/NET_ADMIN+BPF/default']) {
      const caps = cell(id)?.capChecks?.map((k) => k.cap);
      expect(caps, id).toBeDefined();
      expect(caps, id).not.toContain('CAP_SYS_PTRACE');
    }
    expect(cell('self-refuse/none/default')?.observed?.detail).toMatch(/^bpf\(BPF_BTF_GET_NEXT_ID\) = -1 EPERM/);
    expect(denied('self-refuse/none/default').map((k) => [k.cap, k.stack[1]])).toContainEqual([
      'CAP_SYS_ADMIN',
      'bpf_obj_get_next_id',
    ]);
    expect(cell('core-module/BPF/default')?.observed?.detail).toMatch(/failed to iterate BTF objects/);
    expect(denied('core-module/BPF/default').map((k) => [k.cap, k.stack[1]])).toContainEqual([
      'CAP_SYS_ADMIN',
      'bpf_obj_get_next_id',
    ]);
    // a bpffs at /sys/fs/bpf as a host has it; what a cell pins there is named and goes with it
    expect(run.provenance.boots[0]?.guest?.bpffs).toEqual({ path: '/sys/fs/bpf', fs: 'bpf', mode: '1700' });
    expect(cell('pinned-by-name/BPF/default')?.observed?.detail).toMatch(
      /couldn't retrieve pinned map '\/sys\/fs\/bpf\/labels_pinned': Permission denied/,
    );
    expect(cell('pinned-by-name/DAC_OVERRIDE+BPF/default')?.bpffsLeft).toEqual(['/sys/fs/bpf/labels_pinned']);
    const programs = (id: string) => cell(id)?.observed?.data?.programs;
    expect(programs('bare-uprobe/PERFMON+BPF/default')).toEqual([
      { name: 'plain', section: 'socket', outcome: 'ok', stage: 'run', attached: true },
      { name: 'bare_uprobe', section: 'uprobe', outcome: 'EOPNOTSUPP', stage: 'attach', attached: false },
    ]);
    expect(cell('bare-uprobe/PERFMON+BPF/default')?.observed?.detail).toMatch(/section uprobe: loaded, not attached/);
    expect(programs('bare-uprobe-loaded/PERFMON+BPF/default')).toEqual([
      { name: 'plain', section: 'socket', outcome: 'ok', stage: 'run', attached: true },
      { name: 'bare_uprobe', section: 'uprobe', outcome: 'ok', stage: 'run', attached: false },
    ]);
    expect(cell('bare-uprobe-loaded/PERFMON+BPF/default')?.observed?.detail).toMatch(
      /^2 program\(s\) loaded, 1 of them attached, the rest loaded only as asked/,
    );
    expect(run.options?.shareBoots).toBe(true);
    expect(run.provenance.boots.map((b) => [b.boot, b.agentFinished, b.violations ?? []])).toEqual([
      ['debian-6.12-boot1', true, []],
    ]);
    expect(cell('my-loader/none/default')?.observed?.detail).toMatch(/^bpf\(BPF_PROG_LOAD.*EPERM/);
    expect(cell('my-loader/NET_ADMIN+BPF/default')?.observed?.detail).toMatch(/prog_name="xdp_len".*EACCES/);
    const status = (id: string) => String(cell(id)?.observed?.data?.stdoutTail ?? '');
    const full = status('traced-caps/NET_ADMIN+PERFMON+BPF/default');
    // CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39): nothing more, nothing less, while traced
    expect(full).toMatch(/^CapPrm:\s+000000c000001000$/m);
    expect(full).toMatch(/^CapEff:\s+000000c000001000$/m);
    expect(full).toMatch(/^CapInh:\s+0+$/m);
    expect(full).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(full).toMatch(/^TracerPid:\s+[1-9]\d*$/m);
    expect(status('traced-caps/none/default')).toMatch(/^CapEff:\s+0+$/m);
    const host = run.host as { capmatrix?: { version: string; commit: string | null } };
    expect(host.capmatrix).toEqual({ version: expect.any(String), commit: null });
  }, 900_000);
});

// Fault injection on real VMs: every fault the harness must survive is caused for real by the
// fault sample (bpf-src/fault) in test-only scenarios (test/fixtures/scenarios), and must end
// with the right verdict while the rest of the run goes on. Three runs share the wall time.
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { formatOutcome } from '../../harness/dsl/vocabulary.js';
import type { CellResult } from '../../harness/outcome/verdict.js';
import type { RunResults } from '../../harness/report/results-json.js';
import { runMatrix } from '../../harness/run/matrix.js';

const scenarioDir = 'test/fixtures/scenarios';
const run = (scenarios: string[], repeat = 1, retries = 1, stallSec?: number) =>
  runMatrix({
    scenarioDir,
    scenarios,
    repeat,
    retries,
    ...(stallSec ? { stallSec } : {}),
    jobs: 1,
    // the fault sample is hostile on purpose; these runs test what holds inside one shared boot
    shareBoots: true,
    resultsDir: mkdtempSync(path.join(os.tmpdir(), 'capmatrix-faults-')),
    log: () => {},
  }).then((r) => r.results);

let crashes: RunResults; // hang, no result, dropped caps, the agent killed
let panics: RunResults; // a kernel panic in the middle
let repeats: RunResults; // --repeat 2 with an outcome that changes
let forging: RunResults; // samples that go for the results file or leave processes or global state behind

const cell = (r: RunResults, prefix: string): CellResult => {
  const c = r.cells.find((x) => x.id.startsWith(`${prefix}/`));
  if (!c) throw new Error(`no cell ${prefix} in ${r.cells.map((x) => x.id).join(', ')}`);
  return c;
};
const bootsOf = (r: RunResults) => r.provenance.boots.map((b) => b.boot);

beforeAll(async () => {
  [crashes, panics, repeats, forging] = await Promise.all([
    run([
      'fault-ok',
      'fault-hang',
      'fault-no-result',
      'fault-drop-caps',
      'fault-escape',
      'fault-args',
      'fault-kill-agent',
      'fault-after',
    ]),
    run(['fault-ok', 'fault-panic', 'fault-after']),
    run(['fault-ok', 'fault-flip'], 2),
    run(
      [
        'fault-ok',
        'fault-forge',
        'fault-setsid-stdout',
        'fault-cgroup-escape',
        'fault-tamper-copy',
        'fault-tamper-after',
        'fault-teardown',
        'fault-flood',
        'fault-fork-many',
        'fault-alloc',
        'fault-leave-tmp',
        'fault-leave-etc',
        'fault-bind-sysctl',
        'fault-set-paranoid',
        'fault-daemon',
        'fault-lo-down',
        'fault-cgroup-drop',
        'fault-udp',
        'fault-lock-ubd',
        'fault-after',
        'fault-kill-launcher',
        'fault-disable-recorder',
        'fault-stop-helper',
        'fault-stop-agent', // the boot's last cell: 20 s of the agent's silence end it
      ],
      1,
      0,
      20,
    ), // deterministic faults: no retry boot; fault-lock-ubd ends the first, fault-kill-launcher
    // the second, fault-disable-recorder the third, fault-stop-helper the fourth, fault-stop-agent
    // the fifth
  ]);
}, 1_200_000);

describe('faults inside a cell', () => {
  test('a sample that hangs is killed at its timeout (cell-timeout) and the next cell runs', () => {
    const c = cell(crashes, 'fault-hang');
    expect(c.verdict).toBe('infra-error');
    expect(c.infraKind).toBe('cell-timeout');
    expect(c.infraError).toMatch(/killed after the 3s cell timeout/);
    // retried once on a fresh boot, timed out again
    expect(c.attempts?.map((a) => a.outcome)).toEqual(['infra:cell-timeout', 'infra:cell-timeout']);
    expect(new Set(c.attempts?.map((a) => a.boot)).size).toBe(2);
    expect(cell(crashes, 'fault-no-result').verdict).toBe('infra-error');
  });

  test('a sample that dies without a result line is no-result, with its exit code and stderr', () => {
    const c = cell(crashes, 'fault-no-result');
    expect(c.infraKind).toBe('no-result');
    expect(c.infraError).toMatch(/exit code 3.*exiting without a result line/);
  });

  test('a process that does not hold the cell capabilities is caps-not-applied', () => {
    const c = cell(crashes, 'fault-drop-caps');
    expect(c.infraKind).toBe('caps-not-applied');
    expect(c.infraError).toMatch(/reported uid 65534 with CapEff 0000000000000000 .* CapEff 000000c000000000/);
    // while it ran (the handshake), the kernel showed exactly CAP_BPF + CAP_PERFMON
    expect(c.capEff).toBe('000000c000000000');
  });
});

describe('faults that end the VM', () => {
  test('the agent killed: agent-crash, the unfinished cells rerun on a fresh boot, finished cells kept', () => {
    const c = cell(crashes, 'fault-kill-agent');
    expect(c.verdict).toBe('infra-error');
    expect(c.infraKind).toBe('agent-crash');
    expect(c.attempts?.map((a) => a.outcome)).toEqual(['infra:agent-crash', 'infra:agent-crash']);
    // fault-after was never reached by the two boots the agent died in; a third boot ran it
    const after = cell(crashes, 'fault-after');
    expect(after.verdict).toBe('match');
    expect(after.attempts).toBeUndefined();
    expect(bootsOf(crashes)).toEqual(['debian-6.12-boot1', 'debian-6.12-boot1-try2', 'debian-6.12-boot1-try3']);
    expect(after.boot).toBe('debian-6.12-boot1-try3');
    // the cells that finished in the first boot were not run again
    expect(cell(crashes, 'fault-ok').boot).toBe('debian-6.12-boot1');
    expect(cell(crashes, 'fault-ok').attempts).toBeUndefined();
  });

  test('the agent stopped (SIGSTOP): its silence ends the boot in seconds, not at its deadline', () => {
    const c = cell(forging, 'fault-stop-agent');
    expect([c.infraKind, c.infraError]).toEqual(['agent-crash', expect.stringMatching(/stopped beating/)]);
    // the boot's last cell (the forging run's boots, below)
    const boot = forging.provenance.boots.find((b) => b.boot === c.boot);
    expect(boot?.vm?.ended).toBe('agent-stalled');
    // 20 s of silence (the test's setting) after it, not the boot's deadline (300 s + every cell's timeout)
    expect((boot?.vm?.wallMs ?? 0) - (boot?.vm?.bootMs ?? 0)).toBeLessThan(
      forging.cells.reduce((ms, x) => ms + (x.durationMs ?? 0), 0) + 60_000,
    );
  });

  test('a kernel panic in the middle: kernel-panic with the console excerpt, the rest on fresh boots', () => {
    const c = cell(panics, 'fault-panic');
    expect(c.verdict).toBe('infra-error');
    expect(c.infraKind).toBe('kernel-panic');
    expect(c.infraError).toMatch(/Kernel panic - not syncing: sysrq triggered crash/);
    expect(c.attempts).toHaveLength(2);
    expect(cell(panics, 'fault-ok')).toMatchObject({ verdict: 'match', boot: 'debian-6.12-boot1' });
    expect(cell(panics, 'fault-after')).toMatchObject({ verdict: 'match', boot: 'debian-6.12-boot1-try3' });
    expect(panics.cells.map((x) => x.id)).toEqual([
      'fault-ok/none/default',
      'fault-panic/root/default',
      'fault-after/none/default',
    ]);
  });
});

describe('--repeat and flaky', () => {
  test('a cell whose outcome changes between runs is flaky, never a match', () => {
    const flip = cell(repeats, 'fault-flip');
    expect(flip.verdict).toBe('flaky');
    expect(flip.attempts?.map((a) => a.outcome)).toEqual(['ok', 'EACCES@run']);
    const ok = cell(repeats, 'fault-ok');
    expect(ok.verdict).toBe('match');
    expect(ok.attempts?.map((a) => a.outcome)).toEqual(['ok', 'ok']);
    expect(bootsOf(repeats)).toHaveLength(1);
  });
});

describe('security inside the guest', () => {
  test('uid 65534 with BPF, PERFMON, NET_ADMIN and SYS_RESOURCE cannot become root or reach root-only files', () => {
    for (const c of crashes.cells.filter((x) => x.id.startsWith('fault-escape/'))) {
      expect(c.observed && formatOutcome(c.observed)).toBe('EPERM@escape');
      expect(c.verdict).toBe('match');
      expect(c.uid).toBe(65534);
    }
    const most = crashes.cells.find((x) => x.id === 'fault-escape/NET_ADMIN+SYS_RESOURCE+PERFMON+BPF/default');
    expect(most?.capEff).toBe('000000c001001000');
  });

  test('the guest agent is root and /etc/sudoers in the guest lets in nobody but root', () => {
    for (const b of crashes.provenance.boots) {
      expect(b.guest?.agentUid).toBe(0);
      // capmatrix's own init (bpf-src/guest_init) writes no sudoers: nobody can sudo
      expect([b.guest?.init, b.guest?.sudoers]).toEqual(['guest_init', []]);
      // its root is the second export of the view, read through the page cache (cache=loose is
      // shown as "loose" by 5.10, as its flags, 0xf, by newer kernels)
      expect(b.guest?.rootMount).toMatch(/^capmatrix\.root 9p ro,.*(,loose|cache=0xf),/);
      // the kernel booted uncompressed, through its PVH entry (kernels/uncompressed.ts)
      expect(b.vm?.kernelImage).toMatchObject({ file: expect.stringMatching(/\/boot\/vmlinux-/) });
      // where the boot's time went: every phase's marks were on its console
      // (the preparation's figure comes with the end record: a boot that crashed has none)
      const prepare = b.agentFinished ? ['prepare'] : [];
      expect(Object.keys(b.phases ?? {}).sort()).toEqual(['agent', 'init', 'initramfs', 'kernel', ...prepare, 'qemu']);
    }
    expect(crashes.provenance.boots.filter((b) => b.phases?.prepare !== undefined).length).toBeGreaterThan(0);
  });

  test('arguments with shell metacharacters and quotes reach the sample byte for byte', () => {
    const c = cell(crashes, 'fault-args');
    expect(c.observed?.data?.argv).toEqual([
      '$(touch /tmp/capmatrix-pwned)',
      '`id`',
      '; reboot -f',
      'a b',
      '*',
      '|&<>',
      `'"\\`,
    ]);
    expect(existsSync('/tmp/capmatrix-pwned')).toBe(false);
  });

  test('every cell that ran had its CapEff read from /proc/<pid>/status by the agent', () => {
    for (const c of [...crashes.cells, ...panics.cells, ...repeats.cells]) {
      if (c.infraKind === 'agent-crash' || c.infraKind === 'kernel-panic' || c.infraKind === 'cell-timeout') continue;
      expect(c.capEff, c.id).toMatch(/^[0-9a-f]{16}$/);
    }
  });
});

describe('results no sample can forge or stall', () => {
  const forge = (caps: string) => cell(forging, `fault-forge/${caps}`);

  test('forged records of other cells and a fake end change nothing: every other cell keeps its outcome', () => {
    expect(cell(forging, 'fault-ok')).toMatchObject({ verdict: 'match', observed: { detail: 'fault sample: ok' } });
    expect(cell(forging, 'fault-after')).toMatchObject({ verdict: 'match', observed: { detail: 'fault sample: ok' } });
    for (const c of forging.cells) expect(c.observed?.detail ?? '', c.id).not.toMatch(/FORGED/);
    // the first boot ran to fault-lock-ubd, which ended it, and no fake end cut it short; fresh
    // boots ran the cells after it, the last one stopping the agent on purpose
    expect(forging.provenance.boots.map((b) => [b.boot, b.agentFinished, b.vm?.ended])).toEqual([
      ['debian-6.12-boot1', true, 'exited'],
      ['debian-6.12-boot1-try2', true, 'exited'],
      ['debian-6.12-boot1-try3', true, 'exited'],
      ['debian-6.12-boot1-try4', true, 'exited'],
      ['debian-6.12-boot1-try5', false, 'agent-stalled'],
    ]);
    expect(cell(forging, 'fault-lock-ubd').boot).toBe('debian-6.12-boot1');
    expect(forging.cells.filter((c) => c.boot !== 'debian-6.12-boot1').map((c) => [c.id, c.boot])).toEqual([
      ['fault-after/none/default', 'debian-6.12-boot1-try2'],
      ['fault-kill-launcher/root/default', 'debian-6.12-boot1-try2'],
      ['fault-disable-recorder/root/default', 'debian-6.12-boot1-try3'],
      ['fault-stop-helper/root/default', 'debian-6.12-boot1-try4'],
      ['fault-stop-agent/root/default', 'debian-6.12-boot1-try5'],
    ]);
    expect(forging.cells).toHaveLength(27);
  });

  test('nobody, nobody with DAC_OVERRIDE+FOWNER, and with SYS_ADMIN too: nothing reaches the host', () => {
    for (const caps of ['none', 'DAC_OVERRIDE+FOWNER', 'DAC_OVERRIDE+FOWNER+SYS_ADMIN']) {
      const c = forge(caps);
      expect(c.verdict, c.id).toBe('match');
      // what went through landed in the guest (its /tmp overlay), never in the results
      expect(c.observed?.detail).toMatch(/^went through in the guest: /);
      expect(c.observed?.detail).not.toMatch(/proc\/<agent>\/fd|mount the results share/);
    }
    for (const b of forging.provenance.boots) expect(b.guest?.containment?.rwdirDetached).toBe(true);
  });

  test('root writes through the agent’s descriptor: its own lines fail the signature, only its own cell pays', () => {
    const c = forge('root');
    expect(c.verdict).toBe('infra-error');
    expect(c.infraKind).toBe('protocol-violation');
    expect(c.infraError).toMatch(/guest-results.jsonl line \d+: bad signature/);
    const violations = forging.provenance.boots.flatMap((b) => b.violations ?? []);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.every((v) => v.key?.includes('fault-forge/root/'))).toBe(true);
  });

  test('a child holding stdout after setsid is killed with the cell, which is state-not-reset', () => {
    const c = cell(forging, 'fault-setsid-stdout');
    expect(c.infraKind).toBe('state-not-reset');
    expect(c.infraError).toMatch(/processes left running after the sample exited: \d+ \(killed with its cgroup\)/);
    // the cell did not hang until the VM's deadline
    expect(c.durationMs).toBeLessThan(30_000);
  });

  test('a child that leaves its cgroup is found by its uid and killed; no process survives into the next cell', () => {
    const c = cell(forging, 'fault-cgroup-escape');
    expect(c.infraKind).toBe('state-not-reset');
    expect(c.infraError).toMatch(/processes of uid 65534 outside the cell's cgroup: \d+ \(killed\)/);
    const after = cell(forging, 'fault-after');
    expect(after.infraError).toBeUndefined();
  });

  test("a sample that changes the boot's copy of itself is state-not-reset; the next cell runs a fresh copy", () => {
    const c = cell(forging, 'fault-tamper-copy');
    expect(c.infraKind).toBe('state-not-reset');
    expect(c.infraError).toMatch(/the sample copy \S+\/fault was changed/);
    const after = cell(forging, 'fault-tamper-after');
    expect([after.verdict, after.observed?.detail]).toEqual(['match', 'own executable: mode 755']);
  });
});

describe('every leftover found, whoever left it', () => {
  test('a file a cell leaves in a writable overlay (/tmp, or /etc with DAC_OVERRIDE) is its state-not-reset, removed', () => {
    for (const [id, file] of [
      ['fault-leave-tmp', '/tmp/capmatrix-leftover'],
      ['fault-leave-etc', '/etc/capmatrix-leftover'],
    ] as const) {
      const c = cell(forging, id);
      expect([c.infraKind, c.infraError]).toEqual([
        'state-not-reset',
        expect.stringContaining(`${file} was left in the guest's writable overlay (removed)`),
      ]);
    }
    // the forge cells tidy their own files: what they tried on the results leaves nothing
    expect(cell(forging, 'fault-after').verdict).toBe('match');
  });
});

describe("a cell's limits are its own", () => {
  test('a fork bomb stops at the cell’s pids.max; an allocation at its memory.max; both are that cell’s cell-limit', () => {
    const forks = cell(forging, 'fault-fork-many');
    expect([forks.infraKind, forks.infraError]).toEqual(['cell-limit', expect.stringMatching(/pids\.max \(1024\)/)]);
    const alloc = cell(forging, 'fault-alloc');
    expect([alloc.infraKind, alloc.infraError]).toEqual([
      'cell-limit',
      expect.stringMatching(/memory\.max \(\d+ bytes\)/),
    ]);
    // the agent was out of the OOM killer's reach: the boot went on
    expect(cell(forging, 'fault-after').verdict).toBe('match');
  });
});

describe('global state a cell leaves behind: found, named, undone; the cells after it clean', () => {
  const culprit = (prefix: string, change: RegExp) => {
    const c = cell(forging, prefix);
    expect([c.verdict, c.infraKind], c.id).toEqual(['infra-error', 'state-not-reset']);
    expect(c.infraError).toMatch(change);
    // one attempt: a leftover is the culprit's, and no other cell pays for it
    expect(c.attempts, c.id).toBeUndefined();
  };

  test('a file bind-mounted over /proc/sys/kernel/perf_event_paranoid (CAP_SYS_ADMIN) is found and detached', () => {
    culprit('fault-bind-sysctl', /mount added: \/proc\/sys\/kernel\/perf_event_paranoid .*\(undone\)/);
  });

  test('a sysctl no cell of the boot sets (root) is found and written back', () => {
    culprit('fault-set-paranoid', /kernel\.perf_event_paranoid 3 → 1 \(undone\)/);
  });

  test('a root daemon in the root cgroup is found and killed', () => {
    culprit('fault-daemon', /process \d+ \(fault, uid 0\) new since the cell began \(undone\)/);
  });

  test('lo taken down (CAP_NET_ADMIN) is found and brought up', () => {
    culprit('fault-lo-down', /lo is DOWN \(undone\)/);
  });

  test('a program left on the root cgroup (CAP_BPF + CAP_NET_ADMIN) is found and detached; UDP after it gets through', () => {
    culprit(
      'fault-cgroup-drop',
      /program (\d+) attached to cgroup \/sys\/fs\/cgroup \(attach type 1\) \(undone\).*BPF prog \1 type 8 capmatrix_drop outlived the cell \(undone\)/,
    );
    expect(cell(forging, 'fault-cgroup-drop').boot).toBe('debian-6.12-boot1');
    const udp = cell(forging, 'fault-udp');
    expect([udp.verdict, udp.boot, udp.attempts]).toEqual(['match', 'debian-6.12-boot1', undefined]);
  });

  test('unprivileged_bpf_disabled locked at 1 ends the boot; the cell after it runs on a fresh boot and matches', () => {
    culprit('fault-lock-ubd', /kernel\.unprivileged_bpf_disabled 2 → 1 \(could NOT be undone\)/);
    const after = cell(forging, 'fault-after');
    expect([after.verdict, after.boot, after.attempts]).toEqual(['match', 'debian-6.12-boot1-try2', undefined]);
  });

  test("the samples' launcher killed by a root cell: the cell is state-not-reset, the boot ends after it", () => {
    culprit('fault-kill-launcher', /the cell launcher (exited \(SIGKILL\)|is no longer running)/);
    // the cell after it ran on a fresh boot (the forging run's boots, above)
    expect(cell(forging, 'fault-disable-recorder').boot).toBe('debian-6.12-boot1-try3');
  });

  test('every kprobe disarmed by a root cell: the recorder misses its canary, the cell is state-not-reset, the boot ends', () => {
    culprit('fault-disable-recorder', /the capability recorder no longer counts checks \(its canary was not seen\)/);
    expect(cell(forging, 'fault-disable-recorder').capChecks).toBeUndefined();
    // the cells before it in its boot were counted
    expect(cell(forging, 'fault-kill-launcher').capChecks).toBeDefined();
    expect(cell(forging, 'fault-stop-helper').boot).toBe('debian-6.12-boot1-try4');
  });

  test("the fingerprint's helper stopped by a root cell: its watchdog kills it, the cell is state-not-reset, the boot ends", () => {
    culprit('fault-stop-helper', /no fingerprint of the guest's state: the state helper did not answer within 5000 ms/);
  });

  test('every other cell of the run was clean, and the fingerprint was taken after each', () => {
    const culprits =
      /^fault-(forge\/root|setsid-stdout|cgroup-escape|tamper-copy|teardown|bind-sysctl|set-paranoid|daemon|lo-down|cgroup-drop|lock-ubd|fork-many|alloc|leave-tmp|leave-etc|kill-launcher|disable-recorder|stop-helper|stop-agent)\//;
    for (const c of forging.cells) {
      // the stopped agent wrote no record for its cell
      if (!c.id.startsWith('fault-stop-agent/')) expect(c.fingerprintMs, c.id).toBeGreaterThanOrEqual(0);
      if (!culprits.test(c.id)) expect(c.infraError, c.id).toBeUndefined();
    }
  });
});

describe('what the end of a cell reports is used', () => {
  test('a teardown that fails is a teardown-failed infra error on its cell', () => {
    const c = cell(forging, 'fault-teardown');
    expect(c.infraKind).toBe('teardown-failed');
    expect(c.infraError).toMatch(/^teardown: `false` failed/);
  });

  test('a result line after 3 MiB of output is still read (the tail of stdout is kept)', () => {
    expect(cell(forging, 'fault-flood')).toMatchObject({
      verdict: 'match',
      observed: { detail: 'wrote 3 MiB before this line' },
    });
  });

  test("every cell's figures reach results.json: sysctl time, exit status", () => {
    const c = cell(forging, 'fault-ok');
    expect(c.exit).toEqual({ code: 0, signal: null });
    expect(c.sysctlMs).toBeGreaterThanOrEqual(0);
    expect(c.execMs).toBeGreaterThan(0);
  });
});

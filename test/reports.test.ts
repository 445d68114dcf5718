// Reports from a run: Markdown, JUnit, cross-kernel and run-to-run differences (pure logic), and
// the HTML heatmap loaded in a real headless Chromium: the mismatch cells are found, a click
// opens a cell, and a screenshot is taken.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { parseCatalog } from '../harness/kernels/catalog.js';
import type { CellResult } from '../harness/outcome/verdict.js';
import { compareWith } from '../harness/report/comparison.js';
import { baselineOf, compareRuns, crossKernelDiffs, flavourOf } from '../harness/report/cross-kernel.js';
import { groupFindings } from '../harness/report/findings.js';
import { renderGrid, runSummary, wantColour } from '../harness/report/grid.js';
import { renderHtml } from '../harness/report/html.js';
import { renderJunit } from '../harness/report/junit.js';
import { renderKernelReport } from '../harness/report/kernel-report.js';
import { learnHint, learnHintText, shellWord } from '../harness/report/learn-hint.js';
import { lockDiffs } from '../harness/report/lock-diffs.js';
import { renderMarkdown } from '../harness/report/markdown.js';
import { mergeRuns, type RunResults } from '../harness/report/results-json.js';
import { CHROMIUM } from './chromium.js';

function cell(
  kernel: string,
  id: string,
  observed: string,
  expected: string,
  extra: Partial<CellResult> = {},
): CellResult {
  const split = (o: string) =>
    o === 'ok' ? { outcome: 'ok', stage: 'run' } : { outcome: o.split('@')[0] ?? '', stage: o.split('@')[1] ?? '' };
  const [scenario, capsName] = id.split('/');
  const obs = observed === 'INFRA' ? null : { ...split(observed), errno: 1, detail: `detail of ${id} <b>` };
  return {
    id,
    kernel,
    scenario: scenario ?? '',
    sample: scenario ?? '',
    caps: ['CAP_BPF'],
    capsName: capsName ?? '',
    uid: 65534,
    sysctl: { 'kernel.unprivileged_bpf_disabled': Number(id.split('ubd=')[1]) },
    context: 'host',
    observed: obs,
    expected: { ...split(expected), reason: 'because' },
    verdict: !obs ? 'infra-error' : observed === expected ? 'match' : 'mismatch',
    durationMs: 300,
    boot: `${kernel}-boot1`,
    ...extra,
    ...(obs ? {} : { infraKind: 'kernel-panic' as const, infraError: 'the kernel panicked while this cell ran' }),
  } as CellResult;
}

function run(cells: CellResult[], paranoid: Record<string, number> = {}): RunResults {
  const kernels = [...new Set(cells.map((c) => c.kernel))];
  const release: Record<string, string> = { 'debian-6.1': '6.1.0-50-amd64', 'debian-6.12': '6.12.117+deb13-amd64' };
  return {
    schemaVersion: 1,
    runId: 'test-run',
    startedAt: '',
    finishedAt: '',
    host: {},
    kernels: kernels.map((id) => ({ id, release: release[id] ?? id, source: {}, accel: 'tcg' })),
    cells,
    provenance: {
      boots: kernels.map((k) => ({
        boot: `${k}-boot1`,
        kernel: k,
        guest: {
          release: release[k],
          sysctls: { 'kernel.perf_event_paranoid': paranoid[k] ?? 3 },
          tracefs: { path: '/sys/kernel/tracing', fs: 'tracefs', mode: '0700' },
        },
      })),
    },
  };
}

const twoKernels = run([
  cell('debian-6.1', 'token-queue/root/ubd=2', 'EPERM@bpffs_create', 'EPERM@bpffs_create'),
  cell('debian-6.12', 'token-queue/root/ubd=2', 'ok', 'ok'),
  cell('debian-6.1', 'sockex1/BPF/ubd=2', 'EPERM@raw_socket', 'EPERM@raw_socket'),
  cell('debian-6.12', 'sockex1/BPF/ubd=2', 'ok', 'EPERM@raw_socket'),
  cell('debian-6.12', 'sockex1/none/ubd=2', 'INFRA', 'EPERM@probe'),
]);

describe('cross-kernel and run-to-run differences', () => {
  test('each differing cell, with the first kernel where it changed', () => {
    const diffs = crossKernelDiffs(twoKernels);
    expect(diffs.map((d) => [d.id, d.firstChange, d.outcomes.map((o) => o.outcome)])).toEqual([
      ['token-queue/root/ubd=2', 'debian-6.12', ['EPERM@bpffs_create', 'ok']],
      ['sockex1/BPF/ubd=2', 'debian-6.12', ['EPERM@raw_socket', 'ok']],
      ['sockex1/none/ubd=2', 'debian-6.12', ['-', 'INFRA']],
    ]);
  });

  test('a provenance difference is named, not passed off as a kernel change', () => {
    const a = run(
      [cell('debian-6.1', 'x/BPF/ubd=2', 'ok', 'ok'), cell('debian-6.12', 'x/BPF/ubd=2', 'EACCES@perf_open', 'ok')],
      {
        'debian-6.1': 2,
        'debian-6.12': 3,
      },
    );
    expect(crossKernelDiffs(a)[0]?.provenanceNotes).toEqual([
      'boot kernel.perf_event_paranoid: 2 on debian-6.1, 3 on debian-6.12',
    ]);
  });

  test('against a baseline: what moved, per kernel', () => {
    const base = baselineOf(twoKernels, 'debian-6.12');
    expect(base.cells.every((c) => c.kernel === 'debian-6.12')).toBe(true);
    const attempt = (kernel: string) => ({ kernel, cellId: 'x', stderrTail: 'noise' }) as never;
    const withAttempts = { ...twoKernels, attempts: [attempt('debian-6.1'), attempt('debian-6.12')] };
    expect(baselineOf(withAttempts, 'debian-6.12').attempts).toEqual([{ kernel: 'debian-6.12', cellId: 'x' }]);
    const moved = cell('debian-6.12', 'token-queue/root/ubd=2', 'EPERM@map_create', 'ok');
    const now = run([...base.cells.filter((c) => c.id !== moved.id), moved]);
    expect(compareRuns(base, now).map((d) => `${d.id}: ${d.baseline} → ${d.current}`)).toEqual([
      'token-queue/root/ubd=2: ok → EPERM@map_create',
    ]);
  });

  test('a cell or a whole kernel that vanished from the run is a difference, not "0 moved"', () => {
    const base = baselineOf(twoKernels, 'debian-6.12');
    const [kept, ...gone] = base.cells;
    if (!kept || gone.length === 0) throw new Error('the fixture needs two cells of debian-6.12');
    const now = run([kept]);
    expect(compareRuns(base, now).map((d) => `${d.id}: ${d.current}`)).toEqual(
      gone.map((c) => `${c.id}: absent from this run`),
    );
    const otherKernel = run([cell('debian-6.1', kept.id, 'ok', 'ok')]);
    const all = compareRuns(base, otherKernel);
    expect(all).toHaveLength(base.cells.length);
    expect(all[0]?.provenanceNotes).toEqual(['kernel debian-6.12 is not in this run']);
  });
});

describe('terminal and scripts', () => {
  test('NO_COLOR turns colour off on a terminal, FORCE_COLOR on anywhere', () => {
    expect(wantColour({ isTTY: true }, {})).toBe(true);
    expect(wantColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantColour({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantColour({ isTTY: false }, {})).toBe(false);
    expect(renderGrid(twoKernels.cells, false).includes(String.fromCharCode(27))).toBe(false);
  });

  test('matrix --json: verdict counts and every cell that did not match', () => {
    const s = runSummary('/r', twoKernels, 1);
    expect(s.verdicts.match + s.verdicts.mismatch + s.verdicts.flaky + s.verdicts['infra-error']).toBe(
      twoKernels.cells.length,
    );
    expect(s.notMatching.length).toBe(twoKernels.cells.filter((c) => c.verdict !== 'match').length);
  });
});

describe('cross-kernel findings', () => {
  const both = (id: string, old: string, now: string) => [
    cell('debian-6.1', id, old, old),
    cell('debian-6.12', id, now, now),
  ];
  const r = run([
    ...both('token-queue/root/ubd=2', 'EPERM@bpffs_create', 'ok'),
    ...both('token-kprobe-delegated/root/ubd=2', 'EPERM@bpffs_create', 'ok'),
    ...both('token-self/root/ubd=2', 'EPERM@bpffs_create', 'EPERM@bpffs_delegate'),
    ...both('sockex1/BPF/ubd=2', 'ok', 'ok'),
    cell('debian-6.12', 'map-array/BPF/ubd=2', 'ok', 'ok'),
  ]);

  test('one finding per family, outcome before → after and first kernel, with the cells it covers', () => {
    const { findings, notRunEverywhere } = groupFindings(crossKernelDiffs(r));
    expect(findings.map((f) => [f.family, f.before, f.after, f.firstChange, f.cells.length])).toEqual([
      ['token', 'EPERM@bpffs_create', 'ok', 'debian-6.12', 2],
      ['token', 'EPERM@bpffs_create', 'EPERM@bpffs_delegate', 'debian-6.12', 1],
    ]);
    expect(notRunEverywhere).toBe(1);
    const report = renderKernelReport(r);
    expect(report).toContain('## 2 findings from 4 changed cells');
    expect(report).toContain(
      '| `token-self/root/ubd=2` | EPERM@bpffs_create | **EPERM@bpffs_delegate** | debian-6.12 |',
    );
    expect(compareWith(r, [], '/').text).toContain(
      '2 finding(s) from 4 cell(s) that differ between kernels (debian-6.1 → debian-6.12):\n  1. token: EPERM@bpffs_create → ok from debian-6.12 (2 cell(s): token-queue/root/ubd=2, token-kprobe-delegated/root/ubd=2)',
    );
  });
});

describe('what a regression report cannot speak for', () => {
  const catalog = parseCatalog(
    {
      default: 'debian-6.12',
      kernels: [
        { id: 'debian-6.1', provider: 'debian', suite: 'bookworm', series: '6.1' },
        { id: 'debian-6.12', provider: 'debian', suite: 'trixie', series: '6.12' },
        {
          id: 'debian-6.12-rt',
          provider: 'debian',
          suite: 'trixie',
          series: '6.12',
          flavour: 'rt-amd64',
          inAll: false,
        },
      ],
      absent: [{ series: '6.19', suite: 'trixie-backports', reason: 'no modules package' }],
    },
    'catalog.json',
  );

  test('the series the catalog cannot hold, with the reason, and the catalog kernels the run did not boot', () => {
    const report = renderKernelReport(twoKernels, catalog);
    expect(report).toContain('## Not in this report');
    expect(report).toContain('- **6.19** (trixie-backports): no modules package');
    expect(report).toContain('- `debian-6.12-rt`: in the catalog, not in this run (opt-in, not in --kernel all).');
    expect(report).not.toContain('- `debian-6.1`:');
  });

  test('another flavour of the same version is a config difference, and the report says so', () => {
    expect(flavourOf('6.12.117+deb13-rt-amd64')).toBe('rt-amd64');
    expect(flavourOf('6.12.117+deb13.1-cloud-amd64')).toBe('cloud-amd64');
    expect(flavourOf('6.1.0-50-amd64')).toBe('amd64');
    expect(flavourOf('6.14.0-37-generic')).toBe('generic');
    const r = run([
      cell('debian-6.1', 'x/BPF/ubd=2', 'ok', 'ok'),
      cell('debian-6.12', 'x/BPF/ubd=2', 'EPERM@attach', 'ok'),
    ]);
    r.kernels = [
      { id: 'debian-6.1', release: '6.12.117+deb13-amd64', source: {}, accel: 'tcg' },
      { id: 'debian-6.12', release: '6.12.117+deb13-rt-amd64', source: {}, accel: 'tcg' },
    ];
    expect(crossKernelDiffs(r)[0]?.provenanceNotes).toEqual([
      'config (flavour): amd64 on debian-6.1, rt-amd64 on debian-6.12',
    ]);
  });
});

describe('merge', () => {
  const done = (k: string) => ({
    ...run([cell(k, 'sockex1/BPF/ubd=2', 'EPERM@raw_socket', 'EPERM@raw_socket')]),
    finishedAt: '2026-12-02T00:00:00Z',
  });

  test('finished runs merge into a finished run', () => {
    const m = mergeRuns([done('debian-6.1'), done('debian-6.12')]);
    expect(m.finishedAt).toBe('2026-12-02T00:00:00Z');
    expect(m.interrupted).toBeUndefined();
    expect(m.cells).toHaveLength(2);
  });

  test('two runs of one kernel with other cells complete each other; the same cell twice, or another build, is refused', () => {
    const more = {
      ...run([cell('debian-6.1', 'token-queue/root/ubd=2', 'ok', 'ok')]),
      finishedAt: '2026-12-02T00:00:00Z',
    };
    const m = mergeRuns([done('debian-6.1'), more]);
    expect(m.kernels.map((k) => k.id)).toEqual(['debian-6.1']);
    expect(m.cells).toHaveLength(2);
    expect(() => mergeRuns([done('debian-6.1'), done('debian-6.1')])).toThrow(
      'merge: cell sockex1/BPF/ubd=2 of kernel debian-6.1 is in more than one run',
    );
    const rebuilt = { ...more, kernels: more.kernels.map((k) => ({ ...k, release: 'other' })) };
    expect(() => mergeRuns([done('debian-6.1'), rebuilt])).toThrow(
      /kernel debian-6.1 is .* in one run and other in another/,
    );
  });

  test('a kernel keeps the config states every merged run recorded; a run merged twice is named once', () => {
    const a = done('debian-6.1');
    const b = { ...run([cell('debian-6.1', 'map-x/none/ubd=2', 'ok', 'ok')]), finishedAt: 'x' };
    b.kernels = b.kernels.map((k) => ({ ...k, config: { CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y' } }));
    b.runId = 'other';
    const m = mergeRuns([a, b]);
    expect(m.kernels[0]?.config).toEqual({ CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y' });
    expect(m.runId).toBe('merged-test-run+other');
    expect(mergeRuns([done('debian-6.1'), done('debian-6.12')]).runId).toBe('merged-test-run');
  });

  test('merging merges (baselines split from one merged run) names each source run once, without merged-merged-', () => {
    const whole = mergeRuns([done('debian-6.1'), done('debian-6.12'), { ...done('debian-6.16'), runId: 'later' }]);
    // the baselines keep the merged run's host, so each names all three source runs
    const split = ['debian-6.1', 'debian-6.12', 'debian-6.16'].map((k) => ({
      ...whole,
      kernels: whole.kernels.filter((x) => x.id === k),
      cells: whole.cells.filter((c) => c.kernel === k),
    }));
    expect(mergeRuns(split).runId).toBe('merged-test-run+later');
  });

  test('a run killed halfway keeps the merge unfinished and says which kernel and how much is missing', () => {
    const killed = { ...done('debian-6.12'), interrupted: 'SIGTERM at x', pendingCells: 7 };
    const m = mergeRuns([done('debian-6.1'), killed]);
    expect(m.finishedAt).toBeNull();
    expect(m.interrupted).toBe('debian-6.12: SIGTERM at x');
    expect(m.pendingCells).toBe(7);
  });
});

describe('Markdown and JUnit', () => {
  test('the summary counts, the mismatches and the cross-kernel table are in report.md', () => {
    const md = renderMarkdown(twoKernels);
    expect(md).toContain('5 cells on 2 kernel(s): **3 match, 1 mismatch, 0 flaky, 1 infra-error**');
    expect(md).toContain('infra-error: kernel-panic ⚠️');
    expect(md).toContain('**mismatch** `debian-6.12` `sockex1/BPF/ubd=2`: observed ok, expected EPERM@raw_socket');
    expect(md).toContain('| `token-queue/root/ubd=2` | EPERM@bpffs_create | **ok** | debian-6.12 |');
  });

  test('one JUnit test case per cell; a mismatch fails, an infra error errors', () => {
    const xml = renderJunit(twoKernels);
    expect(xml.match(/<testcase /g)).toHaveLength(5);
    expect(xml).toContain('<testsuites name="capmatrix test-run" tests="5" failures="1" errors="1" skipped="0">');
    expect(xml).toMatch(
      /<testsuite name="[^"]+" tests="\d+" failures="\d+" errors="\d+" skipped="0" time="[\d.]+" timestamp="[^"]*">/,
    );
    expect(xml).toContain('<failure message="observed ok, expected EPERM@raw_socket">');
    expect(xml).toContain('<error message="observed infra-error: kernel-panic, expected EPERM@probe">');
    expect(xml).not.toContain('<b>');
  });

  test('an ambient cell is set against the file cell of the same set: agreeing pairs counted, a difference named', () => {
    const ambient = { grant: 'ambient' as const };
    const agree = run([
      cell('debian-6.12', 'xdp/BPF/ubd=2', 'EPERM@prog_load', 'EPERM@prog_load'),
      cell('debian-6.12', 'xdp/ambient:BPF/ubd=2', 'EPERM@prog_load', 'EPERM@prog_load', ambient),
      cell('debian-6.12', 'xdp/ambient:BPF/ubd=0', 'INFRA', 'EPERM@prog_load', ambient),
    ]);
    expect(renderMarkdown(agree)).toContain('The same answer granted either way in all 1 pairs of cells');
    const differ = run([
      cell('debian-6.12', 'loader/BPF/ubd=2', 'EPERM@prog_load', 'EPERM@prog_load'),
      cell('debian-6.12', 'loader/ambient:BPF/ubd=2', 'ok', 'EPERM@prog_load', ambient),
    ]);
    expect(renderMarkdown(differ)).toContain(
      '- `debian-6.12` `loader/BPF/ubd=2`: EPERM@prog_load with file capabilities, ok with ambient ones (`loader/ambient:BPF/ubd=2`).',
    );
    expect(renderMarkdown(run([cell('debian-6.12', 'xdp/BPF/ubd=2', 'ok', 'ok')]))).not.toContain('ambient');
  });

  test('the kernel report says what each lock changes and on which kernels, a kernel that differs breaking the range', () => {
    const locked = (k: string, level: 'integrity' | 'confidentiality', o: string) =>
      cell(k, `kp/SYS_ADMIN/ubd=2,lockdown=${level}`, o, o, { lockdown: level });
    const cells = [
      ...['debian-6.1', 'debian-6.12'].flatMap((k) => [
        cell(k, 'kp/SYS_ADMIN/ubd=2,lockdown=none', 'ok', 'ok', { lockdown: 'none' }),
        locked(k, 'integrity', 'ok'),
        locked(k, 'confidentiality', 'EPERM@perf_open'),
      ]),
    ];
    const diffs = lockDiffs(cells, [
      { id: 'debian-6.1', release: '6.1.0-50-amd64' },
      { id: 'debian-6.12', release: '6.12.117+deb13-amd64' },
    ]);
    expect(diffs).toEqual([
      {
        scenario: 'kp',
        lock: 'lockdown=confidentiality',
        from: 'ok',
        to: 'EPERM@perf_open',
        sets: ['SYS_ADMIN'],
        ranges: [{ range: '6.1–6.12', kernels: ['debian-6.1', 'debian-6.12'] }],
      },
    ]);
    const only612 = lockDiffs(
      cells.filter((c) => !(c.kernel === 'debian-6.1' && c.lockdown === 'confidentiality')),
      [
        { id: 'debian-6.1', release: '6.1.0-50-amd64' },
        { id: 'debian-6.12', release: '6.12.117+deb13-amd64' },
      ],
    );
    expect(only612[0]?.ranges.map((r) => r.range)).toEqual(['6.12']);
  });

  test("a boot whose capability recorder did not run is named: its cells' silence about the kernel's checks is not an answer", () => {
    const r = run([cell('debian-6.12', 'xdp/BPF/ubd=2', 'ok', 'ok')]);
    expect(renderMarkdown(r)).not.toContain("without the kernel's checks");
    const [boot] = r.provenance.boots;
    if (!boot) throw new Error('no boot');
    boot.recorderOff =
      'the capability recorder exited (1): libbpf: prog on_exec: load failed\nline 2\nline 3\ncap_watch: load or attach: Invalid argument';
    expect(renderMarkdown(r)).toContain(
      '- `debian-6.12-boot1`: the capability recorder did not run, so its cells say nothing of what the kernel asked (`the capability recorder exited (1): libbpf: prog on_exec: load failed … cap_watch: load or attach: Invalid argument`).',
    );
  });

  test('a cell that does not match says which capability check the kernel denied, in report.md and junit.xml', () => {
    const capChecks = [
      {
        cap: 'CAP_NET_RAW',
        granted: false,
        ns: 'initial' as const,
        audit: true,
        count: 1,
        stack: ['ns_capable', 'packet_create'],
      },
    ];
    const denied = run([cell('debian-6.12', 'sockex1/BPF/ubd=2', 'EPERM@raw_socket', 'ok', { capChecks })]);
    expect(renderMarkdown(denied)).toContain('Kernel: `the kernel denied CAP_NET_RAW (packet_create)`.');
    expect(renderJunit(denied)).toContain('kernel: the kernel denied CAP_NET_RAW (packet_create)');
  });

  test("an interrupted run's pending cells are skipped test cases", () => {
    const interrupted = {
      ...twoKernels,
      startedAt: '2026-12-02T01:00:00Z',
      interrupted: 'SIGINT at x',
      pendingCells: 1,
      pending: [{ kernel: 'debian-6.12', id: 'sockex1/NET_RAW/ubd=2' }],
    };
    const xml = renderJunit(interrupted);
    expect(xml).toContain('tests="6" failures="1" errors="1" skipped="1">');
    expect(xml).toContain(
      '<testcase classname="debian-6.12.sockex1" name="sockex1/NET_RAW/ubd=2" time="0"><skipped message="not finished: the run was interrupted"/></testcase>',
    );
    expect(xml).toContain('timestamp="2026-12-02T01:00:00"');
  });
});

describe('HTML heatmap in headless Chromium', () => {
  test('loads, shows the mismatch outlined, opens a cell, takes a screenshot', async () => {
    if (!CHROMIUM)
      throw new Error("no Chromium: npm test installs Debian's chromium as root (or set CAPMATRIX_CHROMIUM)");
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-html-'));
    const file = path.join(dir, 'report.html');
    writeFileSync(file, renderHtml(twoKernels));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
      await page.goto(`file://${file}`);
      const mismatches = page.locator('td.cell.mismatch');
      expect(await mismatches.count()).toBe(1);
      expect(await mismatches.first().getAttribute('data-cell')).toBe('debian-6.12/sockex1/BPF/ubd=2');
      // outlined: a visible red border
      const border = await mismatches.first().evaluate((el) => getComputedStyle(el).borderTopColor);
      expect(border).toBe('rgb(221, 0, 0)');
      expect(await page.locator('td.cell.infra-error').count()).toBe(1);
      await mismatches.first().locator('summary').click();
      const more = mismatches.first().locator('.more');
      await expect.poll(() => more.isVisible()).toBe(true);
      expect(await more.textContent()).toContain('EPERM@raw_socket (because)');
      expect(await more.textContent()).toContain('detail of sockex1/BPF/ubd=2 <b>');
      // the cross-kernel view: one row per changed cell, coloured by outcome, the change marked
      const row = page.locator('table.xkernel tr[data-cell="token-queue/root/ubd=2"]');
      const changed = row.locator('td.xk.changed');
      expect(await changed.count()).toBe(1);
      expect(await changed.getAttribute('data-kernel')).toBe('debian-6.12');
      expect(await changed.getAttribute('title')).toBe('changed on debian-6.12, from EPERM@bpffs_create');
      const style = await changed.evaluate((el) => {
        const s = getComputedStyle(el);
        return [s.backgroundColor, s.borderLeftWidth];
      });
      expect(style).toEqual(['rgb(191, 232, 192)', '6px']);
      expect(await row.locator('td.xk.o-eperm').textContent()).toBe('EPERM@bpffs_create');
      expect(await page.locator('ol.findings li').first().textContent()).toContain(
        'token: EPERM@bpffs_create → ok from debian-6.12',
      );
      const shot = path.join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('the closing section of a run with mismatches', () => {
  const wrong = run([
    cell('ubuntu-host', 'token-queue/root/ubd=2', 'ok', 'EPERM@bpffs_create'),
    cell('ubuntu-host', 'sockex1/NET_RAW+BPF/ubd=2', 'ok', 'ok'),
    cell('ubuntu-host', 'uprobe-perf/PERFMON+BPF/ubd=2,paranoid=4', 'EACCES@attach', 'ok'),
    cell('ubuntu-host', 'xdp/BPF/ubd=2', 'INFRA', 'ok'),
  ]);

  test('report.md ends with the cells the rules got wrong and the line that records them', () => {
    const md = renderMarkdown(wrong);
    const section = md.slice(md.indexOf('### Cells the rules got wrong'));
    expect(section).toBe(
      [
        '### Cells the rules got wrong',
        '',
        '- `ubuntu-host` `token-queue/root/ubd=2`: expected `EPERM@bpffs_create` → observed `ok`',
        '- `ubuntu-host` `uprobe-perf/PERFMON+BPF/ubd=2,paranoid=4`: expected `ok` → observed `EACCES@attach`',
        '',
        'To record them as learned rules (each with a reason for a reviewer to write, under `learned/`):',
        '',
        '```sh',
        'npm run matrix -- --kernel ubuntu-host --scenario token-queue,uprobe-perf --update-expected',
        '```',
        '',
      ].join('\n'),
    );
  });

  test('the terminal says the same after the grid; a run that matched says nothing', () => {
    const text = learnHintText(wrong);
    expect(text).toContain('  ubuntu-host token-queue/root/ubd=2: EPERM@bpffs_create → ok\n');
    expect(text).toContain(
      '  npm run matrix -- --kernel ubuntu-host --scenario token-queue,uprobe-perf --update-expected\n',
    );
    const matched = run([cell('debian-6.12', 'xdp/BPF/ubd=2', 'ok', 'ok')]);
    expect(learnHintText(matched)).toBe('');
    expect(renderMarkdown(matched)).not.toContain('Cells the rules got wrong');
  });

  test('the command keeps the run’s --scenario-dir and --cells, quoted for a shell', () => {
    const narrowed = {
      ...wrong,
      options: { repeat: 1, retries: 1, scenarioDir: 'my scenarios', cells: '^token-queue/root/ubd=2$' },
    };
    expect(learnHint(narrowed)?.command).toBe(
      "npm run matrix -- --kernel ubuntu-host --scenario token-queue,uprobe-perf --scenario-dir 'my scenarios' --cells '^token-queue/root/ubd=2$' --update-expected",
    );
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    // what decides the outcomes goes along: learning without lockdown= would record another setup's
    const locked = { ...wrong, options: { repeat: 1, retries: 1, kernelArgs: ['lockdown=integrity'], memory: '2G' } };
    expect(learnHint(locked)?.command).toBe(
      'npm run matrix -- --kernel ubuntu-host --scenario token-queue,uprobe-perf --kernel-arg lockdown=integrity --memory 2G --update-expected',
    );
  });
});

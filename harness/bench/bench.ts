// `npm run bench`: the planned matrix (one boot per kernel, parallel VMs) against the naive way
// (one vng boot per cell) on the same machine, in one invocation, then one kernel's default matrix
// and `minimize --object` on a one-program object (and, with --all-kernels, every catalog kernel);
// prints the figures with the targets of issue #28, replaces the "Current figures" table at the
// top of BENCHMARKS.md and appends the dated entry to its history.
// Repeats (--repeat) report medians; ratios are measured side by side.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { run } from '../exec.js';
import type { CellResult } from '../outcome/verdict.js';
import { PACKAGE_ROOT, SAMPLES_BUILD_DIR } from '../paths.js';
import type { RunResults } from '../report/results-json.js';
import { runMatrix } from '../run/matrix.js';
import { runMinimize } from '../run/minimize.js';
import { decideAccel } from '../vm/accel.js';
import { currentFiguresTable, updateBenchmarks } from './benchmarks-md.js';
import { describeHostSpeed, type HostSpeed, measureHostSpeed } from './host-speed.js';

const NAIVE_CELLS = [
  'sockex1/NET_RAW+BPF/ubd=2',
  'xdp_adjust_tail/NET_ADMIN+PERFMON+BPF/ubd=2',
  'trace_output-kprobe/SYS_ADMIN/ubd=2,paranoid=3',
  'token-queue/root/ubd=2',
  'uprobe-multi/PERFMON+BPF/ubd=2,paranoid=2',
  'pinned_map/none/ubd=2',
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] ?? 0) : 0;
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** Harness cost of a cell inside the guest: sysctls, the cell's directory and cgroup, the reset
 * check and the fingerprint after it; the sample's own run and the scenario's setup/teardown commands are not in it. */
const overhead = (c: CellResult) => (c.overheadMs ?? 0) + (c.resetMs ?? 0) + (c.fingerprintMs ?? 0);
/** A cell as the issue counts it: the sample's exec and the harness's overhead. */
const cellCost = (c: CellResult) => (c.execMs ?? 0) + overhead(c);

/** Where a cell's time goes, step by step (medians over the cells, ms); the copies are made
 * once per boot, so their cost is the boot's total over its cells. */
const STEPS = [
  'copy',
  'setcap',
  'verify (getcap)',
  'sysctls',
  'cell dir, cgroup, spawn prep',
  "scenario's setup + teardown",
  'spawn → sample at main',
  'main → first bpf(2)',
  "sample's work (first bpf(2) → exit)",
  'reset and check',
  "fingerprint of the guest's state",
  'capability recorder (arm + read)',
  'records (write + fsync, ×2)',
] as const;
type Step = (typeof STEPS)[number];

function steps(run: RunResults): Record<Step, number> {
  const cells = run.cells.filter((c) => c.observed);
  const n = Math.max(1, run.cells.length);
  const prep = run.provenance.boots.map((b) => b.prepare);
  const total = (k: 'copyMs' | 'setcapMs' | 'verifyMs') => sum(prep.map((p) => p?.[k] ?? 0)) / n;
  const withBpf = cells.filter((c) => c.firstBpfMs !== undefined && c.startMs !== undefined);
  const med = (f: (c: CellResult) => number, xs = cells) => median(xs.map(f));
  return {
    copy: total('copyMs'),
    setcap: total('setcapMs'),
    'verify (getcap)': total('verifyMs'),
    sysctls: med((c) => c.sysctlMs ?? 0),
    'cell dir, cgroup, spawn prep': med((c) => (c.overheadMs ?? 0) - (c.sysctlMs ?? 0)),
    "scenario's setup + teardown": med((c) => (c.setupMs ?? 0) + (c.teardownMs ?? 0)),
    'spawn → sample at main': med((c) => c.startMs ?? 0),
    'main → first bpf(2)': med((c) => (c.firstBpfMs ?? 0) - (c.startMs ?? 0), withBpf),
    "sample's work (first bpf(2) → exit)": med((c) => (c.execMs ?? 0) - (c.firstBpfMs ?? 0), withBpf),
    'reset and check': med((c) => c.resetMs ?? 0),
    "fingerprint of the guest's state": med((c) => c.fingerprintMs ?? 0),
    'capability recorder (arm + read)': med((c) => c.capWatchMs ?? 0),
    'records (write + fsync, ×2)': med((c) => 2 * (c.recordMs ?? 0)),
  };
}

interface Figures {
  wallMs: number;
  cellMedian: number;
  cellP95: number;
  boots: number;
  cells: number;
  overheadMedian: number;
  overheadP95: number;
  execMedian: number;
  execSum: number;
  bootMedian: number;
  /** vng's spawn → the boot's first cell (the agent's first record, then its preparation). */
  firstCellMedian: number;
  floorMs: number;
  mismatches: number;
}

function figures(run: RunResults, wallMs: number, jobs: number): Figures {
  const cells = run.cells.filter((c) => c.observed);
  const boots = run.provenance.boots;
  const bootMs = boots.map((b) => b.vm?.bootMs ?? 0);
  // The floor: booting to init and the samples' own work, perfectly spread over the VMs.
  const perBoot = boots.map(
    (b) => (b.vm?.bootMs ?? 0) + sum(run.cells.filter((c) => c.boot === b.boot).map((c) => c.execMs ?? 0)),
  );
  return {
    wallMs,
    cellMedian: median(cells.map(cellCost)),
    cellP95: p95(cells.map(cellCost)),
    boots: boots.length,
    cells: run.cells.length,
    overheadMedian: median(cells.map(overhead)),
    overheadP95: p95(cells.map(overhead)),
    execMedian: median(cells.map((c) => c.execMs ?? 0)),
    execSum: sum(cells.map((c) => c.execMs ?? 0)),
    bootMedian: median(bootMs),
    firstCellMedian: median(
      boots.flatMap((b) => (b.vm?.bootMs && b.phases?.prepare !== undefined ? [b.vm.bootMs + b.phases.prepare] : [])),
    ),
    floorMs: Math.max(sum(perBoot) / Math.min(jobs, boots.length), Math.max(...perBoot)),
    mismatches: run.cells.filter((c) => c.verdict !== 'match').length,
  };
}

async function timed(o: Parameters<typeof runMatrix>[0]): Promise<{ run: RunResults; wallMs: number }> {
  const t0 = Date.now();
  const { results } = await runMatrix(o);
  return { run: results, wallMs: Date.now() - t0 };
}

const program = new Command('bench')
  .option('--kernels <ids>', 'kernels of the planned run', 'debian-6.1,debian-6.12,debian-6.16,debian-7.2')
  .option('--naive-kernel <id>', 'kernel of the naive run', 'debian-6.12')
  .option('--naive-cells <n>', 'how many of the fixed naive cells', (v) => Number.parseInt(v, 10), NAIVE_CELLS.length)
  .option('--jobs <n>', 'VMs at once, the same for both ways', (v) => Number.parseInt(v, 10), os.availableParallelism())
  .option('--repeat <n>', 'repeat both runs; medians are reported', (v) => Number.parseInt(v, 10), 1)
  .option('--one-kernel <id>', 'kernel of the one-kernel matrix (its default matrix, --jobs VMs)', 'debian-6.12')
  .option('--all-kernels', 'also time the matrix on every catalog kernel (--kernel all), once per repeat')
  .option('--no-write', 'do not write BENCHMARKS.md');
program.parse();
const opts = program.opts<{
  kernels: string;
  naiveKernel: string;
  naiveCells: number;
  oneKernel: string;
  jobs: number;
  repeat: number;
  allKernels?: boolean;
  write: boolean;
}>();

const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-bench-'));
const quiet = (m: string) => process.stderr.write(`  ${m}\n`);
const planned: Figures[] = [];
const naive: Figures[] = [];
const all: Figures[] = [];
const one: Figures[] = [];
/** `minimize --object` on a one-program object (the socket filter), wall ms per repeat. */
const minimizeMs: number[] = [];
const MINIMIZE_OBJECT = path.join(SAMPLES_BUILD_DIR, 'sockex1.bpf.o');
const plannedSteps: Record<Step, number>[] = [];
/** Each boot's fingerprint parts (its agent's medians per cell, ms), planned runs only. */
const fingerprintParts: Record<string, number>[] = [];
/** Each boot's cell housekeeping parts (its agent's medians per cell, ms), planned runs only. */
const cellParts: Record<string, number>[] = [];
/** Each boot's phases until the agent's first record (ms: outcome/boot-phases.ts), all runs. */
const bootPhases: Record<string, number>[] = [];
/** The host's speed at each repeat's start (host-speed.ts). */
const hostSpeeds: HostSpeed[] = [];
const naiveIds = NAIVE_CELLS.slice(0, opts.naiveCells);
const naiveRe = new RegExp(`^(${naiveIds.map((i) => i.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
for (let i = 0; i < opts.repeat; i++) {
  hostSpeeds.push(await measureHostSpeed());
  process.stderr.write(`bench ${i + 1}/${opts.repeat}: host: ${describeHostSpeed(hostSpeeds[i] as HostSpeed)}\n`);
  process.stderr.write(`bench ${i + 1}/${opts.repeat}: planned matrix on ${opts.kernels} (--jobs ${opts.jobs})\n`);
  const a = await timed({ kernel: opts.kernels, jobs: opts.jobs, resultsDir: dir, log: quiet });
  planned.push(figures(a.run, a.wallMs, opts.jobs));
  plannedSteps.push(steps(a.run));
  for (const b of a.run.provenance.boots) if (b.fingerprint) fingerprintParts.push(b.fingerprint);
  for (const b of a.run.provenance.boots) if (b.cellParts) cellParts.push(b.cellParts);
  for (const b of a.run.provenance.boots) if (b.phases) bootPhases.push(b.phases);
  process.stderr.write(
    `bench ${i + 1}/${opts.repeat}: naive, one boot per cell, ${naiveIds.length} cells on ${opts.naiveKernel}\n`,
  );
  const b = await timed({
    kernel: opts.naiveKernel,
    cells: naiveRe.source,
    bootPerCell: true,
    jobs: opts.jobs,
    resultsDir: dir,
    log: quiet,
  });
  naive.push(figures(b.run, b.wallMs, opts.jobs));
  process.stderr.write(`bench ${i + 1}/${opts.repeat}: one kernel's default matrix (${opts.oneKernel})\n`);
  const o = await timed({ kernel: opts.oneKernel, jobs: opts.jobs, resultsDir: dir, log: quiet });
  one.push(figures(o.run, o.wallMs, opts.jobs));
  for (const b of o.run.provenance.boots) if (b.phases) bootPhases.push(b.phases);
  process.stderr.write(`bench ${i + 1}/${opts.repeat}: minimize --object ${path.basename(MINIMIZE_OBJECT)}\n`);
  const t0 = Date.now();
  await runMinimize({ program: { object: MINIMIZE_OBJECT }, resultsDir: dir, log: quiet });
  minimizeMs.push(Date.now() - t0);
  if (!opts.allKernels) continue;
  process.stderr.write(`bench ${i + 1}/${opts.repeat}: every catalog kernel (--kernel all)\n`);
  const c = await timed({ kernel: 'all', jobs: opts.jobs, resultsDir: dir, log: quiet });
  all.push(figures(c.run, c.wallMs, opts.jobs));
}
const m = (xs: Figures[], k: keyof Figures) => median(xs.map((x) => x[k]));
const plannedPerCell = m(planned, 'wallMs') / m(planned, 'cells');
const naivePerCell = m(naive, 'wallMs') / m(naive, 'cells');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const commit = run('git', ['rev-parse', '--short', 'HEAD'], { cwd: PACKAGE_ROOT }).stdout.trim();
const accel = decideAccel();
const rows = [
  ['', 'planned', 'naive'],
  ['boots', `${m(planned, 'boots')}`, `${m(naive, 'boots')}`],
  ['cells', `${m(planned, 'cells')}`, `${m(naive, 'cells')}`],
  ['wall time', s(m(planned, 'wallMs')), s(m(naive, 'wallMs'))],
  ['wall time per cell', `${plannedPerCell.toFixed(0)} ms`, `${naivePerCell.toFixed(0)} ms`],
  ['boot to agent (median)', s(m(planned, 'bootMedian')), s(m(naive, 'bootMedian'))],
  ['boot to the first cell (median)', s(m(planned, 'firstCellMedian')), s(m(naive, 'firstCellMedian'))],
  [
    'cell: exec + overhead, median / p95',
    `${m(planned, 'cellMedian')} / ${m(planned, 'cellP95')} ms`,
    `${m(naive, 'cellMedian')} / ${m(naive, 'cellP95')} ms`,
  ],
  [
    'harness overhead per cell, median / p95',
    `${m(planned, 'overheadMedian')} / ${m(planned, 'overheadP95')} ms`,
    `${m(naive, 'overheadMedian')} / ${m(naive, 'overheadP95')} ms`,
  ],
  [
    'sample exec per cell, median (sum)',
    `${m(planned, 'execMedian')} ms (${s(m(planned, 'execSum'))})`,
    `${m(naive, 'execMedian')} ms (${s(m(naive, 'execSum'))})`,
  ],
  ['floor (boot + exec, spread over VMs)', s(m(planned, 'floorMs')), s(m(naive, 'floorMs'))],
  [
    'whole run ÷ floor',
    (m(planned, 'wallMs') / m(planned, 'floorMs')).toFixed(2),
    (m(naive, 'wallMs') / m(naive, 'floorMs')).toFixed(2),
  ],
  ['cells not matching', `${m(planned, 'mismatches')}`, `${m(naive, 'mismatches')}`],
];
const table = rows.map((r, i) => `| ${r.join(' | ')} |${i === 0 ? `\n|---|---|---|` : ''}`).join('\n');
const stepRows = STEPS.map((k) => `| ${k} | ${median(plannedSteps.map((x) => x[k])).toFixed(1)} ms |`);
const stepTable = ['| step of a cell (planned run, medians) | |', '|---|---|', ...stepRows].join('\n');
/** "name 1.2 ms, …": each part's median over the boots' medians, or '' when no boot said. */
function partMedians(parts: Record<string, number>[]): string {
  const names = [...new Set(parts.flatMap((p) => Object.keys(p)))];
  return names.map((k) => `${k} ${median(parts.map((p) => p[k] ?? 0)).toFixed(1)} ms`).join(', ');
}
const partsLine = fingerprintParts.length
  ? `The fingerprint's parts (medians over the boots of each boot's median per cell; "answer" is the helper's round trip as the agent waits for it, "helper …" its own time per group, "parse" node's reading): ${partMedians(fingerprintParts)}.`
  : '';
const cellPartsLine = cellParts.length
  ? `A cell's housekeeping by part (medians over the boots of each boot's median per cell; "reset: …" are the parts of "reset and check"): ${partMedians(cellParts)}.`
  : '';
const phaseNames = ['qemu', 'kernel', 'initramfs', 'init', 'agent', 'prepare'];
const phaseRows = phaseNames.map((k) => {
  const got = bootPhases.map((p) => p[k]).filter((v): v is number => v !== undefined);
  return `| ${k} | ${got.length ? `${(median(got) / 1000).toFixed(1)} s` : 'not seen'} |`;
});
const phaseTable = bootPhases.length
  ? [
      `| phase of a boot until its first cell (planned and one-kernel runs, median of ${bootPhases.length} boots) | |`,
      '|---|---|',
      ...phaseRows,
    ].join('\n')
  : '';
const oneLine = `One kernel's default matrix (${opts.oneKernel}, --jobs ${opts.jobs}): ${m(one, 'cells')} cells in ${m(one, 'boots')} boots, ${s(m(one, 'wallMs'))} wall; \`minimize --object ${path.basename(MINIMIZE_OBJECT)}\`: ${s(median(minimizeMs))} wall.`;
const allLine = all.length
  ? `Every catalog kernel (--kernel all): ${m(all, 'boots')} boots, ${m(all, 'cells')} cells, ${s(m(all, 'wallMs'))} wall, cell median / p95 ${m(all, 'cellMedian')} / ${m(all, 'cellP95')} ms, ${m(all, 'mismatches')} not matching.`
  : '';
const hostMedian: HostSpeed = {
  aloneMs: median(hostSpeeds.map((h) => h.aloneMs)),
  allCoresMs: median(hostSpeeds.map((h) => h.allCoresMs)),
  parallel: hostSpeeds[0]?.parallel ?? os.availableParallelism(),
  throughput: median(hostSpeeds.map((h) => h.throughput)),
};
/** Each repeat's host speed beside its wall times: a slow repeat is seen to be the host's. */
const repeatTable = [
  `| repeat | host: loop alone / on every core (${hostMedian.parallel}) | planned | one kernel | every kernel |`,
  '|---|---|---|---|---|',
  ...hostSpeeds.map(
    (h, i) =>
      `| ${i + 1} | ${h.aloneMs} / ${h.allCoresMs} ms (${h.throughput}×) | ${s(planned[i]?.wallMs ?? 0)} | ${s(one[i]?.wallMs ?? 0)} | ${all[i] ? s(all[i].wallMs) : '–'} |`,
  ),
].join('\n');
const when = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${accel.accel} (${accel.why}); --jobs ${opts.jobs}, ${opts.repeat} repeat(s) (medians)`;
const ratio = `${(naivePerCell / plannedPerCell).toFixed(1)}×`;
const report = [
  `### ${when}, commit ${commit}`,
  '',
  `Machine: ${machine}. Planned: ${opts.kernels}. Naive: ${naiveIds.length} cells on ${opts.naiveKernel}, one vng boot each.`,
  '',
  table,
  '',
  repeatTable,
  '',
  stepTable,
  '',
  ...(partsLine ? [partsLine, ''] : []),
  ...(cellPartsLine ? [cellPartsLine, ''] : []),
  ...(phaseTable ? [phaseTable, ''] : []),
  oneLine,
  '',
  ...(allLine ? [allLine, ''] : []),
  `**Naive per-cell cost ÷ planned per-cell cost: ${ratio}.**`,
  '',
].join('\n');
const current = currentFiguresTable({
  when,
  commit,
  machine,
  rows: [
    [
      `planned matrix (${opts.kernels}; target ≤ 3 min)`,
      `${m(planned, 'cells')} cells in ${m(planned, 'boots')} boots, ${s(m(planned, 'wallMs'))} wall (${plannedPerCell.toFixed(0)} ms a cell)`,
    ],
    ['cell: exec + overhead, median / p95', `${m(planned, 'cellMedian')} / ${m(planned, 'cellP95')} ms`],
    ['harness overhead per cell, median / p95', `${m(planned, 'overheadMedian')} / ${m(planned, 'overheadP95')} ms`],
    [
      "fingerprint of the guest's state per cell, median",
      `${median(plannedSteps.map((x) => x["fingerprint of the guest's state"])).toFixed(1)} ms`,
    ],
    [
      'capability recorder per cell, median (target ≤ 3 ms)',
      `${median(plannedSteps.map((x) => x['capability recorder (arm + read)'])).toFixed(1)} ms`,
    ],
    ['boot to agent, median', s(m(planned, 'bootMedian'))],
    ['boot to the first cell, median (target ≤ 10 s)', s(m(planned, 'firstCellMedian'))],
    [
      `one kernel's default matrix (${opts.oneKernel}; target ≤ 75 s)`,
      `${m(one, 'cells')} cells in ${m(one, 'boots')} boots, ${s(m(one, 'wallMs'))} wall`,
    ],
    [`minimize --object ${path.basename(MINIMIZE_OBJECT)} (target ≤ 45 s)`, s(median(minimizeMs))],
    ['naive (one boot per cell) ÷ planned, per cell', ratio],
    [
      'every catalog kernel (--kernel all; target ≤ 6 min)',
      all.length
        ? `${m(all, 'cells')} cells in ${m(all, 'boots')} boots, ${s(m(all, 'wallMs'))} wall, ${m(all, 'mismatches')} not matching`
        : 'not measured (bench --all-kernels)',
    ],
    ['cells not matching (planned / naive)', `${m(planned, 'mismatches')} / ${m(naive, 'mismatches')}`],
    ['host speed (median of the repeats)', describeHostSpeed(hostMedian)],
  ],
});
process.stdout.write(`\n${current}\n\n${report}\n`);
if (opts.write) {
  const file = path.join(PACKAGE_ROOT, 'BENCHMARKS.md');
  writeFileSync(file, updateBenchmarks(existsSync(file) ? readFileSync(file, 'utf8') : undefined, current, report));
}

// One cell, step by step: sysctls → the boot's copy of the sample with the cell's file
// capabilities (prepare.ts) and a fresh directory → the scenario's setup → the sample, in its
// own cgroup → the judgement → teardown → reset.
// Everything a step learns travels in its return value; the boot's state is one object.
import fs from 'node:fs';
import path from 'node:path';
import type { CapWatch } from './cap-watch.js';
import { CellCgroup } from './cell-cgroup.js';
import type { CellSpawner } from './cell-spawner.js';
import { Laps, since } from './clock.js';
import { type CellPaths, expandArg, runRootCommands } from './commands.js';
import { execSample } from './exec-sample.js';
import { clearNewPins, type Pins, pinsNow } from './host-bpffs.js';
import { infra, type Judged, judge } from './judge.js';
import { judgeExec } from './judge-exec.js';
import { lockdownMismatch } from './lockdown.js';
import type { OverlayWrites } from './overlay-writes.js';
import type { SampleCopies } from './prepare.js';
import type { CellRecord, GuestCell } from './protocol.js';
import type { RecordWriter } from './record-writer.js';
import { resetState } from './reset.js';
import { SCRATCH_DIR } from './scratch.js';
import type { StateWatch } from './state-watch.js';
import { loaderExit } from './syscall-trace.js';
import { applySysctls, type BootSysctls, sysctlsNow, wantedSysctls } from './sysctls.js';
import { rootTools, ToolError } from './tools.js';

/** What every cell of a boot shares. */
export interface BootState {
  sysctls: BootSysctls;
  /** Why no cell may run in this guest, or null. */
  unsafe: string | null;
  /** The agent's cgroup, or null when the guest has no cgroup v2 (process groups only). */
  cgroupDir: string | null;
  /** The samples' copies with their file capabilities, made at the boot's start. */
  copies: SampleCopies;
  /** What cells write into the guest's writable overlays; null before the copies are made. */
  overlays: OverlayWrites | null;
  /** A scenario whose setup covers a run of consecutive cells (setupScope 'group'). */
  group: { scenario: string; teardown: string[][] } | null;
  cellsRun: number;
  /** The samples' launcher (null: it could not start, and `unsafe` says so). */
  spawner: CellSpawner | null;
  /** The recorder of the cells' capability checks (null: it could not start; the end record
   * says why, and the cells have no capChecks). */
  capWatch: CapWatch | null;
  /** The guest's fingerprint before the cell (null: the agent could not mount its procfs, and
   * `unsafe` says so). */
  watch: StateWatch | null;
  /** What each fingerprint part cost, per cell (ms), for the end record. */
  fingerprintParts: Record<string, number>[];
  /** Each cell's housekeeping by part (Laps), for the end record's medians. */
  cellParts: Record<string, number>[];
  /** The host-like bpffs at /sys/fs/bpf is mounted (host-bpffs.ts): cells' pins are cleared. */
  bpffs: boolean;
  /** What it held when this cell's program started (after the scenario's setup); null before. */
  pinsAtStart: Pins | null;
  /** A cell left state that could not be undone: no cell runs after its record. */
  endReason: string | null;
}

type Figures = Partial<
  Pick<
    CellRecord,
    | 'overheadMs'
    | 'sysctlMs'
    | 'setupMs'
    | 'execMs'
    | 'startMs'
    | 'firstBpfMs'
    | 'exit'
    | 'stderrTail'
    | 'capEff'
    | 'capChecks'
    | 'capWatchMs'
  >
>;

interface CellRun {
  judged: Judged;
  figures: Figures;
  teardownError?: string;
  teardownMs: number;
  /** Processes still in the cell's cgroup when the sample exited. */
  leftovers: number[];
}

/** The scenario's setup: around this cell, or once for its group of consecutive cells. */
function setUp(cell: GuestCell, at: CellPaths, boot: BootState): string | null {
  if (cell.setupScope === 'group') {
    if (boot.group?.scenario === cell.scenario) return null;
    boot.group = { scenario: cell.scenario, teardown: cell.teardown };
    // the group's setup stays up across its cells: the fingerprint before them includes it
    if (boot.watch && cell.setup.length) boot.watch.dirty = true;
  }
  const err = runRootCommands(cell.setup, at);
  return err ? `setup: ${err}` : null;
}

/** Tears down the group's setup; returns the error, if any. */
export function endGroup(boot: BootState): string | undefined {
  if (!boot.group) return undefined;
  const err = runRootCommands(boot.group.teardown, { sample: '', dir: '' });
  if (boot.watch && boot.group.teardown.length) boot.watch.dirty = true;
  boot.group = null;
  return err ?? undefined;
}

/** A user's loader runs from its project directory: every directory on the way must let the
 * cell's uid through (the host's permissions, seen read-only in the guest). */
function unreachableDir(dir: string): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    const st = fs.statSync(d, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return `${d}: not a directory in the guest`;
    if (!(st.mode & 0o001))
      return `${dir}: the cell's uid cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}); run capmatrix from a directory every user can read`;
    if (d === path.dirname(d)) return null;
  }
}

/** A sample runs as it is; a user's loader ('exec') under strace, its trace kept in the agent's
 * scratch (scratch.ts). `trace` is null for a sample. */
async function execTraced(
  cell: GuestCell,
  at: CellPaths,
  args: string[],
  cwd: string,
  cgroup: CellCgroup | null,
  spawner: CellSpawner | null,
) {
  if (cell.mode !== 'exec') {
    if (!spawner) throw new ToolError('no launcher for the samples in this boot');
    return { r: await execSample(cell, at, args, cwd, cgroup, { spawner }), trace: null };
  }
  const traceDir = fs.mkdtempSync(path.join(SCRATCH_DIR, 'trace-'));
  try {
    const traceFile = path.join(traceDir, 'trace');
    const r = await execSample(cell, at, args, cwd, cgroup, { traceFile });
    // no trace (strace did not start) leaves the failure without a stage, not without a record
    const trace = fs.existsSync(traceFile) ? fs.readFileSync(traceFile, 'utf8') : '';
    // the loader's own exit status, not strace's (strace may have been ended for a stray tracee)
    return { r: { ...r, ...(loaderExit(trace) ?? {}) }, trace };
  } finally {
    fs.rmSync(traceDir, { recursive: true, force: true });
  }
}

/** The cell's checks, or null. A sample that started (its handshake, or strace's hold) but whose
 * exec the recorder did not see means the recorder is not to be trusted any more. */
function recordedChecks(recorder: CapWatch, cgroup: bigint, started: boolean) {
  const taken = recorder.take(cgroup);
  if (!taken.execSeen && started) recorder.distrust("the capability recorder did not see the sample's exec");
  return taken.execSeen && !recorder.broken ? taken.checks : null;
}

async function runSample(cell: GuestCell, at: CellPaths, boot: BootState, t0: number, laps: Laps) {
  const tSetup = performance.now();
  const setupErr = setUp(cell, at, boot);
  await boot.watch?.rebaseIfDirty();
  const setupMs = since(tSetup);
  if (setupErr) return { judged: infra('setup-failed', setupErr), figures: { setupMs }, leftovers: [] };
  let args: string[];
  try {
    args = cell.args.map((a) => expandArg(a, at));
  } catch (e) {
    return { judged: infra('setup-failed', `args: ${(e as Error).message}`), figures: { setupMs }, leftovers: [] };
  }
  // the harness's own fixed cost before the sample runs; the scenario's setup is counted apart
  const overheadMs = Math.max(0, since(t0) - setupMs);
  laps.start();
  const cgroup = boot.cgroupDir ? new CellCgroup(boot.cgroupDir, `capmatrix-cell-${++boot.cellsRun}`) : null;
  laps.lap('cgroup made');
  try {
    const cwdErr = cell.cwd ? unreachableDir(cell.cwd) : null;
    if (cwdErr) return { judged: infra('setup-failed', cwdErr), figures: { setupMs }, leftovers: [] };
    let traced: Awaited<ReturnType<typeof execTraced>>;
    boot.overlays?.mark(cell.setup.length > 0);
    if (boot.bpffs) boot.pinsAtStart = pinsNow();
    // counted from the exec of the sample (or the user's loader) on: not the launcher's own checks
    const recorder = cgroup && boot.capWatch && !boot.capWatch.broken ? boot.capWatch : null;
    const tArm = performance.now();
    if (recorder && cgroup && cell.mode === 'exec') recorder.arm(cgroup.id, path.basename(at.sample));
    let capWatchMs = performance.now() - tArm;
    try {
      traced = await execTraced(cell, at, args, cell.cwd ?? at.dir, cgroup, boot.spawner);
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      return { judged: infra('setup-failed', e.message), figures: { setupMs }, leftovers: [] };
    }
    const { r, trace } = traced;
    laps.start();
    if (cgroup && !(await cgroup.emptied(2000))) r.leftovers.push(...cgroup.pids());
    laps.lap('cgroup emptied');
    const tTake = performance.now();
    const capChecks = recorder && cgroup ? recordedChecks(recorder, cgroup.id, r.status !== null) : null;
    capWatchMs += performance.now() - tTake;
    laps.start();
    const limitHit = cgroup?.limitHit() ?? null;
    laps.lap('cgroup limits read');
    const stderrTail = r.stderr.trim().split('\n').slice(-12).join('\n');
    const figures: Figures = {
      overheadMs,
      setupMs,
      execMs: r.execMs,
      ...(r.startMs !== null ? { startMs: r.startMs } : {}),
      ...(r.firstBpfMs !== null ? { firstBpfMs: r.firstBpfMs } : {}),
      exit: { code: r.code, signal: r.signal },
      stderrTail,
      // what the kernel showed while the sample ran (the handshake), whatever happened next
      ...(r.status?.CapEff ? { capEff: r.status.CapEff } : {}),
      ...(capChecks ? { capChecks } : {}),
      ...(recorder ? { capWatchMs: Math.round(capWatchMs * 10) / 10 } : {}),
    };
    // a program that ran into its cgroup's limits tells nothing of its privileges
    const judged = limitHit
      ? infra('cell-limit', limitHit)
      : trace === null
        ? judge(cell, r, stderrTail)
        : judgeExec(cell, r, trace, stderrTail, capChecks);
    return { judged, figures, leftovers: r.leftovers };
  } finally {
    laps.start();
    cgroup?.remove();
    laps.lap('cgroup removed');
  }
}

export async function runCell(cell: GuestCell, boot: BootState, laps: Laps): Promise<CellRun> {
  const t0 = performance.now();
  if (boot.unsafe) return { judged: infra('setup-failed', boot.unsafe), figures: {}, teardownMs: 0, leftovers: [] };
  const locked = lockdownMismatch(cell);
  if (locked) return { judged: infra('setup-failed', locked), figures: {}, teardownMs: 0, leftovers: [] };
  const sysErr = applySysctls(boot.sysctls, cell.sysctl);
  const sysctlMs = since(t0);
  if (sysErr) return { judged: infra('setup-failed', sysErr), figures: { sysctlMs }, teardownMs: 0, leftovers: [] };
  // the cell's own directory: its cwd and HOME, and where `{copy:}` inputs go
  laps.start();
  const dir = fs.mkdtempSync('/tmp/capmatrix-cell-');
  try {
    fs.chmodSync(dir, 0o755);
    laps.lap('cell dir');
    const copy = boot.copies.fileFor(cell);
    if ('kind' in copy)
      return { judged: infra(copy.kind, copy.detail), figures: { sysctlMs }, teardownMs: 0, leftovers: [] };
    const at = { sample: copy.file, dir };
    const ran = await runSample(cell, at, boot, t0, laps);
    const tTeardown = performance.now();
    const teardownError = cell.setupScope === 'cell' ? runRootCommands(cell.teardown, at) : null;
    return {
      ...ran,
      figures: { ...ran.figures, sysctlMs },
      teardownMs: since(tTeardown),
      ...(teardownError ? { teardownError } : {}),
    };
  } finally {
    laps.start();
    fs.rmSync(dir, { recursive: true, force: true });
    laps.lap('cell dir');
  }
}

/**
 * Runs one cell and appends its record. `next` is the cell that follows (or, in a search, one
 * like it): a group setup stays up while the next cell belongs to the same scenario.
 */
export async function runAndRecord(
  cell: GuestCell,
  next: GuestCell | undefined,
  boot: BootState,
  out: RecordWriter,
): Promise<CellRecord> {
  // a group's teardown (a search's, between runs) moved the state the cell starts from
  await boot.watch?.rebaseIfDirty();
  boot.pinsAtStart = null;
  const t0 = performance.now();
  // the cell-start record's write and fsync: what each of a cell's two records costs
  const recordMs = out.emit({ type: 'cell-start', id: cell.id, key: cell.key, t: Date.now() });
  let ran: CellRun;
  const laps = new Laps();
  try {
    ran = await runCell(cell, boot, laps);
  } catch (e) {
    ran = {
      judged: infra('agent-crash', `agent: ${(e as Error).stack ?? e}`),
      figures: {},
      teardownMs: 0,
      leftovers: [],
    };
  }
  const tReset = performance.now();
  laps.start();
  const reset = resetState(boot.watch?.reader ?? null);
  laps.lap('reset: uid');
  const problems = reset.problems;
  if (reset.fatal) boot.endReason ??= `after ${cell.key}: ${reset.fatal}`;
  // the copies and the root tools the state helper watches (null: node stats them itself)
  const helperSaw = boot.watch?.reader.changedFiles() ?? null;
  problems.push(...boot.copies.changed(helperSaw), ...rootTools.changed(helperSaw));
  laps.lap('reset: copies and tools');
  // after the uid's processes are gone, so nothing pins again; before the fingerprint, so what
  // the pins held is gone too
  const tornDown = cell.setupScope === 'cell' && cell.teardown.length > 0;
  const pins = boot.pinsAtStart ? clearNewPins(boot.pinsAtStart, tornDown) : { removed: [], problems: [] };
  laps.lap('reset: pins');
  if (pins.problems.length) {
    problems.push(...pins.problems);
    boot.endReason ??= `after ${cell.key}: ${pins.problems.join('; ')}`;
  }
  // a cell that killed, stopped or traced the launcher: this cell is not trusted, no other runs
  laps.start();
  const launcher = boot.spawner?.check();
  laps.lap('reset: launcher');
  if (launcher) {
    problems.push(launcher);
    boot.endReason ??= `after ${cell.key}: ${launcher}`;
    // what the sample wrote was the launcher's to read: lost with it, and this cell is why
    if (!('observed' in ran.judged))
      ran.judged = infra('state-not-reset', `${launcher}, and the cell's output with it`);
  }
  // a cell that detached, stopped or killed the recorder: the same
  laps.start();
  const recorder = boot.capWatch?.check();
  laps.lap('reset: recorder');
  if (recorder) {
    problems.push(recorder);
    boot.endReason ??= `after ${cell.key}: ${recorder}`;
  }
  laps.start();
  const overlay = boot.overlays?.check() ?? { problems: [], undoable: true };
  laps.lap('reset: overlays');
  problems.push(...overlay.problems);
  if (!overlay.undoable) boot.endReason ??= `after ${cell.key}: a file it wrote could not be undone`;
  const resetMs = since(tReset);
  // before the group's teardown, which is the scenario's, not the cell's
  const watched = await watchState(cell, boot);
  problems.push(...watched.problems);
  const tGroup = performance.now();
  const sameGroup = next?.setupScope === 'group' && next.scenario === boot.group?.scenario;
  const groupError = sameGroup ? undefined : endGroup(boot);
  const teardownMs = ran.teardownMs + since(tGroup);
  if (ran.leftovers.length)
    problems.unshift(
      `processes left running after the sample exited: ${ran.leftovers.join(', ')} (killed with its cgroup)`,
    );
  const teardownError = [ran.teardownError, groupError && `group ${cell.scenario}: ${groupError}`]
    .filter(Boolean)
    .join('; ');
  const record: CellRecord = {
    type: 'cell',
    id: cell.id,
    key: cell.key,
    caps: cell.caps,
    ...(cell.grant && cell.grant !== 'file' ? { grant: cell.grant } : {}),
    ...(cell.delegation ? { delegation: cell.delegation } : {}),
    ...('observed' in ran.judged ? { observed: ran.judged.observed } : { observed: null, ...ran.judged }),
    ...ran.figures,
    ...(pins.removed.length ? { bpffsLeft: pins.removed } : {}),
    teardownMs,
    resetMs,
    ...(watched.ms !== null ? { fingerprintMs: watched.ms } : {}),
    recordMs,
    durationMs: since(t0),
    sysctlNow: sysctlsNow(boot.sysctls, cell.sysctl),
    ...(problems.length ? { resetProblems: problems } : {}),
    ...(teardownError ? { teardownError } : {}),
  };
  out.emit(record);
  boot.cellParts.push(laps.ms);
  return record;
}

/** The fingerprint after the cell against the one before it: what changed is undone, and what
 * could not be ends the boot after this cell (boot.endReason). */
async function watchState(cell: GuestCell, boot: BootState): Promise<{ problems: string[]; ms: number | null }> {
  if (!boot.watch) return { problems: [], ms: null };
  const want = Object.fromEntries(
    Object.entries(wantedSysctls(boot.sysctls, cell.sysctl)).map(([k, v]) => [k, String(v)]),
  );
  const w = await boot.watch.check(want, new Set([process.pid]));
  boot.fingerprintParts.push(w.parts);
  if (w.fatal) boot.endReason = `after ${cell.key}: ${w.fatal}`;
  const problems = w.problems.length ? [`global state changed during the cell: ${w.problems.join('; ')}`] : [];
  return { problems, ms: Math.round(w.ms) };
}

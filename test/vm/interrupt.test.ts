// Interrupting a real run the ways a user or a machine does (Ctrl-C to the process group,
// SIGTERM to the harness, kill -9 of the harness) and finishing it with --resume: the harness
// exits within seconds, no QEMU or vng process is left (checked in the process table), finished
// cells are saved, and no finished cell is run again.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunResults } from '../../harness/report/results-json.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'harness', 'cli.ts');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'capmatrix-interrupt-')));
const CELLS = 6; // fault-slow: six cells of two seconds each

/** The user's way (npm run capmatrix → tsx), or plain node with tsx's loader (one process to kill -9). */
function start(args: string[], oneProcess = false): { child: ChildProcess; exited: Promise<number | string> } {
  const argv = ['matrix', '--results', dir, ...args];
  const child = oneProcess
    ? spawn(process.execPath, ['--import', 'tsx', CLI, ...argv], { cwd: ROOT, detached: true, stdio: 'ignore' })
    : spawn(TSX, [CLI, ...argv], { cwd: ROOT, detached: true, stdio: 'ignore' });
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? '?')));
  return { child, exited };
}

const runDir = () => path.join(dir, readdirSync(dir).find((d) => d !== 'latest') ?? 'none');
const results = (): RunResults => JSON.parse(readFileSync(path.join(runDir(), 'results.json'), 'utf8'));

/** Finished cells the guests have written so far, over every boot of the run. */
function guestCells(): number {
  const boots = path.join(runDir(), 'boots');
  if (!existsSync(boots)) return 0;
  return readdirSync(boots).reduce((n, b) => {
    const f = path.join(boots, b, 'guest', 'guest-results.jsonl');
    return n + (existsSync(f) ? readFileSync(f, 'utf8').split('"type":"cell",').length - 1 : 0);
  }, 0);
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Live processes (not zombies) whose command line names the run's directory: vng, QEMU. */
function leftovers(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmd.includes(dir) && state !== 'Z' && !cmd.includes('vitest'))
        out.push(`${pid} ${cmd.replace(/\0/g, ' ').slice(0, 120)}`);
    } catch {}
  }
  return out;
}

async function interrupt(stage: { child: ChildProcess; exited: Promise<number | string> }, send: () => void) {
  // the detector sees the running VM (so "nothing left" below means something)
  expect(leftovers().some((p) => /qemu-system/.test(p))).toBe(true);
  const t = Date.now();
  send();
  const code = await stage.exited;
  const exitMs = Date.now() - t;
  console.log(`exit ${code} ${exitMs} ms after the signal`);
  return { code, exitMs };
}

describe('interrupted runs', () => {
  const args = ['--scenario-dir', 'test/fixtures/scenarios', '--scenario', 'fault-slow'];
  let cellsAtSigint = 0;

  test('Ctrl-C (SIGINT to the process group): exits in seconds, no VM left, finished cells saved and reported', async () => {
    const s = start(args);
    await until('two finished cells', () => guestCells() >= 2, 300_000);
    const { code, exitMs } = await interrupt(s, () => process.kill(-(s.child.pid ?? 0), 'SIGINT'));
    expect(code).toBe(130);
    expect(exitMs).toBeLessThan(10_000);
    expect(leftovers()).toEqual([]);
    const r = results();
    expect(r.interrupted).toMatch(/^SIGINT/);
    cellsAtSigint = guestCells();
    expect(r.cells.length).toBe(cellsAtSigint);
    expect(r.cells.every((c) => c.verdict === 'match')).toBe(true);
    expect(r.pendingCells).toBe(CELLS - cellsAtSigint);
    expect(readFileSync(path.join(runDir(), 'report.md'), 'utf8')).toContain(`--resume ${r.runId}`);
  }, 400_000);

  test('--resume, then SIGTERM to the harness alone: same guarantees', async () => {
    const s = start(['--resume', results().runId]);
    await until('one more finished cell', () => guestCells() >= cellsAtSigint + 1, 300_000);
    const { code, exitMs } = await interrupt(s, () => process.kill(s.child.pid ?? 0, 'SIGTERM'));
    expect(code).toBe(143);
    expect(exitMs).toBeLessThan(10_000);
    expect(leftovers()).toEqual([]);
    const r = results();
    expect(r.interrupted).toMatch(/^SIGTERM/);
    expect(r.cells.length).toBe(guestCells());
  }, 400_000);

  test('--resume, then kill -9 of the harness: the VM dies with it, results.json stays whole', async () => {
    const before = guestCells();
    const s = start(['--resume', results().runId], true);
    await until('one more finished cell', () => guestCells() >= before + 1, 300_000);
    const { code } = await interrupt(s, () => process.kill(s.child.pid ?? 0, 'SIGKILL'));
    expect(code).toBe('SIGKILL');
    await until('no VM left', () => leftovers().length === 0, 15_000);
    // the killed harness saved nothing after its boot started; the guest's own file has the cells
    const r = results();
    expect(r.cells.length).toBe(before);
    expect(guestCells()).toBeGreaterThan(before);
  }, 400_000);

  test('--resume finishes the run without running a finished cell again', async () => {
    const s = start(['--resume', results().runId]);
    expect(await s.exited).toBe(0);
    const r = results();
    expect(r.finishedAt).not.toBeNull();
    expect(r.interrupted).toBeUndefined();
    expect(r.cells).toHaveLength(CELLS);
    expect(r.cells.every((c) => c.verdict === 'match')).toBe(true);
    // one attempt per cell, over four boots; the cells of the killed boot were salvaged from its guest file
    expect(r.attempts?.map((a) => a.cellId).sort()).toEqual(r.cells.map((c) => c.id).sort());
    expect(new Set(r.cells.map((c) => c.boot)).size).toBe(4);
    expect(guestCells()).toBe(CELLS);
    expect(leftovers()).toEqual([]);
  }, 400_000);
});

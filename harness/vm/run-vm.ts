// Runs one VM: spawn vng in its own process group with the console going to a log file,
// watch for the boot (the guest agent's first line) and the whole-run deadline, and kill the
// whole group on timeout, Ctrl-C or harness exit. vng's exit code is recorded, never trusted.
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { kvmDeathIn } from './accel.js';
import { liveGroupMembers } from './process-group.js';
import { type VmOptions, vngArgv } from './vng-argv.js';

export interface VmRun {
  argv: string[];
  /** Leader of the VM's process group (timeout → vng → virtme-run → qemu). */
  pgid: number;
  exitCode: number | null;
  signal: string | null;
  /** accel-failed: the console said KVM could not run the guest (see `accelDeath`). */
  ended: 'exited' | 'boot-timeout' | 'run-timeout' | 'agent-stalled' | 'interrupted' | 'accel-failed';
  accelDeath?: string;
  wallMs: number;
  bootMs: number | null;
  /** The uid QEMU ran as after dropping root, if it did. */
  qemuUser?: VmOptions['qemuUser'];
}

const liveGroups = new Set<number>();
/** Called (synchronously) after the VMs are killed on Ctrl-C/SIGTERM, before the harness exits. */
const interruptHooks = new Set<(sig: NodeJS.Signals) => void>();

/** Registers what must be saved when the run is interrupted; returns the unregister function. */
export function onInterrupt(fn: (sig: NodeJS.Signals) => void): () => void {
  interruptHooks.add(fn);
  rearm();
  return () => {
    interruptHooks.delete(fn);
    rearm();
  };
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  // pid 0 would be the harness's own process group (a spawn that failed has no pid)
  if (pgid <= 0) return;
  try {
    process.kill(-pgid, signal);
  } catch {}
}

// While a VM runs, Ctrl-C, SIGTERM, SIGHUP or the harness exiting kill every VM group first,
// then the run saves what finished. Without either, the process keeps default behaviour.
function onSignal(sig: NodeJS.Signals): void {
  for (const g of liveGroups) killGroup(g, 'SIGKILL');
  process.stderr.write(`\ncapmatrix: ${sig}: killed ${liveGroups.size} VM process group(s)\n`);
  for (const hook of interruptHooks) {
    try {
      hook(sig);
    } catch (e) {
      process.stderr.write(`capmatrix: saving after ${sig} failed: ${(e as Error).message}\n`);
    }
  }
  process.exit(sig === 'SIGINT' ? 130 : 143);
}
function onExit(): void {
  for (const g of liveGroups) killGroup(g, 'SIGKILL');
}
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

// The handlers exist while a VM runs or a run has something to save.
let armed = false;
function rearm(): void {
  const want = liveGroups.size > 0 || interruptHooks.size > 0;
  if (want === armed) return;
  armed = want;
  if (want) {
    process.on('exit', onExit);
    for (const s of SIGNALS) process.on(s, onSignal);
  } else {
    process.off('exit', onExit);
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

function track(pgid: number): void {
  liveGroups.add(pgid);
  rearm();
}

function untrack(pgid: number): void {
  liveGroups.delete(pgid);
  rearm();
}

/** Waits until no member of the group is running; complains if one outlives the wait. */
async function waitGroupGone(pgid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (liveGroupMembers(pgid).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const left = liveGroupMembers(pgid);
  if (left.length) process.stderr.write(`capmatrix: still running after SIGKILL: ${JSON.stringify(left)}\n`);
}

export interface RunVmOptions extends VmOptions {
  consoleLog: string;
  bootTimeoutSec: number;
  /** Polled: has the guest agent written its first line? */
  booted: () => boolean;
  /** Polled: has the guest agent written its end marker? */
  finished: () => boolean;
  /** Polled: has the agent, once started, gone silent (no heartbeat) for too long? */
  stalled: () => boolean;
}

/** Reads what a growing file gained since the last call (with a little overlap, so a line
 * split across two reads is still seen whole). A file that shrank was rewritten from its start
 * (vng's QEMU can do that to the console): it is read again from there. */
function fileTail(file: string): () => string {
  let offset = 0;
  const buf = Buffer.alloc(64 * 1024);
  return () => {
    const fd = openSync(file, 'r');
    try {
      if (fstatSync(fd).size < offset) offset = 0;
      let text = '';
      for (let n = readSync(fd, buf, 0, buf.length, offset); n > 0; n = readSync(fd, buf, 0, buf.length, offset)) {
        text += buf.subarray(0, n).toString('latin1');
        offset += n;
      }
      offset = Math.max(0, offset - 200);
      return text;
    } finally {
      closeSync(fd);
    }
  };
}

/** What the watchdog saw of a VM; the VM's end reads it. */
interface Watched {
  ended: VmRun['ended'];
  bootMs: number | null;
  accelDeath?: string;
}

/**
 * Every 250 ms: notes when the guest booted, and stops the VM on a KVM death in its console, the
 * boot or run deadline, an agent gone silent, or a guest that does not power off after the agent
 * is done. Returns the timer, for the VM's end to clear.
 */
function startWatchdog(o: RunVmOptions, started: number, seen: Watched, pgid: number): NodeJS.Timeout {
  let finishedAt: number | null = null;
  // A guest KVM cannot run is paused by QEMU, not ended: only its console tells.
  const consoleNews = o.accel === 'kvm' ? fileTail(o.consoleLog) : null;
  const stop = (why: VmRun['ended']) => {
    seen.ended = why;
    killGroup(pgid, 'SIGTERM');
    setTimeout(() => killGroup(pgid, 'SIGKILL'), 3000).unref();
  };
  return setInterval(() => {
    const elapsed = (Date.now() - started) / 1000;
    if (seen.bootMs === null && o.booted()) seen.bootMs = Date.now() - started;
    if (seen.accelDeath) return; // being stopped already
    const death = consoleNews && kvmDeathIn(consoleNews());
    if (death) {
      seen.accelDeath = death;
      return stop('accel-failed');
    }
    if (seen.bootMs === null && elapsed > o.bootTimeoutSec) return stop('boot-timeout');
    if (elapsed > o.deadlineSec) return stop('run-timeout');
    if (finishedAt === null && o.stalled()) return stop('agent-stalled');
    // The agent is done but the guest does not power off: give it 20 s, then end it.
    if (finishedAt === null && o.finished()) finishedAt = Date.now();
    if (finishedAt !== null && Date.now() - finishedAt > 20_000) stop('exited');
  }, 250);
}

export function runVm(o: RunVmOptions): Promise<VmRun> {
  const argv = vngArgv(o);
  const log = openSync(o.consoleLog, 'a');
  const started = Date.now();
  // detached: a new process group, so one kill reaches vng, virtme-run and qemu.
  const child = spawn(argv[0] ?? 'timeout', argv.slice(1), { stdio: ['ignore', log, log], detached: true });
  const pgid = child.pid ?? 0;
  if (pgid) track(pgid);
  const seen: Watched = { ended: 'exited', bootMs: null };
  const watchdog = startWatchdog(o, started, seen, pgid);

  let logOpen = true;
  const closeLog = () => {
    if (logOpen) closeSync(log);
    logOpen = false;
  };
  return new Promise((resolve) => {
    child.on('close', async (code, signal) => {
      clearInterval(watchdog);
      killGroup(pgid, 'SIGKILL'); // anything left in the group (a stray qemu) goes too
      if (pgid) await waitGroupGone(pgid, 5000);
      untrack(pgid);
      closeLog();
      // QEMU may abort (a KVM error it cannot go on from) before the watchdog read the console:
      // the whole console, once, wherever in it QEMU wrote
      const lateDeath = !seen.accelDeath && o.accel === 'kvm' ? kvmDeathIn(readFileSync(o.consoleLog, 'latin1')) : null;
      if (lateDeath) {
        seen.accelDeath = lateDeath;
        seen.ended = 'accel-failed';
      }
      if (seen.bootMs === null && o.booted()) seen.bootMs = Date.now() - started;
      const wallMs = Date.now() - started;
      const qemuUser = o.qemuUser;
      resolve({
        argv,
        pgid,
        exitCode: code,
        signal,
        ended: seen.ended,
        wallMs,
        bootMs: seen.bootMs,
        qemuUser,
        ...(seen.accelDeath ? { accelDeath: seen.accelDeath } : {}),
      });
    });
    child.on('error', (e) => {
      clearInterval(watchdog);
      untrack(pgid);
      closeLog();
      resolve({
        argv,
        pgid,
        exitCode: null,
        signal: `spawn error: ${e.message}`,
        ended: seen.ended,
        wallMs: Date.now() - started,
        bootMs: seen.bootMs,
      });
    });
  });
}

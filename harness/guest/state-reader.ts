// The guest's global state as one long-lived helper of our own reads it (bpf-src/state_watch,
// static C): every readable sysctl under kernel., net.core., vm. and user., the mount table,
// modules, processes, lo (link, addresses, routes, qdiscs), every BPF program, map and link, and
// the programs attached to the cgroups the agent watches. Asked with one line, it answers with
// the parts that changed since its last answer; node keeps the rest. Under TCG an exec per
// question costs tens of milliseconds and node's reads of ~240 files hundreds; this is one
// round trip. No fallback: without an answer there is no fingerprint, and the caller says so.
//
// The round trip goes through two FIFOs the helper makes in a directory only root can enter,
// opened blocking: the agent writes its question and waits in read(2), so the helper runs at
// once and the answer wakes the agent directly (under TCG node's event loop and streams cost
// about 3 ms a round trip more). A blocked read cannot time out, so a watchdog thread kills a
// helper that has not answered within ANSWER_TIMEOUT_MS (a cell may stop it), which ends the read.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PATH_ENV } from './proc.js';

/** The helper beside the samples: the agent runs as harness/guest/build/agent.mjs. */
export const STATE_HELPER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../bpf-src/build/state_watch',
);

/** What the helper answered: the sysctls, and each other part's lines. */
export interface StateNow {
  sysctls: Map<string, string>;
  parts: Map<string, string[]>;
}

const ANSWER_TIMEOUT_MS = 5000;
const READY_TIMEOUT_MS = 30_000;

/** The watchdog's shared words: [asking (0/1), question number, killed it (0/1)]. */
const ASKING = 0;
const QUESTION = 1;
const KILLED = 2;

/** The watchdog thread: looks twice a second; a question unanswered for longer than the limit
 * gets the helper SIGKILLed (its FIFO's writer closes, and the agent's read returns). */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const words = new Int32Array(workerData.shared);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let seen = -1;
let since = 0;
for (;;) {
  Atomics.wait(sleeper, 0, 0, 500);
  if (!Atomics.load(words, ${ASKING})) { seen = -1; continue; }
  const question = Atomics.load(words, ${QUESTION});
  if (question !== seen) { seen = question; since = Date.now(); continue; }
  if (Date.now() - since > workerData.limitMs) {
    Atomics.store(words, ${KILLED}, 1);
    try { process.kill(workerData.pid, 'SIGKILL'); } catch {}
    break;
  }
}`;

/** An answer's lines: "@part" starts a part, an empty line ends the answer. */
function parseAnswer(text: string): { sysctls: [string, string][]; parts: Map<string, string[]> } {
  const sysctls: [string, string][] = [];
  const parts = new Map<string, string[]>();
  let at: string | null = null;
  for (const line of text.split('\n')) {
    if (line === '') break;
    if (line.startsWith('@')) {
      at = line.slice(1);
      if (at !== 'sysctl') parts.set(at, []);
    } else if (at === 'sysctl') {
      const tab = line.indexOf('\t');
      sysctls.push([line.slice(0, tab), line.slice(tab + 1)]);
    } else if (at) parts.get(at)?.push(line);
  }
  return { sysctls, parts };
}

export class StateReader {
  // replaced, never changed in place, when an answer changes them: a fingerprint keeps the maps
  // it was given, and an unchanged part is the same object in the next one (fingerprint.ts
  // compares those by identity)
  private sysctls = new Map<string, string>();
  private parts = new Map<string, string[]>();
  private question = -1;
  private answer = -1;
  private readonly buffer = Buffer.alloc(1 << 20);
  private readonly words = new Int32Array(new SharedArrayBuffer(12));
  private helperPid: number | undefined;
  /** Why the helper cannot answer (it was never there, it died, it hung), or null. */
  broken: string | null = null;

  /** Starts the helper over FIFOs in `fifoDir` (a directory only root can enter). */
  static async start(proc: string, excludedSysctls: string[], cgroups: string[], fifoDir: string) {
    const reader = new StateReader();
    if (!fs.existsSync(STATE_HELPER)) {
      reader.broken = `${STATE_HELPER} is missing (bpf-src was not built)`;
      return reader;
    }
    const args = [
      '-f',
      fifoDir,
      ...cgroups.flatMap((c) => ['-c', c]),
      ...excludedSysctls.flatMap((x) => ['-x', x]),
      proc,
    ];
    const helper = spawn(STATE_HELPER, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: PATH_ENV } });
    reader.helperPid = helper.pid;
    const why = await helperReady(helper);
    if (why) {
      helper.kill('SIGKILL');
      reader.broken = why;
      return reader;
    }
    // the helper waits in its own opens of the same FIFOs: these meet it at once
    reader.question = fs.openSync(path.join(fifoDir, 'question'), 'w');
    reader.answer = fs.openSync(path.join(fifoDir, 'answer'), 'r');
    const watchdog = new Worker(WATCHDOG, {
      eval: true,
      workerData: { shared: reader.words.buffer, pid: helper.pid, limitMs: ANSWER_TIMEOUT_MS },
    });
    watchdog.unref();
    helper.unref();
    return reader;
  }

  get pid(): number | undefined {
    return this.helperPid;
  }

  /** One question, its whole answer (up to the empty line), or null with `broken` set. */
  private ask(line: string): string | null {
    if (this.broken) return null;
    Atomics.add(this.words, QUESTION, 1);
    Atomics.store(this.words, ASKING, 1);
    try {
      fs.writeSync(this.question, `${line}\n`);
      let text = '';
      while (!text.endsWith('\n\n')) {
        const n = fs.readSync(this.answer, this.buffer, 0, this.buffer.length, null);
        if (n === 0) throw new Error('the state helper exited');
        text += this.buffer.toString('utf8', 0, n);
      }
      return text;
    } catch (e) {
      this.broken = Atomics.load(this.words, KILLED)
        ? `the state helper did not answer within ${ANSWER_TIMEOUT_MS} ms`
        : (e as Error).message;
      return null;
    } finally {
      Atomics.store(this.words, ASKING, 0);
    }
  }

  /** The state now; null when the helper cannot answer (`broken` says why). `detach`: first
   * detach that program from that cgroup ("DIR ATTACH_TYPE PROG_ID"). */
  async read(detach?: string): Promise<StateNow | null> {
    const text = this.ask(detach ? `detach ${detach}` : '');
    if (text === null) return null;
    const a = parseAnswer(text);
    if (a.sysctls.length) this.sysctls = new Map([...this.sysctls, ...a.sysctls]);
    if (a.parts.size) this.parts = new Map([...this.parts, ...a.parts]);
    return { sysctls: this.sysctls, parts: this.parts };
  }

  close(): void {
    if (this.question >= 0) fs.closeSync(this.question);
    this.question = -1;
    this.broken ??= 'closed';
  }
}

/** Waits for the helper's "ready" (its FIFOs exist); the reason it never came, or null. */
function helperReady(helper: ReturnType<typeof spawn>): Promise<string | null> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    const done = (why: string | null) => {
      clearTimeout(timer);
      helper.stdout?.removeAllListeners('data');
      helper.stderr?.removeAllListeners('data');
      helper.stderr?.resume(); // what it says later is dropped, never kept piling up
      helper.removeAllListeners('exit');
      helper.removeAllListeners('error');
      resolve(why);
    };
    const timer = setTimeout(
      () => done(`the state helper was not ready within ${READY_TIMEOUT_MS} ms`),
      READY_TIMEOUT_MS,
    );
    helper.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) done(null);
    });
    helper.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    helper.on('error', (e) => done(`the state helper: ${e.message}`));
    helper.on('exit', (code, signal) => done(`the state helper exited (${signal ?? code}): ${err.trim()}`));
  });
}

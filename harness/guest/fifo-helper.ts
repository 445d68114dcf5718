// A long-lived helper of our own (static C) asked over two FIFOs it makes in a directory only
// root can enter, opened blocking: the agent writes its question and waits in read(2), so the
// helper runs at once and the answer wakes the agent directly (under TCG node's event loop and
// streams cost about 3 ms a round trip more). An answer ends with an empty line. A blocked read
// cannot time out, so a watchdog thread kills a helper that has not answered within
// ANSWER_TIMEOUT_MS (a cell may stop it), which ends the read. The state helper
// (state-reader.ts) and the capability recorder (cap-watch.ts) are asked this way.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PATH_ENV } from './proc.js';

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

export class FifoHelper {
  private question = -1;
  private answer = -1;
  private readonly buffer = Buffer.alloc(1 << 20);
  private readonly words = new Int32Array(new SharedArrayBuffer(12));
  private helperPid: number | undefined;
  /** Why the helper cannot answer (it was never there, it died, it hung), or null. */
  broken: string | null = null;

  private constructor(private readonly name: string) {}

  /** Starts `file` with `-f fifoDir` before `args`; it prints "ready" on stdout once its FIFOs
   * exist (or exits, saying why on stderr). `name` says which helper in messages. */
  static async start(name: string, file: string, args: string[], fifoDir: string): Promise<FifoHelper> {
    const h = new FifoHelper(name);
    if (!fs.existsSync(file)) {
      h.broken = `${file} is missing (bpf-src was not built)`;
      return h;
    }
    const helper = spawn(file, ['-f', fifoDir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: PATH_ENV },
    });
    h.helperPid = helper.pid;
    const why = await helperReady(name, helper);
    if (why) {
      helper.kill('SIGKILL');
      h.broken = why;
      return h;
    }
    // the helper waits in its own opens of the same FIFOs: these meet it at once
    h.question = fs.openSync(path.join(fifoDir, 'question'), 'w');
    h.answer = fs.openSync(path.join(fifoDir, 'answer'), 'r');
    const watchdog = new Worker(WATCHDOG, {
      eval: true,
      workerData: { shared: h.words.buffer, pid: helper.pid, limitMs: ANSWER_TIMEOUT_MS },
    });
    watchdog.unref();
    helper.unref();
    return h;
  }

  get pid(): number | undefined {
    return this.helperPid;
  }

  /** One question, its whole answer (up to the empty line), or null with `broken` set. */
  ask(line: string): string | null {
    if (this.broken) return null;
    Atomics.add(this.words, QUESTION, 1);
    Atomics.store(this.words, ASKING, 1);
    try {
      fs.writeSync(this.question, `${line}\n`);
      let text = '';
      while (!text.endsWith('\n\n')) {
        const n = fs.readSync(this.answer, this.buffer, 0, this.buffer.length, null);
        if (n === 0) throw new Error(`the ${this.name} exited`);
        text += this.buffer.toString('utf8', 0, n);
      }
      return text;
    } catch (e) {
      this.broken = Atomics.load(this.words, KILLED)
        ? `the ${this.name} did not answer within ${ANSWER_TIMEOUT_MS} ms`
        : (e as Error).message;
      return null;
    } finally {
      Atomics.store(this.words, ASKING, 0);
    }
  }

  /** No more questions: the helper reads the end of its FIFO and exits. */
  close(): void {
    if (this.question >= 0) fs.closeSync(this.question);
    this.question = -1;
    this.broken ??= 'closed';
  }

  /** Kills the helper now (it can no longer be trusted). */
  kill(why: string): void {
    this.broken ??= why;
    try {
      if (this.helperPid) process.kill(this.helperPid, 'SIGKILL');
    } catch {}
  }
}

/** Waits for the helper's "ready" (its FIFOs exist); the reason it never came, or null. */
function helperReady(name: string, helper: ReturnType<typeof spawn>): Promise<string | null> {
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
    const timer = setTimeout(() => done(`the ${name} was not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    helper.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) done(null);
    });
    helper.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    helper.on('error', (e) => done(`the ${name}: ${e.message}`));
    helper.on('exit', (code, signal) => done(`the ${name} exited (${signal ?? code}): ${err.trim()}`));
  });
}

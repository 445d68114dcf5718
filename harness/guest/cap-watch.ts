// The capability checks a cell's processes made, in the kernel's own words: a recorder of our own
// (bpf-src/cap_watch, a kprobe and kretprobe on cap_capable) started once per boot by the agent,
// counting a cell's cgroup from the first exec in it (the sample's: what the launcher does before
// the exec is not counted) and asked after it. Each answer carries a canary: the helper
// made a check of its own just before and it was counted, so the probe is still attached (a root
// or CAP_SYS_ADMIN cell can detach or disable it: that cell is then not trusted and no other runs
// in this boot).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPABILITIES } from '../dsl/capabilities.js';
import { FifoHelper } from './fifo-helper.js';
import { procState } from './proc.js';
import type { CapCheck } from './protocol.js';

/** The recorder beside the samples: the agent runs as harness/guest/build/agent.mjs. */
export const CAP_WATCH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../bpf-src/build/cap_watch');

const FLAG_NOAUDIT = 0x2;
const FLAG_OTHER_NS = 0x100;
const FLAG_DENIED = 0x200;

/** What the recorder saw of one cell. */
export interface CapTake {
  /** In the order the kernel first made each, one entry per (capability, namespace, audit,
   * answer, stack). */
  checks: CapCheck[];
  /** Whether the sample's exec was seen (counting starts there). */
  execSeen: boolean;
}

/** The name of capability `n` as capabilities(7) spells it. */
const capName = (n: number): string => CAPABILITIES[n] ?? `CAP_${n}`;

/** Frames that say nothing of who asked: the LSM's dispatch to cap_capable, and the first text
 * symbol, which an address the unwinder could not place (a kprobe's own trampoline) reads as. */
const NOT_A_CALLER = new Set(['security_capable', '_stext', 'startup_64']);

/** One "check CAP FLAGS COUNT FIRST FRAME..." line. */
export function parseCheck(line: string): (CapCheck & { first: number }) | null {
  const [word, cap, flags, count, first, ...stack] = line.split(' ');
  if (word !== 'check' || cap === undefined || flags === undefined) return null;
  const f = Number(flags);
  return {
    cap: capName(Number(cap)),
    granted: !(f & FLAG_DENIED),
    ns: f & FLAG_OTHER_NS ? 'other' : 'initial',
    audit: !(f & FLAG_NOAUDIT),
    count: Number(count),
    stack: stack.filter((f) => !NOT_A_CALLER.has(f)),
    first: Number(first),
  };
}

/** Checks the recorder told apart by their return addresses but that read the same once
 * symbolised (two call sites in one function) are one; in the order first made. */
export function mergeChecks(checks: (CapCheck & { first: number })[]): CapCheck[] {
  const merged = new Map<string, CapCheck & { first: number }>();
  for (const c of checks) {
    const key = [c.cap, c.granted, c.ns, c.audit, ...c.stack].join(' ');
    const had = merged.get(key);
    if (had) {
      had.count += c.count;
      had.first = Math.min(had.first, c.first);
    } else merged.set(key, { ...c, stack: [...c.stack] });
  }
  return [...merged.values()].sort((a, b) => a.first - b.first).map(({ first: _f, ...c }) => c);
}

export class CapWatch {
  private constructor(private readonly helper: FifoHelper) {}

  /** Why no cell's checks can be recorded any more, or null. */
  get broken(): string | null {
    return this.helper.broken;
  }

  /** Starts the recorder (`file`: another build of it), its FIFOs in `fifoDir` (root's alone). */
  static async start(fifoDir: string, file = CAP_WATCH): Promise<CapWatch> {
    return new CapWatch(await FifoHelper.start('capability recorder', file, [], fifoDir));
  }

  /** Counts the checks of cgroup `id` from the exec of a program named `comm` on, not from the
   * first exec in it (a user's loader under strace and setpriv). */
  arm(id: bigint, comm: string): void {
    const answer = this.helper.ask(`arm ${id} ${comm.slice(0, 15)}`);
    if (answer !== null && answer !== `armed ${id}\n\n`)
      this.distrust(`the capability recorder answered "${answer.trim()}" to arm`);
  }

  /** The checks of cgroup `id`, forgotten by the recorder once read. */
  take(id: bigint): CapTake {
    const checks: (CapCheck & { first: number })[] = [];
    let execSeen = false;
    let canary = false;
    for (const line of (this.helper.ask(`take ${id}`) ?? '').split('\n')) {
      const check = parseCheck(line);
      if (check) checks.push(check);
      else if (line.startsWith('exec ')) execSeen = line === 'exec 1';
      else if (line.startsWith('canary ')) canary = line === 'canary ok';
    }
    if (!this.broken && !canary)
      this.distrust('the capability recorder no longer counts checks (its canary was not seen)');
    return { checks: mergeChecks(checks), execSeen };
  }

  /** Why the recorder can no longer be trusted, or null: gone, stopped or traced. */
  check(): string | null {
    const state = this.helper.pid ? procState(this.helper.pid) : null;
    if (!this.broken && (state === null || 'ZXTt'.includes(state)))
      this.distrust(`the capability recorder is no longer running (state ${state ?? 'gone'})`);
    return this.broken;
  }

  /** Something seen says the recorder missed what it should have counted: it is killed, and no
   * cell after this one is counted by it. */
  distrust(why: string): void {
    this.helper.kill(why);
  }

  close(): void {
    this.helper.close();
  }
}

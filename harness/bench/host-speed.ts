// How fast this host is while the bench runs: the same fixed CPU loop, timed in one process alone
// and in one process per core at once. Under TCG a guest's time is host CPU time, and the hosts
// here are shared: their speed moves between runs, and their cores can be hyperthreads of one
// another, so two VMs at once do not get twice one VM's speed. The figures go beside each repeat's
// wall times, so entries of different days can be compared.
import { spawn } from 'node:child_process';
import os from 'node:os';

/** ~1.4 s of one core on the machine of BENCHMARKS.md at 3e8; the loop's result is printed so
 * the JIT cannot drop it. */
const loop = (iterations: number) =>
  `let x = 0; for (let i = 0; i < ${iterations}; i++) x = (x + i * 7) % 1000003; console.log(x);`;

export interface HostSpeed {
  /** The loop alone, median of the rounds (ms). */
  aloneMs: number;
  /** The loop in `parallel` processes at once: the median of each round's slowest (ms). */
  allCoresMs: number;
  parallel: number;
  /** How many loops the cores get through at once, against one alone (`parallel` would be ideal). */
  throughput: number;
}

/** One loop in its own node process: wall ms from spawn to exit. */
function loopOnce(iterations: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', loop(iterations)], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`the speed loop exited ${code}`)),
    );
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Three rounds alone, then three with a loop on every core. */
export async function measureHostSpeed(
  parallel = os.availableParallelism(),
  rounds = 3,
  iterations = 3e8,
): Promise<HostSpeed> {
  const alone: number[] = [];
  for (let i = 0; i < rounds; i++) alone.push(await loopOnce(iterations));
  const together: number[] = [];
  for (let i = 0; i < rounds; i++)
    together.push(Math.max(...(await Promise.all(Array.from({ length: parallel }, () => loopOnce(iterations))))));
  const aloneMs = Math.round(median(alone));
  const allCoresMs = Math.round(median(together));
  return { aloneMs, allCoresMs, parallel, throughput: Math.round(((parallel * aloneMs) / allCoresMs) * 100) / 100 };
}

export const describeHostSpeed = (h: HostSpeed) =>
  `a fixed loop ${h.aloneMs} ms alone, ${h.allCoresMs} ms with one on each of ${h.parallel} cores (${h.throughput}× one core's work at once)`;

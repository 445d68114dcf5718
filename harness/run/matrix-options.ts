// `capmatrix matrix` flags → MatrixOptions. Every bad value is refused here, with the flag, the
// value and what is allowed, before a kernel is fetched or a VM started.
import path from 'node:path';
import { UsageError } from '../usage-error.js';
import type { MatrixOptions } from './matrix.js';

export interface MatrixCliOptions {
  kernel?: string;
  scenario?: string;
  scenarioDir?: string;
  cells?: string;
  results?: string;
  jobs?: string;
  repeat?: string;
  retries?: string;
  resume?: string;
  requireKvm?: boolean;
  memory?: string;
  kernelArg?: string[];
  updateExpected?: boolean;
}

// Control characters (newlines, NUL) have no place in any flag value.
function plain(flag: string, v: string): string {
  if (/\p{Cc}/u.test(v))
    throw new UsageError(`${flag}: ${JSON.stringify(v)} contains a control character (newline, tab, NUL…)`);
  return v;
}

function count(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a whole number from ${min} to ${max}`);
  return Number(v);
}

const ID = /^[a-z0-9][a-z0-9_.-]*$/;

export function matrixOptions(o: MatrixCliOptions): MatrixOptions {
  const kernel = o.kernel === undefined ? undefined : plain('--kernel', o.kernel);
  for (const id of kernel?.split(',') ?? []) {
    if (id.includes('/'))
      throw new UsageError(
        `--kernel: "${id}" is a path; --kernel takes kernel ids from kernels/catalog.json (capmatrix kernels list)`,
      );
    if (!ID.test(id.trim()))
      throw new UsageError(
        `--kernel: "${id}" is not a kernel id (lower-case letters, digits, _ . -; capmatrix kernels list)`,
      );
  }
  let cells: string | undefined;
  if (o.cells !== undefined) {
    cells = plain('--cells', o.cells);
    try {
      new RegExp(cells);
    } catch (e) {
      throw new UsageError(`--cells: ${JSON.stringify(cells)} is not a regular expression (${(e as Error).message})`);
    }
  }
  if (o.memory !== undefined && !/^\d+[KMGT]?$/.test(o.memory))
    throw new UsageError(`--memory: ${JSON.stringify(o.memory)} is not a size (a number with K, M, G or T, e.g. 1G)`);
  const kernelArgs = o.kernelArg?.map((a) => plain('--kernel-arg', a));
  for (const a of kernelArgs ?? []) {
    if (/\s/.test(a))
      throw new UsageError(`--kernel-arg: ${JSON.stringify(a)} holds a space; give one argument per --kernel-arg`);
  }
  const resume = o.resume === undefined ? undefined : plain('--resume', o.resume);
  if (resume !== undefined) {
    const clash = (['kernel', 'scenario', 'scenarioDir', 'cells', 'repeat', 'retries'] as const).filter(
      (k) => o[k] !== undefined,
    );
    if (clash.length)
      throw new UsageError(
        `--resume: the run keeps its own options; drop ${clash.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
      );
  }
  return {
    kernel,
    scenarios: o.scenario?.split(',').map((s) => plain('--scenario', s).trim()),
    // relative to where the user is, not to the repository
    scenarioDir: o.scenarioDir === undefined ? undefined : path.resolve(plain('--scenario-dir', o.scenarioDir)),
    cells,
    resultsDir: o.results === undefined ? undefined : plain('--results', o.results),
    jobs: count('--jobs', o.jobs, 1, 64),
    repeat: count('--repeat', o.repeat, 1, 100),
    retries: count('--retries', o.retries, 0, 10),
    resume,
    requireKvm: o.requireKvm,
    memory: o.memory,
    kernelArgs,
    updateExpected: o.updateExpected,
  };
}

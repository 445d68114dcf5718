// Runs a command line with the step's terminal; its exit code as a shell would report it.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import type { Spawnable } from './command-line.js';

export function runCommand(c: Spawnable, env: NodeJS.ProcessEnv): number {
  process.stdout.write(`capmatrix action: ${[c.file, ...c.args].map((a) => JSON.stringify(a)).join(' ')}\n`);
  const r = spawnSync(c.file, c.args, { stdio: 'inherit', env });
  if (r.error) {
    process.stderr.write(`capmatrix action: ${c.file}: ${r.error.message}\n`);
    return 127;
  }
  return r.signal ? 128 + (constants.signals[r.signal] ?? 0) : (r.status ?? 1);
}

#!/usr/bin/env node
// `capmatrix` as a command (`npx capmatrix expected`, …): harness/cli.ts through the project's tsx.
// Plain Node (it runs before anything is known to be installed). Signals go on to the child, so
// Ctrl-C or SIGTERM reach the harness (which kills its VMs and saves what finished), and a child
// that died of a signal exits 128+n, as a shell would report it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const child = spawn(
  path.join(root, 'node_modules', '.bin', 'tsx'),
  [path.join(root, 'harness', 'cli.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(sig, () => {
    child.kill(sig);
  });
}
child.on('error', (e) => {
  console.error(`capmatrix: ${e.message} (run npm ci first)`);
  process.exit(2);
});
child.on('exit', (code, signal) => {
  process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
});

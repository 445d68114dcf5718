#!/usr/bin/env node
// `capmatrix` as a command (`npx capmatrix minimize …`): harness/cli.ts under node with tsx's
// loader, a dependency of capmatrix (scenario files are TypeScript, the user's too, so a
// TypeScript loader is needed at run time anyway; one loader runs both). Plain Node. Signals go
// on to the child, so Ctrl-C or SIGTERM reach the harness (which kills its VMs and saves what
// finished), and a child that died of a signal exits 128+n, as a shell would report it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let loader;
try {
  loader = import.meta.resolve('tsx');
} catch (e) {
  console.error(`capmatrix: cannot find its dependency tsx (${e instanceof Error ? e.message : e}); run npm install`);
  process.exit(2);
}
const child = spawn(
  process.execPath,
  ['--import', loader, path.join(root, 'harness', 'cli.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(sig, () => {
    child.kill(sig);
  });
}
child.on('error', (e) => {
  console.error(`capmatrix: ${e.message}`);
  process.exit(2);
});
child.on('exit', (code, signal) => {
  process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
});

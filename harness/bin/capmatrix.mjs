#!/usr/bin/env node
// `capmatrix` as a command (`npx capmatrix expected`, …): harness/cli.ts through the project's tsx.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const r = spawnSync(
  path.join(root, 'node_modules', '.bin', 'tsx'),
  [path.join(root, 'harness', 'cli.ts'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
if (r.error) {
  console.error(`capmatrix: ${r.error.message} (run npm ci first)`);
  process.exit(2);
}
process.exit(r.status ?? 1);

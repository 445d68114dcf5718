// First step of `npm run matrix` and `npm test`, in plain Node because nothing is installed yet:
// install the npm packages from the lockfile when they are missing or stale, then hand over to
// `capmatrix setup` (system packages, samples, default kernel). Quick when all is there.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const lock = path.join(root, 'package-lock.json');
const stamp = path.join(root, 'node_modules', '.capmatrix-lock-sha256');

/** @param {string} cmd @param {string[]} args */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`capmatrix setup: \`${[cmd, ...args].join(' ')}\` failed (exit ${r.status ?? r.signal})`);
    process.exit(2);
  }
}

const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
if (want !== have) {
  console.error('capmatrix setup: installing npm packages from package-lock.json');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, `${want}\n`);
}
if (!process.argv.includes('--npm-only')) {
  const forTests = process.argv.includes('--for-tests') ? ['--for-tests'] : [];
  run(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'harness', 'cli.ts'), 'setup', ...forTests]);
}

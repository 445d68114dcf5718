// Which capmatrix the action runs: the project's own when it has it installed (the version its
// lockfile pins, and that its scenarios import), else the action's checkout (installed by the
// action's first step). The summary always uses the action's: it knows the summary's form.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const BIN = path.join('harness', 'bin', 'capmatrix.mjs');

/** The action's checkout: the composite action's GITHUB_ACTION_PATH. */
export function actionRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (!env.GITHUB_ACTION_PATH) throw new Error('GITHUB_ACTION_PATH is not set: not run as a step of the action');
  return env.GITHUB_ACTION_PATH;
}

export const actionBin = (env: NodeJS.ProcessEnv = process.env) => path.join(actionRoot(env), BIN);

/** The capmatrix package the run uses, seen from the project directory. */
export function capmatrixRoot(projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const installed = path.join(projectDir, 'node_modules', 'capmatrix');
  return existsSync(path.join(installed, BIN)) ? installed : actionRoot(env);
}

export const capmatrixBin = (root: string) => path.join(root, BIN);

/** The kernel cache's key: the catalog of the capmatrix that runs, and the kernels asked for. */
export function kernelCacheKey(root: string, kernels: string): string {
  const catalog = readFileSync(path.join(root, 'kernels', 'catalog.json'));
  return createHash('sha256').update(catalog).update(`\n${kernels}`).digest('hex').slice(0, 20);
}

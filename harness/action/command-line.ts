// The capmatrix command line the action runs, as an argument array (never a shell string), and
// the same under sudo: root installs capmatrix's system packages and builds the guest's view of
// the host; sudo keeps only the variables named, and PATH through `env` (sudo resets it).
import type { ActionInputs } from './inputs.js';

/** minimize with object or exec, else matrix over the project's scenarios. */
export function capmatrixArgs(i: ActionInputs, resultsDir: string): string[] {
  const kernel = i.kernels ? ['--kernel', i.kernels] : [];
  const results = ['--results', resultsDir];
  if (i.object)
    return [
      'minimize',
      '--object',
      i.object,
      ...i.programs.flatMap((p) => ['--program', p]),
      ...kernel,
      ...(i.emit ? ['--emit', i.emit] : []),
      ...results,
    ];
  const [loader, ...loaderArgs] = i.exec;
  if (loader)
    return [
      'minimize',
      '--exec',
      loader,
      ...kernel,
      ...(i.emit ? ['--emit', i.emit] : []),
      ...results,
      ...(loaderArgs.length ? ['--', ...loaderArgs] : []),
    ];
  return [
    'matrix',
    ...(i.scenarios ? ['--scenario', i.scenarios] : []),
    ...kernel,
    ...(i.requireKvm ? ['--require-kvm'] : []),
    ...results,
  ];
}

export interface Spawnable {
  file: string;
  args: string[];
}

/** `node <bin> args`, as root through sudo when asked, keeping the variables in `keep`. */
export function commandLine(
  bin: string,
  args: string[],
  o: { sudo: boolean; keep: string[]; path: string; node?: string },
): Spawnable {
  const node = o.node ?? process.execPath;
  if (!o.sudo) return { file: node, args: [bin, ...args] };
  return {
    file: 'sudo',
    args: [`--preserve-env=${o.keep.join(',')}`, 'env', `PATH=${o.path}`, node, bin, ...args],
  };
}

// The action's inputs as its steps get them: each `inputs.x` through the step's `env:` as
// INPUT_X (never pasted into a script), read here and checked before anything starts.
import { UsageError } from '../usage-error.js';

export interface ActionInputs {
  /** Your BPF object: `capmatrix minimize --object`. */
  object: string;
  /** With `object`: only these programs. */
  programs: string[];
  /** Your loader and its arguments: `capmatrix minimize --exec`. */
  exec: string[];
  /** Matrix mode: scenario names (default: every scenario of scenarios/). */
  scenarios: string;
  /** Kernel ids of capmatrix's catalog, comma-separated, or "all" (default: the default kernel). */
  kernels: string;
  /** minimize: deployment forms for each minimal set. */
  emit: string;
  requireKvm: boolean;
  /** Run capmatrix as root through sudo (it installs its system packages itself). */
  sudo: boolean;
  failOnMismatch: boolean;
}

/** A list input, comma-, space- or newline-separated. */
const words = (text = '') => text.split(/[\s,]+/).filter(Boolean);
/** A list input said the way capmatrix's flags take it: "a,b". */
const commaList = (text = '') => words(text).join(',');

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = (env[name] ?? '').trim().toLowerCase();
  if (!value) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`${inputName(name)}: "${env[name]}" is neither true nor false`);
}

/** INPUT_FAIL_ON_MISMATCH → fail-on-mismatch, as the user wrote it in `with:`. */
export const inputName = (env: string) =>
  env
    .replace(/^INPUT_/, '')
    .toLowerCase()
    .replace(/_/g, '-');

export function readInputs(env: NodeJS.ProcessEnv = process.env): ActionInputs {
  const inputs: ActionInputs = {
    object: (env.INPUT_OBJECT ?? '').trim(),
    programs: words(env.INPUT_PROGRAM),
    // the loader and its arguments, split on white space only: `--maps=a,b` stays one argument
    exec: (env.INPUT_EXEC ?? '').split(/\s+/).filter(Boolean),
    scenarios: commaList(env.INPUT_SCENARIOS),
    kernels: commaList(env.INPUT_KERNELS),
    emit: commaList(env.INPUT_EMIT),
    requireKvm: flag(env, 'INPUT_REQUIRE_KVM', true),
    sudo: flag(env, 'INPUT_SUDO', true),
    failOnMismatch: flag(env, 'INPUT_FAIL_ON_MISMATCH', true),
  };
  checkInputs(inputs);
  return inputs;
}

/** Inputs that contradict each other: said before anything starts. */
function checkInputs(i: ActionInputs): void {
  if (i.object && i.exec.length) throw new UsageError('object and exec: one or the other, not both');
  const minimize = Boolean(i.object || i.exec.length);
  if (i.programs.length && !i.object) throw new UsageError('program: only with object');
  if (!minimize && i.emit) throw new UsageError('emit: only with object or exec (minimize)');
  if (minimize && i.scenarios) throw new UsageError('scenarios: not with object or exec (those are minimize)');
}

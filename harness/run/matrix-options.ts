// `capmatrix matrix` flag values, each checked by commander as it parses (argParser): a bad one
// stops the command with the flag, the value and what is allowed, before a kernel is fetched or
// a VM started.
import path from 'node:path';
import { InvalidArgumentError } from '@commander-js/extra-typings';

// Control characters (newlines, NUL) have no place in any flag value.
function plain(v: string): string {
  if (/\p{Cc}/u.test(v))
    throw new InvalidArgumentError(`${JSON.stringify(v)} contains a control character (newline, tab, NUL…)`);
  return v;
}

/** A text flag: no control characters. */
export const text = (v: string) => plain(v);

/** A whole number from min to max. */
export function count(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number from ${min} to ${max}`);
    return Number(v);
  };
}

const ID = /^[a-z0-9][a-z0-9_.-]*$/;

/** Kernel ids from the catalog, comma-separated ("all" included). */
export function kernelIds(v: string): string {
  for (const id of plain(v).split(',')) {
    if (id.includes('/'))
      throw new InvalidArgumentError(
        `"${id}" is a path; --kernel takes kernel ids from kernels/catalog.json (capmatrix kernels list)`,
      );
    if (!ID.test(id.trim()))
      throw new InvalidArgumentError(
        `"${id}" is not a kernel id (lower-case letters, digits, _ . -; capmatrix kernels list)`,
      );
  }
  return v;
}

export const names = (v: string) =>
  plain(v)
    .split(',')
    .map((s) => s.trim());

/** A directory, relative to where the user is, not to the repository. */
export const directory = (v: string) => path.resolve(plain(v));

export function regex(v: string): string {
  try {
    new RegExp(plain(v));
  } catch (e) {
    throw new InvalidArgumentError(`${JSON.stringify(v)} is not a regular expression (${(e as Error).message})`);
  }
  return v;
}

export function size(v: string): string {
  if (!/^\d+[KMGT]?$/.test(v))
    throw new InvalidArgumentError(`${JSON.stringify(v)} is not a size (a number with K, M, G or T, e.g. 1G)`);
  return v;
}

/** One kernel command line argument per flag, collected. */
export function kernelArg(v: string, previous: string[] = []): string[] {
  if (/\s/.test(plain(v)))
    throw new InvalidArgumentError(`${JSON.stringify(v)} holds a space; give one argument per --kernel-arg`);
  return [...previous, v];
}

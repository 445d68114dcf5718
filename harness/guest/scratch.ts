// The agent's own scratch space (the syscall traces of users' loaders): a tmpfs instance of its
// own, root's alone, so a cell that fills /tmp (an overlay whose upper directory shares /run's
// tmpfs) cannot empty a later loader's trace, and an unprivileged cell cannot read it.
import fs from 'node:fs';
import { runAsRoot } from './commands.js';

export const SCRATCH_DIR = '/run/capmatrix-agent';

/** Mounts it; returns why it could not be, or null. */
export function mountScratch(): string | null {
  fs.mkdirSync(SCRATCH_DIR, { recursive: true, mode: 0o700 });
  const r = runAsRoot('mount', [
    '-t',
    'tmpfs',
    '-o',
    'mode=0700,size=256m,nosuid,nodev',
    'capmatrix-agent',
    SCRATCH_DIR,
  ]);
  return r.ok ? null : `the agent's scratch tmpfs could not be mounted on ${SCRATCH_DIR}: ${r.out}`;
}

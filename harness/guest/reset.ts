// The cell's own uid, reset before anything else is checked: processes of the unprivileged uid
// anywhere (one that moved itself out of its cgroup included) are killed. The state helper finds
// and kills them (bpf-src/state_watch, through the agent's own procfs): one round trip, where
// node's stat of every /proc entry cost ~6 ms a cell under TCG. The rest of what a cell may leave
// (lo, XDP and tc programs, BPF objects, sysctls, mounts, root processes, modules) is the
// fingerprint's (fingerprint.ts, state-watch.ts): found, named, undone or the boot's end.
import { UNPRIVILEGED_UID } from '../dsl/capabilities.js';
import type { StateReader } from './state-reader.js';

/** Kills what a cell left running as the unprivileged uid: what had to be cleaned (empty: it was
 * clean), and `fatal` when it cannot be known (no helper): no later cell may run. */
export function resetState(reader: StateReader | null): { problems: string[]; fatal: string | null } {
  const reaped = reader?.reap(UNPRIVILEGED_UID) ?? null;
  if (reaped === null) {
    const why = `the processes of uid ${UNPRIVILEGED_UID} could not be reset: ${reader?.broken ?? 'no state helper'}`;
    return { problems: [why], fatal: why };
  }
  if ('error' in reaped) {
    const why = `the processes of uid ${UNPRIVILEGED_UID} could not be reset: ${reaped.error}`;
    return { problems: [why], fatal: why };
  }
  const stray = reaped.pids;
  return {
    problems: stray.length
      ? [`processes of uid ${UNPRIVILEGED_UID} outside the cell's cgroup: ${stray.join(', ')} (killed)`]
      : [],
    fatal: null,
  };
}

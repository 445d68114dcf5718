// A kernel's minimize.json as the tests need it, without a boot.
import type { FormCheck, MinimizeResult } from '../harness/run/minimize-result.js';

const OK: FormCheck = { ok: true, outcome: 'ok', detail: '', cell: 'x/unit:BPF/default' };
const REFUSED: FormCheck = {
  ok: false,
  outcome: 'EPERM@prog_load',
  detail: 'refused',
  cell: 'x/unit:SYS_ADMIN/default',
};

/** The unit's run a set gets by default: refused for CAP_SYS_ADMIN on debian-6.12, else ok. */
const defaultUnit = (id: string) => (caps: string[]) =>
  caps.includes('CAP_SYS_ADMIN') && id === 'debian-6.12' ? REFUSED : OK;

/** A kernel's answer to `--object prog.bpf.o --emit systemd`: its sets, each with its unit's run
 * (`unit` gives it; null: no form checked). */
export function minimizeResult(
  id: string,
  release: string,
  sets: string[][],
  unit: ((caps: string[]) => FormCheck) | null = defaultUnit(id),
): MinimizeResult {
  return {
    runDir: `/tmp/m/${id}`,
    dimension: 'caps',
    kernel: { id, release },
    sample: 'your-loader',
    object: 'prog.bpf.o',
    universe: ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'],
    emit: ['systemd'],
    searches: [
      {
        kind: 'asked',
        scenario: 'object-xdp',
        sysctl: {},
        minimal: sets.map((caps) => ({
          caps,
          shortfalls: [],
          ...(unit ? { checks: { file: OK, unit: unit(caps) } } : {}),
        })),
        ...(sets.length ? {} : { withAll: { outcome: 'EPERM@prog_load', detail: '' } }),
        violations: [],
        runs: 5,
        skippedByChecks: 0,
        bruteForce: 8,
      },
    ],
    bootMs: 9000,
    wallMs: 30_000,
  };
}

// A scenario from the command line (`capmatrix minimize --object ./prog.bpf.o`,
// `--exec ./mytool -- args`): no file, one unprivileged cell to start the search from, and no
// expectation but that it should work.
import path from 'node:path';
import { BPF_SRC_DIR } from '../paths.js';
import { expandScenario } from './expand.js';
import type { LoadedScenario } from './load.js';
import type { Scenario } from './scenario.js';
import { validateScenario } from './validate.js';

/** What the command line can say about the program: the scenario's own fields. */
export type AdhocProgram = Pick<Scenario, 'object' | 'exec' | 'programs' | 'loadOnly' | 'socket' | 'iface' | 'uprobe'>;

const WHERE = 'the command line';

export function adhocScenario(p: AdhocProgram, projectDir: string): LoadedScenario {
  const target = p.object ?? p.exec?.[0] ?? '';
  const base = path
    .basename(target)
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-');
  const data: Scenario = {
    name: `${p.object ? 'object' : 'exec'}-${base.replace(/^[^a-z0-9]+/, '') || 'program'}`,
    ...(p.object ? { object: p.object } : { exec: p.exec ?? [] }),
    ...(p.programs?.length ? { programs: p.programs } : {}),
    ...(p.loadOnly?.length ? { loadOnly: p.loadOnly } : {}),
    ...(p.socket ? { socket: p.socket } : {}),
    ...(p.iface ? { iface: p.iface } : {}),
    ...(p.uprobe ? { uprobe: p.uprobe } : {}),
    axes: { caps: [[]], sysctl: {} },
    expect: [{ outcome: 'ok', reason: 'minimize: the sets under which it works are what is searched' }],
  };
  const scenario = validateScenario(data, WHERE, BPF_SRC_DIR, projectDir);
  return { file: WHERE, scenario, cells: expandScenario(scenario, WHERE) };
}

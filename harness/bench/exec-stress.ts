// `npm run stress:exec`: the exec cell's capability check under load, not a timed test. Four
// users' loaders (four programs, so four boots at once on this machine's cores) each run
// `--repeat` times; every run must have been held at its exec and checked (a miss is a
// caps-not-applied "was not seen at its exec"). Prints the counts; exits 1 on any miss.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { runMatrix } from '../run/matrix.js';

const program = new Command('exec-stress')
  .option('--programs <n>', 'loaders, each in a boot of its own, all at once', '4')
  .option('--repeat <n>', 'runs of each loader', '50')
  .parse();
const o = program.opts<{ programs: string; repeat: string }>();
const programs = Number(o.programs);

const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-exec-stress-'));
const scenarioDir = path.join(dir, 'scenarios');
mkdirSync(scenarioDir);
for (let i = 1; i <= programs; i++) {
  // grep reads its own status: the loader, a child that execs (sh -c … | …) is held and released too
  writeFileSync(
    path.join(scenarioDir, `stress-${i}.ts`),
    `export default {
  exec: ['/bin/sh', '-c', 'grep CapEff /proc/self/status | cat'],
  okWhen: { stdout: 'CapEff' },
  axes: { caps: [['CAP_BPF', 'CAP_PERFMON']], sysctl: {} },
  expect: [{ outcome: 'ok', reason: 'sh and grep read their own status' }],
};
`,
  );
}

const started = Date.now();
const { results, runDir } = await runMatrix({
  scenarioDir,
  repeat: Number(o.repeat),
  retries: 0,
  jobs: programs,
  resultsDir: path.join(dir, 'results'),
  log: (m) => process.stderr.write(`${m}\n`),
});
const attempts = results.attempts ?? [];
const missed = attempts.filter((a) => /not seen at its exec/.test(a.infraError ?? ''));
const other = attempts.filter((a) => !a.observed && !missed.includes(a));
const ok = attempts.filter((a) => a.observed?.outcome === 'ok');
process.stdout.write(
  `${attempts.length} exec cells in ${results.provenance.boots.length} boots (${programs} at once on ${os.cpus().length} cores), ${((Date.now() - started) / 1000).toFixed(0)} s: ${ok.length} ok, ${missed.length} missed at exec, ${other.length} other infra errors${other.length ? ` (${[...new Set(other.map((a) => a.infraKind))].join(', ')})` : ''}\nresults: ${runDir}\n`,
);
process.exitCode = missed.length || other.length || ok.length !== attempts.length ? 1 : 0;

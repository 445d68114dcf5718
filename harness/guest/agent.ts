// capmatrix guest agent: runs once per boot, as root, inside the VM, bundled into one file
// (harness/guest/build/agent.mjs, by `capmatrix setup`) so the guest needs only the host's node.
// It reads the plan (protocol.ts), opens the results file and detaches the writable mount, records
// provenance with the key that signs every line, runs every cell (cell.ts) and search (search.ts)
// and ends with an `end` record.
// Usage: node agent.mjs <plan.json>
import fs from 'node:fs';
import { CapWatch } from './cap-watch.js';
import { type BootState, runAndRecord } from './cell.js';
import { agentCgroup, enableCellLimits, protectAgentFromOom } from './cell-cgroup.js';
import { CellSpawner } from './cell-spawner.js';
import { since } from './clock.js';
import { mountHostBpffs } from './host-bpffs.js';
import { OverlayWrites } from './overlay-writes.js';
import { SampleCopies } from './prepare.js';
import { procStatus } from './proc.js';
import { BEAT_MS, PlanSchema } from './protocol.js';
import { provenance, unsafeGuest } from './provenance.js';
import { detachRwdir, RecordWriter } from './record-writer.js';
import { mountScratch, SCRATCH_DIR } from './scratch.js';
import { runSearch } from './search.js';
import { StateWatch } from './state-watch.js';
import { bootSysctls } from './sysctls.js';
import { rootTools } from './tools.js';

function readPlan(file: string | undefined) {
  if (!file) throw new Error('usage: agent.mjs <plan.json>');
  const parsed = PlanSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.message}`);
  return parsed.data;
}

/** The cells' processes are spawned by the agent and inherit its inheritable and ambient sets
 * through the uid change: both must be empty (exec-sample.ts). */
function inheritedCaps(): string | null {
  const st = procStatus('self');
  if (/^0+$/.test(st?.CapInh ?? '') && /^0+$/.test(st?.CapAmb ?? '')) return null;
  return `the agent holds inheritable ${st?.CapInh} / ambient ${st?.CapAmb} capabilities, which every cell would inherit`;
}

/** Each fingerprint part's median cost over the boot's cells (ms). */
function medians(parts: Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(parts.flatMap((p) => Object.keys(p)))];
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return Object.fromEntries(keys.map((k) => [k, Math.round(mid(parts.map((p) => p[k] ?? 0)) * 10) / 10]));
}

async function main(): Promise<void> {
  const plan = readPlan(process.argv[2]);
  // before the first root tool: none runs that the host did not vouch for
  rootTools.vouchedBy(plan.toolDigests);
  // nothing of the agent's may lead into the rwdir once it is detached (/proc/<pid>/cwd)
  process.chdir('/');
  const out = new RecordWriter(plan.results);
  const rw = detachRwdir(plan.rwdir);
  protectAgentFromOom();
  const cg = agentCgroup();
  const limits = cg.dir ? enableCellLimits() : null;
  const noScratch = mountScratch();
  // before the provenance record, which says what is there
  const noBpffs = mountHostBpffs();
  out.emit(
    provenance(plan, out.publicKey, {
      cgroup: cg.dir,
      rwdirDetached: rw.detached,
      detail: [cg.detail, limits, rw.detail, noBpffs].filter(Boolean).join('; '),
    }),
  );
  const provenanceAt = performance.now();
  const beats = setInterval(() => out.emit({ type: 'beat', t: Date.now() }), BEAT_MS);
  const copies = new SampleCopies();
  // its bind of the root is the agent's own mount: made before the fingerprint's first look
  const overlays = noScratch ? null : new OverlayWrites([copies.dir]);
  // both helpers start before the fingerprint's first look, so it holds them
  const spawner = await CellSpawner.start();
  // a cell is told apart by its cgroup: none without cgroup v2; its FIFOs in the agent's scratch
  const capWatch = cg.dir && !noScratch ? await CapWatch.start(fs.mkdtempSync(`${SCRATCH_DIR}/cap-watch-`)) : null;
  // from here on sysctls are read through the agent's own procfs
  const watch = await StateWatch.start(cg.dir);
  // the helper checks the copies and the root tools after each cell from here on
  if (!('error' in watch)) {
    copies.watchWith(watch.reader);
    rootTools.watchWith(watch.reader);
  }
  const boot: BootState = {
    sysctls: bootSysctls(plan),
    unsafe:
      unsafeGuest() ??
      inheritedCaps() ??
      noScratch ??
      ('error' in watch ? watch.error : null) ??
      spawner.broken ??
      (rw.detached ? null : `the results mount could not be detached: ${rw.detail}`),
    cgroupDir: cg.dir,
    group: null,
    cellsRun: 0,
    copies,
    overlays,
    watch: 'error' in watch ? null : watch,
    spawner: spawner.broken ? null : spawner,
    capWatch: capWatch?.broken ? null : capWatch,
    fingerprintParts: [],
    cellParts: [],
    bpffs: noBpffs === null,
    pinsAtStart: null,
    endReason: null,
  };
  if (!boot.unsafe) boot.copies.prepare(plan.cells);
  const firstCellMs = since(provenanceAt);
  for (const [i, cell] of plan.cells.entries()) {
    if (boot.endReason) break;
    await runAndRecord(cell, plan.cells[i + 1], boot, out);
  }
  for (const search of plan.searches) if (!boot.endReason) await runSearch(search, boot, out);
  clearInterval(beats);
  out.emit({
    type: 'end',
    t: Date.now(),
    prepare: boot.copies.figures,
    ...(plan.cells.length ? { firstCellMs } : {}),
    fingerprint: medians(boot.fingerprintParts),
    cellParts: medians(boot.cellParts),
    ...(capWatch?.broken || !capWatch
      ? { capWatch: capWatch?.broken ?? 'not started: no cgroup v2 (cells cannot be told apart) or no scratch' }
      : {}),
    ...(boot.endReason ? { reason: boot.endReason } : {}),
  });
  boot.watch?.close();
  spawner.close();
  capWatch?.close();
  out.close();
}

main().catch((e) => {
  process.stderr.write(`capmatrix agent: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});

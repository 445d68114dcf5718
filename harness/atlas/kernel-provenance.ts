// Each kernel of the atlas as a reader checks it: which build it is (release, archive, suite,
// packages and their SHA256), what it booted with (the sysctls every boot records, lockdown,
// tracefs and bpffs), the config options the rules gate on, and the run its cells come from.
import type { RunResults } from '../report/results-json.js';

/** The run a kernel's cells come from: a baseline file or a run given to `atlas`. */
export interface KernelSource {
  file: string;
  runId: string;
  finishedAt: string;
}

export interface AtlasKernel {
  id: string;
  release: string;
  accel: string;
  provider: string;
  suite: string;
  packages: { name: string; version: string; sha256: string }[];
  /** the sysctls the boot recorded, as it found them (null: the kernel has no such sysctl); a
   * sysctl a boot of an older capmatrix did not record is not listed */
  bootSysctls: Record<string, number | null>;
  lockdown: string;
  tracefs: string;
  bpffs: string;
  /** config options the rules gate on, as the kernel's config file has them */
  config: Record<string, string>;
  cells: number;
  matching: number;
  source: KernelSource | null;
}

interface PackageSource {
  provider?: string;
  suite?: string;
  files?: { name?: string; version?: string; sha256?: string }[];
}

export function kernelProvenance(run: RunResults, id: string, source?: KernelSource): AtlasKernel {
  const k = run.kernels.find((x) => x.id === id);
  const boots = run.provenance.boots.filter((b) => b.kernel === id);
  // a boot of the default lockdown level, not one a lockdown axis asked for
  const guest = (boots.find((b) => /\[none\]/.test(String(b.guest?.lockdown ?? ''))) ?? boots[0])?.guest ?? {};
  const pkg = (k?.source ?? {}) as PackageSource;
  const cells = run.cells.filter((c) => c.kernel === id);
  const sysctls = (guest.sysctls ?? {}) as Record<string, number | null>;
  return {
    id,
    release: k?.release ?? '?',
    accel: k?.accel ?? '?',
    provider: pkg.provider ?? '?',
    suite: pkg.suite ?? '',
    packages: (pkg.files ?? []).map((f) => ({ name: f.name ?? '?', version: f.version ?? '', sha256: f.sha256 ?? '' })),
    bootSysctls: { ...sysctls },
    lockdown: String(guest.lockdown ?? '?'),
    tracefs: guest.tracefs ? `${guest.tracefs.path} ${guest.tracefs.fs} ${guest.tracefs.mode}` : '?',
    bpffs: guest.bpffs ? `${guest.bpffs.path} ${guest.bpffs.fs} ${guest.bpffs.mode}` : 'not mounted',
    config: { ...(k?.config ?? {}) },
    cells: cells.length,
    matching: cells.filter((c) => c.verdict === 'match').length,
    source: source ?? null,
  };
}

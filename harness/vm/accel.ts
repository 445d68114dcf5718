// KVM or TCG? /dev/kvm existing is not enough: on nested hosts it opens and then every guest
// dies ("KVM internal error", or QEMU aborts setting MSRs with -cpu host, which vng uses).
// So: start QEMU with -accel kvm -cpu host on the firmware alone and see whether it survives.
// Some hosts pass that probe and still kill the kernel's guests later (seen here: "KVM internal
// error. Suberror: 1", and QEMU then pauses the guest rather than exiting). So a boot watches its
// console too: the first such death demotes KVM to TCG for the rest of this host boot.

import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../exec.js';
import { CACHE_DIR } from '../paths.js';

export type Accel = 'kvm' | 'tcg';

export interface AccelDecision {
  accel: Accel;
  why: string;
}

export function probeKvm(qemu = 'qemu-system-x86_64', seconds = 2): AccelDecision {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', why: '/dev/kvm is missing or not read-writable for this user' };
  }
  const r = run('timeout', [
    String(seconds),
    qemu,
    '-accel',
    'kvm',
    '-cpu',
    'host',
    '-m',
    '64',
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
  ]);
  const err = r.stderr.trim();
  // 124: still running when timeout stopped it, i.e. the firmware ran under KVM.
  if (r.status === 124 && !/KVM internal error|failed/i.test(err)) return { accel: 'kvm', why: 'KVM probe guest ran' };
  return { accel: 'tcg', why: `KVM probe failed (exit ${r.status ?? r.signal}): ${err.split('\n')[0] ?? ''}` };
}

/** The console lines by which QEMU says KVM could not run the guest it accepted. */
const KVM_DEATH = /KVM internal error[^\n]*|kvm run failed[^\n]*|error: failed to set MSR[^\n]*/i;

export function kvmDeathIn(consoleText: string): string | null {
  return KVM_DEATH.exec(consoleText)?.[0].trim() ?? null;
}

function forcedAccel(): Accel | null {
  const forced = process.env.CAPMATRIX_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (forced) throw new Error(`CAPMATRIX_ACCEL: "${forced}" is not one of kvm, tcg`);
  return null;
}

function hostBootId(): string {
  return existsSync('/proc/sys/kernel/random/boot_id')
    ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    : 'unknown';
}

const cacheFile = () => path.join(CACHE_DIR, 'accel.json');
// The demotion holds in this process even when the shared cache cannot be written.
let demoted: CachedDecision | null = null;

interface CachedDecision extends AccelDecision {
  /** A guest died under KVM after the probe had passed. */
  demoted?: true;
}

function cached(): CachedDecision | null {
  if (demoted) return demoted;
  try {
    const c = JSON.parse(readFileSync(cacheFile(), 'utf8')) as CachedDecision & { bootId: string };
    if (c.bootId === hostBootId()) return { accel: c.accel, why: c.why, ...(c.demoted ? { demoted: true } : {}) };
  } catch {}
  return null;
}

function remember(d: CachedDecision): void {
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(cacheFile(), JSON.stringify({ ...d, bootId: hostBootId() }));
  } catch {} // a user who cannot write the shared cache probes again next time
}

/** CAPMATRIX_ACCEL=kvm|tcg forces; otherwise the probe, cached per host boot. */
export function decideAccel(): AccelDecision {
  const forced = forcedAccel();
  if (forced) return { accel: forced, why: 'CAPMATRIX_ACCEL' };
  const c = cached();
  if (c) return { accel: c.accel, why: `${c.why} (decided earlier this host boot)` };
  const d = probeKvm();
  remember(d);
  return d;
}

/** A guest died under KVM: this host boot's later boots (in any process) run under TCG. */
export function demoteKvm(death: string): void {
  demoted = { accel: 'tcg', why: `a guest died under KVM (${death})`, demoted: true };
  remember(demoted);
}

/** The accelerator a boot uses now: a run that chose KVM falls back once a guest died under it
 * (unless CAPMATRIX_ACCEL=kvm insists). */
export function accelNow(chosen: Accel): Accel {
  const forced = forcedAccel();
  if (forced || chosen === 'tcg') return forced ?? chosen;
  return cached()?.demoted ? 'tcg' : chosen;
}

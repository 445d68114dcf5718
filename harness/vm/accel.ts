// KVM or TCG? /dev/kvm existing is not enough: on nested hosts it opens and then every guest
// dies ("KVM internal error", or QEMU aborts setting MSRs with -cpu host, which vng uses).
// So: start QEMU with -accel kvm -cpu host on the firmware alone and see whether it survives.

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

/** CAPMATRIX_ACCEL=kvm|tcg forces; otherwise the probe, cached per host boot. */
export function decideAccel(): AccelDecision {
  const forced = process.env.CAPMATRIX_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, why: 'CAPMATRIX_ACCEL' };
  if (forced) throw new Error(`CAPMATRIX_ACCEL: "${forced}" is not one of kvm, tcg`);
  const bootId = existsSync('/proc/sys/kernel/random/boot_id')
    ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    : 'unknown';
  const cache = path.join(CACHE_DIR, 'accel.json');
  try {
    const c = JSON.parse(readFileSync(cache, 'utf8')) as AccelDecision & { bootId: string };
    if (c.bootId === bootId) return { accel: c.accel, why: `${c.why} (probed earlier this host boot)` };
  } catch {}
  const d = probeKvm();
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(cache, JSON.stringify({ ...d, bootId }));
  } catch {} // a user who cannot write the shared cache probes again next time
  return d;
}

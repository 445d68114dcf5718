// Host provenance recorded once per run: what ran the VMs and built the samples.

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { run } from '../exec.js';
import { DEBIAN_KEYRING, ubuntuKeyring } from '../kernels/debian-archive.js';
import { capmatrixInfo } from '../package-info.js';

function firstLine(cmd: string, args: string[]): string | null {
  const r = run(cmd, args);
  if (!r.ok) return null;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? null;
}

export function hostInfo(): Record<string, unknown> {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return {
    capmatrix: capmatrixInfo(),
    hostname: os.hostname(),
    os: /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? null,
    kernel: os.release(),
    cpus: os.cpus().length,
    uid: process.getuid?.() ?? null,
    node: process.version,
    vng: firstLine('vng', ['--version']),
    qemu: firstLine('qemu-system-x86_64', ['--version']),
    libbpf: firstLine('pkg-config', ['--modversion', 'libbpf']),
    clang: firstLine('clang', ['--version']),
    // the trust roots of the kernels' archives (CAPMATRIX_*_KEYRING replaces them)
    keyrings: { debian: DEBIAN_KEYRING, ubuntu: ubuntuKeyring() },
  };
}

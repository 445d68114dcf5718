// The system packages capmatrix needs, per distribution, and how to check them in one call.

import { existsSync, readFileSync } from 'node:fs';
import { run } from '../exec.js';

export type Distro = 'debian-12' | 'debian-13+' | 'ubuntu' | 'other';

export function detectDistro(
  osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '',
): Distro {
  const id = /^ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '');
  const ver = /^VERSION_ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '');
  if (id === 'ubuntu') return 'ubuntu';
  if (id === 'debian') return ver === '12' ? 'debian-12' : 'debian-13+';
  return 'other';
}

/** Packages from the distribution's own archive (virtme-ng is handled apart on Debian 12);
 * `forTests` adds what only `npm test` needs (a browser for the HTML report's test). */
export function requiredPackages(distro: Distro, forTests = false): string[] {
  const common = [
    'qemu-system-x86',
    'clang',
    'llvm',
    'libbpf-dev',
    'libelf-dev',
    'zlib1g-dev',
    'gcc',
    'make',
    'pkg-config',
    'libcap2-bin',
    'util-linux',
    'iproute2',
    'busybox-static',
    'gpgv',
    'debian-archive-keyring',
    'coreutils',
    'ca-certificates',
    'xz-utils',
    // kernels/uncompressed.ts: Debian's kernels from 6.12 on are zstd bzImages
    'zstd',
    'procps',
    'strace',
  ];
  const tests = forTests ? [distro === 'ubuntu' ? 'chromium-browser' : 'chromium'] : [];
  // Ubuntu ships bpftool in linux-tools; Debian as its own package.
  const bpftool = distro === 'ubuntu' ? ['linux-tools-common', 'linux-tools-generic'] : ['bpftool'];
  const vng = distro === 'debian-12' ? [] : ['virtme-ng'];
  return [...common, ...bpftool, ...vng, ...tests];
}

/** Installed versions of the given packages (absent ones are missing from the map). */
export function installedVersions(pkgs: string[]): Map<string, string> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const format = '-f=${Package} ${db:Status-Status} ${Version}\\n';
  const r = run('dpkg-query', ['-W', format, ...pkgs]);
  const out = new Map<string, string>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const [name, status, version] = line.split(' ');
    if (name && status === 'installed' && version) out.set(name.replace(/:.*$/, ''), version);
  }
  return out;
}

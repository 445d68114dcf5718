// The host's own Ubuntu kernel as a catalog entry, resolved at run time: what a fork's CI (an
// Ubuntu runner whose apt names no Debian archive) can boot with nothing configured. It goes
// through the `ubuntu` provider (the runner's apt sources, ubuntu-keyring), and asks for exactly
// the running build (linux-image-unsigned-<uname -r>), so the guest is the runner's kernel.
import { existsSync, readFileSync } from 'node:fs';
import { aptSourcesServe } from './apt-sources.js';

export const HOST_KERNEL_ID = 'ubuntu-host';

/** What the resolution reads from the host; tests pass fakes. */
export interface HostFacts {
  /** /etc/os-release's text. */
  osRelease: string;
  /** The running kernel's release, /proc/sys/kernel/osrelease (e.g. 6.8.0-49-generic). */
  release: string;
  /** The apt sources directory (/etc/apt). */
  etcApt: string;
  /** CAPMATRIX_DEBIAN_MIRROR and CAPMATRIX_UBUNTU_MIRROR (or undefined). */
  debianMirrorEnv?: string;
  ubuntuMirrorEnv?: string;
}

export function readHostFacts(): HostFacts {
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  return {
    osRelease: read('/etc/os-release'),
    release: read('/proc/sys/kernel/osrelease').trim(),
    etcApt: '/etc/apt',
    debianMirrorEnv: process.env.CAPMATRIX_DEBIAN_MIRROR || undefined,
    ubuntuMirrorEnv: process.env.CAPMATRIX_UBUNTU_MIRROR || undefined,
  };
}

/** A field of os-release (ID, VERSION_CODENAME, …), unquoted. */
export function osReleaseField(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}=(.*)$`, 'm').exec(text);
  return m?.[1]?.trim().replace(/^(["'])(.*)\1$/, '$2') || undefined;
}

/** An Ubuntu kernel release: 6.8.0-49-generic → series 6.8, flavour generic. */
export function parseUbuntuRelease(release: string): { series: string; flavour: string } | undefined {
  const m = /^(\d+\.\d+)\.\d+-\d+-([a-z][a-z0-9-]*)$/.exec(release);
  return m?.[1] && m[2] ? { series: m[1], flavour: m[2] } : undefined;
}

/** The host's kernel as a catalog entry (catalog.ts's apt entry, by shape: catalog.ts imports this). */
export interface HostKernelEntry {
  id: typeof HOST_KERNEL_ID;
  provider: 'ubuntu';
  suite: string;
  component: string;
  series: string;
  flavour: string;
  release: string;
  inAll: false;
  note: string;
}

/** The host's kernel as an `ubuntu` entry, or why there is none. */
export function hostKernelEntry(facts: HostFacts): { entry: HostKernelEntry } | { why: string } {
  const id = osReleaseField(facts.osRelease, 'ID');
  if (id !== 'ubuntu') return { why: `this host is not Ubuntu (os-release ID=${id ?? 'unset'})` };
  const codename = osReleaseField(facts.osRelease, 'VERSION_CODENAME');
  if (!codename) return { why: 'os-release names no VERSION_CODENAME' };
  const parsed = parseUbuntuRelease(facts.release);
  if (!parsed) return { why: `the running kernel ${facts.release || '(unknown)'} is not an Ubuntu build` };
  return {
    entry: {
      id: HOST_KERNEL_ID,
      provider: 'ubuntu',
      suite: `${codename}-updates`,
      component: 'main',
      series: parsed.series,
      flavour: parsed.flavour,
      release: facts.release,
      inAll: false,
      note: `this host's own kernel (${facts.release}), from ${codename}-updates`,
    },
  };
}

/** Whether no Debian archive is configured (setting or apt) while an Ubuntu one is: then the
 * host's kernel stands in for a Debian default. */
export function onlyUbuntuArchive(facts: HostFacts): boolean {
  const noDebian = !facts.debianMirrorEnv && !aptSourcesServe((s) => DEBIAN_RELEASES.test(s), facts.etcApt);
  const updates = `${osReleaseField(facts.osRelease, 'VERSION_CODENAME')}-updates`;
  return noDebian && Boolean(facts.ubuntuMirrorEnv || aptSourcesServe((s) => s === updates, facts.etcApt));
}

/** A Debian archive by its releases' names: not `stable` or `testing`, which third-party
 * repositories on an Ubuntu runner use too (Google Chrome's is `stable`). */
const DEBIAN_RELEASES = /^(bullseye|bookworm|trixie|forky|duke|sid)(-updates|-backports)?$/;

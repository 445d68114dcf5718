// Kernel providers "debian" and "ubuntu": resolve a catalog entry in a suite's verified Packages
// index, download and verify every .deb it needs, and extract them without root into the cache.
// Debian 6.x: one linux-image package. Debian 7.x: linux-image is a dependency package; the image
// is in linux-binary-*, the modules in linux-modules-*. Ubuntu: linux-image-unsigned-* plus
// linux-modules-*. One rule covers all three: the image package plus the linux-binary/-modules
// packages it depends on.

import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { mustRun } from '../exec.js';
import { CACHE_DIR } from '../paths.js';
import { compareVersions, kernelVersionOf } from '../version.js';
import { suiteMirror } from './apt-sources.js';
import type { AptKernelEntry } from './catalog.js';
import { DebianArchive, type Stanza, ubuntuKeyring, VerificationError } from './debian-archive.js';
import { installTree, type KernelInfo, kernelDir, type SourceFile } from './kernel-info.js';

/** The image package names of a series and flavour. */
export function imagePattern(entry: Pick<AptKernelEntry, 'provider' | 'series' | 'flavour'>): RegExp {
  const series = entry.series.replace('.', '\\.');
  // 6.12.117+deb13-amd64, 6.12.90+deb13.1-amd64 (a rebuild), 6.1.0-50-amd64, 7.2.13+deb14-amd64;
  // Ubuntu: unsigned-6.14.0-37-generic
  const prefix = entry.provider === 'ubuntu' ? 'linux-image-unsigned-' : 'linux-image-';
  return new RegExp(`^${prefix}${series}\\.\\d+(-\\d+)?(\\+deb\\d+(\\.\\d+)?)?-${entry.flavour}$`);
}

/** The image package of exactly one build (an entry with `release`, e.g. the host's kernel). */
export function exactImageName(entry: Pick<AptKernelEntry, 'provider' | 'release'>): string | undefined {
  if (!entry.release) return undefined;
  return `${entry.provider === 'ubuntu' ? 'linux-image-unsigned-' : 'linux-image-'}${entry.release}`;
}

/** The entry's exact build when it names one and the index carries it; else the newest (or
 * pinned) image package of the series and flavour (fetchAptKernel says when it fell back). */
export function pickKernelPackage(stanzas: Stanza[], entry: AptKernelEntry): Stanza {
  const exact = exactImageName(entry);
  const hit = exact && stanzas.find((s) => s.get('Package') === exact);
  if (hit) return hit;
  const name = imagePattern(entry);
  const hits = stanzas
    .filter((s) => name.test(s.get('Package') ?? ''))
    .filter((s) => !entry.pin || s.get('Version') === entry.pin.version)
    .sort((a, b) => compareVersions(b.get('Version') ?? '', a.get('Version') ?? ''));
  const best = hits[0];
  if (!best) {
    throw new Error(
      `kernel ${entry.id}: no package matching ${name.source}${entry.pin ? ` at version ${entry.pin.version}` : ''} in ${entry.suite}${entry.pin ? `: the archive no longer carries the pinned build; \`capmatrix kernels update-pins ${entry.id}\` moves the pin in kernels/catalog.json to the newest one` : ''}`,
    );
  }
  return best;
}

/** Ubuntu's modules-extra package of an image (linux-image-unsigned-<rel> → linux-modules-extra-
 * <rel>) when the index carries it at the image's version. Taken because no image depends on it
 * (the linux-image-<flavour> metapackage does), and whether 9p, virtiofs and overlayfs (what
 * virtme-ng's root needs) sit in linux-modules or in -extra is each flavour's inclusion list. */
export function ubuntuExtraModules(stanzas: Stanza[], image: Stanza): Stanza | undefined {
  const release = /^linux-image-unsigned-(.+)$/.exec(image.get('Package') ?? '')?.[1];
  if (!release) return undefined;
  const name = `linux-modules-extra-${release}`;
  return stanzas.find((s) => s.get('Package') === name && s.get('Version') === image.get('Version'));
}

/** The image package, the linux-binary and linux-modules packages it depends on, and for an
 * Ubuntu image its linux-modules-extra. */
export function packagesFor(stanzas: Stanza[], image: Stanza): Stanza[] {
  const deps = (image.get('Depends') ?? '')
    .split(',')
    .map((d) => d.trim().split(/[\s(|]/)[0] ?? '')
    .filter((d) => /^linux-(binary|modules)-/.test(d));
  const version = image.get('Version');
  const depended = deps.map((name) => {
    const hit = stanzas.find((s) => s.get('Package') === name && s.get('Version') === version);
    if (!hit) throw new Error(`${image.get('Package')} depends on ${name} ${version}, which the index lacks`);
    return hit;
  });
  const extra = ubuntuExtraModules(stanzas, image);
  return [image, ...depended, ...(extra && !depended.includes(extra) ? [extra] : [])];
}

/** Checks each package against the catalog's pin, if there is one. */
export function checkPin(entry: AptKernelEntry, pkgs: Stanza[]): void {
  if (!entry.pin) return;
  for (const p of pkgs) {
    const name = p.get('Package') ?? '';
    const want = entry.pin.sha256[name];
    if (!want) throw new VerificationError(`kernel ${entry.id}: the pin lists no SHA256 for ${name}`);
    if (p.get('SHA256') !== want) {
      throw new VerificationError(
        `kernel ${entry.id}: ${name}: catalog pins SHA256 ${want}, ${entry.suite}'s index says ${p.get('SHA256')}`,
      );
    }
  }
}

/** The verified archive that serves an entry's suite (the security archive for *-security). */
export function archiveOf(entry: AptKernelEntry): DebianArchive {
  const keyring = entry.provider === 'ubuntu' ? ubuntuKeyring() : undefined;
  return new DebianArchive(suiteMirror(entry.provider, entry.suite), path.join(CACHE_DIR, entry.provider), keyring);
}

export async function fetchAptKernel(entry: AptKernelEntry, log: (msg: string) => void): Promise<KernelInfo> {
  const archive = archiveOf(entry);
  log(`kernel ${entry.id}: reading ${entry.suite}'s verified package index`);
  const stanzas = await archive.packages(entry.suite, entry.component);
  const image = pickKernelPackage(stanzas, entry);
  const exact = exactImageName(entry);
  if (exact && image.get('Package') !== exact)
    log(
      `kernel ${entry.id}: ${entry.suite}'s index no longer carries ${exact}; taking the newest of ${entry.series}-${entry.flavour}, ${image.get('Package')}`,
    );
  const pkgs = packagesFor(stanzas, image);
  checkPin(entry, pkgs);
  const dir = kernelDir(entry.id);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const files: SourceFile[] = [];
  for (const p of pkgs) {
    const size = Number(p.get('Size') ?? 0);
    log(`kernel ${entry.id}: ${p.get('Package')} ${p.get('Version')} (${(size / 1e6).toFixed(0)} MB)`);
    let lastPct = -1;
    const deb = await archive.fetchDeb(p.get('Filename') ?? '', p.get('SHA256') ?? '', (bytes) => {
      const pct = size ? Math.floor((bytes / size) * 4) * 25 : 0;
      if (pct !== lastPct) log(`kernel ${entry.id}: ${p.get('Package')}: ${pct}%`);
      lastPct = pct;
    });
    extractDeb(deb, tmp);
    files.push({
      name: p.get('Package') ?? '',
      version: p.get('Version'),
      sha256: p.get('SHA256') ?? '',
      from: p.get('Filename') ?? '',
    });
  }
  const info = installTree(tmp, entry.id, (release) => kernelVersionOf(image.get('Version') ?? release), {
    provider: entry.provider,
    archive: entry.provider,
    suite: entry.suite,
    files,
  });
  log(`kernel ${entry.id}: ready (${info.release})`);
  return info;
}

/** Extracts a verified .deb into dir: dpkg-deb -x needs no root. */
export function extractDeb(deb: string, dir: string): void {
  mustRun('dpkg-deb', ['-x', deb, dir]);
}

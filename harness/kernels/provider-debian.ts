// Kernel provider "debian": resolve a catalog entry in a suite's verified Packages index,
// download and verify the .deb, and extract it without root into the cache.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { CACHE_DIR } from '../paths.js';
import { compareVersions } from '../version.js';
import { debianMirror } from './apt-sources.js';
import type { DebianKernelEntry } from './catalog.js';
import { DebianArchive, type Stanza, VerificationError } from './debian-archive.js';

export interface KernelInfo {
  id: string;
  /** `uname -r` of the image, e.g. 6.12.117+deb13-amd64. */
  release: string;
  /** The upstream version the expectations' `since`/`until` gates compare against. */
  version: string;
  vmlinuz: string;
  source: { provider: 'debian'; suite: string; package: string; version: string; sha256: string; filename: string };
}

export function kernelDir(id: string): string {
  return path.join(CACHE_DIR, 'kernels', id);
}

/** The newest (or pinned) linux-image-<series>.N…-<flavour> in the index. */
export function pickKernelPackage(stanzas: Stanza[], entry: DebianKernelEntry): Stanza {
  const series = entry.series.replace('.', '\\.');
  const name = new RegExp(`^linux-image-${series}\\.\\d+(\\+deb\\d+)?-${entry.flavour}$`);
  const hits = stanzas
    .filter((s) => name.test(s.get('Package') ?? ''))
    .filter((s) => !entry.version || s.get('Version') === entry.version)
    .sort((a, b) => compareVersions(b.get('Version') ?? '', a.get('Version') ?? ''));
  const best = hits[0];
  if (!best) {
    throw new Error(
      `kernel ${entry.id}: no package linux-image-${entry.series}.*-${entry.flavour}${entry.version ? ` at version ${entry.version}` : ''} in ${entry.suite}`,
    );
  }
  if (entry.sha256 && best.get('SHA256') !== entry.sha256) {
    throw new VerificationError(
      `kernel ${entry.id}: catalog pins SHA256 ${entry.sha256}, ${entry.suite}'s index says ${best.get('SHA256')}`,
    );
  }
  return best;
}

function readInfo(id: string): KernelInfo | undefined {
  const file = path.join(kernelDir(id), 'kernel.json');
  if (!existsSync(file)) return undefined;
  // kernel.json stores the image path relative to its directory, so a cache can move.
  const stored = JSON.parse(readFileSync(file, 'utf8')) as KernelInfo;
  const info = { ...stored, vmlinuz: path.resolve(kernelDir(id), stored.vmlinuz) };
  return existsSync(info.vmlinuz) ? info : undefined;
}

/** The extracted kernel if it is in the cache; no network. */
export function cachedKernel(entry: DebianKernelEntry): KernelInfo | undefined {
  const info = readInfo(entry.id);
  if (!info) return undefined;
  if (entry.version && info.source.version !== entry.version) return undefined;
  return info;
}

/** Extracts a verified .deb into dir: dpkg-deb -x needs no root. */
export function extractDeb(deb: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('dpkg-deb', ['-x', deb, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dpkg-deb -x ${deb}: ${r.error?.message ?? r.stderr.trim()}`);
  // vng looks for modules in <dir>/lib/modules/<release>; merged-/usr packages ship usr/lib.
  if (!existsSync(path.join(dir, 'lib')) && existsSync(path.join(dir, 'usr', 'lib', 'modules'))) {
    symlinkSync('usr/lib', path.join(dir, 'lib'));
  }
}

export async function fetchDebianKernel(
  entry: DebianKernelEntry,
  log: (msg: string) => void = () => {},
): Promise<KernelInfo> {
  const cached = cachedKernel(entry);
  if (cached) return cached;
  const archive = new DebianArchive(debianMirror(), path.join(CACHE_DIR, 'debian'));
  log(`kernel ${entry.id}: reading ${entry.suite}'s verified package index`);
  const pkg = pickKernelPackage(await archive.packages(entry.suite), entry);
  const filename = pkg.get('Filename') ?? '';
  const sha256 = pkg.get('SHA256') ?? '';
  const size = Number(pkg.get('Size') ?? 0);
  log(`kernel ${entry.id}: ${pkg.get('Package')} ${pkg.get('Version')} (${(size / 1e6).toFixed(0)} MB)`);
  let lastPct = -1;
  const deb = await archive.fetchDeb(filename, sha256, (bytes) => {
    const pct = size ? Math.floor((bytes / size) * 10) * 10 : 0;
    if (pct !== lastPct) log(`kernel ${entry.id}: downloaded ${pct}%`);
    lastPct = pct;
  });
  const dir = kernelDir(entry.id);
  const tmp = `${dir}.tmp`;
  extractDeb(deb, tmp);
  const image = readdirSync(path.join(tmp, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (!image) throw new Error(`${path.basename(deb)}: no boot/vmlinuz-* inside`);
  const release = image.slice('vmlinuz-'.length);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  const info: KernelInfo = {
    id: entry.id,
    release,
    version: release.split(/[+-]/)[0] ?? release,
    vmlinuz: path.join(dir, 'boot', image),
    source: {
      provider: 'debian',
      suite: entry.suite,
      package: pkg.get('Package') ?? '',
      version: pkg.get('Version') ?? '',
      sha256,
      filename,
    },
  };
  const stored = { ...info, vmlinuz: path.relative(dir, info.vmlinuz) };
  writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(stored, null, 2)}\n`);
  log(`kernel ${entry.id}: ready (${release})`);
  return info;
}

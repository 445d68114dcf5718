// One entry point over the kernel providers: fetch (download, verify, extract, or build),
// cached (no network), verify (re-check what is in the cache).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR } from '../paths.js';
import { majorMinor } from '../version.js';
import type { KernelEntry } from './catalog.js';
import { sha256File } from './debian-archive.js';
import { type KernelInfo, readKernelInfo } from './kernel-info.js';
import { fetchAptKernel } from './provider-apt.js';
import { buildKernel, fetchLocalKernel } from './provider-local.js';
import { fetchUrlKernel } from './provider-url.js';

export type { KernelInfo } from './kernel-info.js';

/** The kernel if the cache holds what the entry asks for; no network. */
export function cachedKernel(entry: KernelEntry): KernelInfo | undefined {
  const info = readKernelInfo(entry.id);
  if (!info || info.source.provider !== entry.provider) return undefined;
  if (entry.provider === 'debian' || entry.provider === 'ubuntu') {
    if (entry.pin && !info.source.files.every((f) => entry.pin?.sha256[f.name] === f.sha256)) return undefined;
    // an unpinned entry whose suite or series changed in the catalog is another kernel
    if (info.source.suite !== entry.suite || majorMinor(info.version) !== entry.series) return undefined;
    // an exact build (the host's kernel) is that build; after a fallback the index is read again
    if (entry.release && info.release !== entry.release) return undefined;
  }
  if (entry.provider === 'url' && entry.files.some((f) => !info.source.files.some((g) => g.sha256 === f.sha256))) {
    return undefined;
  }
  return info;
}

export async function fetchKernel(entry: KernelEntry, log: (msg: string) => void = () => {}): Promise<KernelInfo> {
  // local kernels are re-linked every time: the user's image may have been rebuilt; build
  // entries are rebuilt (vng --build is incremental): their source tree may have changed.
  if (entry.provider === 'local') return fetchLocalKernel(entry);
  if (entry.provider === 'build') return buildKernel(entry, log);
  const cached = cachedKernel(entry);
  if (cached) {
    // what was verified at download must still be what boots
    if (sha256File(cached.vmlinuz) !== cached.vmlinuzSha256) {
      throw new Error(
        `${entry.id}: ${cached.vmlinuz} changed since it was verified and extracted; not booted (remove ${path.dirname(cached.vmlinuz)} and fetch again)`,
      );
    }
    return cached;
  }
  switch (entry.provider) {
    case 'debian':
    case 'ubuntu':
      return fetchAptKernel(entry, log);
    case 'url':
      return fetchUrlKernel(entry, log);
  }
}

/** Re-checks a cached kernel: the image's SHA256 as extracted, and every downloaded file still
 * in the download cache against the SHA256 it was verified with. Returns problems (empty: ok). */
export function verifyKernel(entry: KernelEntry): string[] {
  const info = readKernelInfo(entry.id);
  if (!info) return [`${entry.id}: not in the cache (capmatrix kernels fetch ${entry.id})`];
  const problems: string[] = [];
  if (sha256File(info.vmlinuz) !== info.vmlinuzSha256)
    problems.push(`${info.vmlinuz}: image changed since it was extracted`);
  for (const f of info.source.files) {
    const candidates = [
      path.join(CACHE_DIR, info.source.provider, 'debs', path.basename(f.from)),
      path.join(CACHE_DIR, 'url', `${f.sha256.slice(0, 12)}-${f.name}`),
    ].filter((p) => existsSync(p));
    for (const c of candidates) if (sha256File(c) !== f.sha256) problems.push(`${c}: SHA256 differs from ${f.sha256}`);
  }
  return problems;
}

// Kernel provider "url": .deb files or tarballs at URLs, each with a required SHA256 (how CI gets
// kernels no apt archive here has, e.g. Ubuntu's 6.14). `{debian}` and `{ubuntu}` in a URL are the
// archive base URLs from the machine's apt sources, so the catalog names no mirror.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { mustRun } from '../exec.js';
import { CACHE_DIR } from '../paths.js';
import { archiveMirror } from './apt-sources.js';
import type { UrlKernelEntry } from './catalog.js';
import { checkSha256, download, sha256File } from './debian-archive.js';
import { installTree, type KernelInfo, kernelDir, type SourceFile } from './kernel-info.js';
import { extractDeb } from './provider-apt.js';

export function expandUrl(url: string): string {
  return url.replace(/\{(debian|ubuntu)\}/g, (_m, archive: 'debian' | 'ubuntu') => archiveMirror(archive));
}

export async function fetchUrlKernel(entry: UrlKernelEntry, log: (msg: string) => void): Promise<KernelInfo> {
  const dir = kernelDir(entry.id);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const files: SourceFile[] = [];
  for (const f of entry.files) {
    const url = expandUrl(f.url);
    const name = path.basename(new URL(url).pathname);
    const dest = path.join(CACHE_DIR, 'url', `${f.sha256.slice(0, 12)}-${name}`);
    if (!existsSync(dest) || sha256File(dest) !== f.sha256) {
      log(`kernel ${entry.id}: downloading ${name}`);
      checkSha256(dest, await download(url, dest), f.sha256);
    }
    if (name.endsWith('.deb')) extractDeb(dest, tmp);
    else {
      mustRun('tar', ['-xf', dest, '-C', tmp]);
    }
    files.push({ name, sha256: f.sha256, from: f.url });
  }
  const info = installTree(tmp, entry.id, () => entry.version, { provider: 'url', files });
  log(`kernel ${entry.id}: ready (${info.release})`);
  return info;
}

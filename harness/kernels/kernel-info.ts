// What a provider leaves in the cache: an extracted kernel tree vng can boot, and kernel.json.

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
import { sha256File } from './debian-archive.js';

export interface SourceFile {
  name: string;
  version?: string;
  sha256: string;
  /** Pool path or URL it came from. */
  from: string;
}

export interface KernelInfo {
  id: string;
  /** `uname -r` of the image, e.g. 6.12.117+deb13-amd64. */
  release: string;
  /** Upstream version the expectations' `since`/`until` gates compare against, e.g. 6.12.117. */
  version: string;
  vmlinuz: string;
  /** SHA256 of the image as extracted, checked again by `kernels verify`. */
  vmlinuzSha256: string;
  source: { provider: string; suite?: string; archive?: string; files: SourceFile[] };
}

export function kernelDir(id: string): string {
  return path.join(CACHE_DIR, 'kernels', id);
}

export function readKernelInfo(id: string): KernelInfo | undefined {
  const file = path.join(kernelDir(id), 'kernel.json');
  if (!existsSync(file)) return undefined;
  // kernel.json stores the image path relative to its directory, so a cache can move.
  const stored = JSON.parse(readFileSync(file, 'utf8')) as KernelInfo;
  const info = { ...stored, vmlinuz: path.resolve(kernelDir(id), stored.vmlinuz) };
  return existsSync(info.vmlinuz) && info.vmlinuzSha256 ? info : undefined;
}

export function writeKernelInfo(info: KernelInfo): void {
  const dir = kernelDir(info.id);
  const stored = { ...info, vmlinuz: path.relative(dir, info.vmlinuz) };
  writeFileSync(path.join(dir, 'kernel.json'), `${JSON.stringify(stored, null, 2)}\n`);
}

/** The release string inside a bzImage (setup header field kernel_version at 0x20e). */
export function bzImageRelease(file: string): string | undefined {
  const buf = readFileSync(file);
  if (buf.length < 0x210 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const off = buf.readUInt16LE(0x20e) + 0x200;
  const end = buf.indexOf(0, off);
  return buf.toString('latin1', off, end).split(' ')[0];
}

/** Makes an extracted tree bootable by vng: it wants <dir>/boot/vmlinuz-<rel> and finds the
 * modules in <dir>/lib/modules/<rel>. Debian 7.x ships the image only as
 * usr/lib/modules/<rel>/vmlinuz, and merged-/usr packages have no lib/. */
export function finishTree(dir: string): { vmlinuz: string; release: string } {
  if (!existsSync(path.join(dir, 'lib')) && existsSync(path.join(dir, 'usr', 'lib', 'modules'))) {
    symlinkSync('usr/lib', path.join(dir, 'lib'));
  }
  const boot = path.join(dir, 'boot');
  const image = existsSync(boot) ? readdirSync(boot).find((f) => /^vmlinu[xz]-/.test(f)) : undefined;
  if (image) return { vmlinuz: path.join(boot, image), release: image.replace(/^vmlinu[xz]-/, '') };
  const modules = path.join(dir, 'lib', 'modules');
  const rel = existsSync(modules)
    ? readdirSync(modules).find((r) => existsSync(path.join(modules, r, 'vmlinuz')))
    : undefined;
  if (!rel) throw new Error(`${dir}: no boot/vmlinuz-* and no lib/modules/*/vmlinuz in what was extracted`);
  mkdirSync(boot, { recursive: true });
  symlinkSync(`../lib/modules/${rel}/vmlinuz`, path.join(boot, `vmlinuz-${rel}`));
  return { vmlinuz: path.join(boot, `vmlinuz-${rel}`), release: rel };
}

/** Moves a finished extraction (tmp) into the kernel's cache directory, makes it bootable and
 * records kernel.json; `version(release)` gives the upstream version for the gates. */
export function installTree(
  tmp: string,
  id: string,
  version: (release: string) => string,
  source: KernelInfo['source'],
): KernelInfo {
  const dir = kernelDir(id);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  const { vmlinuz, release } = finishTree(dir);
  const info: KernelInfo = {
    id,
    release,
    version: version(release),
    vmlinuz,
    vmlinuzSha256: sha256File(vmlinuz),
    source,
  };
  writeKernelInfo(info);
  return info;
}

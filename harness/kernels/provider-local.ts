// Kernel providers "local" (an image on this machine, e.g. one you built) and "build" (a source
// tree built with `vng --build` and a config fragment). Both end as a small tree in the cache
// that links to the image and modules, so vng finds them where it looks.

import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { run } from '../exec.js';
import { PACKAGE_ROOT } from '../paths.js';
import { kernelVersionOf } from '../version.js';
import type { BuildKernelEntry, LocalKernelEntry } from './catalog.js';
import { sha256File } from './debian-archive.js';
import { bzImageRelease, type KernelInfo, kernelDir, writeKernelInfo } from './kernel-info.js';

function linkTree(id: string, image: string, modules: string | undefined, provider: string, from: string): KernelInfo {
  if (!existsSync(image)) throw new Error(`kernel ${id}: ${image} does not exist`);
  const release = bzImageRelease(image);
  if (!release) throw new Error(`kernel ${id}: ${image} is not an x86 bzImage (no HdrS setup header)`);
  const dir = kernelDir(id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'boot'), { recursive: true });
  const vmlinuz = path.join(dir, 'boot', `vmlinuz-${release}`);
  symlinkSync(image, vmlinuz);
  if (modules) {
    if (!existsSync(modules)) throw new Error(`kernel ${id}: modules directory ${modules} does not exist`);
    mkdirSync(path.join(dir, 'lib', 'modules'), { recursive: true });
    symlinkSync(modules, path.join(dir, 'lib', 'modules', release));
  }
  const info: KernelInfo = {
    id,
    release,
    version: kernelVersionOf(release),
    vmlinuz,
    vmlinuzSha256: sha256File(vmlinuz),
    source: { provider, files: [{ name: path.basename(image), sha256: sha256File(image), from }] },
  };
  writeKernelInfo(info);
  return info;
}

export function fetchLocalKernel(entry: LocalKernelEntry): KernelInfo {
  const image = path.resolve(PACKAGE_ROOT, entry.vmlinuz);
  return linkTree(entry.id, image, entry.modules && path.resolve(PACKAGE_ROOT, entry.modules), 'local', image);
}

/** `vng --build` in the source tree with the fragment (what the samples need on top of vng's
 * own minimal config). Costly: minutes to hours depending on the tree and the machine. */
export function buildKernel(entry: BuildKernelEntry, log: (msg: string) => void): KernelInfo {
  const source = path.resolve(PACKAGE_ROOT, entry.source);
  const fragment = path.resolve(PACKAGE_ROOT, entry.configFragment);
  log(`kernel ${entry.id}: vng --build in ${source} with ${fragment}`);
  const r = run('vng', ['--build', '--config', fragment], { cwd: source, inherit: true });
  if (!r.ok) throw new Error(`kernel ${entry.id}: vng --build failed (${r.why})`);
  return linkTree(entry.id, path.join(source, 'arch', 'x86', 'boot', 'bzImage'), undefined, 'build', source);
}

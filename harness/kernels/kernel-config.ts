// A kernel's build config, as its package ships it (boot/config-<release>), for `requires:`
// gates. Read on the host before the boot: Debian builds no /proc/config.gz. Debian 7.x's split
// packages ship no config file, so their config is unknown and no `requires` rule holds there.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KernelConfig } from '../dsl/expand.js';
import type { ExpectRule } from '../dsl/scenario.js';
import type { KernelInfo } from './kernel-info.js';

/** `CONFIG_X=y|m|value`; "# CONFIG_X is not set" and absent options are left out (not set). */
export function parseKernelConfig(text: string): KernelConfig {
  const config: KernelConfig = {};
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m?.[1]) config[m[1]] = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
  }
  return config;
}

const cache = new Map<string, KernelConfig | undefined>();

export function kernelConfig(kernel: Pick<KernelInfo, 'vmlinuz' | 'release'>): KernelConfig | undefined {
  const boot = path.dirname(kernel.vmlinuz);
  const candidates = [
    path.join(boot, `config-${kernel.release}`),
    path.join(boot, '..', 'usr', 'lib', 'modules', kernel.release, 'config'),
  ];
  const file = candidates.find((f) => existsSync(f));
  if (!file) return undefined;
  if (!cache.has(file)) cache.set(file, parseKernelConfig(readFileSync(file, 'utf8')));
  return cache.get(file);
}

/** What a run records of a kernel's config: the state of every option a rule's `requires`
 * names ('y', 'm', 'n', or 'unknown' when the kernel ships no config). */
export function recordedConfig(rules: ExpectRule[], config: KernelConfig | undefined): Record<string, string> {
  const names = [...new Set(rules.flatMap((r) => Object.keys(r.requires?.config ?? {})))].sort();
  return Object.fromEntries(
    names.map((n) => {
      const v = config?.[n];
      return [n, !config ? 'unknown' : v === undefined ? 'n' : v === 'm' ? 'm' : 'y'];
    }),
  );
}

// The kernel catalog (kernels/catalog.json): data, validated like scenarios.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../paths.js';
import { UsageError } from '../usage-error.js';
import { KERNEL_VERSION } from '../version.js';
import { HOST_KERNEL_ID, type HostFacts, hostKernelEntry, onlyUbuntuArchive, readHostFacts } from './host-kernel.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9.-]*$/);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA256 in lower-case hex');
const common = {
  id,
  /** Left out of `--kernel all` (e.g. a kernel only CI can reach). */
  inAll: z.boolean().default(true),
  note: z.string().optional(),
};

/** Debian or Ubuntu packages from a verified apt archive (InRelease → Packages → .deb). */
const aptEntry = z.strictObject({
  ...common,
  provider: z.enum(['debian', 'ubuntu']),
  suite: z.string(),
  component: z.string().default('main'),
  series: z.string().regex(/^\d+\.\d+$/),
  flavour: z.string().default('amd64'),
  /** Exactly this build (`uname -r`, e.g. 6.8.0-49-generic) rather than the newest of the series. */
  release: z.string().optional(),
  /** Pins: the version, and the SHA256 of every package fetched for it. Without a pin the
   * newest of the series in the suite is taken and recorded in the results. */
  pin: z.strictObject({ version: z.string(), sha256: z.record(z.string(), sha256) }).optional(),
});

/** Files at URLs (a .deb or a tarball), each with a required SHA256. `{debian}` / `{ubuntu}` in
 * a URL is the archive base URL from the machine's apt sources (or the CAPMATRIX_* setting). */
const urlEntry = z.strictObject({
  ...common,
  provider: z.literal('url'),
  version: z.string().regex(KERNEL_VERSION),
  files: z.array(z.strictObject({ url: z.string(), sha256 })).min(1),
});

/** A kernel image on this machine (one you built), with its modules directory if any. */
const localEntry = z.strictObject({
  ...common,
  provider: z.literal('local'),
  vmlinuz: z.string(),
  modules: z.string().optional(),
});

/** A kernel source tree built with `vng --build` and a config fragment. */
const buildEntry = z.strictObject({
  ...common,
  provider: z.literal('build'),
  source: z.string(),
  configFragment: z.string(),
});

const entry = z.discriminatedUnion('provider', [aptEntry, urlEntry, localEntry, buildEntry]);
export type KernelEntry = z.infer<typeof entry>;
export type AptKernelEntry = z.infer<typeof aptEntry>;
export type UrlKernelEntry = z.infer<typeof urlEntry>;
export type LocalKernelEntry = z.infer<typeof localEntry>;
export type BuildKernelEntry = z.infer<typeof buildEntry>;

/** A series the archive carries that cannot be in the catalog, and why (the kernel report lists them). */
const absentSeries = z.strictObject({
  series: z.string().regex(/^\d+\.\d+$/),
  flavour: z.string().optional(),
  suite: z.string().optional(),
  reason: z.string().min(1),
});

const catalogSchema = z.strictObject({
  $comment: z.string().optional(),
  default: z.string(),
  kernels: z.array(entry).min(1),
  absent: z.array(absentSeries).optional(),
});
export type Catalog = z.infer<typeof catalogSchema> & {
  /** Why the default is not the file's (host-kernel.ts): said once by the run. */
  defaultWhy?: string;
  /** Why this host has no ubuntu-host entry. */
  hostWhyNot?: string;
};

export const CATALOG_FILE = path.join(PACKAGE_ROOT, 'kernels', 'catalog.json');

export function parseCatalog(data: unknown, rel: string): Catalog {
  const parsed = catalogSchema.safeParse(data);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${rel}: ${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  const ids = parsed.data.kernels.map((k) => k.id);
  const dup = ids.find((x, i) => ids.indexOf(x) !== i);
  if (dup) throw new Error(`${rel}: kernels: duplicate id "${dup}"`);
  if (!ids.includes(parsed.data.default)) {
    throw new Error(`${rel}: default: "${parsed.data.default}" is not a kernel id (known: ${ids.join(', ')})`);
  }
  return parsed.data;
}

/** kernels/catalog.json, with this host's own Ubuntu kernel when there is one (host-kernel.ts). */
export function loadCatalog(file = CATALOG_FILE): Catalog {
  const catalog = parseCatalog(JSON.parse(readFileSync(file, 'utf8')), path.relative(PACKAGE_ROOT, file));
  return withHostKernel(catalog, readHostFacts());
}

/** The catalog with the host's kernel added (on an Ubuntu host), and as the default when the
 * default is a Debian kernel that no configured archive can serve. `defaultWhy` says so. */
export function withHostKernel(catalog: Catalog, facts: HostFacts): Catalog {
  const host = hostKernelEntry(facts);
  if (!('entry' in host)) return { ...catalog, hostWhyNot: host.why };
  const kernels = [...catalog.kernels.filter((k) => k.id !== HOST_KERNEL_ID), host.entry];
  const current = catalog.kernels.find((k) => k.id === catalog.default);
  if (current?.provider !== 'debian' || !onlyUbuntuArchive(facts)) return { ...catalog, kernels };
  return {
    ...catalog,
    kernels,
    default: HOST_KERNEL_ID,
    defaultWhy: `default kernel: ${HOST_KERNEL_ID} (this host's ${facts.release} from the Ubuntu archive in its apt sources), since no Debian archive is configured for ${current.id} (CAPMATRIX_DEBIAN_MIRROR unset, apt names none)`,
  };
}

/** Resolves "--kernel a,b" / "all" / undefined (the default) to catalog entries; `log` hears
 * why the default is not the catalog file's, when it is not. */
export function selectKernels(catalog: Catalog, spec?: string, log?: (msg: string) => void): KernelEntry[] {
  const ids = catalog.kernels.map((k) => k.id);
  if (!spec) {
    if (catalog.defaultWhy) log?.(catalog.defaultWhy);
    return catalog.kernels.filter((k) => k.id === catalog.default);
  }
  if (spec === 'all') return catalog.kernels.filter((k) => k.inAll);
  return spec.split(',').map((one) => {
    const k = catalog.kernels.find((e) => e.id === one.trim());
    if (k) return k;
    if (one.trim() === HOST_KERNEL_ID && catalog.hostWhyNot)
      throw new UsageError(`--kernel ${HOST_KERNEL_ID}: ${catalog.hostWhyNot}`);
    throw new UsageError(`--kernel: unknown kernel "${one}" (known: ${ids.join(', ')}, all)`);
  });
}

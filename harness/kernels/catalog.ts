// The kernel catalog (kernels/catalog.json): data, validated like scenarios.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { REPO_ROOT } from '../paths.js';

const debianEntry = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  provider: z.literal('debian'),
  suite: z.string(),
  series: z.string().regex(/^\d+\.\d+$/),
  flavour: z.string().default('amd64'),
  /** Optional pins: without them the newest of the series in the suite is taken. */
  version: z.string().optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type DebianKernelEntry = z.infer<typeof debianEntry>;
export type KernelEntry = DebianKernelEntry;

const catalogSchema = z.strictObject({
  $comment: z.string().optional(),
  default: z.string(),
  kernels: z.array(debianEntry).min(1),
});
export type Catalog = z.infer<typeof catalogSchema>;

export const CATALOG_FILE = path.join(REPO_ROOT, 'kernels', 'catalog.json');

export function loadCatalog(file = CATALOG_FILE): Catalog {
  const rel = path.relative(REPO_ROOT, file);
  const parsed = catalogSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${rel}: ${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  const ids = parsed.data.kernels.map((k) => k.id);
  if (!ids.includes(parsed.data.default)) {
    throw new Error(`${rel}: default: "${parsed.data.default}" is not a kernel id (known: ${ids.join(', ')})`);
  }
  return parsed.data;
}

/** Resolves "--kernel a,b" / "all" / undefined (the default) to catalog entries. */
export function selectKernels(catalog: Catalog, spec?: string): KernelEntry[] {
  const ids = catalog.kernels.map((k) => k.id);
  if (!spec) return catalog.kernels.filter((k) => k.id === catalog.default);
  if (spec === 'all') return catalog.kernels;
  return spec.split(',').map((id) => {
    const k = catalog.kernels.find((e) => e.id === id.trim());
    if (!k) throw new Error(`--kernel: unknown kernel "${id}" (known: ${ids.join(', ')}, all)`);
    return k;
  });
}

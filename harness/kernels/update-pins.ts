// `capmatrix kernels update-pins`: each pinned Debian/Ubuntu entry moves to the newest build of
// its series in its suite, read from the verified index (the same trust chain as a fetch), so
// pins never rot by hand. Unpinned entries follow the archive by design and are left alone.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../write-atomic.js';
import { type AptKernelEntry, CATALOG_FILE, type Catalog, type KernelEntry } from './catalog.js';
import type { Stanza } from './debian-archive.js';
import { archiveOf, packagesFor, pickKernelPackage } from './provider-apt.js';

export type Pin = NonNullable<AptKernelEntry['pin']>;

/** The newest build of the entry's series and flavour in these stanzas, as a pin. */
export function newestPin(stanzas: Stanza[], entry: AptKernelEntry): Pin {
  const image = pickKernelPackage(stanzas, { ...entry, pin: undefined });
  const sha256: Record<string, string> = {};
  for (const p of packagesFor(stanzas, image)) sha256[p.get('Package') ?? ''] = p.get('SHA256') ?? '';
  return { version: image.get('Version') ?? '', sha256 };
}

export interface PinUpdate {
  id: string;
  from?: string;
  to?: string;
  /** why it was not updated (not pinned, not an apt entry, the archive unreachable) */
  skipped?: string;
}

const isApt = (k: KernelEntry): k is AptKernelEntry => k.provider === 'debian' || k.provider === 'ubuntu';

async function indexOf(entry: AptKernelEntry): Promise<Stanza[]> {
  return archiveOf(entry).packages(entry.suite, entry.component);
}

/** New pins for the catalog's pinned apt entries (or those named); the catalog is not written. */
export async function updatePins(catalog: Catalog, ids?: string[], read = indexOf): Promise<PinUpdate[]> {
  const out: PinUpdate[] = [];
  for (const k of catalog.kernels.filter((e) => !ids || ids.includes(e.id))) {
    if (!isApt(k)) out.push({ id: k.id, skipped: `provider ${k.provider} has no archive to follow` });
    else if (!k.pin) out.push({ id: k.id, skipped: 'not pinned: it takes the newest build at every fetch' });
    else {
      try {
        const pin = newestPin(await read(k), k);
        out.push({ id: k.id, from: k.pin.version, to: pin.version });
        k.pin = pin;
      } catch (e) {
        out.push({ id: k.id, skipped: (e as Error).message.split('\n')[0] ?? '' });
      }
    }
  }
  return out;
}

/** Writes the new pins into the catalog file as it is (its defaults stay unwritten). */
export function writePins(updated: Catalog, file = CATALOG_FILE): void {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { kernels: { id: string; pin?: unknown }[] };
  for (const k of raw.kernels) {
    const now = updated.kernels.find((e) => e.id === k.id);
    if (now && isApt(now) && now.pin) k.pin = now.pin;
  }
  writeFileAtomic(file, `${JSON.stringify(raw, null, 2)}\n`);
}

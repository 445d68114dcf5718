// Every build of one kernel series that the archive still carries, oldest first, across the
// suites of one distribution release (bullseye + bullseye-security, trixie + trixie-security):
// what `capmatrix bisect --series` searches. Each build becomes a pinned catalog entry, so it is
// fetched and verified like any catalog kernel.
import { compareVersions } from '../version.js';
import type { AptKernelEntry, Catalog } from './catalog.js';
import type { Stanza } from './debian-archive.js';
import { archiveOf, imagePattern, packagesFor } from './provider-apt.js';

export interface SeriesBuild {
  /** The package version ("5.10.251-5", "6.12.74-2~bpo12+1"). */
  version: string;
  suite: string;
  /** A pinned entry that fetches exactly this build. */
  entry: AptKernelEntry;
}

/** A catalog id for one build: "debian-5.10.251-5", "debian-6.12.74-2-bpo12-1". */
export function buildId(provider: string, version: string): string {
  return `${provider}-${version.toLowerCase().replace(/[^a-z0-9.]+/g, '-')}`;
}

/** The suites a series' builds come from by default: the catalog entry's release and its
 * security updates (a backports suite stands alone: its builds are that suite's own). */
export function lineageSuites(entry: AptKernelEntry): string[] {
  if (entry.provider !== 'debian' || /-backports$/.test(entry.suite)) return [entry.suite];
  const release = entry.suite.replace(/-(security|updates)$/, '');
  return [release, `${release}-security`];
}

/** The builds of the series and flavour in these suites' indexes, oldest first; a version that
 * two suites carry counts once (the first suite's). */
export function buildsIn(
  indexes: { suite: string; stanzas: Stanza[] }[],
  like: Pick<AptKernelEntry, 'provider' | 'series' | 'flavour'>,
): SeriesBuild[] {
  const seen = new Map<string, SeriesBuild>();
  for (const { suite, stanzas } of indexes) {
    for (const image of stanzas.filter((s) => imagePattern(like).test(s.get('Package') ?? ''))) {
      const version = image.get('Version') ?? '';
      if (seen.has(version)) continue;
      const sha256: Record<string, string> = {};
      for (const p of packagesFor(stanzas, image)) sha256[p.get('Package') ?? ''] = p.get('SHA256') ?? '';
      const entry: AptKernelEntry = {
        id: buildId(like.provider, version),
        provider: like.provider,
        suite,
        component: 'main',
        series: like.series,
        flavour: like.flavour,
        inAll: false,
        pin: { version, sha256 },
      };
      seen.set(version, { version, suite, entry });
    }
  }
  return [...seen.values()].sort((a, b) => compareVersions(a.version, b.version));
}

/** The catalog's apt entry for a series (the one bisect starts from). */
export function seriesEntry(catalog: Catalog, series: string, flavour = 'amd64'): AptKernelEntry | undefined {
  return catalog.kernels.find(
    (k): k is AptKernelEntry =>
      (k.provider === 'debian' || k.provider === 'ubuntu') && k.series === series && k.flavour === flavour,
  );
}

/** Reads each suite's verified index and lists the series' builds. */
export async function seriesBuilds(base: AptKernelEntry, suites = lineageSuites(base)): Promise<SeriesBuild[]> {
  const indexes = [];
  for (const suite of suites) {
    const stanzas = await archiveOf({ ...base, suite }).packages(suite, base.component);
    indexes.push({ suite, stanzas });
  }
  return buildsIn(indexes, base);
}

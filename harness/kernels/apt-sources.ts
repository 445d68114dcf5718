// An archive's base URL (Debian's, Ubuntu's) comes from this machine's own apt sources (or
// CAPMATRIX_DEBIAN_MIRROR / CAPMATRIX_UBUNTU_MIRROR); capmatrix names no mirror itself.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SUITES = {
  debian: /^(bullseye|bookworm|trixie|forky|duke|sid|unstable|stable|testing|oldstable)(-updates|-backports)?$/,
  ubuntu: /^(focal|jammy|noble|oracular|plucky|questing|resolute)(-updates|-backports)?$/,
};
export type Archive = keyof typeof SUITES;

interface AptSource {
  uri: string;
  suites: string[];
}

/** Parses one-line `deb URI suite comp…` entries and deb822 `.sources` stanzas. */
export function parseAptSources(text: string, deb822: boolean): AptSource[] {
  if (!deb822) {
    return text
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter((l) => l.startsWith('deb '))
      .map((l) => l.replace(/\[[^\]]*\]/, '').split(/\s+/))
      .filter((w) => w.length >= 3)
      .map((w) => ({ uri: w[1] ?? '', suites: [w[2] ?? ''] }));
  }
  return text.split(/\n\s*\n/).flatMap((stanza) => {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) return [];
    if ((fields.get('enabled') ?? 'yes') === 'no') return [];
    const suites = (fields.get('suites') ?? '').split(/\s+/);
    return (fields.get('uris') ?? '').split(/\s+/).map((uri) => ({ uri, suites }));
  });
}

/** The first source that serves `suite` itself when one does, else a suite of that archive
 * (not the security archive): a third-party repository that names the release's codename
 * (a runner's packages.microsoft.com `noble`) serves none of its -updates. */
export function mirrorFrom(sources: AptSource[], archive: Archive = 'debian', suite?: string): string | undefined {
  const usable = sources.filter((s) => /^https?:\/\//.test(s.uri) && !/security/.test(s.uri));
  const hit =
    (suite ? usable.find((s) => s.suites.includes(suite)) : undefined) ??
    usable.find((s) => s.suites.some((x) => SUITES[archive].test(x)));
  return hit?.uri.replace(/\/+$/, '');
}

/** `mirror+file:/etc/apt/apt-mirrors.txt` (apt's mirror method, which GitHub's Ubuntu images
 * use in ubuntu.sources): the http(s) mirrors the list names, each serving the source's suites. */
export function expandMirrorLists(
  sources: AptSource[],
  read = (file: string) => readFileSync(file, 'utf8'),
): AptSource[] {
  return sources.flatMap((s) => {
    const list = /^mirror\+file:(\/.+)$/.exec(s.uri)?.[1];
    if (!list) return [s];
    if (!existsSync(list)) return [];
    const uris = read(list)
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim().split(/\s+/)[0] ?? '')
      .filter((u) => /^https?:\/\//.test(u));
    return uris.map((uri) => ({ uri, suites: s.suites }));
  });
}
export const debianMirrorFrom = (sources: AptSource[]) => mirrorFrom(sources, 'debian');

const ENV = { debian: 'CAPMATRIX_DEBIAN_MIRROR', ubuntu: 'CAPMATRIX_UBUNTU_MIRROR' } as const;

export function debianMirror(etcApt = '/etc/apt'): string {
  return archiveMirror('debian', etcApt);
}

/** The archive that serves a suite: Debian's security suites (bookworm-security) come from the
 * security archive the apt sources name for any *-security suite (or CAPMATRIX_DEBIAN_SECURITY_MIRROR). */
export function suiteMirror(archive: Archive, suite: string, etcApt = '/etc/apt'): string {
  if (archive !== 'debian' || !/-security$/.test(suite)) return archiveMirror(archive, etcApt, suite);
  const env = process.env.CAPMATRIX_DEBIAN_SECURITY_MIRROR;
  if (env) return env.replace(/\/+$/, '');
  const hit = readAptSources(etcApt).find(
    (s) => /^https?:\/\//.test(s.uri) && s.suites.some((x) => /^[a-z]+-security$/.test(x)),
  );
  if (!hit)
    throw new Error(
      `no Debian security archive in ${etcApt}/sources.list{,.d} for ${suite}: set CAPMATRIX_DEBIAN_SECURITY_MIRROR to its base URL (the directory that holds dists/ and pool/)`,
    );
  return hit.uri.replace(/\/+$/, '');
}

function readAptSources(etcApt: string): AptSource[] {
  const sources: AptSource[] = [];
  const main = path.join(etcApt, 'sources.list');
  if (existsSync(main)) sources.push(...parseAptSources(readFileSync(main, 'utf8'), false));
  const dir = path.join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.list')) sources.push(...parseAptSources(readFileSync(path.join(dir, f), 'utf8'), false));
      if (f.endsWith('.sources')) sources.push(...parseAptSources(readFileSync(path.join(dir, f), 'utf8'), true));
    }
  }
  return expandMirrorLists(sources);
}

/** Whether an http(s) source of the apt sources serves a suite `serves` takes. */
export function aptSourcesServe(serves: (suite: string) => boolean, etcApt = '/etc/apt'): boolean {
  return readAptSources(etcApt).some((s) => /^https?:\/\//.test(s.uri) && s.suites.some(serves));
}

/** The archive's base URL from the apt sources alone (no CAPMATRIX_* setting), if they name one;
 * with `suite`, one that serves it when there is one. */
export function aptSourcesMirror(archive: Archive, etcApt = '/etc/apt', suite?: string): string | undefined {
  return mirrorFrom(readAptSources(etcApt), archive, suite);
}

export function archiveMirror(archive: Archive, etcApt = '/etc/apt', suite?: string): string {
  const env = process.env[ENV[archive]];
  if (env) return env.replace(/\/+$/, '');
  const sources = readAptSources(etcApt);
  const mirror = mirrorFrom(sources, archive, suite);
  if (!mirror) {
    throw new Error(
      `no ${archive} archive in ${etcApt}/sources.list{,.d}: set ${ENV[archive]} to a ${archive} mirror's base URL (the directory that holds dists/ and pool/)`,
    );
  }
  return mirror;
}

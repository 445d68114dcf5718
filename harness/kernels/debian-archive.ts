// Verified downloads from a Debian archive: InRelease checked with gpgv against
// debian-archive-keyring, the Packages index checked against InRelease's SHA256, each .deb
// checked against the index. Nothing unverified is ever returned.

import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { mustRun } from '../exec.js';
import {
  aptChecksValidUntil,
  checkRelease,
  gpgvVerify,
  type ReleaseChecks,
  VerificationError,
} from './release-check.js';

export const DEBIAN_KEYRING = process.env.CAPMATRIX_DEBIAN_KEYRING ?? '/usr/share/keyrings/debian-archive-keyring.gpg';
/** Read when a fetch starts, not at import: a test (or a caller) may set it after loading. */
export const ubuntuKeyring = (): string =>
  process.env.CAPMATRIX_UBUNTU_KEYRING ?? '/usr/share/keyrings/ubuntu-archive-keyring.gpg';

export { VerificationError };

/** How long one download may take in all (CAPMATRIX_DOWNLOAD_TIMEOUT, seconds; default 30 min). */
const DOWNLOAD_TIMEOUT_MS = Number(process.env.CAPMATRIX_DOWNLOAD_TIMEOUT ?? 1800) * 1000;

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Streams url to dest (via a .part file), returning the SHA256 of what arrived. */
export async function download(url: string, dest: string, onProgress?: (bytes: number) => void): Promise<string> {
  mkdirSync(path.dirname(dest), { recursive: true });
  // a whole download may take this long (a stalled mirror ends it, with what was asked)
  const res = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  if (!res.ok || !res.body) throw new Error(`download ${url}: HTTP ${res.status} ${res.statusText}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
      cb(null, chunk);
    },
  });
  // one .part per process: two runs fetching the same file never write into one
  const part = `${dest}.${process.pid}.part`;
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), tap, createWriteStream(part));
  renameSync(part, dest);
  return hash.digest('hex');
}

/** Verifies a clearsigned InRelease (signature, and the signed fields when `checks` are given)
 * and returns only the text that was signed. */
export function verifyInRelease(file: string, keyring = DEBIAN_KEYRING, checks?: ReleaseChecks): string {
  const { text } = gpgvVerify(file, keyring);
  if (checks) checkRelease(text, checks);
  return text;
}

/** SHA256 lines of a Release file: path → { sha256, size }. */
export function releaseHashes(release: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  const section = release.split(/^SHA256:\s*$/m)[1] ?? '';
  for (const line of section.split('\n')) {
    const m = /^ ([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) {
      if (line.length > 0 && !line.startsWith(' ')) break;
      continue;
    }
    out.set(m[3], { sha256: m[1], size: Number(m[2]) });
  }
  return out;
}

export type Stanza = Map<string, string>;

export function parsePackages(text: string): Stanza[] {
  return text
    .split(/\n\n+/)
    .filter((s) => s.trim())
    .map((block) => {
      const st: Stanza = new Map();
      for (const line of block.split('\n')) {
        const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
        if (m?.[1]) st.set(m[1], m[2] ?? '');
      }
      return st;
    });
}

/** An apt archive (Debian's or Ubuntu's): signed InRelease, Packages indexes, pool files. */
export class DebianArchive {
  constructor(
    readonly mirror: string,
    readonly cacheDir: string,
    readonly keyring = DEBIAN_KEYRING,
  ) {}

  /** The verified Packages index of a suite's component and architecture. */
  async packages(suite: string, component = 'main', arch = 'amd64'): Promise<Stanza[]> {
    const dir = path.join(this.cacheDir, 'dists', suite);
    const inRelease = path.join(dir, 'InRelease');
    await download(`${this.mirror}/dists/${suite}/InRelease`, inRelease);
    const signed = verifyInRelease(inRelease, this.keyring, {
      suite,
      checkValidUntil: aptChecksValidUntil(),
      seenFile: path.join(dir, 'newest-date'),
    });
    const hashes = releaseHashes(signed);
    // Some suites (trixie-backports) publish only Packages.xz.
    const ext = hashes.has(`${component}/binary-${arch}/Packages.gz`) ? 'gz' : 'xz';
    const rel = `${component}/binary-${arch}/Packages.${ext}`;
    const want = hashes.get(rel);
    if (!want) throw new VerificationError(`${suite}/InRelease lists no SHA256 for ${rel}`);
    const file = path.join(dir, `${component}_${arch}_Packages.${want.sha256.slice(0, 16)}.${ext}`);
    if (!existsSync(file) || sha256File(file) !== want.sha256) {
      const got = await download(`${this.mirror}/dists/${suite}/${rel}`, file);
      if (got !== want.sha256) {
        rmSync(file, { force: true });
        throw new VerificationError(`${suite}/${rel}: SHA256 ${got} does not match InRelease (${want.sha256})`);
      }
    }
    return parsePackages(decompress(file, ext));
  }

  /** Downloads a pool file (cached) and checks it against the SHA256 from the verified index. */
  async fetchDeb(filename: string, sha256: string, onProgress?: (bytes: number) => void): Promise<string> {
    const dest = path.join(this.cacheDir, 'debs', path.basename(filename));
    if (existsSync(dest) && sha256File(dest) === sha256) return dest;
    const got = await download(`${this.mirror}/${filename}`, dest, onProgress);
    checkSha256(dest, got, sha256);
    return dest;
  }
}

function decompress(file: string, ext: 'gz' | 'xz'): string {
  if (ext === 'gz') return gunzipSync(readFileSync(file)).toString('utf8');
  return mustRun('xz', ['-dc', file]);
}

/** Refuses (and deletes) a file whose SHA256 is not the expected one. */
export function checkSha256(file: string, got: string, want: string): void {
  if (got !== want) {
    rmSync(file, { force: true });
    throw new VerificationError(
      `${path.basename(file)}: SHA256 mismatch (got ${got}, the verified index says ${want}); deleted, not booted`,
    );
  }
}

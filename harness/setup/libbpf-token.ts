// libbpf >= 1.4 for the token_libbpf sample (bpf_token_path, LIBBPF_BPF_TOKEN_PATH): the
// system's when it is new enough (Debian 13, Ubuntu 25.04+), else bookworm-backports'
// libbpf-dev, pinned, verified through the archive's signed index, unpacked without root into
// the cache and linked statically (its .a needs only libelf and zlib, which every libbpf needs).
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { run } from '../exec.js';
import { debianMirror } from '../kernels/apt-sources.js';
import { DebianArchive, VerificationError } from '../kernels/debian-archive.js';
import { extractDeb } from '../kernels/provider-apt.js';
import { BPF_SRC_DIR, CACHE_DIR } from '../paths.js';
import { compareVersions } from '../version.js';

export const TOKEN_LIBBPF_MIN = '1.4.0';

/** The libbpf-dev build capmatrix takes when the system's is older (update both together). */
export const TOKEN_LIBBPF_PIN = {
  suite: 'bookworm-backports',
  package: 'libbpf-dev',
  version: '1:1.4.6-1~bpo12+1',
  sha256: 'b77a1e39e6ad8d19965321167973c0e02f7b565fa19cd0bad5c331b1bdb32d05',
} as const;

/** The system libbpf's version (pkg-config), or undefined when it has none. */
export function systemLibbpfVersion(): string | undefined {
  const r = run('pkg-config', ['--modversion', 'libbpf']);
  return r.ok ? r.stdout.trim() || undefined : undefined;
}

export const libbpfTokenDir = () =>
  path.join(CACHE_DIR, 'libbpf', TOKEN_LIBBPF_PIN.version.replace(/[^A-Za-z0-9.+~-]/g, '_'));

const staticLib = (dir: string, multiarch: string) => path.join(dir, 'usr', 'lib', multiarch, 'libbpf.a');

/** The samples linked against it. */
const TOKEN_TARGETS = ['build/token_libbpf', 'build/token_container'];

/** make -q: are the token samples up to date (nothing to link, so nothing to fetch)? */
function tokenSamplesBuilt(): boolean {
  return run('make', ['-q', '-C', BPF_SRC_DIR, ...TOKEN_TARGETS]).status === 0;
}

/** The make variable for the token samples: {} when the system's libbpf will do or they are built
 * already (a user who cannot write the checkout or the cache runs them as they are), else
 * LIBBPF_TOKEN. */
export async function libbpfTokenMakeVars(log: (m: string) => void): Promise<Record<string, string>> {
  const have = systemLibbpfVersion();
  if (have && compareVersions(have, TOKEN_LIBBPF_MIN) >= 0) return {};
  if (tokenSamplesBuilt()) return {};
  const multiarch = run('cc', ['-print-multiarch']).stdout.trim() || 'x86_64-linux-gnu';
  const dir = libbpfTokenDir();
  if (existsSync(staticLib(dir, multiarch))) return { LIBBPF_TOKEN: dir };
  log(
    `libbpf ${have ?? '(none)'} has no token support: fetching ${TOKEN_LIBBPF_PIN.package} ${TOKEN_LIBBPF_PIN.version}`,
  );
  const archive = new DebianArchive(debianMirror(), path.join(CACHE_DIR, 'debian'));
  const stanza = (await archive.packages(TOKEN_LIBBPF_PIN.suite)).find(
    (s) => s.get('Package') === TOKEN_LIBBPF_PIN.package && s.get('Version') === TOKEN_LIBBPF_PIN.version,
  );
  if (!stanza)
    throw new VerificationError(
      `${TOKEN_LIBBPF_PIN.suite} no longer carries ${TOKEN_LIBBPF_PIN.package} ${TOKEN_LIBBPF_PIN.version}: update TOKEN_LIBBPF_PIN in harness/setup/libbpf-token.ts`,
    );
  if (stanza.get('SHA256') !== TOKEN_LIBBPF_PIN.sha256)
    throw new VerificationError(
      `${TOKEN_LIBBPF_PIN.package} ${TOKEN_LIBBPF_PIN.version}: the pin says SHA256 ${TOKEN_LIBBPF_PIN.sha256}, ${TOKEN_LIBBPF_PIN.suite}'s signed index ${stanza.get('SHA256')}`,
    );
  const deb = await archive.fetchDeb(stanza.get('Filename') ?? '', TOKEN_LIBBPF_PIN.sha256);
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  extractDeb(deb, tmp);
  if (!existsSync(staticLib(tmp, multiarch)))
    throw new VerificationError(`${path.basename(deb)} has no ${staticLib('', multiarch)}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { LIBBPF_TOKEN: dir };
}

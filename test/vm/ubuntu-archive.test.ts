// A fork's path end to end, against a signed archive on 127.0.0.1: an Ubuntu host (fake
// os-release and apt sources) with no Debian archive gets its own kernel as the default, through
// the `ubuntu` provider: InRelease checked with gpgv against a test key (standing in for
// ubuntu-keyring), the Packages index against InRelease, the .deb against the index. The package
// is the real cached Debian 6.12 .deb under an Ubuntu-shaped name; it boots and runs a real cell.
// Another key's InRelease and a Packages index InRelease does not list are refused before any VM.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatOutcome } from '../../harness/dsl/vocabulary.js';
import {
  type Catalog,
  loadCatalog,
  parseCatalog,
  selectKernels,
  withHostKernel,
} from '../../harness/kernels/catalog.js';
import { sha256File } from '../../harness/kernels/debian-archive.js';
import { HOST_KERNEL_ID } from '../../harness/kernels/host-kernel.js';
import { kernelDir } from '../../harness/kernels/kernel-info.js';
import { cachedKernel } from '../../harness/kernels/providers.js';
import { CACHE_DIR } from '../../harness/paths.js';
import { runMatrix } from '../../harness/run/matrix.js';

const [defaultEntry] = selectKernels(loadCatalog());
const cached = defaultEntry && cachedKernel(defaultEntry);
if (!cached) throw new Error('the default kernel is not cached: npm test runs setup first, which fetches it');
const base = cached;
const debFile = path.join(CACHE_DIR, 'debian', 'debs', path.basename(base.source.files[0]?.from ?? ''));

const SUITE = 'noble-updates';
/** The Ubuntu-shaped build the fake host runs, and the package name the index gives the real .deb. */
const HOST_RELEASE = `${base.version}-1-generic`;
const PACKAGE = `linux-image-unsigned-${HOST_RELEASE}`;
const POOL_FILE = `pool/main/l/linux-capmatrix-test/${PACKAGE}_${base.version}-1.1_amd64.deb`;

/** One Date for every InRelease here: a cache refuses one older than one it saw (a replay). */
const RELEASE_DATE = new Date(Date.now() - 60_000).toUTCString();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-ubuntu-archive-'));
const gnupgHome = path.join(tmp, 'gnupg');
const ubuntuCacheExisted = existsSync(path.join(CACHE_DIR, 'ubuntu'));
const savedEnv = { mirror: process.env.CAPMATRIX_UBUNTU_MIRROR, keyring: process.env.CAPMATRIX_UBUNTU_KEYRING };
let server: Server;
let origin: string;

function gpg(args: string[]): Buffer {
  const r = spawnSync('gpg', [
    '--homedir',
    gnupgHome,
    '--batch',
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    ...args,
  ]);
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A new signing key; its fingerprint. */
function newKey(uid: string): string {
  gpg(['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const colons = gpg(['--with-colons', '--list-keys', uid]).toString();
  const fpr = /^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (!fpr) throw new Error(`no fingerprint for ${uid}`);
  return fpr;
}

/** The Packages index: one stanza naming the real .deb under the Ubuntu-shaped name. */
function packagesIndex(debSha256: string): Buffer {
  const stanza = [
    `Package: ${PACKAGE}`,
    'Architecture: amd64',
    `Version: ${base.version}-1.1`,
    `Depends: kmod, linux-base`,
    `Filename: ${POOL_FILE}`,
    `Size: ${statSync(debFile).size}`,
    `SHA256: ${debSha256}`,
  ];
  return gzipSync(`${stanza.join('\n')}\n`);
}

/** dists/<suite>/ under root: Packages.gz, and InRelease (listing `listed`) clearsigned by key. */
function writeSuite(root: string, key: string, served: Buffer, listed: Buffer): void {
  const dir = path.join(root, 'dists', SUITE, 'main', 'binary-amd64');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Packages.gz'), served);
  const sha = createHash('sha256').update(listed).digest('hex');
  const release = [
    'Origin: Ubuntu',
    `Suite: ${SUITE}`,
    'Codename: noble',
    `Date: ${RELEASE_DATE}`,
    'Architectures: amd64',
    'Components: main',
    'SHA256:',
    ` ${sha} ${listed.length} main/binary-amd64/Packages.gz`,
  ];
  const releaseFile = path.join(root, 'dists', SUITE, 'Release');
  writeFileSync(releaseFile, `${release.join('\n')}\n`);
  gpg(['--local-user', key, '--clearsign', '--output', path.join(root, 'dists', SUITE, 'InRelease'), releaseFile]);
}

beforeAll(async () => {
  mkdirSync(gnupgHome, { mode: 0o700 });
  const good = newKey('capmatrix test <test@invalid>');
  const other = newKey('capmatrix other <other@invalid>');
  writeFileSync(path.join(tmp, 'keyring.gpg'), gpg(['--export', good]));
  const index = packagesIndex(sha256File(debFile));
  const tampered = packagesIndex('0'.repeat(64));
  writeSuite(path.join(tmp, 'good'), good, index, index);
  writeSuite(path.join(tmp, 'other-key'), other, index, index);
  writeSuite(path.join(tmp, 'unlisted-index'), good, tampered, index);
  server = createServer((req, res) => {
    const [, root = '', ...rest] = (req.url ?? '').split('/');
    const rel = rest.join('/');
    const file = rel === POOL_FILE ? debFile : path.join(tmp, root, rel);
    if (!['good', 'other-key', 'unlisted-index'].includes(root) || rel.includes('..') || !existsSync(file)) {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-length', statSync(file).size);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.CAPMATRIX_UBUNTU_KEYRING = path.join(tmp, 'keyring.gpg');
});

afterAll(() => {
  server?.close();
  for (const [name, value] of [
    ['CAPMATRIX_UBUNTU_MIRROR', savedEnv.mirror],
    ['CAPMATRIX_UBUNTU_KEYRING', savedEnv.keyring],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(kernelDir(HOST_KERNEL_ID), { recursive: true, force: true });
  rmSync(`${kernelDir(HOST_KERNEL_ID)}.tmp`, { recursive: true, force: true });
  // only what this test put in the Ubuntu download cache (a real one may sit beside it)
  if (!ubuntuCacheExisted) rmSync(path.join(CACHE_DIR, 'ubuntu'), { recursive: true, force: true });
  else rmSync(path.join(CACHE_DIR, 'ubuntu', 'debs', path.basename(POOL_FILE)), { force: true });
  // the agent gpg started for the test keys ends with its home
  spawnSync('gpgconf', ['--homedir', gnupgHome, '--kill', 'gpg-agent']);
  rmSync(tmp, { recursive: true, force: true });
});

/** A catalog whose default is a Debian kernel, on a fake Ubuntu host whose apt names only the
 * archive at `root` (as a fork's runner: no Debian archive configured). */
function forkCatalog(root: string): Catalog {
  const etcApt = path.join(tmp, `apt-${root}`);
  mkdirSync(path.join(etcApt, 'sources.list.d'), { recursive: true });
  writeFileSync(
    path.join(etcApt, 'sources.list.d', 'ubuntu.sources'),
    `Types: deb\nURIs: ${origin}/${root}\nSuites: noble ${SUITE}\nComponents: main\n`,
  );
  process.env.CAPMATRIX_UBUNTU_MIRROR = `${origin}/${root}`;
  const catalog = parseCatalog(
    { default: 'debian-6.12', kernels: [{ id: 'debian-6.12', provider: 'debian', suite: 'trixie', series: '6.12' }] },
    'test catalog',
  );
  return withHostKernel(catalog, {
    osRelease: 'ID=ubuntu\nVERSION_CODENAME=noble\n',
    release: HOST_RELEASE,
    etcApt,
  });
}

/** Runs the fork's default kernel; what the run logged. */
async function runDefault(root: string, resultsDir: string) {
  const said: string[] = [];
  const run = runMatrix({
    catalog: forkCatalog(root),
    cells: '^sockex1/NET_RAW\\+BPF/ubd=2$',
    resultsDir,
    log: (m) => said.push(m),
  });
  return { run, said };
}

describe("a fork's default kernel from a signed Ubuntu-shaped archive", () => {
  test('an InRelease signed by another key is refused: nothing fetched, nothing booted', async () => {
    const results = mkdtempSync(path.join(tmp, 'results-'));
    const { run } = await runDefault('other-key', results);
    await expect(run).rejects.toThrow(/bad or unknown signature: no valid signature by a key of .*keyring\.gpg/);
    expect(readdirSync(results)).toEqual([]);
    expect(existsSync(path.join(kernelDir(HOST_KERNEL_ID), 'kernel.json'))).toBe(false);
    expect(existsSync(path.join(CACHE_DIR, 'ubuntu', 'debs', path.basename(POOL_FILE)))).toBe(false);
  });

  test('a Packages index whose SHA256 InRelease does not list is refused', async () => {
    const results = mkdtempSync(path.join(tmp, 'results-'));
    const { run } = await runDefault('unlisted-index', results);
    await expect(run).rejects.toThrow(
      /noble-updates\/main\/binary-amd64\/Packages\.gz: SHA256 \S+ does not match InRelease/,
    );
    expect(readdirSync(results)).toEqual([]);
    expect(existsSync(path.join(kernelDir(HOST_KERNEL_ID), 'kernel.json'))).toBe(false);
  });

  test('the host kernel is the default, said in one line; it is fetched, verified, boots and runs a cell', async () => {
    const results = mkdtempSync(path.join(tmp, 'results-'));
    const { run, said } = await runDefault('good', results);
    const { results: r } = await run;
    expect(said.filter((m) => m.startsWith('default kernel: '))).toEqual([
      expect.stringContaining(
        `${HOST_KERNEL_ID} (this host's ${HOST_RELEASE} from the Ubuntu archive in its apt sources)`,
      ),
    ]);
    const [cell] = r.cells;
    expect(cell?.observed && formatOutcome(cell.observed)).toBe('ok');
    expect(r.kernels[0]).toMatchObject({ id: HOST_KERNEL_ID });
    expect(r.kernels[0]?.source).toMatchObject({
      provider: 'ubuntu',
      suite: SUITE,
      files: [{ name: PACKAGE, sha256: sha256File(debFile) }],
    });
    const boot = r.provenance.boots[0] as { guest: { release: string; sysctls: Record<string, number | null> } };
    expect(boot.guest.release).toBe(base.release);
    // a Debian kernel has no AppArmor userns restriction: recorded as null, the boot went on
    expect(boot.guest.sysctls['kernel.apparmor_restrict_unprivileged_userns']).toBeNull();
  }, 600_000);
});

// `capmatrix setup`: make sure everything a run needs is here, installing what is missing.
// Idempotent and quick (< 2 s) when nothing is missing. Not root and something missing:
// stop with the exact command that fixes it.
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { mustRun } from '../exec.js';
import { debianMirror } from '../kernels/apt-sources.js';
import { loadCatalog, selectKernels } from '../kernels/catalog.js';
import { DebianArchive } from '../kernels/debian-archive.js';
import { fetchKernel } from '../kernels/providers.js';
import { BPF_SRC_DIR, CACHE_DIR, GUEST_AGENT, GUEST_AGENT_SOURCE, SAMPLES_BUILD_DIR } from '../paths.js';
import { compareVersions } from '../version.js';
import { writeFileAtomic } from '../write-atomic.js';
import { libbpfTokenMakeVars } from './libbpf-token.js';
import { checkSamplesListed } from './makefile-samples.js';
import { detectDistro, installedVersions, requiredPackages } from './system-packages.js';

/** vng ≥ 1.41 runs the command on the console when virtio-serial ports are missing (no udev in
 * the guest); 1.35 (trixie) powers off without running it. */
export const VNG_MIN_VERSION = '1.41';
const VNG_SUITE = 'sid';

export class SetupError extends Error {
  override name = 'SetupError';
}

const isRoot = () => process.getuid?.() === 0;
const log = (m: string) => process.stderr.write(`capmatrix setup: ${m}\n`);

/** Debian 12 has no virtme-ng: take sid's Architecture: all .deb, verified, with bookworm's deps. */
async function virtmeNgDeb(): Promise<string> {
  const archive = new DebianArchive(debianMirror(), path.join(CACHE_DIR, 'debian'));
  const pkg = (await archive.packages(VNG_SUITE)).find((s) => s.get('Package') === 'virtme-ng');
  if (!pkg) throw new SetupError(`no virtme-ng in ${VNG_SUITE}'s package index`);
  return archive.fetchDeb(pkg.get('Filename') ?? '', pkg.get('SHA256') ?? '');
}

export async function ensureSystemPackages(forTests = false): Promise<void> {
  const distro = detectDistro();
  if (distro === 'other') {
    log('not Debian or Ubuntu: install qemu, virtme-ng, clang, libbpf, bpftool, libcap tools yourself');
    return;
  }
  const wanted = requiredPackages(distro, forTests);
  const have = installedVersions([...wanted, 'virtme-ng']);
  const missing = wanted.filter((p) => !have.has(p));
  const vng = have.get('virtme-ng');
  const vngTooOld = vng !== undefined && compareVersions(vng, VNG_MIN_VERSION) < 0;
  // Debian 12 has none: sid's (Architecture: all) is fetched, verified, and installed instead
  const vngMissing = distro === 'debian-12' && (!vng || vngTooOld);
  if (vngTooOld && distro !== 'debian-12')
    throw new SetupError(
      `virtme-ng ${vng} is installed; capmatrix needs ${VNG_MIN_VERSION} or newer (older ones never run the command on guests without udev): install a newer virtme-ng package`,
    );
  if (missing.length === 0 && !vngMissing) return;

  if (!isRoot()) {
    const args = [...missing, ...(vngMissing ? [await virtmeNgDeb()] : [])];
    throw new SetupError(
      `missing system packages; run:\n  sudo apt-get install -y --no-install-recommends ${args.join(' ')}\nthen try again.`,
    );
  }
  const apt = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, inherit: true };
  if (missing.length) {
    log(`installing ${missing.join(' ')}`);
    mustRun('apt-get', ['update', '-q'], apt);
    mustRun('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], apt);
  }
  if (vngMissing) {
    const deb = await virtmeNgDeb();
    log(`installing ${path.basename(deb)} from ${VNG_SUITE} with this system's own dependencies`);
    mustRun('apt-get', ['install', '-y', '-q', '--no-install-recommends', deb], apt);
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function ensureSamples(): Promise<void> {
  // The Makefile against bpf-src/'s directories first: a sample it leaves out would fail only
  // inside the VM (setup-failed), and late.
  const unbuilt = checkSamplesListed(BPF_SRC_DIR);
  if (unbuilt.length > 0) throw new SetupError(unbuilt.map((p) => `bpf-src/Makefile: ${p}`).join('\n'));
  // make is incremental: a no-op when the samples are up to date. Two capmatrix processes
  // starting at once (a user's parallel jobs) take turns: flock serializes the builds.
  // (A checkout the user cannot write has nothing to lock: make has nothing to do there, or fails.)
  mkdirSync(SAMPLES_BUILD_DIR, { recursive: true });
  const vars = Object.entries(await libbpfTokenMakeVars(log)).map(([k, v]) => `${k}=${v}`);
  const make = ['make', '-s', '-C', BPF_SRC_DIR, ...vars];
  const lock = path.join(SAMPLES_BUILD_DIR, '.lock');
  if (writable(SAMPLES_BUILD_DIR)) mustRun('flock', [lock, ...make]);
  else mustRun(make[0] ?? 'make', make.slice(1));
  if (!existsSync(path.join(BPF_SRC_DIR, 'build', 'sockex1')))
    throw new SetupError('bpf-src: build produced no sockex1');
}

/** The guest agent and what it imports (protocol, vocabulary, capability names) as one file, not
 * written; its metafile lists every module it took (test/imports.test.ts holds it to the guest's). */
export function bundleAgent() {
  return build({
    entryPoints: [GUEST_AGENT_SOURCE],
    outfile: GUEST_AGENT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    write: false,
    metafile: true,
    banner: { js: '// Built by capmatrix setup from harness/guest/agent.ts; do not edit.' },
  });
}

/** The agent bundle, written: the guest runs the host's node on the host's read-only filesystem,
 * with no build step. */
export async function ensureAgent(): Promise<void> {
  const out = await bundleAgent();
  const text = out.outputFiles[0]?.text ?? '';
  // written only when it changed: a checkout the user cannot write (a shared one) still runs
  if (existsSync(GUEST_AGENT) && readFileSync(GUEST_AGENT, 'utf8') === text) return;
  mkdirSync(path.dirname(GUEST_AGENT), { recursive: true });
  writeFileAtomic(GUEST_AGENT, text);
}

let runnable: Promise<void> | null = null;

/** What every run needs besides its kernels, checked once per process (quick when all is there):
 * `npx capmatrix` in a user's project builds the package's samples and agent on first use. */
export function ensureRunnable(): Promise<void> {
  runnable ??= (async () => {
    await ensureSystemPackages();
    await ensureSamples();
    await ensureAgent();
  })();
  return runnable;
}

export async function ensureAll(o: { kernel: boolean; forTests?: boolean }): Promise<void> {
  await ensureSystemPackages(o.forTests);
  await ensureSamples();
  await ensureAgent();
  if (o.kernel) {
    for (const k of selectKernels(loadCatalog(), undefined, log)) await fetchKernel(k, log);
  }
}

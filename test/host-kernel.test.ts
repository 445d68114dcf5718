// The host's own Ubuntu kernel as the default where no Debian archive is configured (a fork's CI),
// resolved from fake os-release texts, running releases and apt directories.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { archiveMirror } from '../harness/kernels/apt-sources.js';
import { type Catalog, parseCatalog, selectKernels, withHostKernel } from '../harness/kernels/catalog.js';
import type { Stanza } from '../harness/kernels/debian-archive.js';
import {
  HOST_KERNEL_ID,
  type HostFacts,
  hostKernelEntry,
  osReleaseField,
  parseUbuntuRelease,
} from '../harness/kernels/host-kernel.js';
import { packagesFor, pickKernelPackage } from '../harness/kernels/provider-apt.js';

const NOBLE = 'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n';
const TRIXIE = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_CODENAME=trixie\n';
const UBUNTU_SOURCES =
  'Types: deb\nURIs: http://archive.example/ubuntu/\nSuites: noble noble-updates noble-backports\nComponents: main universe\n\nTypes: deb\nURIs: http://security.example/ubuntu/\nSuites: noble-security\n';
const DEBIAN_SOURCES = 'Types: deb\nURIs: http://m.example/debian\nSuites: trixie\nComponents: main\n';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An /etc/apt with these deb822 files in sources.list.d. */
function etcApt(files: Record<string, string>): string {
  const etc = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-hostapt-'));
  dirs.push(etc);
  mkdirSync(path.join(etc, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(etc, 'sources.list.d', name), text);
  return etc;
}

const catalog = (): Catalog =>
  parseCatalog(
    {
      default: 'debian-6.12',
      kernels: [
        { id: 'debian-6.12', provider: 'debian', suite: 'trixie', series: '6.12' },
        {
          id: 'ubuntu-6.14',
          provider: 'ubuntu',
          suite: 'noble-updates',
          series: '6.14',
          flavour: 'generic',
          inAll: false,
        },
      ],
    },
    'test catalog',
  );

const runner = (o: Partial<HostFacts> = {}): HostFacts => ({
  osRelease: NOBLE,
  release: '6.11.0-1018-azure',
  etcApt: etcApt({ 'ubuntu.sources': UBUNTU_SOURCES }),
  ...o,
});

describe("a GitHub runner's apt sources", () => {
  // ubuntu-24.04's image: ubuntu.sources names apt's mirror list, and third-party repositories
  // name the release (packages.microsoft.com: noble) or a Debian-like suite (Chrome's: stable)
  function githubRunner(): string {
    const mirrors = path.join(mkdtempSync(path.join(os.tmpdir(), 'capmatrix-mirrors-')), 'apt-mirrors.txt');
    dirs.push(path.dirname(mirrors));
    writeFileSync(mirrors, 'http://azure.archive.example/ubuntu/\tpriority:1\nhttp://archive.example/ubuntu/\n');
    const etc = etcApt({
      'ubuntu.sources': `Types: deb\nURIs: mirror+file:${mirrors}\nSuites: noble noble-updates noble-backports\nComponents: main universe\n\nTypes: deb\nURIs: mirror+file:${mirrors}\nSuites: noble-security\n`,
    });
    writeFileSync(
      path.join(etc, 'sources.list.d', 'microsoft-prod.list'),
      'deb [arch=amd64,arm64,armhf] https://packages.microsoft.example/ubuntu/24.04/prod noble main\n',
    );
    writeFileSync(
      path.join(etc, 'sources.list.d', 'google-chrome.list'),
      'deb [arch=amd64] https://dl.google.example/linux/chrome/deb/ stable main\n',
    );
    return etc;
  }

  test("the host kernel is the default, from the first mirror of apt's list that serves noble-updates", () => {
    const etc = githubRunner();
    const cat = withHostKernel(catalog(), runner({ etcApt: etc }));
    expect(cat.default).toBe(HOST_KERNEL_ID);
    expect(archiveMirror('ubuntu', etc, 'noble-updates')).toBe('http://azure.archive.example/ubuntu');
  });

  test("with a Debian archive configured (the test job), the default stays the catalog's", () => {
    const cat = withHostKernel(
      catalog(),
      runner({ etcApt: githubRunner(), debianMirrorEnv: 'http://m.example/debian' }),
    );
    expect(cat.default).toBe('debian-6.12');
  });
});

describe('the host kernel entry', () => {
  test('os-release fields, quoted or not', () => {
    expect(osReleaseField(NOBLE, 'ID')).toBe('ubuntu');
    expect(osReleaseField(NOBLE, 'PRETTY_NAME')).toBe('Ubuntu 24.04.3 LTS');
    expect(osReleaseField(NOBLE, 'VERSION_ID')).toBeUndefined();
  });

  test('series and flavour from an Ubuntu release; a Debian one is not', () => {
    expect(parseUbuntuRelease('6.11.0-1018-azure')).toEqual({ series: '6.11', flavour: 'azure' });
    expect(parseUbuntuRelease('6.8.0-49-generic')).toEqual({ series: '6.8', flavour: 'generic' });
    expect(parseUbuntuRelease('6.14.0-1012-aws')).toEqual({ series: '6.14', flavour: 'aws' });
    expect(parseUbuntuRelease('6.12.117+deb13-amd64')).toBeUndefined();
  });

  test("an Ubuntu runner's kernel: <codename>-updates, exactly the running build", () => {
    expect(hostKernelEntry(runner())).toEqual({
      entry: expect.objectContaining({
        id: 'ubuntu-host',
        provider: 'ubuntu',
        suite: 'noble-updates',
        series: '6.11',
        flavour: 'azure',
        release: '6.11.0-1018-azure',
        inAll: false,
      }),
    });
    expect(hostKernelEntry(runner({ osRelease: TRIXIE }))).toEqual({
      why: 'this host is not Ubuntu (os-release ID=debian)',
    });
    expect(hostKernelEntry(runner({ release: '6.12.117+deb13-amd64' }))).toEqual({
      why: 'the running kernel 6.12.117+deb13-amd64 is not an Ubuntu build',
    });
  });
});

describe('the default kernel on a host with no Debian archive', () => {
  test('an Ubuntu host whose apt names only Ubuntu: ubuntu-host becomes the default, and the run says why', () => {
    const cat = withHostKernel(catalog(), runner());
    expect(cat.default).toBe('ubuntu-host');
    const said: string[] = [];
    expect(selectKernels(cat, undefined, (m) => said.push(m)).map((k) => k.id)).toEqual(['ubuntu-host']);
    expect(said).toEqual([expect.stringMatching(/^default kernel: ubuntu-host .*6\.11\.0-1018-azure.*debian-6\.12/)]);
    // not in "all": the committed catalog's kernels are what --kernel all means
    expect(selectKernels(cat, 'all').map((k) => k.id)).toEqual(['debian-6.12']);
  });

  test('a Debian archive configured (env or apt): the default stays, ubuntu-host is there by name', () => {
    const withEnv = withHostKernel(catalog(), runner({ debianMirrorEnv: 'http://m.example/debian' }));
    expect(withEnv.default).toBe('debian-6.12');
    expect(withEnv.defaultWhy).toBeUndefined();
    expect(selectKernels(withEnv, 'ubuntu-host').map((k) => k.id)).toEqual(['ubuntu-host']);
    const both = etcApt({ 'ubuntu.sources': UBUNTU_SOURCES, 'debian.sources': DEBIAN_SOURCES });
    expect(withHostKernel(catalog(), runner({ etcApt: both })).default).toBe('debian-6.12');
  });

  test('an Ubuntu host whose apt names no Ubuntu archive keeps the default (and its clear error)', () => {
    const cat = withHostKernel(catalog(), runner({ etcApt: etcApt({}) }));
    expect(cat.default).toBe('debian-6.12');
    const viaEnv = withHostKernel(catalog(), runner({ etcApt: etcApt({}), ubuntuMirrorEnv: 'http://127.0.0.1:1' }));
    expect(viaEnv.default).toBe('ubuntu-host');
  });

  test('a non-Ubuntu host: nothing changes, and --kernel ubuntu-host says why not', () => {
    const cat = withHostKernel(catalog(), runner({ osRelease: TRIXIE, etcApt: etcApt({}) }));
    expect(cat.default).toBe('debian-6.12');
    expect(cat.kernels.map((k) => k.id)).toEqual(['debian-6.12', 'ubuntu-6.14']);
    expect(() => selectKernels(cat, 'ubuntu-host')).toThrow(
      '--kernel ubuntu-host: this host is not Ubuntu (os-release ID=debian)',
    );
  });
});

function stanza(fields: Record<string, string>): Stanza {
  return new Map(Object.entries(fields));
}

describe("Ubuntu's packages for one build", () => {
  const abi = (n: number, v: string) => [
    stanza({
      Package: `linux-image-unsigned-6.8.0-${n}-generic`,
      Version: v,
      Depends: `kmod, linux-base (>= 4.5ubuntu1~16.04.1), linux-modules-6.8.0-${n}-generic`,
      Recommends: 'grub-pc | grub-efi-amd64 | grub-efi-ia32 | grub | lilo, initramfs-tools | linux-initramfs-tool',
    }),
    stanza({ Package: `linux-modules-6.8.0-${n}-generic`, Version: v }),
    stanza({ Package: `linux-modules-extra-6.8.0-${n}-generic`, Version: v }),
  ];
  const index = [...abi(49, '6.8.0-49.49'), ...abi(51, '6.8.0-51.52')];
  const host = hostKernelEntry(runner({ release: '6.8.0-49-generic' }));
  if (!('entry' in host)) throw new Error(host.why);

  test('the running build, not the newest of the series', () => {
    expect(pickKernelPackage(index, host.entry).get('Package')).toBe('linux-image-unsigned-6.8.0-49-generic');
    const gone = { ...host.entry, release: '6.8.0-40-generic' };
    expect(pickKernelPackage(index, gone).get('Package')).toBe('linux-image-unsigned-6.8.0-51-generic');
  });

  test('the image, the linux-modules it depends on, and its linux-modules-extra', () => {
    const image = pickKernelPackage(index, host.entry);
    expect(packagesFor(index, image).map((p) => p.get('Package'))).toEqual([
      'linux-image-unsigned-6.8.0-49-generic',
      'linux-modules-6.8.0-49-generic',
      'linux-modules-extra-6.8.0-49-generic',
    ]);
    const noExtra = index.filter((s) => s.get('Package') !== 'linux-modules-extra-6.8.0-49-generic');
    expect(packagesFor(noExtra, image).map((p) => p.get('Package'))).toEqual([
      'linux-image-unsigned-6.8.0-49-generic',
      'linux-modules-6.8.0-49-generic',
    ]);
  });
});

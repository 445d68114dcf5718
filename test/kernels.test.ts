import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test, vi } from 'vitest';
import { debianMirror, debianMirrorFrom, parseAptSources, suiteMirror } from '../harness/kernels/apt-sources.js';
import type { AptKernelEntry, Catalog } from '../harness/kernels/catalog.js';
import {
  DEBIAN_KEYRING,
  DebianArchive,
  download,
  releaseHashes,
  type Stanza,
  VerificationError,
  verifyInRelease,
} from '../harness/kernels/debian-archive.js';
import { checkPin, packagesFor, pickKernelPackage } from '../harness/kernels/provider-apt.js';
import { checkRelease, gpgvVerify, releaseField } from '../harness/kernels/release-check.js';
import { newestPin, updatePins } from '../harness/kernels/update-pins.js';
import { kernelVersionOf, majorMinor } from '../harness/version.js';

describe('apt sources', () => {
  test('deb822 and one-line formats; the security archive is skipped', () => {
    const deb822 = parseAptSources(
      'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
      true,
    );
    expect(debianMirrorFrom(deb822)).toBe('http://mirror.example/debian');
    const oneLine = parseAptSources('# c\ndeb [arch=amd64] http://m.example/debian trixie main\n', false);
    expect(debianMirrorFrom(oneLine)).toBe('http://m.example/debian');
    expect(debianMirrorFrom(parseAptSources('deb http://archive.example/ubuntu noble main\n', false))).toBeUndefined();
  });

  test('a *-security suite comes from the security archive the sources name, for any release', () => {
    // the sources alone: CI's test job sets CAPMATRIX_DEBIAN_MIRROR, which would take their place
    vi.stubEnv('CAPMATRIX_DEBIAN_MIRROR', '');
    vi.stubEnv('CAPMATRIX_DEBIAN_SECURITY_MIRROR', '');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const etc = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-apt-'));
    mkdirSync(path.join(etc, 'sources.list.d'));
    writeFileSync(
      path.join(etc, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://m.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://m.example/debian-security/\nSuites: bookworm-security\n',
    );
    expect(suiteMirror('debian', 'bullseye-security', etc)).toBe('http://m.example/debian-security');
    expect(suiteMirror('debian', 'trixie-backports', etc)).toBe('http://m.example/debian');
    writeFileSync(
      path.join(etc, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://m.example/debian\nSuites: bookworm\n',
    );
    expect(() => suiteMirror('debian', 'bookworm-security', etc)).toThrow(/set CAPMATRIX_DEBIAN_SECURITY_MIRROR/);
  });
});

function stanza(fields: Record<string, string>): Stanza {
  return new Map(Object.entries(fields));
}

describe('kernel package choice', () => {
  const entry = {
    id: 'debian-6.12',
    provider: 'debian' as const,
    suite: 'trixie',
    component: 'main',
    series: '6.12',
    flavour: 'amd64',
    inAll: true,
  };
  const index = [
    stanza({ Package: 'linux-image-6.12.107+deb13-amd64', Version: '6.12.107-1', SHA256: 'a'.repeat(64) }),
    stanza({ Package: 'linux-image-6.12.117+deb13-amd64', Version: '6.12.117-1', SHA256: 'b'.repeat(64) }),
    stanza({ Package: 'linux-image-6.12.117+deb13-cloud-amd64', Version: '6.12.117-1', SHA256: 'c'.repeat(64) }),
    stanza({ Package: 'linux-image-6.12.117+deb13-amd64-unsigned', Version: '6.12.117-1', SHA256: 'd'.repeat(64) }),
    stanza({ Package: 'linux-image-6.1.0-50-amd64', Version: '6.1.176-1', SHA256: 'e'.repeat(64) }),
    stanza({
      Package: 'linux-image-7.2.13+deb14-amd64',
      Version: '7.2.13-1',
      SHA256: '1'.repeat(64),
      Depends:
        'dracut | initramfs-tools (>= 0.120+deb8u2), linux-base-7.2.13+deb14-amd64 (= 7.2.13-1), linux-binary-7.2.13+deb14-amd64 (= 7.2.13-1), linux-modules-7.2.13+deb14-amd64 (= 7.2.13-1)',
    }),
    stanza({ Package: 'linux-binary-7.2.13+deb14-amd64', Version: '7.2.13-1', SHA256: '2'.repeat(64) }),
    stanza({ Package: 'linux-modules-7.2.13+deb14-amd64', Version: '7.2.13-1', SHA256: '3'.repeat(64) }),
  ];
  test('newest of the series and flavour', () => {
    expect(pickKernelPackage(index, entry).get('Version')).toBe('6.12.117-1');
  });
  test("bookworm's ABI-style names (linux-image-6.1.0-50-amd64)", () => {
    expect(pickKernelPackage(index, { ...entry, series: '6.1' }).get('Package')).toBe('linux-image-6.1.0-50-amd64');
    expect(kernelVersionOf('6.1.176-1')).toBe('6.1.176');
    expect(kernelVersionOf('6.16.12-1~bpo13+1')).toBe('6.16.12');
    expect(kernelVersionOf('1:7.2.13-1')).toBe('7.2.13');
    expect(kernelVersionOf('6.12.117+deb13-amd64')).toBe('6.12.117');
    expect(majorMinor('6.12.117+deb13-amd64')).toBe('6.12');
  });
  test('7.x: the image package brings linux-binary and linux-modules', () => {
    const image = pickKernelPackage(index, { ...entry, series: '7.2' });
    expect(packagesFor(index, image).map((p) => p.get('Package'))).toEqual([
      'linux-image-7.2.13+deb14-amd64',
      'linux-binary-7.2.13+deb14-amd64',
      'linux-modules-7.2.13+deb14-amd64',
    ]);
  });
  test('a pin selects the version and its SHA256 must match the verified index', () => {
    const pin = { version: '6.12.107-1', sha256: { 'linux-image-6.12.107+deb13-amd64': 'a'.repeat(64) } };
    const pinned = pickKernelPackage(index, { ...entry, pin });
    expect(pinned.get('SHA256')).toBe('a'.repeat(64));
    expect(() => checkPin({ ...entry, pin }, [pinned])).not.toThrow();
    const wrong = { ...pin, sha256: { 'linux-image-6.12.107+deb13-amd64': 'f'.repeat(64) } };
    expect(() => checkPin({ ...entry, pin: wrong }, [pinned])).toThrow(VerificationError);
  });

  test('update-pins moves a pin to the newest build with every package of it; a gone pin says so', async () => {
    expect(newestPin(index, { ...entry, series: '7.2' })).toEqual({
      version: '7.2.13-1',
      sha256: {
        'linux-image-7.2.13+deb14-amd64': '1'.repeat(64),
        'linux-binary-7.2.13+deb14-amd64': '2'.repeat(64),
        'linux-modules-7.2.13+deb14-amd64': '3'.repeat(64),
      },
    });
    const gone = { version: '6.12.99-1', sha256: { 'linux-image-6.12.99+deb13-amd64': 'a'.repeat(64) } };
    expect(() => pickKernelPackage(index, { ...entry, pin: gone })).toThrow(
      /no longer carries the pinned build; `capmatrix kernels update-pins debian-6.12`/,
    );
    const catalog: Catalog = {
      default: 'debian-6.12',
      kernels: [
        { ...entry, pin: gone },
        { ...entry, id: 'floating' },
      ],
    };
    const updates = await updatePins(catalog, undefined, async () => index);
    expect(updates).toEqual([
      { id: 'debian-6.12', from: '6.12.99-1', to: '6.12.117-1' },
      { id: 'floating', skipped: 'not pinned: it takes the newest build at every fetch' },
    ]);
    expect((catalog.kernels[0] as AptKernelEntry).pin?.sha256).toEqual({
      'linux-image-6.12.117+deb13-amd64': 'b'.repeat(64),
    });
  });
});

// Verification against the real archive signature: a real InRelease from the machine's mirror,
// then tampered copies served from 127.0.0.1.
// Debian Archive Automatic Signing Keys: 13/trixie's (a signer of trixie), 11/bullseye's (not one)
const TRIXIE_KEY = 'B8E5F13176D2A7A75220028078DBA3BC47EF2265';
const BULLSEYE_KEY = '1F89983E0081FDE018F3CC9673A4F27B8DD47936';

describe('verification refuses what does not match', () => {
  let dir: string;
  let inRelease: string;
  let sidRelease: string;
  let server: Server;
  const served = new Map<string, Buffer>();
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-verify-'));
    inRelease = path.join(dir, 'InRelease');
    await download(`${debianMirror()}/dists/trixie/InRelease`, inRelease);
    sidRelease = path.join(dir, 'sid-InRelease');
    await download(`${debianMirror()}/dists/sid/InRelease`, sidRelease);
    server = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      res.statusCode = body ? 200 : 404;
      res.end(body ?? 'not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  test('the real InRelease verifies with gpgv and lists the Packages index', () => {
    const hashes = releaseHashes(verifyInRelease(inRelease));
    expect(hashes.get('main/binary-amd64/Packages.gz')?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a tampered InRelease is refused', () => {
    const text = readFileSync(inRelease, 'utf8');
    const tampered = path.join(dir, 'InRelease.tampered');
    writeFileSync(tampered, text.replace(/^( [0-9a-f]{63})[0-9a-f]/m, '$10'));
    expect(() => verifyInRelease(tampered)).toThrow(/refused signature \(BADSIG /);
  });

  test('co-signed by a key this keyring lacks: gpgv exits non-zero, the valid signature is what counts', () => {
    // a keyring with only trixie's automatic signing key, as an older or smaller keyring would be
    const one = path.join(dir, 'one-key.gpg');
    const key = spawnSync('gpg', ['--no-default-keyring', '--keyring', DEBIAN_KEYRING, '--export', TRIXIE_KEY]);
    writeFileSync(one, key.stdout);
    expect(spawnSync('gpgv', ['--keyring', one, inRelease]).status).not.toBe(0);
    const { status } = gpgvVerify(inRelease, one);
    expect(status.valid).toEqual([TRIXIE_KEY]);
    expect(status.unknown.length).toBeGreaterThan(0);
    expect(releaseHashes(verifyInRelease(inRelease, one)).size).toBeGreaterThan(0);
    // and a keyring with none of the signers refuses it
    const none = path.join(dir, 'no-key.gpg');
    writeFileSync(
      none,
      spawnSync('gpg', ['--no-default-keyring', '--keyring', DEBIAN_KEYRING, '--export', BULLSEYE_KEY]).stdout,
    );
    expect(() => verifyInRelease(inRelease, none)).toThrow(/no valid signature by a key of .*unknown keys/);
  });

  test("another suite's InRelease, validly signed, is refused", () => {
    expect(() => verifyInRelease(inRelease, DEBIAN_KEYRING, { suite: 'trixie' })).not.toThrow();
    expect(() => verifyInRelease(inRelease, DEBIAN_KEYRING, { suite: 'sid' })).toThrow(
      /signed for Suite stable, Codename trixie: another suite's/,
    );
  });

  test('an older InRelease than one seen before (a replayed index) is refused', () => {
    const seenFile = path.join(dir, 'seen', 'newest-date');
    const text = verifyInRelease(inRelease);
    const date = new Date(releaseField(text, 'Date') ?? '');
    mkdirSync(path.dirname(seenFile), { recursive: true });
    writeFileSync(seenFile, new Date(date.getTime() - 86_400_000).toISOString());
    expect(() => verifyInRelease(inRelease, DEBIAN_KEYRING, { suite: 'trixie', seenFile })).not.toThrow();
    expect(readFileSync(seenFile, 'utf8').trim()).toBe(date.toISOString());
    writeFileSync(seenFile, new Date(date.getTime() + 86_400_000).toISOString());
    expect(() => verifyInRelease(inRelease, DEBIAN_KEYRING, { suite: 'trixie', seenFile })).toThrow(/a replayed index/);
  });

  test('an expired InRelease (Valid-Until) is refused when apt here checks that, as apt would', () => {
    const text = verifyInRelease(sidRelease);
    const until = new Date(releaseField(text, 'Valid-Until') ?? '');
    expect(Number.isNaN(until.getTime())).toBe(false);
    const after = new Date(until.getTime() + 60_000);
    expect(() => checkRelease(text, { suite: 'sid', now: after })).toThrow(/expired at .*Check-Valid-Until/);
    expect(() => checkRelease(text, { suite: 'sid', now: after, checkValidUntil: false })).not.toThrow();
    expect(() => checkRelease(text, { suite: 'unstable', now: new Date(until.getTime() - 60_000) })).not.toThrow();
  });

  test('a Packages index that does not match the signed InRelease is refused', async () => {
    served.set('/dists/trixie/InRelease', readFileSync(inRelease));
    served.set('/dists/trixie/main/binary-amd64/Packages.gz', Buffer.from('not the index'));
    const archive = new DebianArchive(base, path.join(dir, 'cache'));
    await expect(archive.packages('trixie')).rejects.toThrow(/Packages.gz: SHA256 .* does not match InRelease/);
  });

  test('a corrupt .deb is refused and deleted, so it can never be booted', async () => {
    served.set('/pool/main/l/linux/linux-image-x.deb', Buffer.from('corrupt'));
    const archive = new DebianArchive(base, path.join(dir, 'cache'));
    await expect(archive.fetchDeb('pool/main/l/linux/linux-image-x.deb', 'a'.repeat(64))).rejects.toThrow(
      /linux-image-x.deb: SHA256 mismatch .* deleted, not booted/,
    );
    expect(existsSync(path.join(dir, 'cache', 'debs', 'linux-image-x.deb'))).toBe(false);
  });
});

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { debianMirror, debianMirrorFrom, parseAptSources } from '../harness/kernels/apt-sources.js';
import {
  DebianArchive,
  download,
  releaseHashes,
  type Stanza,
  VerificationError,
  verifyInRelease,
} from '../harness/kernels/debian-archive.js';
import { pickKernelPackage } from '../harness/kernels/provider-debian.js';

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
});

function stanza(fields: Record<string, string>): Stanza {
  return new Map(Object.entries(fields));
}

describe('kernel package choice', () => {
  const entry = { id: 'debian-6.12', provider: 'debian' as const, suite: 'trixie', series: '6.12', flavour: 'amd64' };
  const index = [
    stanza({ Package: 'linux-image-6.12.107+deb13-amd64', Version: '6.12.107-1', SHA256: 'a'.repeat(64) }),
    stanza({ Package: 'linux-image-6.12.117+deb13-amd64', Version: '6.12.117-1', SHA256: 'b'.repeat(64) }),
    stanza({ Package: 'linux-image-6.12.117+deb13-cloud-amd64', Version: '6.12.117-1', SHA256: 'c'.repeat(64) }),
    stanza({ Package: 'linux-image-6.12.117+deb13-amd64-unsigned', Version: '6.12.117-1', SHA256: 'd'.repeat(64) }),
    stanza({ Package: 'linux-image-6.1.158+deb12-amd64', Version: '6.1.158-1', SHA256: 'e'.repeat(64) }),
  ];
  test('newest of the series and flavour', () => {
    expect(pickKernelPackage(index, entry).get('Version')).toBe('6.12.117-1');
  });
  test('a pinned version and SHA256 are honoured and checked', () => {
    expect(pickKernelPackage(index, { ...entry, version: '6.12.107-1' }).get('SHA256')).toBe('a'.repeat(64));
    expect(() => pickKernelPackage(index, { ...entry, sha256: 'f'.repeat(64) })).toThrow(VerificationError);
  });
});

// Verification against the real archive signature: a real InRelease from the machine's mirror,
// then tampered copies served from 127.0.0.1.
describe('verification refuses what does not match', () => {
  let dir: string;
  let inRelease: string;
  let server: Server;
  const served = new Map<string, Buffer>();
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-verify-'));
    inRelease = path.join(dir, 'InRelease');
    await download(`${debianMirror()}/dists/trixie/InRelease`, inRelease);
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
    expect(() => verifyInRelease(tampered)).toThrow(/bad or unknown signature/);
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

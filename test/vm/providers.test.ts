// The url and local kernel providers on real kernels: the url provider downloads a real Debian
// .deb from a server on 127.0.0.1 (checked against its SHA256, a wrong one refused), and the
// kernel it yields boots and runs a real cell; the local provider links an image and its modules.
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatOutcome } from '../../harness/dsl/vocabulary.js';
import { type Catalog, loadCatalog, parseCatalog, selectKernels } from '../../harness/kernels/catalog.js';
import { DebianArchive } from '../../harness/kernels/debian-archive.js';
import { bzImageRelease, kernelDir } from '../../harness/kernels/kernel-info.js';
import { cachedKernel, fetchKernel } from '../../harness/kernels/providers.js';
import { CACHE_DIR } from '../../harness/paths.js';
import { runMatrix } from '../../harness/run/matrix.js';

const [defaultEntry] = selectKernels(loadCatalog());
const base = defaultEntry && cachedKernel(defaultEntry);
if (!base) throw new Error('the default kernel is not cached: npm test runs setup first, which fetches it');
const debFile = path.join(CACHE_DIR, 'debian', 'debs', path.basename(base.source.files[0]?.from ?? ''));
const debSha = base.source.files[0]?.sha256 ?? '';
const ONE_BYTE_AT = 5_000_000;

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url !== '/kernel.deb' && req.url !== '/pool/one-byte.deb') {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-length', statSync(debFile).size);
    // /pool/one-byte.deb: the real package with one byte changed in the middle
    let offset = 0;
    const flip = new Transform({
      transform(chunk: Buffer, _enc, done) {
        const at = ONE_BYTE_AT - offset;
        if (at >= 0 && at < chunk.length) chunk[at] = (chunk[at] ?? 0) ^ 0x01;
        offset += chunk.length;
        done(null, chunk);
      },
    });
    const body = createReadStream(debFile);
    if (req.url === '/kernel.deb') body.pipe(res);
    else body.pipe(flip).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/kernel.deb`;
});
afterAll(() => {
  server?.close();
  for (const id of ['test-url', 'test-url-bad', 'test-local']) rmSync(kernelDir(id), { recursive: true, force: true });
  rmSync(path.join(CACHE_DIR, 'url'), { recursive: true, force: true });
});

const catalogWith = (kernels: unknown[]): Catalog =>
  parseCatalog({ default: (kernels[0] as { id: string }).id, kernels }, 'test catalog');
const only = (cat: Catalog) => {
  const [entry] = cat.kernels;
  if (!entry) throw new Error('empty catalog');
  return entry;
};

describe('url provider', () => {
  test('a wrong SHA256 is refused and nothing is kept', async () => {
    const cat = catalogWith([
      { id: 'test-url-bad', provider: 'url', version: '6.12', files: [{ url, sha256: 'f'.repeat(64) }] },
    ]);
    await expect(fetchKernel(only(cat))).rejects.toThrow(/SHA256 mismatch .* deleted, not booted/);
    expect(existsSync(path.join(kernelDir('test-url-bad'), 'kernel.json'))).toBe(false);
  });

  test('the real .deb with one byte changed is refused by both download paths and never booted', async () => {
    // the url provider, given the package's true SHA256
    const cat = catalogWith([
      {
        id: 'test-url-bad',
        provider: 'url',
        version: base.version,
        files: [{ url: url.replace('/kernel.deb', '/pool/one-byte.deb'), sha256: debSha }],
      },
    ]);
    const results = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-onebyte-'));
    await expect(
      runMatrix({ catalog: cat, kernel: 'test-url-bad', resultsDir: results, log: () => {} }),
    ).rejects.toThrow(/SHA256 mismatch .* deleted, not booted/);
    expect(readdirSync(results)).toEqual([]); // no run, no VM
    expect(existsSync(path.join(kernelDir('test-url-bad'), 'kernel.json'))).toBe(false);
    // the Debian archive path, given the SHA256 the signed Packages index lists
    const archive = new DebianArchive(new URL(url).origin, mkdtempSync(path.join(os.tmpdir(), 'capmatrix-onebyte-')));
    await expect(archive.fetchDeb('pool/one-byte.deb', debSha)).rejects.toThrow(
      /SHA256 mismatch .* deleted, not booted/,
    );
  }, 300_000);

  test('a real Debian .deb from 127.0.0.1 boots and runs a cell', async () => {
    expect(existsSync(debFile)).toBe(true);
    const cat = catalogWith([
      { id: 'test-url', provider: 'url', version: base.version, files: [{ url, sha256: debSha }] },
    ]);
    const info = await fetchKernel(only(cat));
    expect(info.release).toBe(base.release);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-url-'));
    const { results } = await runMatrix({
      catalog: cat,
      kernel: 'test-url',
      cells: '^sockex1/NET_RAW\\+BPF/ubd=2$',
      resultsDir: dir,
      log: () => {},
    });
    const [cell] = results.cells;
    expect(cell?.observed && formatOutcome(cell.observed)).toBe('ok');
    expect(results.kernels[0]?.source).toMatchObject({ provider: 'url' });
    expect((results.provenance.boots[0] as { guest: { release: string } }).guest.release).toBe(base.release);
  }, 600_000);
});

describe('local provider', () => {
  test('links a bzImage and its modules; the release comes from the image header', async () => {
    expect(bzImageRelease(base.vmlinuz)).toBe(base.release);
    const modules = path.join(kernelDir(base.id), 'lib', 'modules', base.release);
    const cat = catalogWith([{ id: 'test-local', provider: 'local', vmlinuz: base.vmlinuz, modules }]);
    const info = await fetchKernel(only(cat));
    expect(info.release).toBe(base.release);
    expect(existsSync(path.join(kernelDir('test-local'), 'lib', 'modules', base.release, 'modules.order'))).toBe(true);
  });

  test('a missing image is a clear error', async () => {
    const cat = catalogWith([{ id: 'test-local', provider: 'local', vmlinuz: '/nonexistent/bzImage' }]);
    await expect(fetchKernel(only(cat))).rejects.toThrow('kernel test-local: /nonexistent/bzImage does not exist');
  });
});

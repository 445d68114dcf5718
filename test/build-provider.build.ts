// Opt-in (npm run test:build, not part of npm test: a kernel build takes tens of minutes on two
// cores). Builds the kernel tree in CAPMATRIX_BUILD_SOURCE with vng --build and
// kernels/capmatrix.config through the "build" provider, boots it and runs a real cell.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { formatOutcome } from '../harness/dsl/vocabulary.js';
import { parseCatalog } from '../harness/kernels/catalog.js';
import { runMatrix } from '../harness/run/matrix.js';

test(
  'a kernel built from source boots and runs sockex1',
  async () => {
    const source = process.env.CAPMATRIX_BUILD_SOURCE;
    if (!source) throw new Error('set CAPMATRIX_BUILD_SOURCE to a kernel source tree');
    const catalog = parseCatalog(
      {
        default: 'built',
        kernels: [{ id: 'built', provider: 'build', source, configFragment: 'kernels/capmatrix.config' }],
      },
      'build test catalog',
    );
    const { results } = await runMatrix({
      catalog,
      cells: '^sockex1/(NET_RAW\\+BPF|none)/ubd=2$',
      resultsDir: mkdtempSync(path.join(os.tmpdir(), 'capmatrix-build-')),
      log: (m) => process.stderr.write(`${m}\n`),
    });
    const outcome = (id: string) => {
      const c = results.cells.find((x) => x.id === id);
      return c?.observed ? formatOutcome(c.observed) : c?.infraError;
    };
    expect(outcome('sockex1/NET_RAW+BPF/ubd=2')).toBe('ok');
    expect(outcome('sockex1/none/ubd=2')).toBe('EPERM@probe');
  },
  4 * 3600_000,
);

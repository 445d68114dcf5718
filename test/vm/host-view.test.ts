// The guest's view of the host, on a real VM (one boot): secrets planted on the host outside what
// a run needs (a root-only file in /root when the test runs as root, and a world-readable file in
// a fresh directory of the temp dir that is not the project) and inside it (a root-only file in
// the project, which the guest sees: QEMU reads it as a uid of its own, never root) stay
// unreadable for cells with every capability: root, and nobody with CAP_SYS_ADMIN (which mounts
// the 9p shares again, binds the guest's root without vng's masks and unmounts them) or
// CAP_DAC_READ_SEARCH alone.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunResults } from '../../harness/report/results-json.js';
import { runMatrix } from '../../harness/run/matrix.js';

const token = `capmatrix-secret-${randomBytes(8).toString('hex')}`;
const planted: string[] = [];
const cleanup: string[] = [];
let resultsDir = '';
let results: RunResults;

function plant(file: string, mode: number): void {
  writeFileSync(file, `${token}\n`, { mode });
  chmodSync(file, mode);
  planted.push(file);
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) return;
  // its name is not the token: the plan, and so the reports, name the paths
  const inRoot = path.join('/root', `capmatrix-secret-${randomBytes(4).toString('hex')}.txt`);
  plant(inRoot, 0o600);
  cleanup.push(inRoot);
  // world-readable, in a world-readable directory of the temp dir (where a user's project may live)
  const outside = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-outside-'));
  chmodSync(outside, 0o755);
  plant(path.join(outside, 'secret.txt'), 0o644);
  cleanup.push(outside);
  // root's own, in the project the guest sees
  const inProject = path.join(process.cwd(), `.capmatrix-secret-${randomBytes(4).toString('hex')}`);
  plant(inProject, 0o600);
  cleanup.push(inProject);
  process.env.CAPMATRIX_SECRETS = planted.join(' ');
  resultsDir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-host-view-'));
  cleanup.push(resultsDir);
  ({ results } = await runMatrix({
    scenarioDir: 'test/fixtures/scenarios',
    scenarios: ['fault-read-secret'],
    jobs: 1,
    retries: 0,
    // the hostile sample's cells share one boot: one VM for the test
    shareBoots: true,
    resultsDir,
    log: () => {},
  }));
}, 600_000);

afterAll(() => {
  for (const p of cleanup) rmSync(p, { recursive: true, force: true });
});

// Only as root does capmatrix make the view (harness/vm/host-view.ts: a normal user's user
// namespace cannot map root, and the guest would not boot); a normal user's guest reads what that
// user can, as docs/trust-model.md says. CI and the workflows run as root.
describe.runIf(process.getuid?.() === 0)("the guest sees only what a run needs of the host's filesystem", () => {
  test('no cell reads a planted secret, with root, CAP_SYS_ADMIN or CAP_DAC_READ_SEARCH', () => {
    const cells = results.cells.filter((c) => c.id.startsWith('fault-read-secret/'));
    expect(cells.map((c) => c.capsName).sort()).toEqual(
      ['DAC_OVERRIDE+DAC_READ_SEARCH+SYS_ADMIN', 'DAC_READ_SEARCH', 'root'].sort(),
    );
    for (const c of cells) {
      // in the view, so there (not ENOENT), and QEMU's uid may not read it
      expect(c.stderrTail).toContain(`${planted[2]} directly -> Permission denied`);
      // the sample's own report: what it read, or that it read nothing
      expect({ id: c.id, detail: c.observed?.detail }).toEqual({
        id: c.id,
        detail: expect.stringMatching(/^read none of/),
      });
      expect(c.verdict).toBe('match');
    }
  });

  test("QEMU ran as the boot's own uid, not root, and the results share is root's again after", () => {
    for (const b of results.provenance.boots) {
      const vm = b.vm as { qemuUser?: string | null; argv?: string[] } | undefined;
      expect(vm?.qemuUser).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(vm?.argv?.join(' ')).toContain(vm?.qemuUser ?? 'none');
      expect(vm?.argv).toContain('--force-9p');
    }
    for (const f of filesUnder(resultsDir)) expect({ f, uid: statSync(f).uid }).toEqual({ f, uid: 0 });
  });

  test("the secrets' content is in no file the run wrote (results, reports, console)", () => {
    const leaked = filesUnder(resultsDir).filter((f) => readFileSync(f, 'latin1').includes(token));
    expect(leaked).toEqual([]);
  });
});

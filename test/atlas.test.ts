// The privilege atlas: its least-privilege summary on made-up cells; the committed docs/atlas is
// what the committed baselines generate now (never stale); and the site, built from those
// baselines, in headless Chromium from file://: a search that finds XDP, a cell's link and the
// command it shows (which selects exactly that cell), the change markers and their findings, a
// phone's width.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { renderAtlas } from '../harness/atlas/atlas-html.js';
import { buildAtlas, summaryText } from '../harness/atlas/atlas-model.js';
import { cellHash, cellOfHash } from '../harness/atlas/page-contract.js';
import { writeAtlas } from '../harness/atlas/write-atlas.js';
import type { CellResult } from '../harness/outcome/verdict.js';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { type RunResults, readResults } from '../harness/report/results-json.js';
import { CHROMIUM } from './chromium.js';

const BASELINES = path.join(PACKAGE_ROOT, 'baselines');
const COMMITTED = path.join(PACKAGE_ROOT, 'docs', 'atlas');
const TSX = path.join(PACKAGE_ROOT, 'node_modules', '.bin', 'tsx');
const CLI = path.join(PACKAGE_ROOT, 'harness', 'cli.ts');

function cell(capsName: string, outcome: string, grant?: 'ambient'): CellResult {
  const caps = capsName === 'root' ? 'root' : capsName === 'none' ? [] : capsName.split('+');
  return {
    id: `x/${capsName}/ubd=2`,
    kernel: 'debian-6.12',
    scenario: 'x',
    sample: 'x',
    caps,
    capsName: grant ? `${grant}:${capsName}` : capsName,
    ...(grant ? { grant } : {}),
    uid: capsName === 'root' ? 0 : 65534,
    sysctl: {},
    context: 'host',
    observed: { outcome: outcome as 'ok', stage: 'prog_load', errno: outcome === 'ok' ? 0 : 1, detail: '' },
    expected: { outcome, stage: 'prog_load', reason: 'r' },
    verdict: 'match',
    boot: 'b',
  } as CellResult;
}

describe('least privilege of a feature on a kernel', () => {
  test('the ok sets no other ok set undercuts, file capabilities before other grants', () => {
    const cells = [
      cell('none', 'EPERM'),
      cell('BPF', 'EPERM'),
      cell('NET_ADMIN+BPF', 'ok'),
      cell('NET_ADMIN+PERFMON+BPF', 'ok'),
      cell('SYS_ADMIN', 'ok'),
      cell('NET_ADMIN+BPF', 'ok', 'ambient'),
      cell('root', 'ok'),
    ];
    expect(summaryText(cells)).toEqual({ text: 'NET_ADMIN+BPF or SYS_ADMIN', ok: true });
    expect(summaryText([cell('BPF', 'EPERM'), cell('BPF', 'ok', 'ambient')]).text).toBe('ambient:BPF');
  });

  test('unprivileged, root only, none ok, not run', () => {
    expect(summaryText([cell('none', 'ok'), cell('BPF', 'ok')]).text).toBe('unprivileged');
    expect(summaryText([cell('BPF', 'EPERM'), cell('root', 'ok')])).toEqual({ text: 'root only', ok: true });
    expect(summaryText([cell('BPF', 'EACCES'), cell('root', 'EPERM')])).toEqual({
      text: 'none ok: EPERM@prog_load',
      ok: false,
    });
    expect(summaryText([]).text).toBe('not run');
  });

  test("a container variant's sets are what --cap-add adds, though its process is uid 0", () => {
    const box = (capsName: string, outcome: string): CellResult => ({
      ...cell('root', outcome),
      id: `c/${capsName}/ubd=2`,
      capsName,
      context: 'container',
    });
    const cells = [box('default', 'EPERM'), box('add-SYS_ADMIN', 'EPERM'), box('add-SYS_ADMIN+BPF', 'ok')];
    expect(summaryText(cells)).toEqual({ text: '--cap-add SYS_ADMIN+BPF', ok: true });
    expect(summaryText([box('default', 'ok'), box('add-SYS_ADMIN', 'ok')]).text).toBe('default container');
    expect(summaryText([box('default', 'EPERM'), box('add-SYS_ADMIN', 'EACCES')]).text).toBe(
      'none ok: EACCES@prog_load',
    );
  });

  test('root as the only set tried says so; flaky cells and infra errors are no measurement', () => {
    expect(summaryText([cell('root', 'ok')]).text).toBe('root (the only set tried)');
    const flaky = { ...cell('BPF', 'ok'), verdict: 'flaky' as const };
    expect(summaryText([flaky, cell('SYS_ADMIN', 'ok')]).text).toBe('SYS_ADMIN ?');
    const infra: CellResult = { ...cell('BPF', 'EPERM'), observed: null, verdict: 'infra-error' };
    expect(summaryText([infra, cell('root', 'ok')]).text).toBe('root only ?');
  });

  test('text from a run reaches the page escaped, its control and bidi characters visible', () => {
    const hostile = { ...cell('BPF', 'EPERM'), kernel: 'debian-6.12' };
    hostile.expected = { ...hostile.expected, reason: 'r <script>alert(1)</script> \u202eevil' };
    if (hostile.observed) hostile.observed = { ...hostile.observed, detail: '"><img src=x onerror=alert(1)>\x1b[31m' };
    const run: RunResults = {
      schemaVersion: 1,
      runId: 'r',
      startedAt: '2026-12-01T00:00:00Z',
      finishedAt: '2026-12-01T01:00:00Z',
      host: {},
      kernels: [{ id: 'debian-6.12', release: '6.12.1-amd64\u202e', source: {}, accel: 'tcg' }],
      cells: [hostile],
      provenance: { boots: [] },
    };
    const html = renderAtlas(buildAtlas(run, {}));
    expect(html).not.toMatch(/<script>alert|<img src=x/);
    expect(html.includes('\u202e') || html.includes('\x1b')).toBe(false);
    expect(html).toContain('\\u202eevil');
    expect(html).toContain('6.12.1-amd64\\u202e');
    expect(html).toContain('\\x1b[31m');
  });

  test("a cell's link names its kernel and id, whatever characters the id has", () => {
    const id = 'token_container-capadd/BPF+SYS_ADMIN/ubd=2,userns=1';
    expect(cellOfHash(cellHash('debian-6.12', id))).toEqual({ kernel: 'debian-6.12', id });
    expect(cellOfHash(cellHash('k', 'a/b#c 1/d'))).toEqual({ kernel: 'k', id: 'a/b#c 1/d' });
    expect(cellOfHash('#finding-3')).toBeNull();
    expect(cellOfHash('#cell=%E0%A4%A')).toBeNull();
  });
});

let site: string;
let built: Awaited<ReturnType<typeof writeAtlas>>;
beforeAll(async () => {
  site = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-atlas-'));
  built = await writeAtlas({ out: site, baselines: BASELINES });
}, 60_000);

test('the committed atlas (docs/atlas) is what the committed baselines generate', () => {
  expect(built.kernels).toBe(readdirSync(BASELINES).filter((f) => f.endsWith('.json')).length);
  for (const name of ['index.html', 'atlas.js', 'atlas.css'])
    expect(
      readFileSync(path.join(COMMITTED, name), 'utf8') === readFileSync(path.join(site, name), 'utf8'),
      `docs/atlas/${name} is stale: npm run atlas (report --save-baselines does it too)`,
    ).toBe(true);
});

test("report --save-baselines generates the project's atlas again from the baselines it saved", () => {
  const project = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-atlas-project-'));
  mkdirSync(path.join(project, 'docs', 'atlas'), { recursive: true });
  writeFileSync(path.join(project, 'docs', 'atlas', 'index.html'), 'old');
  // one kernel of the committed baselines, one cell changed, as a finished run
  const run = readResults(path.join(BASELINES, 'debian-6.12.json'));
  const moved = run.cells.find((c) => c.id === 'sockex1/NET_RAW+BPF/ubd=2');
  if (!moved?.observed) throw new Error('the baseline lacks sockex1/NET_RAW+BPF/ubd=2');
  moved.observed = { ...moved.observed, outcome: 'EPERM', stage: 'probe', errno: 1 };
  moved.verdict = 'mismatch';
  const results = path.join(project, 'results', 'r1', 'results.json');
  mkdirSync(path.dirname(results), { recursive: true });
  writeFileSync(results, JSON.stringify(run));
  const r = spawnSync(TSX, [CLI, 'report', '--results', results, '--save-baselines'], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, GITHUB_STEP_SUMMARY: '' },
  });
  expect(r.stdout, r.stderr).toContain('baseline: baselines/debian-6.12.json');
  expect(r.stdout).toMatch(/atlas: docs\/atlas \(\d+ features, 631 cells, 1 kernels\)/);
  const html = readFileSync(path.join(project, 'docs', 'atlas', 'index.html'), 'utf8');
  // the moved cell no longer matches its expectation: its column says so
  expect(html).toMatch(
    /<td class="k ok" data-kernel="debian-6\.12">[^<]*<span class="unsure" title="1 cell\(s\) here did not match/,
  );
  expect(html).toContain('<dd>baselines/debian-6.12.json: run ');
  // the saved outcome, not the committed one
  const link = html.split(`href="${cellHash('debian-6.12', moved.id)}"`)[1] ?? '';
  expect(link.slice(0, link.indexOf('</a>'))).toMatch(/>EPERM@probe<sup>/);
  expect(existsSync(path.join(project, 'docs', 'atlas', 'atlas.js'))).toBe(true);
}, 60_000);

describe('the Pages workflow', () => {
  interface Job {
    permissions?: Record<string, string>;
    steps: { name?: string; shell?: string; run?: string; uses?: string }[];
  }
  const workflow = parse(readFileSync(path.join(PACKAGE_ROOT, '.github', 'workflows', 'pages.yml'), 'utf8')) as {
    jobs: Record<string, Job>;
  };

  test('only the deploy job may write to Pages; the build job reads', () => {
    expect(workflow.jobs.build?.permissions).toEqual({ contents: 'read' });
    expect(workflow.jobs.deploy?.permissions).toEqual({ pages: 'write', 'id-token': 'write' });
    expect(workflow.jobs.deploy?.steps.map((s) => s.uses?.split('@')[0])).toEqual(['actions/deploy-pages']);
  });

  test('its build step, run as GitHub runs it, builds the site and finds docs/atlas the same', () => {
    const step = workflow.jobs.build?.steps.find((s) => s.run?.includes('atlas'));
    expect(step?.shell).toBe('bash');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-pages-'));
    for (const name of [
      'harness',
      'node_modules',
      'scenarios',
      'baselines',
      'docs',
      'package.json',
      'package-lock.json',
    ])
      symlinkSync(path.join(PACKAGE_ROOT, name), path.join(dir, name));
    const script = path.join(dir, 'step.sh');
    writeFileSync(script, step?.run ?? '');
    // GitHub's command line for shell: bash
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: dir, encoding: 'utf8' });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(readFileSync(path.join(dir, 'site', 'index.html'), 'utf8')).toContain('<h1>Privilege atlas</h1>');
  }, 60_000);
});

describe('the atlas in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!CHROMIUM)
      throw new Error("no Chromium: npm test installs Debian's chromium as root (or set CAPMATRIX_CHROMIUM)");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  afterAll(() => browser?.close());
  const url = () => `file://${site}/index.html`;

  test('a search for XDP finds the XDP features and only them', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url());
    await page.fill('#q', 'XDP');
    const shown = page.locator('tr.feature:not([hidden])');
    await expect.poll(() => shown.count()).toBeGreaterThan(0);
    const names = await shown.locator('.name').allTextContents();
    expect(names).toContain('xdp_adjust_tail');
    for (const n of names) expect(n).toMatch(/xdp/);
    expect(await page.locator('#count').textContent()).toBe(`${names.length} of ${built.features} features`);
    // the kind filter narrows without a word
    await page.fill('#q', '');
    await page.selectOption('#kind', 'map type');
    const kinds = await page
      .locator('tr.feature:not([hidden])')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    expect(kinds.length).toBeGreaterThan(0);
    expect(new Set(kinds)).toEqual(new Set(['map type']));
    expect(errors).toEqual([]);
  });

  test("a cell's link opens its panel with the command that reruns exactly that cell; the link loads it again", async () => {
    const id = 'xdp_adjust_tail/NET_ADMIN+BPF/ubd=2';
    const page = await browser.newPage();
    await page.goto(url());
    await page.fill('#q', 'xdp_adjust_tail ubd=2');
    const row = page.locator('tr.feature:not([hidden])', { hasText: 'xdp_adjust_tail' }).first();
    await row.locator('xpath=following-sibling::tr[1]').locator('summary').click();
    const link = page.locator(`a.cell[href="${cellHash('debian-6.12', id)}"]`);
    await link.click();
    const panel = page.locator('#cell-panel');
    await expect.poll(() => panel.isVisible()).toBe(true);
    expect(await panel.locator('[data-field="outcome"]').textContent()).toBe('EACCES@verifier');
    expect(await panel.locator('[data-field="reasons"]').textContent()).toMatch(/PERFMON/);
    expect(await panel.locator('[data-field="details"]').textContent()).toMatch(/pointer/);
    const command = (await panel.locator('[data-field="command"]').textContent()) ?? '';
    const m = /^npx capmatrix matrix --kernel debian-6\.12 --scenario xdp_adjust_tail --cells '(.+)'$/.exec(command);
    expect(m, command).not.toBeNull();
    // the --cells value, as matrix applies it, selects this cell and no other of the kernel's
    const ids = readResults(path.join(BASELINES, 'debian-6.12.json')).cells.map((c) => c.id);
    expect(ids.filter((x) => new RegExp(m?.[1] ?? '').test(x))).toEqual([id]);
    expect(decodeURI(new URL(page.url()).hash)).toBe(`#cell=debian-6.12/${id}`);
    // the same link in a new page opens the panel by itself
    const again = await browser.newPage();
    await again.goto(`${url()}${cellHash('debian-6.12', id)}`);
    await expect.poll(() => again.locator('#cell-panel').isVisible()).toBe(true);
    expect(await again.locator('#cell-panel [data-field="cell"]').textContent()).toBe(`debian-6.12 ${id}`);
  });

  test('the change markers: a column that changed is shaded, and its marker links a finding that exists', async () => {
    const page = await browser.newPage();
    await page.goto(url());
    const changed = page.locator('td.k.changed');
    expect(await changed.count()).toBeGreaterThan(0);
    // 5.10 → 6.1: a 1 MiB map under 64 KiB of RLIMIT_MEMLOCK (memory charged to the cgroup from 5.11)
    const memlock = page.locator('tr.feature', { hasText: 'memlock=64k' }).locator('td.k.changed');
    expect(await memlock.getAttribute('data-kernel')).toBe('debian-6.1');
    expect(await memlock.getAttribute('title')).toMatch(/^changed on debian-6\.1, from /);
    const border = await memlock.evaluate((el) => getComputedStyle(el).borderLeftWidth);
    expect(border).toBe('6px');
    const marker = memlock.locator('a.marker').first();
    const target = (await marker.getAttribute('href')) ?? '';
    expect(target).toMatch(/^#finding-\d+$/);
    await marker.click();
    const finding = page.locator(target);
    expect(await finding.textContent()).toMatch(/memlock: EPERM@map_create → ok from debian-6\.1/);
    expect(await page.evaluate(() => location.hash)).toBe(target);
  });

  test("on a phone's width the page does not scroll sideways (the grid scrolls in its box)", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await page.goto(url());
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(widths[0]).toBeLessThanOrEqual((widths[1] ?? 0) + 1);
    expect(await page.locator('#kernel-debian-6\\.12 dd').first().textContent()).toMatch(/^6\.12\./);
  });
});

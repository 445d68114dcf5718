// What a hostile program under test prints reaches every report: none of it may render as
// Markdown or HTML, break a table, make junit.xml invalid, or drive the terminal, and all of it is
// capped. The HTML and junit.xml are checked in a real headless Chromium too.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import type { CellResult } from '../harness/outcome/verdict.js';
import { renderClaims } from '../harness/report/claims.js';
import { compareWith } from '../harness/report/comparison.js';
import { renderGrid } from '../harness/report/grid.js';
import { renderHtml } from '../harness/report/html.js';
import { renderJunit } from '../harness/report/junit.js';
import { renderKernelReport } from '../harness/report/kernel-report.js';
import { renderMarkdown } from '../harness/report/markdown.js';
import { renderMinimize } from '../harness/report/minimize-report.js';
import type { RunResults } from '../harness/report/results-json.js';
import {
  capped,
  MARKDOWN_MAX,
  markdownBlock,
  markdownCell,
  markdownSpan,
  terminalLine,
  visibleControls,
  xmlText,
} from '../harness/report/untrusted-text.js';
import type { MinimizeResult } from '../harness/run/minimize-result.js';
import { CHROMIUM } from './chromium.js';

/** Everything a program can print to upset a renderer, then 100 KB more. */
const HOSTILE = `${[
  '</td><b>x',
  '<script>alert(1)</script>',
  '![x](http://127.0.0.1/x)',
  '[link](javascript:x)',
  'a | b',
  '``` `code` ``',
  'one\ntwo',
  '\x1b[2J\x1b[31m',
  '\x07',
  '\x00',
  '\x0b',
  '\x9b31m',
  '\uFFFE',
  '\uD800',
].join(' ')}${'A'.repeat(100_000)}`;

/** Provenance the guest reports; it differs between the kernels, so it is shown. */
const hostileMode = (k: string) => `07|00\n<b>${k}</b>\x1b[2J\`x`;

function hostileCell(kernel: string, verdict: 'mismatch' | 'infra-error'): CellResult {
  const observed =
    verdict === 'mismatch'
      ? { outcome: 'ok', stage: 'run', errno: 0, detail: HOSTILE, data: { stdoutTail: HOSTILE } }
      : null;
  return {
    id: 'evil/BPF/ubd=2',
    kernel,
    scenario: 'evil',
    sample: 'evil',
    caps: ['CAP_BPF'],
    capsName: 'BPF',
    uid: 65534,
    sysctl: { 'kernel.unprivileged_bpf_disabled': 2 },
    context: 'host',
    observed,
    expected: { outcome: 'EPERM', stage: 'probe', reason: 'a | reason' },
    verdict,
    durationMs: 1,
    boot: `${kernel}-boot1`,
    stderrTail: HOSTILE,
    capEff: HOSTILE,
    ...(observed ? {} : { infraKind: 'kernel-panic' as const, infraError: HOSTILE }),
  } as CellResult;
}

const hostileRun: RunResults = {
  schemaVersion: 1,
  runId: 'evil-run',
  startedAt: '',
  finishedAt: '',
  host: {},
  kernels: ['debian-6.1', 'debian-6.12'].map((id, i) => ({
    id,
    release: ['6.1.0-50-amd64', '6.12.117+deb13-amd64'][i] ?? '',
    source: {},
    accel: 'tcg',
  })),
  cells: [hostileCell('debian-6.1', 'infra-error'), hostileCell('debian-6.12', 'mismatch')],
  provenance: {
    boots: ['debian-6.1', 'debian-6.12'].map((k) => ({
      boot: `${k}-boot1`,
      kernel: k,
      guest: {
        release: k,
        sysctls: {},
        tracefs: { path: '/sys/kernel/tracing', fs: 'tracefs', mode: hostileMode(k) },
        clocksource: HOSTILE,
      },
    })),
  },
};

/** Any C0 or C1 control character but newline (and tab). */
const CONTROL = /[\p{Cc}]/u;
const controls = (s: string) => [...s].filter((ch) => ch !== '\n' && ch !== '\t' && CONTROL.test(ch));

/** Markdown with its code spans taken out (CommonMark: a run of n backticks closes at the next
 * run of exactly n); what is left is what renders as Markdown. */
function outsideCodeSpans(md: string): string {
  let out = '';
  let i = 0;
  while (i < md.length) {
    const run = /^`+/.exec(md.slice(i))?.[0];
    if (!run) {
      out += md[i++];
      continue;
    }
    const close = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
    close.lastIndex = i + run.length;
    const end = close.exec(md);
    if (!end) {
      out += run;
      i += run.length;
      continue;
    }
    out += ' ';
    i = end.index + run.length;
  }
  return out;
}

const RENDERED = ['<b>', '</td>', '<script', '![x]', '[link]', 'javascript:', 'http://'];

/** The hostile text as Markdown would render it: markup, links, images. */
const renderedMarkup = (md: string) => RENDERED.filter((m) => outsideCodeSpans(md).includes(m));

/** Cells of a GFM table row: split on every `|` not escaped with a backslash. */
const cellCount = (row: string) => row.split(/(?<!\\)\|/).length;

/** Every line of a table that is not a whole row with as many cells as its header. GFM ends a
 * table only at a blank line (or another block): a line after a row is a row too. */
function brokenRows(md: string): string[] {
  const broken: string[] = [];
  let header: number | null = null;
  for (const line of md.split('\n')) {
    if (header === null && !line.startsWith('|')) continue;
    if (line.trim() === '') {
      header = null;
      continue;
    }
    header ??= cellCount(line);
    if (!/^\|.*(?<!\\)\|$/.test(line) || cellCount(line) !== header) broken.push(line);
  }
  return broken;
}

/** The line of a text that contains `marker`. */
const lineWith = (text: string, marker: string) => text.split('\n').find((l) => l.includes(marker)) ?? '';

describe('untrusted-text.ts, one format at a time', () => {
  test('a cut keeps the head, says how much is gone, and never halves a surrogate pair', () => {
    expect(capped('abcdef', 6)).toBe('abcdef');
    expect(capped('abcdef', 4)).toBe('abcd… (2 more characters)');
    expect(capped('ab\u{1F600}cd', 3)).toBe('ab… (4 more characters)');
    expect(markdownSpan('x'.repeat(MARKDOWN_MAX + 5))).toContain('… (5 more characters)');
  });

  test('control characters become visible escapes; newline and tab stay', () => {
    expect(visibleControls('a\x1b[2J\x07\x00\x0b\r\x9b\u202e\tb\nc')).toBe(
      'a\\x1b[2J\\x07\\x00\\x0b\\x0d\\x9b\\u202e\tb\nc',
    );
    expect(terminalLine('a\nb')).toBe('a⏎b');
  });

  test('Markdown: a code span whose fence no backtick run inside can close', () => {
    expect(markdownSpan('a')).toBe('`a`');
    expect(markdownSpan('')).toBe('');
    expect(markdownSpan('x `y` ``z``')).toBe('``` x `y` ``z`` ```');
    expect(markdownSpan('`a')).toBe('`` `a ``');
    expect(markdownSpan('one\ntwo')).toBe('`one⏎two`');
    expect(markdownCell('a|b')).toBe('`a\\|b`');
    expect(markdownBlock('x ``` y', 'sh')).toBe('````sh\nx ``` y\n````\n');
  });

  test('XML: markup escaped, what XML 1.0 forbids gone, a surrogate pair kept', () => {
    expect(xmlText('<a href="x">&</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
    expect(xmlText('a\uFFFE\uFFFFb\uD800c\uDC00d\u{1F600}\x00')).toBe('abcd\u{1F600}\\x00');
  });
});

describe('report.md and the other Markdown', () => {
  const md = renderMarkdown(hostileRun);

  test('no hostile text renders as HTML, a link or an image', () => {
    expect(renderedMarkup(md)).toEqual([]);
  });

  test('no table row is broken by a pipe or a newline', () => {
    expect(brokenRows(md)).toEqual([]);
  });

  test('no control character, and the 100 KB are capped, saying so', () => {
    expect(controls(md)).toEqual([]);
    expect(md.length).toBeLessThan(10_000);
    expect(lineWith(md, '**mismatch**')).toMatch(/… \(\d+ more characters\)/);
  });

  test('kernel-report.md and the seed claims as well', () => {
    const kernelReport = renderKernelReport(hostileRun);
    const claim = { claim: 'c | d', talk: 'l.1', cells: [{ id: 'evil/BPF/ubd=2', claimed: 'ok' }] };
    const claims = renderClaims([claim], hostileRun);
    for (const text of [kernelReport, claims]) {
      expect(renderedMarkup(text)).toEqual([]);
      expect(brokenRows(text)).toEqual([]);
      expect(controls(text)).toEqual([]);
      expect(text.length).toBeLessThan(10_000);
    }
  });
});

describe('junit.xml', () => {
  const xml = renderJunit(hostileRun);

  test('only characters XML 1.0 allows, no markup of the program, capped', () => {
    const forbidden = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
    expect(forbidden.exec(xml)?.[0]).toBeUndefined();
    expect(xml).not.toContain('<b>');
    expect(xml).not.toContain('<script');
    expect(xml.length).toBeLessThan(40_000);
    expect(xml).toMatch(/… \(\d+ more characters\)/);
  });
});

describe('the terminal', () => {
  test('the grid shows control characters as escapes, only its own colours, capped', () => {
    const plain = renderGrid(hostileRun.cells, false);
    expect(controls(plain)).toEqual([]);
    expect(plain).toContain('\\x1b[2J');
    const coloured = renderGrid(hostileRun.cells, true);
    const sgr = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'); // styleText's colours
    expect(controls(coloured.replace(sgr, ''))).toEqual([]);
    expect(Math.max(...plain.split('\n').map((l) => l.length))).toBeLessThan(1_000);
  });

  test('the comparison and minimize print no control character either', () => {
    const compared = compareWith(hostileRun, [], '/').text;
    expect(controls(compared)).toEqual([]);
    const search = {
      kind: 'asked' as const,
      scenario: 'evil',
      sysctl: {},
      minimal: [{ caps: ['CAP_BPF'], shortfalls: [{ without: 'CAP_BPF', outcome: 'EPERM@probe', detail: HOSTILE }] }],
      violations: [],
      teardownError: HOSTILE,
      runs: 2,
      skippedByChecks: 0,
      bruteForce: 2,
    };
    const minimized: MinimizeResult = {
      runDir: '/r',
      dimension: 'caps',
      kernel: { id: 'k', release: 'r' },
      sample: 'evil',
      universe: ['CAP_BPF'],
      searches: [search],
      bootMs: null,
      wallMs: 0,
    };
    const text = renderMinimize(minimized);
    expect(controls(text)).toEqual([]);
    expect(text.length).toBeLessThan(3_000);
  });
});

describe('report.html and junit.xml in headless Chromium', () => {
  test('the hostile text is text, capped; junit.xml parses as XML', async () => {
    if (!CHROMIUM)
      throw new Error("no Chromium: npm test installs Debian's chromium as root (or set CAPMATRIX_CHROMIUM)");
    const html = renderHtml(hostileRun);
    expect(html.length).toBeLessThan(200_000);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'capmatrix-hostile-')), 'report.html');
    writeFileSync(file, html);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${file}`);
      expect(await page.locator('script, img, a, .more b').count()).toBe(0);
      const pre = await page.locator('td.cell.mismatch .more pre').first().textContent();
      expect(pre).toContain('</td><b>x <script>');
      expect(pre).toMatch(/… \(\d+ more characters\)$/);
      const parsed = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'application/xml');
        const error = doc.querySelector('parsererror')?.textContent ?? null;
        return { error, cases: doc.querySelectorAll('testcase').length };
      }, renderJunit(hostileRun));
      expect(parsed).toEqual({ error: null, cases: 2 });
    } finally {
      await browser.close();
    }
  }, 60_000);
});

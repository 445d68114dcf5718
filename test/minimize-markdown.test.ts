// The minimize answer in the job summary: minimal sets by kernel range, each set with its ranges
// and its forms (a failing one with its cell), what moves between ranges, kernels without an
// answer; and `capmatrix report --results minimize.json` putting it there with minimize's exit code.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { renderMinimizeMarkdown } from '../harness/report/minimize-markdown.js';
import { minimizeAcross } from '../harness/run/minimize-across.js';
import { minimizeResult } from './minimize-results.js';

const K510 = minimizeResult('debian-5.10', '5.10.0-46-amd64', [['CAP_SYS_ADMIN']]);
const K61 = minimizeResult('debian-6.1', '6.1.0-50-amd64', [['CAP_BPF', 'CAP_NET_ADMIN'], ['CAP_SYS_ADMIN']]);
const K612 = minimizeResult('debian-6.12', '6.12.57+deb13-amd64', [['CAP_BPF', 'CAP_NET_ADMIN'], ['CAP_SYS_ADMIN']]);

test('the summary: sets by kernel range, each set with its ranges and forms, what moves, no answer', () => {
  const a = minimizeAcross({
    runDir: '/tmp/m',
    perKernel: [K612, K510, K61],
    failed: [{ kernel: 'debian-6.16', error: 'boot timed out', series: '6.16' }],
  });
  const md = renderMinimizeMarkdown(a);
  expect(md).toContain('## capmatrix minimize: `object-xdp`');
  expect(md).toContain('| `5.10` (`debian-5.10`) | `{SYS_ADMIN}` |');
  expect(md).toContain('| `6.1–6.12` (`debian-6.1`, `debian-6.12`) | `{BPF, NET_ADMIN}, {SYS_ADMIN}` |');
  expect(md).toContain('- `setcap cap_bpf,cap_net_admin+ep ./your-loader` on 6.1–6.12');
  expect(md).toContain('- `setcap cap_sys_admin+ep ./your-loader` on 5.10–6.12');
  expect(md).toContain('systemd (as `uid 65534');
  expect(md).toContain('fails on `debian-6.12`: `EPERM@prog_load refused` (cell `x/unit:SYS_ADMIN/default`)');
  expect(md).toContain('### What moves between kernels\n\n- 5.10 → 6.1–6.12: {BPF, NET_ADMIN} minimal');
  expect(md).toContain('- `debian-6.16`: `boot timed out`');
});

test('a kernel where no subset works is said as none in its range', () => {
  const none = minimizeResult('debian-6.12', '6.12.57+deb13-amd64', []);
  const md = renderMinimizeMarkdown(minimizeAcross({ runDir: '/tmp/m', perKernel: [K61, none], failed: [] }));
  expect(md).toContain('| `6.12` (`debian-6.12`) | **none**: no subset of the candidates works |');
  expect(md).toContain('- 6.1 → 6.12: {BPF, NET_ADMIN}, {SYS_ADMIN} no longer minimal');
});

test('untrusted text cannot break out of the summary: a loader name with backticks and a pipe', () => {
  const odd = { ...K612, object: undefined, exec: ['./a`b|c', '--x'] };
  const md = renderMinimizeMarkdown(minimizeAcross({ runDir: '/tmp/m', perKernel: [odd], failed: [] }));
  expect(md).toContain('Loader: ``./a`b|c --x``.');
});

/** `capmatrix report --results <file>` with the job summary in `summary`. */
function report(file: string, summary: string, ...more: string[]) {
  return spawnSync(
    process.execPath,
    [path.join(PACKAGE_ROOT, 'harness', 'bin', 'capmatrix.mjs'), 'report', '--results', file, ...more],
    { encoding: 'utf8', env: { ...process.env, GITHUB_STEP_SUMMARY: summary } },
  );
}

test('capmatrix report says a minimize.json again, into the job summary, with its exit code', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-minimize-md-'));
  const summary = path.join(dir, 'summary.md');
  writeFileSync(summary, '');
  const one = path.join(dir, 'one.json');
  writeFileSync(one, JSON.stringify(K61));
  const r = report(one, summary);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('6.1: {BPF, NET_ADMIN}, {SYS_ADMIN}');
  expect(readFileSync(summary, 'utf8')).toContain('| `6.1` (`debian-6.1`) | `{BPF, NET_ADMIN}, {SYS_ADMIN}` |');
  // several kernels, one without a set: a finding
  const across = path.join(dir, 'across.json');
  const none = minimizeResult('debian-6.12', '6.12.57+deb13-amd64', []);
  writeFileSync(across, JSON.stringify({ runDir: dir, perKernel: [K61, none], failed: [] }));
  expect(report(across, summary).status).toBe(1);
  // a minimize.json takes no option of a run's report
  const bad = report(one, summary, '--save-baselines');
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('a minimize.json takes no other option (saveBaselines)');
});

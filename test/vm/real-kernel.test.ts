// The core path on a real kernel in a real VM: boots the default kernel (TCG here, KVM where it
// works) and runs the sockex1 scenario as uid 65534 with real file capabilities. Never skipped.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { formatOutcome } from '../../harness/dsl/vocabulary.js';
import type { CellResult } from '../../harness/outcome/verdict.js';
import type { RunResults } from '../../harness/report/results-json.js';
import { runMatrix } from '../../harness/run/matrix.js';

let results: RunResults;
const cell = (id: string): CellResult => {
  const c = results.cells.find((x) => x.id === id);
  if (!c) throw new Error(`no cell ${id} in ${results.cells.map((x) => x.id).join(', ')}`);
  return c;
};

describe('sockex1 on the default kernel', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-real-'));
    ({ results } = await runMatrix({ scenarios: ['sockex1'], resultsDir: dir, log: () => {} }));
  }, 900_000);

  test('the guest agent ran every cell and recorded the boot provenance', () => {
    expect(results.cells).toHaveLength(15);
    const boot = results.provenance.boots[0];
    if (!boot?.guest) throw new Error('no guest provenance');
    expect(boot.agentFinished).toBe(true);
    expect(boot.guest.release).toBe(results.kernels[0]?.release);
    expect(boot.guest.sysctls?.['kernel.perf_event_paranoid']).toEqual(expect.any(Number));
    expect(boot.guest.tracefs?.mode).toMatch(/^0[0-7]{3}$/);
    expect(results.cells.filter((c) => c.verdict === 'infra-error')).toEqual([]);
  });

  test.each([
    ['sockex1/none/ubd=2', 'EPERM@probe'],
    ['sockex1/none/ubd=1', 'EPERM@probe'],
    ['sockex1/none/ubd=0', 'EPERM@raw_socket'],
    ['sockex1/NET_RAW/ubd=0', 'ok'],
    ['sockex1/BPF/ubd=2', 'EPERM@raw_socket'],
    ['sockex1/NET_RAW+BPF/ubd=2', 'ok'],
    ['sockex1/NET_RAW+BPF/ubd=1', 'ok'],
    ['sockex1/root/ubd=2', 'ok'],
  ])('%s observed %s', (id, want) => {
    const c = cell(id);
    expect(c.observed && formatOutcome(c.observed)).toBe(want);
    expect(c.verdict).toBe('match');
  });

  test('ok means bytes were counted for ICMP, TCP and UDP, as uid 65534 with exactly the cell caps', () => {
    const c = cell('sockex1/NET_RAW+BPF/ubd=2');
    const counts = c.observed?.data?.counts as Record<string, number>;
    expect(counts.icmp).toBeGreaterThan(0);
    expect(counts.tcp).toBeGreaterThan(0);
    expect(counts.udp).toBeGreaterThan(0);
    expect(c.uid).toBe(65534);
    expect(c.caps).toEqual(['CAP_BPF', 'CAP_NET_RAW']);
  });

  test('the sysctl phases ran in the order 0, 2, 1 within one boot', () => {
    const order = results.cells.map((c) => c.sysctl['kernel.unprivileged_bpf_disabled']);
    expect(order.indexOf(2)).toBeGreaterThan(order.lastIndexOf(0));
    expect(order.indexOf(1)).toBeGreaterThan(order.lastIndexOf(2));
    expect(new Set(results.cells.map((c) => c.boot)).size).toBe(1);
  });
});

// capmatrix bisect once for real on a pair of 5.10 builds the archive carries, across the uprobe
// PMU's CAP_SYS_ADMIN revert; the search and the changelog reading: test/bisect.test.ts.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { runBisect } from '../../harness/run/bisect.js';

describe('on a real pair of builds', () => {
  test(
    'names 5.10.251-5 as the first build where CAP_PERFMON stopped opening the uprobe PMU, and the revert in its changelog',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-bisect-'));
      const r = await runBisect({
        cell: 'uprobe-perf/PERFMON+BPF/ubd=2,paranoid=2',
        series: '5.10',
        good: '5.10.223-1',
        bad: '5.10.251-5',
        resultsDir: dir,
        log: () => {},
      });
      expect(r.tested.map((t) => `${t.version} ${t.outcome}`)).toEqual([
        '5.10.223-1 ok',
        '5.10.251-5 EACCES@perf_open',
      ]);
      expect(r.firstBad?.suite).toBe('bullseye-security');
      expect(r.lastGood?.release).toBe('5.10.0-32-amd64');
      expect(r.changelog?.uploads).toContain('5.10.244-1 (bullseye-security)');
      expect(r.changelog?.lines[0]?.text).toMatch(/^perf: Revert to requiring CAP_SYS_ADMIN for uprobes/);
    },
    20 * 60_000,
  );
});

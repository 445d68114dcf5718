// capmatrix bisect: the search and the changelog reading as pure logic (once for real on a pair
// of 5.10 builds: test/vm/bisect.test.ts).
import { describe, expect, test } from 'vitest';
import { entriesBetween, parseChangelog, relevantLines } from '../harness/kernels/changelog.js';
import { buildId, buildsIn, lineageSuites } from '../harness/kernels/series-builds.js';
import { searchFirstChange } from '../harness/run/bisect.js';

/** A tester over a fixed outcome per version, recording what it was asked to run. */
function fake(outcomes: Record<string, string | null>) {
  const asked: string[][] = [];
  const test = async (vs: string[]) => {
    asked.push(vs);
    return new Map(vs.map((v) => [v, outcomes[v] ?? null]));
  };
  return { asked, test };
}

describe('searchFirstChange', () => {
  const versions = ['1', '2', '3', '4', '5', '6', '7', '8'];
  test('finds the first build whose outcome differs, in log2 steps after the two ends', async () => {
    const { asked, test: t } = fake({
      1: 'ok',
      2: 'ok',
      3: 'ok',
      4: 'ok',
      5: 'ok',
      6: 'EPERM@x',
      7: 'EPERM@x',
      8: 'EPERM@x',
    });
    const r = await searchFirstChange(versions, t);
    expect(r).toEqual({ lastGood: '5', firstBad: '6', skipped: [] });
    expect(asked[0]).toEqual(['1', '8']);
    expect(asked.length).toBeLessThanOrEqual(1 + Math.ceil(Math.log2(8)));
  });
  test('no change between the ends: nothing in between is run', async () => {
    const { asked, test: t } = fake({ 1: 'ok', 8: 'ok' });
    expect(await searchFirstChange(versions, t)).toEqual({ skipped: [] });
    expect(asked).toEqual([['1', '8']]);
  });
  test('a build that ends in an infra error is skipped', async () => {
    const { test: t } = fake({
      1: 'ok',
      2: 'ok',
      3: 'ok',
      4: null,
      5: 'EPERM@x',
      6: 'EPERM@x',
      7: 'EPERM@x',
      8: 'EPERM@x',
    });
    const r = await searchFirstChange(versions, t);
    expect(r.firstBad).toBe('5');
    expect(r.lastGood).toBe('3');
    expect(r.skipped).toEqual(['4']);
  });
  test('an end that ends in an infra error stops the bisect', async () => {
    await expect(searchFirstChange(['1', '2'], fake({ 1: 'ok' }).test)).rejects.toThrow(/2 ended in an infra error/);
  });
});

const CHANGELOG = `linux-signed-amd64 (5.10.251+5) bullseye-security; urgency=medium

  * Sign kernel from linux 5.10.251-5

  * bpf: fix a verifier thing
  * [arm64] bpf, arm64: only arm64

 -- Someone <a@b>  Mon, 1 Jan 2026 00:00:00 +0000

linux (5.10.244-1) bullseye-security; urgency=high

  * New upstream stable update:
    https://www.kernel.org/pub/linux/kernel/v5.x/ChangeLog-5.10.240
    - perf: Revert to requiring CAP_SYS_ADMIN for uprobes
      (CVE-2025-38466)
    - perf header: a tools/perf change
    - net: performing something unrelated
    - uprobes: fix a thing

 -- Someone <a@b>  Mon, 1 Jan 2025 00:00:00 +0000

linux (5.10.223-1) bullseye-security; urgency=high

  * perf: an older change

 -- Someone <a@b>  Mon, 1 Jan 2024 00:00:00 +0000
`;

describe('Debian changelog', () => {
  const entries = parseChangelog(CHANGELOG);
  test('the signed wrapper stands for the build it signs; good is excluded, bad included', () => {
    expect(entriesBetween(entries, '5.10.223-1', '5.10.251-5').map((e) => e.version)).toEqual([
      '5.10.251-5',
      '5.10.244-1',
    ]);
  });
  test("lines on the topics, the cell's words first; other architectures and tools left out", () => {
    const lines = relevantLines(entriesBetween(entries, '5.10.223-1', '5.10.251-5'), ['uprobe', 'perf', 'cap_*']);
    expect(lines.map((l) => l.text)).toEqual([
      'perf: Revert to requiring CAP_SYS_ADMIN for uprobes (CVE-2025-38466)',
      'uprobes: fix a thing',
      'bpf: fix a verifier thing',
    ]);
    expect(lines[0]?.score).toBe(3);
  });
});

describe('series builds', () => {
  const stanza = (pkg: string, version: string) =>
    new Map([
      ['Package', pkg],
      ['Version', version],
      ['SHA256', 'a'.repeat(64)],
      ['Depends', ''],
    ]);
  test('every build of the series in the suites, oldest first, once each, pinned', () => {
    const builds = buildsIn(
      [
        { suite: 'bullseye', stanzas: [stanza('linux-image-5.10.0-32-amd64', '5.10.223-1')] },
        {
          suite: 'bullseye-security',
          stanzas: [
            stanza('linux-image-5.10.0-46-amd64', '5.10.262-1'),
            stanza('linux-image-5.10.0-46-cloud-amd64', '5.10.262-1'),
            stanza('linux-image-6.1.0-0.deb11.50-amd64', '6.1.176-1~deb11u1'),
            stanza('linux-image-5.10.0-32-amd64', '5.10.223-1'),
          ],
        },
      ],
      { provider: 'debian', series: '5.10', flavour: 'amd64' },
    );
    expect(builds.map((b) => `${b.version} ${b.suite}`)).toEqual([
      '5.10.223-1 bullseye',
      '5.10.262-1 bullseye-security',
    ]);
    expect(builds[1]?.entry.pin?.sha256).toEqual({ 'linux-image-5.10.0-46-amd64': 'a'.repeat(64) });
  });
  test('ids and default suites', () => {
    expect(buildId('debian', '6.12.74-2~bpo12+1')).toBe('debian-6.12.74-2-bpo12-1');
    const e = {
      id: 'x',
      provider: 'debian',
      series: '5.10',
      flavour: 'amd64',
      component: 'main',
      inAll: true,
    } as const;
    expect(lineageSuites({ ...e, suite: 'bullseye-security' })).toEqual(['bullseye', 'bullseye-security']);
    expect(lineageSuites({ ...e, suite: 'trixie-backports' })).toEqual(['trixie-backports']);
  });
});

// One decisive cell (or pair) per sample of the talk, on the real default kernel in one boot:
// the cells whose answer the talk's argument turns on. Never skipped.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { formatOutcome } from '../../harness/dsl/vocabulary.js';
import type { CellResult } from '../../harness/outcome/verdict.js';
import { ruleFindings } from '../../harness/report/reason-checks.js';
import type { RunResults } from '../../harness/report/results-json.js';
import { runMatrix } from '../../harness/run/matrix.js';

const DECISIVE: [id: string, outcome: string, check?: (c: CellResult) => void][] = [
  [
    'xdp_adjust_tail/NET_ADMIN+BPF/ubd=2',
    'EACCES@verifier',
    (c) => expect(c.observed?.detail).toContain('pointer -= pointer prohibited'),
  ],
  ['xdp_adjust_tail/NET_ADMIN+PERFMON+BPF/ubd=2', 'ok', (c) => expect(c.observed?.data?.answers).toBeGreaterThan(0)],
  ['xdp_adjust_tail-iproute2-capsh/root/ubd=2', 'EACCES@verifier'],
  [
    'trace_output-kprobe/PERFMON+BPF/ubd=2,paranoid=2',
    'ok',
    (c) => expect(c.observed?.data?.records).toBeGreaterThan(0),
  ],
  ['trace_output-kprobe/PERFMON+BPF/ubd=2,paranoid=3', 'EACCES@perf_open'],
  ['trace_output-tracepoint/PERFMON+BPF/ubd=2,paranoid=2', 'EACCES@tracefs_id'],
  ['trace_output-tracepoint/DAC_READ_SEARCH+PERFMON+BPF/ubd=2,paranoid=2', 'ok'],
  ['trace_output-tracepoint/DAC_READ_SEARCH+PERFMON+BPF/ubd=2,paranoid=3', 'EACCES@perf_open'],
  ['trace_output-tracepoint-chmod/PERFMON+BPF/ubd=2,paranoid=2', 'ok'],
  ['trace_output-tracepoint-id/PERFMON+BPF/ubd=2,paranoid=2', 'ok'],
  ['uprobe-perf/PERFMON+BPF/ubd=2,paranoid=2', 'EACCES@perf_open'],
  [
    'uprobe-multi/PERFMON+BPF/ubd=2,paranoid=2',
    'ok',
    (c) => expect(c.observed?.data?.counts_received).toBe(c.observed?.data?.calls),
  ],
  ['token-queue/root/ubd=2', 'ok'],
  ['token-kprobe/root/ubd=2', 'EPERM@prog_load'],
  // libbpf's token path (talk l.1189-1209): the talk's way, the default lookup, and the raw
  // loader's minimal delegation, which libbpf's own probe outgrows
  [
    'token_libbpf-opts/root/ubd=2',
    'ok',
    (c) => expect(c.observed?.detail).toMatch(/pushed and popped 42 \| openat \/sys\/fs\/bpf: Permission denied/),
  ],
  ['token_libbpf-implicit/root/ubd=2', 'ok'],
  ['token_libbpf-map-only/root/ubd=2', 'EPERM@probe'],
  // the token in a rootless container (talk l.1363-1392): both variants, and what each lacks
  [
    'token_container-capadd/add-SYS_ADMIN+BPF/ubd=2,userns=1',
    'ok',
    (c) => expect(c.observed?.detail).toContain('pushed and popped 42'),
  ],
  ['token_container-capadd/add-SYS_ADMIN/ubd=2,userns=1', 'EPERM@token_create'],
  ['token_container-unshare-unconfined/default/ubd=2,userns=1', 'ok'],
  ['token_container-unshare-runtime-default/default/ubd=2,userns=1', 'EPERM@unshare'],
  ['token_container-uds-private/default/ubd=2,userns=1', 'EACCES@uds_connect'],
  ['token_container-capadd/add-SYS_ADMIN+BPF/ubd=2,userns=0', 'EPERM@unshare'],
  ['pinned_map/none/ubd=2', 'ok', (c) => expect(c.observed?.data?.after).toBe(Number(c.observed?.data?.before) + 1)],
  ['pinned_map-by-id/BPF/ubd=2', 'EPERM@get_fd_by_id'],
  ['helpers-probe_write_user/PERFMON+BPF/ubd=2', 'EINVAL@verifier'],
  ['helpers-probe_write_user/SYS_ADMIN/ubd=2', 'ok'],
  // map types (talk l.583-621): the CAP_BPF family, and a CAP_NET_ADMIN one that needs no CAP_BPF at 0
  ['map-lru_hash/none/ubd=0', 'EPERM@map_create'],
  ['map-sockmap/NET_ADMIN/ubd=0', 'ok', (c) => expect(c.observed?.detail).toContain('UDP socket inserted and removed')],
  ['map-sockmap/BPF/ubd=2', 'EPERM@map_create'],
  // program types through the generic object loader (talk l.474-509)
  ['prog-tc/SYS_ADMIN/ubd=2', 'EPERM@attach'],
  ['prog-cgroup_skb/none/ubd=0', 'EPERM@attach'],
  ['prog-sk_skb/BPF/ubd=2', 'EPERM@map_create'],
  ['prog-fentry/PERFMON+BPF/ubd=2', 'ok', (c) => expect(c.observed?.detail).toContain('attached (fentry/vfs_unlink)')],
  // unprivileged_bpf_disabled=1 cannot be undone, even by root (talk l.401-420)
  ['ubd-lock/root/ubd=1', 'EPERM@sysctl'],
  // Ubuntu's perf_event_paranoid=4 is Debian's 3 on this kernel
  ['trace_output-kprobe-paranoid4/PERFMON+BPF/ubd=2,paranoid=4', 'EACCES@perf_open'],
];

/** What the kernel itself asked in some of those cells (bpf-src/cap_watch): a capability check
 * with this answer, made with this function on its stack. */
const ASKED: [id: string, cap: string, granted: boolean, frame: RegExp, ns?: 'initial' | 'other'][] = [
  // the verifier's pointer arithmetic: CAP_PERFMON, asked from bpf_check, decides it
  ['xdp_adjust_tail/NET_ADMIN+BPF/ubd=2', 'CAP_PERFMON', false, /^bpf_check$/],
  ['xdp_adjust_tail/NET_ADMIN+PERFMON+BPF/ubd=2', 'CAP_PERFMON', true, /^bpf_check$/],
  // Debian's perf_event_paranoid=3 patch asks for CAP_SYS_ADMIN in perf_event_open; at 2 CAP_PERFMON is enough
  ['trace_output-kprobe/PERFMON+BPF/ubd=2,paranoid=3', 'CAP_SYS_ADMIN', false, /perf_event_open/],
  ['trace_output-kprobe/PERFMON+BPF/ubd=2,paranoid=2', 'CAP_PERFMON', true, /perf/],
  // the same for a tracepoint, once tracefs let it read the event's id
  ['trace_output-tracepoint/DAC_READ_SEARCH+PERFMON+BPF/ubd=2,paranoid=3', 'CAP_SYS_ADMIN', false, /perf_event_open/],
  ['trace_output-tracepoint/DAC_READ_SEARCH+PERFMON+BPF/ubd=2,paranoid=2', 'CAP_PERFMON', true, /perf/],
  // a token's checks are made against the user namespace it was created in
  ['token-queue/root/ubd=2', 'CAP_BPF', true, /^bpf_token_create$/, 'other'],
  // tracefs at 0700: the file mode, and the capability that overrides it
  ['trace_output-tracepoint/PERFMON+BPF/ubd=2,paranoid=2', 'CAP_DAC_READ_SEARCH', false, /^generic_permission$/],
  [
    'trace_output-tracepoint/DAC_READ_SEARCH+PERFMON+BPF/ubd=2,paranoid=2',
    'CAP_DAC_READ_SEARCH',
    true,
    /^generic_permission$/,
  ],
];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
let results: RunResults;

describe('decisive cells of every sample on the default kernel', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-samples-'));
    const cells = `^(${DECISIVE.map(([id]) => escapeRegExp(id)).join('|')})$`;
    ({ results } = await runMatrix({ cells, resultsDir: dir, log: () => {} }));
  }, 900_000);

  test('they all ran in one boot, none an infra error', () => {
    expect(results.cells.map((c) => c.id).sort()).toEqual(DECISIVE.map(([id]) => id).sort());
    expect(new Set(results.cells.map((c) => c.boot)).size).toBe(1);
    expect(results.cells.filter((c) => c.verdict === 'infra-error')).toEqual([]);
  });

  test.each(DECISIVE)('%s → %s', (id, outcome, check) => {
    const c = results.cells.find((x) => x.id === id);
    if (!c) throw new Error(`cell ${id} did not run`);
    expect(c.observed && formatOutcome(c.observed)).toBe(outcome);
    expect(c.verdict).toBe('match');
    check?.(c);
  });

  test("every failing cell's rule names a capability the kernel denied in it (when one decided)", () => {
    expect(ruleFindings(results.cells)).toEqual([]);
  });

  test('every cell has the capability checks its processes made', () => {
    expect(results.cells.filter((c) => !c.capChecks).map((c) => c.id)).toEqual([]);
  });

  test.each(ASKED)('%s: the kernel asked for %s (granted: %s) from %s', (id, cap, granted, frame, ns = 'initial') => {
    const c = results.cells.find((x) => x.id === id);
    const asked = c?.capChecks?.filter((k) => k.cap === cap && k.granted === granted && k.ns === ns);
    expect(
      asked?.some((k) => k.stack.some((f) => frame.test(f))),
      JSON.stringify(c?.capChecks),
    ).toBe(true);
  });
});

// The claims of the talk "Rootless な環境における eBPF の活用" (Naoki Matsumoto, eBPF Japan Meetup #4, 2025-05-30; line numbers are of its transcript),
// each tied to the cells that test it
// and the outcome the talk states or implies for each. `capmatrix claims` renders them against a
// run's observations into docs/seed-claims.md. A refuted claim stays here, with its evidence.
import { UPROBE_PERFMON_KERNELS } from '../uprobe.js';

export interface ClaimCell {
  id: string;
  claimed: string;
  /** A setting the talk never used (Debian's perf_event_paranoid=3): shown, never judged. */
  beyondTalk?: string;
}

export interface SeedClaim {
  claim: string;
  talk: string;
  cells: ClaimCell[];
  note?: string;
  /** The kernels that have what the claim is about; elsewhere it is "not applicable here (why)". */
  appliesOn?: { ranges: { since?: string; until?: string }[]; why: string };
}

const PARANOID3 = "Debian's perf_event_paranoid=3, a setting the talk never used";
const TOKENS = { ranges: [{ since: '6.9' }], why: 'BPF tokens arrived in 6.9' };

const tp = (variant: string, caps: string, paranoid: number) =>
  `trace_output-${variant}/${caps}/ubd=2,paranoid=${paranoid}`;

export const SEED_CLAIMS: SeedClaim[] = [
  {
    claim:
      'sockex1 fails for an unprivileged user at the default unprivileged_bpf_disabled (libbpf: "failed to load object")',
    talk: 'l.163-169',
    cells: [{ id: 'sockex1/none/ubd=2', claimed: 'EPERM@probe' }],
  },
  { claim: 'sockex1 works with sudo', talk: 'l.170', cells: [{ id: 'sockex1/root/ubd=2', claimed: 'ok' }] },
  {
    claim: 'At unprivileged_bpf_disabled=0 sockex1 runs unprivileged with only CAP_NET_RAW (for the raw socket)',
    talk: 'l.513-519, 551-556, 1074',
    cells: [
      { id: 'sockex1/NET_RAW/ubd=0', claimed: 'ok' },
      { id: 'sockex1/none/ubd=0', claimed: 'EPERM@raw_socket' },
    ],
  },
  {
    claim: 'At unprivileged_bpf_disabled=1 or 2 it fails as is, and works once CAP_BPF is added (with CAP_NET_RAW)',
    talk: 'l.564-580',
    cells: [
      { id: 'sockex1/NET_RAW/ubd=2', claimed: 'EPERM@probe' },
      { id: 'sockex1/NET_RAW+BPF/ubd=2', claimed: 'ok' },
      { id: 'sockex1/NET_RAW+BPF/ubd=1', claimed: 'ok' },
    ],
  },
  {
    claim: 'XDP with CAP_BPF+CAP_NET_ADMIN is rejected by the verifier: "R3 pointer -= pointer prohibited" (EACCES)',
    talk: 'l.672-715',
    cells: [{ id: 'xdp_adjust_tail/NET_ADMIN+BPF/ubd=2', claimed: 'EACCES@verifier' }],
  },
  {
    claim: 'XDP works with CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON (or as root)',
    talk: 'l.718-720',
    cells: [
      { id: 'xdp_adjust_tail/NET_ADMIN+PERFMON+BPF/ubd=2', claimed: 'ok' },
      { id: 'xdp_adjust_tail/root/ubd=2', claimed: 'ok' },
    ],
  },
  {
    claim:
      '`ip link set … xdpgeneric` as root under capsh --drop=cap_perfmon,cap_sys_admin fails in the verifier; plain sudo works',
    talk: 'l.812-857',
    cells: [
      { id: 'xdp_adjust_tail-iproute2-capsh/root/ubd=2', claimed: 'EACCES@verifier' },
      { id: 'xdp_adjust_tail-iproute2/root/ubd=2', claimed: 'ok' },
    ],
  },
  {
    claim: 'A kprobe (trace_output, type 2) works with CAP_BPF+CAP_PERFMON',
    talk: 'l.876-901',
    cells: [
      { id: tp('kprobe', 'PERFMON+BPF', 2), claimed: 'ok' },
      { id: tp('kprobe', 'PERFMON+BPF', 3), claimed: 'ok', beyondTalk: PARANOID3 },
    ],
    note: "holds at perf_event_paranoid=2; Debian's default paranoid=3 turns it into EACCES@perf_open",
  },
  {
    claim: 'The tracepoint variant fails to load with CAP_BPF alone (EPERM)',
    talk: 'l.916-921',
    cells: [{ id: tp('tracepoint', 'BPF', 2), claimed: 'EPERM@prog_load' }],
  },
  {
    claim: 'With CAP_BPF+CAP_PERFMON the tracepoint loads but attaching fails: the tracefs id cannot be read (EACCES)',
    talk: 'l.922-954',
    cells: [{ id: tp('tracepoint', 'PERFMON+BPF', 2), claimed: 'EACCES@tracefs_id' }],
  },
  {
    claim: 'Fix 1: adding CAP_DAC_READ_SEARCH makes the tracepoint work',
    talk: 'l.960-963, 969-976',
    cells: [
      { id: tp('tracepoint', 'DAC_READ_SEARCH+PERFMON+BPF', 2), claimed: 'ok' },
      { id: tp('tracepoint', 'DAC_READ_SEARCH+PERFMON+BPF', 3), claimed: 'ok', beyondTalk: PARANOID3 },
    ],
    note: "holds at paranoid=2; at Debian's paranoid=3 the perf_event_open after the id fails (EACCES@perf_open)",
  },
  {
    claim: 'Fix 2: making the id file readable with chmod makes the tracepoint work with CAP_BPF+CAP_PERFMON',
    talk: 'l.965',
    cells: [{ id: tp('tracepoint-chmod', 'PERFMON+BPF', 2), claimed: 'ok' }],
  },
  {
    claim: 'Fix 3: a loader given the tracepoint id works with CAP_BPF+CAP_PERFMON',
    talk: 'l.967',
    cells: [{ id: tp('tracepoint-id', 'PERFMON+BPF', 2), claimed: 'ok' }],
  },
  {
    claim: 'A uprobe fails to load with CAP_BPF alone (EPERM)',
    talk: 'l.1040-1048',
    cells: [{ id: 'uprobe-perf/BPF/ubd=2,paranoid=2', claimed: 'EPERM@prog_load' }],
  },
  {
    claim: 'A uprobe is a KPROBE-type program, so CAP_BPF+CAP_PERFMON is enough (libbpf default perf-event attach)',
    talk: 'l.1035-1037, 1052-1058',
    cells: [
      { id: 'uprobe-perf/PERFMON+BPF/ubd=2,paranoid=2', claimed: 'ok' },
      { id: 'uprobe-perf/PERFMON+BPF/ubd=2,paranoid=3', claimed: 'ok', beyondTalk: PARANOID3 },
    ],
    note: "held on the talk's 6.14.6, reverted later; see the next row for the uprobe_multi link",
    appliesOn: {
      ranges: UPROBE_PERFMON_KERNELS,
      why: 'held on the talk\'s 6.14.6; reverted later by ba677dbe77af "perf: Revert to requiring CAP_SYS_ADMIN for uprobes" (CVE-2025-38466; mainline 6.16, stable 6.1.146, 6.6.99, 6.12.39, 6.15.7), which this kernel has: kernel/events/core.c perf_uprobe_event_init checks CAP_SYS_ADMIN (uprobe-perf: EACCES@perf_open)',
    },
  },
  {
    claim:
      'The same uprobe attached as a uprobe_multi link works with CAP_BPF+CAP_PERFMON (not in the talk: the way the claim can hold)',
    talk: 'l.1035-1037',
    cells: [
      { id: 'uprobe-multi/PERFMON+BPF/ubd=2,paranoid=2', claimed: 'ok' },
      { id: 'uprobe-multi/PERFMON+BPF/ubd=2,paranoid=3', claimed: 'ok', beyondTalk: PARANOID3 },
    ],
    appliesOn: { ranges: [{ since: '6.6' }], why: 'uprobe_multi links arrived in 6.6' },
    note: "at Debian's paranoid=3 the link attaches but the perf buffer cannot be opened (EACCES@perf_buf)",
  },
  {
    claim: 'bpf_probe_write_user needs CAP_SYS_ADMIN',
    talk: 'l.1087',
    cells: [
      { id: 'helpers-probe_write_user/PERFMON+BPF/ubd=2', claimed: 'EINVAL@verifier' },
      { id: 'helpers-probe_write_user/SYS_ADMIN/ubd=2', claimed: 'ok' },
    ],
  },
  {
    claim: 'bpf_probe_read_user needs CAP_BPF+CAP_PERFMON',
    talk: 'l.1088',
    cells: [{ id: 'helpers-probe_read_user/PERFMON+BPF/ubd=2', claimed: 'ok' }],
  },
  {
    claim: 'bpf_override_return needs CAP_SYS_ADMIN',
    talk: 'l.1089',
    cells: [
      { id: 'helpers-override_return/PERFMON+BPF/ubd=2', claimed: 'EINVAL@verifier' },
      { id: 'helpers-override_return/SYS_ADMIN/ubd=2', claimed: 'ok' },
    ],
    note: 'Debian kernels are built without the error-injection support it needs: refused to root too',
  },
  {
    claim: 'bpf_send_signal needs CAP_SYS_ADMIN',
    talk: 'l.1090',
    cells: [
      { id: 'helpers-send_signal/PERFMON+BPF/ubd=2', claimed: 'EINVAL@verifier' },
      { id: 'helpers-send_signal/SYS_ADMIN/ubd=2', claimed: 'ok' },
    ],
    note: 'the verifier offers it to any tracing program loaded with CAP_BPF+CAP_PERFMON',
  },
  {
    claim: 'A map pinned by root is usable by others through BPF_OBJ_GET once the pin is rw for them',
    talk: 'l.631-645',
    note: "not on 5.10 at unprivileged_bpf_disabled≠0: that kernel's bpf() refuses every command to a caller without CAP_BPF",
    cells: [
      { id: 'pinned_map/none/ubd=2', claimed: 'ok' },
      { id: 'pinned_map-private/none/ubd=2', claimed: 'EACCES@obj_get' },
    ],
  },
  {
    claim: 'BPF token (6.9+): a delegated token lets an unprivileged user namespace create what was delegated',
    talk: 'l.1104-1122, 1126-1300',
    cells: [
      { id: 'token-queue/root/ubd=2', claimed: 'ok' },
      { id: 'token-queue/root/ubd=0', claimed: 'ok' },
      { id: 'token-kprobe/root/ubd=2', claimed: 'EPERM@prog_load' },
    ],
    appliesOn: TOKENS,
  },
  {
    claim: 'Granting delegate_* needs CAP_SYS_ADMIN (in the initial namespace): a child cannot delegate to itself',
    talk: 'l.1119-1122',
    cells: [{ id: 'token-self/root/ubd=2', claimed: 'EPERM@bpffs_delegate' }],
    appliesOn: TOKENS,
  },
  {
    claim: 'Basic maps such as ARRAY are created with CAP_BPF (no capability at unprivileged_bpf_disabled=0)',
    talk: 'l.583-586, 594-600',
    cells: [
      { id: 'map-array/BPF/ubd=2', claimed: 'ok' },
      { id: 'map-array/none/ubd=0', claimed: 'ok' },
      { id: 'map-array/none/ubd=2', claimed: 'EPERM@map_create' },
    ],
  },
  {
    claim: 'LRU_HASH, STACK and CPUMAP need CAP_BPF, whatever unprivileged_bpf_disabled says',
    talk: 'l.601-610',
    cells: [
      { id: 'map-lru_hash/none/ubd=0', claimed: 'EPERM@map_create' },
      { id: 'map-lru_hash/BPF/ubd=0', claimed: 'ok' },
      { id: 'map-stack/none/ubd=0', claimed: 'EPERM@map_create' },
      { id: 'map-cpumap/BPF/ubd=2', claimed: 'ok' },
    ],
  },
  {
    claim: 'SOCKMAP, DEVMAP and XSKMAP need CAP_NET_ADMIN (CAP_BPF is not enough)',
    talk: 'l.611-615',
    cells: [
      { id: 'map-sockmap/BPF/ubd=0', claimed: 'EPERM@map_create' },
      { id: 'map-sockmap/NET_ADMIN+BPF/ubd=2', claimed: 'ok' },
      { id: 'map-devmap/BPF/ubd=2', claimed: 'EPERM@map_create' },
      { id: 'map-xskmap/NET_ADMIN+BPF/ubd=2', claimed: 'ok' },
    ],
  },
  {
    claim: 'unprivileged_bpf_disabled=1 cannot be set back until reboot, not even by root',
    talk: 'l.401-420',
    cells: [
      { id: 'ubd-lock/root/ubd=2', claimed: 'ok' },
      { id: 'ubd-lock/root/ubd=1', claimed: 'EPERM@sysctl' },
    ],
  },
  {
    claim: 'Network program types (SCHED_CLS, LWT_*, SK_SKB, CGROUP_SOCK, …) need CAP_NET_ADMIN on top of CAP_BPF',
    talk: 'l.474-482, 485-502',
    cells: [
      { id: 'prog-tc/BPF/ubd=2', claimed: 'EPERM@prog_load' },
      { id: 'prog-tc/NET_ADMIN+BPF/ubd=2', claimed: 'ok' },
      { id: 'prog-lwt/BPF/ubd=2', claimed: 'EPERM@prog_load' },
      { id: 'prog-cgroup_sock/NET_ADMIN+BPF/ubd=2', claimed: 'ok' },
    ],
  },
  {
    claim: 'CGROUP_SKB is "always unpriv" (no CAP_NET_ADMIN to load it)',
    talk: 'l.503-504',
    note: 'it loads for anyone at unprivileged_bpf_disabled=0, but attaching it to a cgroup takes CAP_NET_ADMIN',
    cells: [
      { id: 'prog-cgroup_skb/NET_ADMIN/ubd=0', claimed: 'ok' },
      { id: 'prog-cgroup_skb/none/ubd=0', claimed: 'ok' },
    ],
  },
  {
    claim: 'Tracing program types need CAP_PERFMON (here the BTF-typed fentry and tp_btf)',
    talk: 'l.479-480',
    cells: [
      { id: 'prog-fentry/BPF/ubd=2', claimed: 'EPERM@prog_load' },
      { id: 'prog-fentry/PERFMON+BPF/ubd=2', claimed: 'ok' },
      { id: 'prog-tp_btf/PERFMON+BPF/ubd=2', claimed: 'ok' },
    ],
  },
  {
    claim:
      'libbpf finds a delegated bpffs through bpf_token_path (/proc/self/fd/N), LIBBPF_BPF_TOKEN_PATH or the default /sys/fs/bpf, and loads priv_map with the token',
    talk: 'l.1189-1209, 1276-1291, 1298-1313',
    cells: [
      { id: 'token_libbpf-opts/root/ubd=2', claimed: 'ok' },
      { id: 'token_libbpf-env/root/ubd=2', claimed: 'ok' },
      { id: 'token_libbpf-implicit/root/ubd=2', claimed: 'ok' },
    ],
    appliesOn: TOKENS,
  },
  {
    claim:
      "The talk's delegation (map_create+prog_load, queue, socket_filter, any attach) is what a libbpf loader needs: less, and libbpf's probe fails",
    talk: 'l.1276-1283',
    note: 'raw bpf(2) needs only map_create+queue (token-queue); `minimize token_libbpf-opts` finds all five items needed at unprivileged_bpf_disabled=2',
    cells: [
      { id: 'token_libbpf-opts/root/ubd=2', claimed: 'ok' },
      { id: 'token_libbpf-map-only/root/ubd=2', claimed: 'EPERM@probe' },
    ],
    appliesOn: TOKENS,
  },
  {
    claim:
      'Without a token an unprivileged libbpf loader gets EACCES opening /sys/fs/bpf, then EPERM from BPF_PROG_LOAD',
    talk: 'l.184-192',
    cells: [{ id: 'token_libbpf-none/root/ubd=2', claimed: 'EPERM@probe' }],
  },
  {
    claim:
      'In a rootless container, variant 1: a seccomp profile that allows unshare(2) (seccomp=unconfined) is enough for the child to get and use a token',
    talk: 'l.1365-1367, 1370-1374',
    note: "the runtime's default profile refuses unshare without CAP_SYS_ADMIN",
    cells: [
      { id: 'token_container-unshare-unconfined/default/ubd=2,userns=1', claimed: 'ok' },
      { id: 'token_container-unshare-runtime-default/default/ubd=2,userns=1', claimed: 'EPERM@unshare' },
    ],
    appliesOn: TOKENS,
  },
  {
    claim:
      'Variant 2: --cap-add CAP_SYS_ADMIN (to create the bpffs) and CAP_BPF (to create the token) is enough, each one needed',
    talk: 'l.1368, 1376-1391',
    cells: [
      { id: 'token_container-capadd/add-SYS_ADMIN+BPF/ubd=2,userns=1', claimed: 'ok' },
      { id: 'token_container-capadd/add-SYS_ADMIN/ubd=2,userns=1', claimed: 'EPERM@token_create' },
      { id: 'token_container-capadd/add-BPF/ubd=2,userns=1', claimed: 'EPERM@bpffs_create' },
    ],
    appliesOn: TOKENS,
  },
  {
    claim: "Either way the unprivileged process must be allowed to open the parent's unix socket",
    talk: 'l.1365',
    cells: [{ id: 'token_container-uds-private/default/ubd=2,userns=1', claimed: 'EACCES@uds_connect' }],
    appliesOn: TOKENS,
  },
];

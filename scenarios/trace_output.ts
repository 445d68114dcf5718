// trace_output: kprobe and tracepoint on write(2) sending records through a PERF_EVENT_ARRAY
// (ebpf-rootless-talk.txt: kprobe l.876-901, tracepoint l.903-977), with the talk's three fixes for the
// tracefs `id` EACCES as variants. ok = records of the loader's own writes arrived.
import { defineScenario, type ExpectRule, type Scenario } from '../harness/dsl/scenario.js';

const TRACEFS = '/sys/kernel/tracing';
const TP_DIR = `${TRACEFS}/events/syscalls/sys_enter_write`;

const axes: Scenario['axes'] = {
  caps: [
    [],
    ['CAP_BPF'],
    ['CAP_BPF', 'CAP_NET_ADMIN'],
    ['CAP_BPF', 'CAP_PERFMON'],
    ['CAP_BPF', 'CAP_PERFMON', 'CAP_DAC_READ_SEARCH'],
    ['CAP_SYS_ADMIN'],
    'root',
  ],
  sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2, 1], 'kernel.perf_event_paranoid': [2, 3] },
};

/** Load-time rules shared by every variant: the program type needs CAP_BPF and CAP_PERFMON. */
const loadRules: ExpectRule[] = [
  { when: { caps: 'root' }, outcome: 'ok', reason: 'root has every capability and passes DAC' },
  {
    when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2] }, lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
    outcome: 'EPERM@probe',
    reason:
      "sysctl≠0 without CAP_BPF (or SYS_ADMIN): libbpf's trivial-program probe gets EPERM (tools/lib/bpf/libbpf.c bpf_object__probe_loading; kernel/bpf/syscall.c bpf_prog_load)",
  },
  {
    when: { lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
    outcome: 'EPERM@prog_load',
    reason: 'KPROBE/TRACEPOINT are not SOCKET_FILTER/CGROUP_SKB: bpf_prog_load() needs CAP_BPF (6.12 syscall.c:2703)',
  },
  {
    when: { lacks: ['CAP_PERFMON', 'CAP_SYS_ADMIN'] },
    outcome: 'EPERM@prog_load',
    reason: 'is_perfmon_prog_type(): KPROBE and TRACEPOINT need CAP_PERFMON (6.12 syscall.c:2617-2633; talk l.916-921)',
  },
];

const debianParanoid3: ExpectRule = {
  when: { sysctl: { 'kernel.perf_event_paranoid': [3, 4] }, lacks: ['CAP_SYS_ADMIN'] },
  outcome: 'EACCES@perf_open',
  reason:
    "Debian's perf_event_paranoid=3 patch: every perf_event_open needs CAP_SYS_ADMIN; its perf_paranoid_any() is `paranoid > 2`, so Ubuntu's 4 acts the same here (harness/dsl/sysctls.ts; talk's Ubuntu default)",
};

const tracefsRule: ExpectRule = {
  when: { lacks: ['CAP_DAC_READ_SEARCH'] },
  outcome: 'EACCES@tracefs_id',
  reason:
    'libbpf reads tracefs events/syscalls/sys_enter_write/id; tracefs is 0700 root: generic_permission asks for CAP_DAC_READ_SEARCH, then CAP_DAC_OVERRIDE (recorded), and CAP_SYS_ADMIN does not bypass DAC (talk l.922-954; tracefs mode recorded in provenance)',
};

const okRule: ExpectRule = {
  outcome: 'ok',
  reason:
    'CAP_BPF+CAP_PERFMON load and attach at perf_event_paranoid≤2 (talk l.879-901 kprobe, l.958-976 tracepoint fixes; kernel/events/core.c perf_event_open, perf_allow_kernel)',
};

export default [
  defineScenario({
    name: 'trace_output-kprobe',
    sample: 'trace_output',
    description: 'kprobe on __x64_sys_write (perf kprobe PMU) → PERF_EVENT_ARRAY',
    args: ['kprobe'],
    axes,
    expect: [...loadRules, debianParanoid3, okRule],
  }),
  defineScenario({
    name: 'trace_output-kprobe-paranoid4',
    sample: 'trace_output',
    description: "the kprobe at Ubuntu's default perf_event_paranoid=4 (the talk's machine) on this kernel",
    args: ['kprobe'],
    axes: {
      caps: [['CAP_BPF', 'CAP_PERFMON'], ['CAP_SYS_ADMIN']],
      sysctl: { 'kernel.unprivileged_bpf_disabled': [2], 'kernel.perf_event_paranoid': [4] },
    },
    expect: [debianParanoid3, okRule], // both cells load: only the perf rule is in question
  }),
  defineScenario({
    name: 'trace_output-tracepoint',
    sample: 'trace_output',
    description: 'tracepoint syscalls/sys_enter_write attached by libbpf (reads the tracefs id)',
    args: ['tracepoint'],
    axes,
    expect: [...loadRules, tracefsRule, debianParanoid3, okRule],
  }),
  defineScenario({
    name: 'trace_output-tracepoint-chmod',
    sample: 'trace_output',
    description: "the talk's second fix (l.965): root makes the tracefs id readable before the run",
    alternativeTo: 'trace_output-tracepoint',
    args: ['tracepoint'],
    setupScope: 'group',
    setup: [
      ['chmod', 'o+x', TRACEFS, `${TRACEFS}/events`, `${TRACEFS}/events/syscalls`, TP_DIR],
      ['chmod', 'o+r', `${TP_DIR}/id`],
    ],
    teardown: [
      ['chmod', 'o-x', TRACEFS],
      ['chmod', 'o-r', `${TP_DIR}/id`],
    ],
    axes,
    expect: [...loadRules, debianParanoid3, okRule],
  }),
  defineScenario({
    name: 'trace_output-tracepoint-id',
    sample: 'trace_output',
    description: "the talk's third fix (l.967): the loader gets the tracepoint id (read by root) as an argument",
    alternativeTo: 'trace_output-tracepoint',
    args: ['tracepoint-id', `{read:${TP_DIR}/id}`],
    axes,
    expect: [...loadRules, debianParanoid3, okRule],
  }),
];

// Helpers that need more than CAP_BPF+CAP_PERFMON, from the talk's table (l.1082-1090): a kprobe
// program calling each helper, and the verifier's verdict for each capability set.
// ok = the verifier accepted a program calling that helper (nothing is attached: the question
// is whether the helper is offered at all).
import { defineScenario } from '../harness/dsl/scenario.js';

const caps = [
  ['CAP_BPF', 'CAP_PERFMON'],
  ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_ADMIN'],
  ['CAP_SYS_ADMIN'],
  'root',
] as const;
const axes = {
  caps: caps.map((c) => (c === 'root' ? c : [...c])),
  sysctl: { 'kernel.unprivileged_bpf_disabled': [2] },
};
const refused = (helper: string, id: number) =>
  `EINVAL: the verifier says "program of this type cannot use helper bpf_${helper}#${id}" (6.12 verifier.c:10862)`;

export default [
  defineScenario({
    name: 'helpers-probe_write_user',
    sample: 'helpers',
    args: ['probe_write_user'],
    axes,
    expect: [
      {
        when: { lacks: ['CAP_SYS_ADMIN'] },
        outcome: 'EINVAL@verifier',
        reason: `bpf_get_probe_write_proto(): capable(CAP_SYS_ADMIN) or NULL (talk l.1087); ${refused('probe_write_user', 36)}`,
      },
      { outcome: 'ok', reason: 'CAP_SYS_ADMIN and no lockdown (recorded in provenance): the helper is offered' },
    ],
  }),
  defineScenario({
    name: 'helpers-override_return',
    sample: 'helpers',
    args: ['override_return'],
    axes,
    expect: [
      {
        outcome: 'EINVAL@verifier',
        reason: `Debian builds without CONFIG_FUNCTION_ERROR_INJECTION/BPF_KPROBE_OVERRIDE (kernel/trace/bpf_trace.c bpf_tracing_func_proto under CONFIG_BPF_KPROBE_OVERRIDE), so nobody gets it, root included; the talk's CAP_SYS_ADMIN (l.1089) never suffices here. ${refused('override_return', 58)}`,
      },
    ],
  }),
  defineScenario({
    name: 'helpers-send_signal',
    sample: 'helpers',
    args: ['send_signal'],
    axes,
    expect: [
      {
        outcome: 'ok',
        reason:
          'bpf_tracing_func_proto() offers bpf_send_signal to every tracing program without a capability check of its own (6.12 kernel/trace/bpf_trace.c); the talk lists CAP_SYS_ADMIN (l.1090)',
      },
    ],
  }),
  defineScenario({
    name: 'helpers-probe_read_user',
    sample: 'helpers',
    args: ['probe_read_user'],
    axes,
    expect: [{ outcome: 'ok', reason: 'CAP_BPF+CAP_PERFMON suffice (talk l.1088)' }],
  }),
];

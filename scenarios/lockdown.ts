// Kernel lockdown (security/lockdown, `lockdown=` on the command line: a boot of its own for each
// level) against capabilities: what even CAP_SYS_ADMIN and root lose. Each cell checks the level
// securityfs shows before it runs (guest/lockdown.ts); a level that did not take is an infra error.

import type { Scenario } from '../harness/dsl/scenario.js';
import { defineScenario } from '../harness/dsl/scenario.js';

const axes: Scenario['axes'] = {
  caps: [['CAP_SYS_ADMIN'], 'root'],
  sysctl: { 'kernel.unprivileged_bpf_disabled': [2], 'kernel.perf_event_paranoid': [2] },
  lockdown: ['none', 'integrity', 'confidentiality'],
};

export default [
  defineScenario({
    name: 'lockdown-probe_write_user',
    sample: 'helpers',
    description: 'a kprobe program calling bpf_probe_write_user, under each lockdown level',
    args: ['probe_write_user'],
    axes,
    expect: [
      {
        when: { lockdown: 'none' },
        outcome: 'ok',
        reason: 'CAP_SYS_ADMIN and no lockdown: bpf_get_probe_write_proto() offers the helper',
      },
      {
        outcome: 'EINVAL@verifier',
        reason:
          'bpf_get_probe_write_proto(): security_locked_down(LOCKDOWN_BPF_WRITE_USER), an integrity reason, returns NULL: the verifier says the program cannot use the helper, whatever the capabilities',
      },
    ],
  }),
  defineScenario({
    name: 'lockdown-kprobe',
    sample: 'trace_output',
    description: 'the kprobe on __x64_sys_write (perf kprobe PMU), under each lockdown level',
    args: ['kprobe'],
    axes,
    expect: [
      {
        when: { lockdown: 'confidentiality' },
        outcome: 'EPERM@perf_open',
        reason:
          'confidentiality: perf_event_open of the kprobe PMU is refused whatever the capabilities (measured on 6.12: libbpf\'s "failed to create kprobe perf event: Operation not permitted")',
      },
      { outcome: 'ok', reason: 'CAP_SYS_ADMIN at paranoid=2, no confidentiality lockdown: records arrive' },
    ],
  }),
];

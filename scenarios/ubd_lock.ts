// kernel.unprivileged_bpf_disabled=1 cannot be undone (talk l.401-420): after the 1 phase, even
// root cannot write the sysctl back. The cell writes 2 (a no-op while the value is 2, so the
// phases after it are untouched); ok = the value written reads back.
import { defineScenario } from '../harness/dsl/scenario.js';

export default defineScenario({
  name: 'ubd-lock',
  sample: 'sysctl_write',
  args: ['kernel.unprivileged_bpf_disabled', '2'],
  description: 'write 2 to kernel.unprivileged_bpf_disabled as the cell: refused by everyone once it is 1',
  axes: {
    caps: [[], ['CAP_DAC_OVERRIDE', 'CAP_SYS_ADMIN'], 'root'],
    sysctl: { 'kernel.unprivileged_bpf_disabled': [2, 1] },
  },
  expect: [
    {
      when: { caps: 'root', sysctl: { 'kernel.unprivileged_bpf_disabled': [1] } },
      outcome: 'EPERM@sysctl',
      reason:
        'bpf_unpriv_handler() (kernel/bpf/syscall.c): once the value is 1 (locked_state), any write but 1 is EPERM, root included, until reboot (talk l.401-420)',
    },
    {
      when: { caps: 'root' },
      outcome: 'ok',
      reason: 'bpf_unpriv_handler(): a writer with capable(CAP_SYS_ADMIN) may change the value while it is 0 or 2',
    },
    {
      outcome: 'EACCES@sysctl',
      reason:
        "measured: /proc/sys files are 0644 and sysctl_perm()/test_perm() (fs/proc/proc_sysctl.c) give the owner bits to euid 0 only; no capability overrides that, so uid 65534 never reaches bpf_unpriv_handler()'s CAP_SYS_ADMIN check, even with CAP_DAC_OVERRIDE+CAP_SYS_ADMIN",
    },
  ],
});

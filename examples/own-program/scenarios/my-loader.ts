// What does my loader need? Its own binary, run as an unprivileged uid with each capability set.
import { defineScenario } from 'capmatrix';

export default defineScenario({
  name: 'my-loader',
  exec: ['./build/my-loader', './build/prog.bpf.o'],
  okWhen: { stdout: 'attached to lo' },
  axes: {
    caps: [[], ['CAP_BPF', 'CAP_NET_ADMIN'], ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON']],
    sysctl: {},
  },
  expect: [
    {
      when: { lacks: ['CAP_BPF'] },
      outcome: 'EPERM@prog_load',
      reason: 'unprivileged_bpf_disabled=2 (the boot default): no BPF program without CAP_BPF',
    },
    {
      when: { lacks: ['CAP_PERFMON'] },
      outcome: 'EACCES@verifier',
      reason: 'data_end - data is pointer arithmetic: the verifier wants CAP_PERFMON',
    },
    { outcome: 'ok', reason: 'CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON: loads and attaches to lo' },
  ],
});

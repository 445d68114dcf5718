// Map types and what creating each needs (talk l.583-621): one scenario per map of
// bpf-src/map_types/map_types.bpf.c, created with BPF_MAP_CREATE by uid 65534 and then used.
// ok = created and did its job (see map_types.c: a value read back, a push popped, the ring's
// pages mapped, a socket inserted). The families are map_create()'s "check privileged map type
// permissions" switch (kernel/bpf/syscall.c, 6.12; the talk quotes it from 6.14.6).
import { defineScenario, type ExpectRule, type Scenario } from '../harness/dsl/scenario.js';

const axes: Scenario['axes'] = {
  caps: [[], ['CAP_BPF'], ['CAP_NET_ADMIN'], ['CAP_BPF', 'CAP_NET_ADMIN'], ['CAP_SYS_ADMIN']],
  sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2] },
};

// bpf_token_capable() (kernel/bpf/token.c) without a token is capable(cap), or CAP_SYS_ADMIN
const SYSCTL_GATE: ExpectRule = {
  when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2] }, lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
  outcome: 'EPERM@map_create',
  reason:
    'map_create() (kernel/bpf/syscall.c): sysctl_unprivileged_bpf_disabled && !bpf_token_capable(token, CAP_BPF) → EPERM, before the map type is looked at (talk l.590)',
};

const FAMILIES: Record<string, { maps: string[]; expect: ExpectRule[] }> = {
  unprivileged: {
    maps: ['array', 'ringbuf'],
    expect: [
      SYSCTL_GATE,
      {
        outcome: 'ok',
        reason:
          'map_create(): ARRAY and RINGBUF are in the "unprivileged" case of the map type switch; with the sysctl at 0 nobody needs a capability (talk l.594-600)',
      },
    ],
  },
  bpf: {
    maps: ['lru_hash', 'stack', 'cpumap'],
    expect: [
      {
        when: { lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@map_create',
        reason:
          'map_create(): LRU_HASH, STACK and CPUMAP are in the case that needs bpf_token_capable(token, CAP_BPF), whatever the sysctl (talk l.601-610)',
      },
      { outcome: 'ok', reason: 'CAP_BPF (or CAP_SYS_ADMIN, which bpf_token_capable() accepts for any cap)' },
    ],
  },
  net_admin: {
    maps: ['sockmap', 'devmap', 'xskmap'],
    expect: [
      SYSCTL_GATE,
      {
        until: '6.9',
        when: { lacks: ['CAP_NET_ADMIN'] },
        outcome: 'EPERM@map_create',
        reason:
          'measured on Debian 5.10 and 6.1: CAP_SYS_ADMIN alone is refused; these kernels check capable(CAP_NET_ADMIN) only. bpf_token_capable() (kernel/bpf/token.c), which also accepts CAP_SYS_ADMIN, came with BPF tokens in 6.9 (6.12 measured ok)',
      },
      {
        when: { lacks: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@map_create',
        reason:
          'map_create(): SOCKMAP, DEVMAP and XSKMAP need bpf_token_capable(token, CAP_NET_ADMIN); at sysctl 0 CAP_BPF is not needed, CAP_NET_ADMIN is (talk l.611-615)',
      },
      {
        outcome: 'ok',
        reason: 'CAP_NET_ADMIN, plus CAP_BPF where the sysctl gate is up; CAP_SYS_ADMIN alone passes both checks',
      },
    ],
  },
};

// The sysctl left at its boot default, which the kernel's config sets: a `requires` gate, since
// the version says nothing about how a distribution built the kernel.
const bootDefault = defineScenario({
  name: 'map-array-bootdefault',
  sample: 'map_types',
  args: ['array'],
  description:
    'an ARRAY map created by uid 65534 with unprivileged_bpf_disabled left at the boot default (CONFIG_BPF_UNPRIV_DEFAULT_OFF)',
  axes: { caps: [[]], sysctl: {} },
  expect: [
    {
      requires: { config: { CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y' } },
      outcome: 'EPERM@map_create',
      reason:
        'kernel/bpf/syscall.c: sysctl_unprivileged_bpf_disabled starts at IS_BUILTIN(CONFIG_BPF_UNPRIV_DEFAULT_OFF) ? 2 : 0; at 2 map_create() refuses uid 65534 without CAP_BPF',
    },
    {
      requires: { config: { CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'n' } },
      outcome: 'ok',
      reason: 'without CONFIG_BPF_UNPRIV_DEFAULT_OFF the sysctl boots at 0, and ARRAY is an unprivileged map type',
    },
    {
      outcome: 'EPERM@map_create',
      reason:
        "a kernel whose package ships no config (Debian 7.x keeps it in linux-base, which capmatrix does not fetch): every Debian series read (5.10 to 6.18) sets CONFIG_BPF_UNPRIV_DEFAULT_OFF=y, and every run records the boot's value (kernel.unprivileged_bpf_disabled 2)",
    },
  ],
});

export default [
  bootDefault,
  ...Object.entries(FAMILIES).flatMap(([family, { maps, expect }]) =>
    maps.map((map) =>
      defineScenario({
        name: `map-${map}`,
        sample: 'map_types',
        args: [map],
        description: `BPF_MAP_CREATE of map_types.bpf.c's ${map} (${family} family), then one use of it`,
        axes,
        expect,
      }),
    ),
  ),
];

// The scenario DSL: a sample, its axes, and first-match-wins expectation rules, as plain data.
// The zod schema is the definition; every type here is inferred from it (the doc comments on the
// schema's fields are what an editor shows on a scenario's). validate.ts parses with it and adds
// the checks a schema cannot make (files, capability and sysctl names with a "did you mean").
import { z } from 'zod';
import { KERNEL_VERSION } from '../version.js';
import type { Capability, CapSet } from './capabilities.js';
import { CONTEXTS, GRANTS, LOCKDOWNS, MEMLOCKS, OkWhenSchema, SETUP_SCOPES, SOCKETS } from './choices.js';
import { type ContainerSpec, SECCOMP_PROFILE_NAMES } from './container.js';
import type { SysctlName } from './sysctls.js';

export type { OkWhen } from './choices.js';
export type { Capability, CapSet };

// Nothing a scenario says reaches a shell, but a control character (newline, NUL) in an argument
// or a name is a mistake, and NUL cannot be passed to exec at all.
const text = z.string().refine((s) => !/\p{Cc}/u.test(s), 'no control characters (newline, tab, NUL…)');
const version = z.string().regex(KERNEL_VERSION, 'a kernel version such as "6.9"');

/** A name from a fixed list, typed as one. The schema takes any string: validateScenario checks
 * the names after parsing, to name an unknown one with the closest known (did you mean …?). */
const listedName = <T extends string>() => z.string().pipe(z.custom<T>());
const capList = z.array(listedName<Capability>());
const sysctlMap = z.partialRecord(listedName<SysctlName>(), z.array(z.number().int()).min(1));

/** A kernel config option's state as the kernel's config file has it: built in, a module, or
 * not set ("# CONFIG_X is not set", or not there at all). */
const ConfigStateSchema = z.enum(['y', 'm', 'n']);
export type ConfigState = z.infer<typeof ConfigStateSchema>;

/** A gate on what the kernel is, not what it is numbered: for a distribution that backports a
 * change (or builds a flavour without it), a version number is the wrong test. */
const RequiresSchema = z.strictObject({
  /** Each option must be in one of these states (read from the kernel package's config file). */
  config: z
    .record(z.string(), z.union([ConfigStateSchema, z.array(ConfigStateSchema).min(1)]))
    .superRefine((config, ctx) => {
      for (const key of Object.keys(config))
        if (!/^CONFIG_[A-Z0-9_]+$/.test(key))
          ctx.addIssue({ code: 'custom', path: [key], message: 'not a kernel config option (e.g. CONFIG_BPF_LSM)' });
    })
    .optional(),
});
export type Requires = z.infer<typeof RequiresSchema>;

/** When a rule applies. Every given condition must hold; an empty `when` matches every cell. */
const WhenSchema = z.strictObject({
  /** 'root' matches only the root cell; 'unprivileged' every uid-65534 cell. */
  caps: z.enum(['root', 'unprivileged']).optional(),
  /** The cell has all of these (root has every capability). */
  has: capList.optional(),
  /** The cell has none of these. */
  lacks: capList.optional(),
  /** How the cell's capabilities were granted (axes.grant; root and the empty set: 'file'). */
  grant: z.enum(GRANTS).optional(),
  /** The cell's lockdown level (axes.lockdown) is this one. */
  lockdown: z.enum(LOCKDOWNS).optional(),
  /** The cell's RLIMIT_MEMLOCK (axes.memlock) is this one. */
  memlock: z.enum(MEMLOCKS).optional(),
  /** The cell's value of each named sysctl is one of these. */
  sysctl: sysctlMap.optional(),
  /** Exactly these cells (by id); what learn mode writes. */
  cells: z.array(z.string()).min(1).optional(),
});
export type When = z.infer<typeof WhenSchema>;

const ExpectRuleSchema = z.strictObject({
  when: WhenSchema.optional(),
  /** "ok" or "<ERRNO>@<stage>", e.g. "EPERM@probe". */
  outcome: z.string(),
  /** Evidence: the talk's slide or a kernel source location. */
  reason: text.min(1, 'every rule needs its evidence'),
  /** Version gate: the rule applies only on kernels ≥ since (and < until). */
  since: version.optional(),
  until: version.optional(),
  /** Provenance gate: the rule applies only on kernels whose config satisfies it (a kernel
   * whose config is unknown, e.g. a bare bzImage, satisfies no `requires`). */
  requires: RequiresSchema.optional(),
});
export type ExpectRule = z.infer<typeof ExpectRuleSchema>;

const ContainerSchema = z.strictObject({
  seccomp: z.enum(SECCOMP_PROFILE_NAMES),
  uds: z.enum(['shared', 'private']).optional(),
}) satisfies z.ZodType<ContainerSpec>;

export const ScenarioSchema = z.strictObject({
  /** Scenario name, unique across scenarios/; defaults to the file name. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits, _ . -'),
  /** What runs; exactly one of `sample`, `object` and `exec`. A built-in program in
   * capmatrix's bpf-src/<sample>/. */
  sample: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_]*$/, 'a sample directory name in bpf-src/ (lower-case letters, digits, _)')
    .optional(),
  /** A BPF object of your own (a path from the directory capmatrix runs in): capmatrix's generic
   * loader loads every program of it and attaches each one it can; `ok` = loaded and attached. */
  object: text.min(1).optional(),
  /** Your own loader, as an argument array (the first a path from the directory capmatrix runs
   * in, or a command on PATH). It runs from that directory; `ok` = exit status 0 (and `okWhen`).
   * When it fails, a syscall trace taken by root in the guest says at which stage. */
  exec: z.array(text).min(1, 'the loader and its arguments, e.g. ["./build/loader", "--flag"]').optional(),
  /** `object`: only these programs (by name); default every program of the object. */
  programs: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'a BPF program name'))
    .min(1)
    .optional(),
  /** `object`: these programs are loaded and not attached, and that is `ok` for them (a program
   * libbpf cannot attach by itself is otherwise EOPNOTSUPP@attach). */
  loadOnly: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'a BPF program name'))
    .min(1)
    .optional(),
  /** `object`: a socket filter goes on a UDP socket on loopback (needs no capability of its own),
   * or on an AF_PACKET socket (`packet`, needs CAP_NET_RAW) like sockex1. Default `udp`. */
  socket: z.enum(SOCKETS).optional(),
  /** `object`: the interface for XDP, tc and packet sockets (default `lo`). */
  iface: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'an interface name such as "lo"')
    .optional(),
  /** `object`: where a bare `SEC("uprobe")` goes, `PATH:FUNCTION` (a path from the directory
   * capmatrix runs in, or absolute), e.g. `/usr/bin/bash:readline`. */
  uprobe: z
    .string()
    .regex(/^[^:\p{Cc}]+:[A-Za-z_][A-Za-z0-9_.@]*$/u, 'PATH:FUNCTION, e.g. "/usr/bin/bash:readline"')
    .optional(),
  /** `object`: a command run (as the cell's uid, without file capabilities) once everything is
   * attached; it must exit 0. */
  trigger: z.array(text).min(1).optional(),
  /** `exec`: patterns the output must match for `ok`. */
  okWhen: z.optional(OkWhenSchema),
  description: text.optional(),
  /** Extra arguments for the sample's loader; `{read:/path}` is replaced by that file's
   * content, read by root in the guest (e.g. a tracefs id the unprivileged loader cannot read). */
  args: z.array(text).optional(),
  /** Commands run as root in the guest before each cell (after its sysctls), as argument arrays;
   * `{sample}` is the path of the sample's binary. A failing command is an infra error. */
  setup: z.array(z.array(text).min(1)).optional(),
  /** Commands run as root after each cell, to undo `setup`. */
  teardown: z.array(z.array(text).min(1)).optional(),
  /** 'cell' (default): setup and teardown around every cell. 'group': once around each run of
   * consecutive cells of the scenario in a boot (one per sysctl phase), for setup that the cells
   * do not change and that costs more than the cells (mounting bpffs, say). */
  setupScope: z.enum(SETUP_SCOPES).optional(),
  /** Where the BPF calls are made: the initial namespaces, or a user namespace the sample
   * enters itself (the token demo). Recorded in every cell. */
  context: z.enum(CONTEXTS).optional(),
  /** `context: 'container'`: the container's seccomp profile and the parent's socket. The caps
   * axis is then what --cap-add adds to the runtime's default set (harness/dsl/container.ts),
   * and rules' has/lacks test the capabilities inside the container. */
  container: ContainerSchema.optional(),
  /** Give the scenario's cells a boot of their own (state that cannot be reset between cells). */
  isolate: z.boolean().optional(),
  /** This scenario runs the same program as the named one with a change that is not a
   * capability (a tracefs mode, an argument read by root; its description says which):
   * `capmatrix minimize <that one>` searches this one too and shows what it saves. */
  alternativeTo: z.string().optional(),
  /** Per-cell timeout inside the guest. */
  timeoutSec: z.number().positive().max(600).optional(),
  axes: z.strictObject({
    /** Each entry is a cell's capabilities: a list of file capabilities for uid 65534, or 'root'. */
    caps: z.array(z.union([z.literal('root'), capList])).min(1),
    /** Each sysctl's values; the cells are the cross product with `caps`. */
    sysctl: sysctlMap,
    /** How each capability set is granted (default ['file']): 'file', file capabilities on the
     * binary; 'ambient', the uid's ambient capabilities before the exec (systemd's `User=` and
     * `AmbientCapabilities=`); the deployment shapes of choices.ts's GRANTS (dsl/grants.ts). Root
     * and the empty set are granted nothing: one cell each. */
    grant: z.array(z.enum(GRANTS)).min(1).optional(),
    /** The kernel lockdown levels to run each cell under (a boot of its own for each level,
     * `lockdown=` on its command line); absent, the boot's default and no check of it. */
    lockdown: z.array(z.enum(LOCKDOWNS)).min(1).optional(),
    /** The RLIMIT_MEMLOCK each cell starts with (the launcher sets it); absent, the guest's. */
    memlock: z.array(z.enum(MEMLOCKS)).min(1).optional(),
  }),
  /** First match wins: the first rule whose `when` (and gates) hold decides a cell's expectation. */
  expect: z.array(ExpectRuleSchema).min(1),
});
export type Scenario = z.infer<typeof ScenarioSchema>;

/** Typed identity: scenarios/*.ts `export default defineScenario({...})`; a file may also
 * export an array of scenarios (one per variant, like Playwright projects). */
export function defineScenario(s: Scenario): Scenario {
  return s;
}

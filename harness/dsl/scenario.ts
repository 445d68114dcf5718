// The scenario DSL: a sample, its axes, and first-match-wins expectation rules, as plain data.
import type { Capability, CapSet } from './capabilities.js';
import type { Context, OkWhen, SetupScope, Socket } from './choices.js';
import type { ContainerSpec } from './container.js';
import type { SysctlName } from './sysctls.js';

export type { Capability, CapSet, OkWhen };

/** When a rule applies. Every given condition must hold; an empty `when` matches every cell. */
export interface When {
  /** 'root' matches only the root cell; 'unprivileged' every uid-65534 cell. */
  caps?: 'root' | 'unprivileged';
  /** The cell has all of these (root has every capability). */
  has?: Capability[];
  /** The cell has none of these. */
  lacks?: Capability[];
  /** The cell's value of each named sysctl is one of these. */
  sysctl?: Partial<Record<SysctlName, number[]>>;
  /** Exactly these cells (by id); what learn mode writes. */
  cells?: string[];
}

/** A kernel config option's state as the kernel's config file has it: built in, a module, or
 * not set ("# CONFIG_X is not set", or not there at all). */
export type ConfigState = 'y' | 'm' | 'n';

/** A gate on what the kernel is, not what it is numbered: for a distribution that backports a
 * change (or builds a flavour without it), a version number is the wrong test. */
export interface Requires {
  /** Each option must be in one of these states (read from the kernel package's config file). */
  config?: Record<string, ConfigState | ConfigState[]>;
}

export interface ExpectRule {
  when?: When;
  /** "ok" or "<ERRNO>@<stage>", e.g. "EPERM@probe". */
  outcome: string;
  /** Evidence: the talk's slide or a kernel source location. */
  reason: string;
  /** Version gate: the rule applies only on kernels ≥ since (and < until). */
  since?: string;
  until?: string;
  /** Provenance gate: the rule applies only on kernels whose config satisfies it (a kernel
   * whose config is unknown, e.g. a bare bzImage, satisfies no `requires`). */
  requires?: Requires;
}

export interface Scenario {
  /** Scenario name, unique across scenarios/; defaults to the file name. */
  name: string;
  /** What runs; exactly one of `sample`, `object` and `exec`. A built-in program in
   * capmatrix's bpf-src/<sample>/. */
  sample?: string;
  /** A BPF object of your own (a path from the directory capmatrix runs in): capmatrix's generic
   * loader loads every program of it and attaches each one it can; `ok` = loaded and attached. */
  object?: string;
  /** Your own loader, as an argument array (the first a path from the directory capmatrix runs
   * in, or a command on PATH). It runs from that directory; `ok` = exit status 0 (and `okWhen`).
   * When it fails, a syscall trace taken by root in the guest says at which stage. */
  exec?: string[];
  /** `object`: only these programs (by name); default every program of the object. */
  programs?: string[];
  /** `object`: a socket filter goes on a UDP socket on loopback (needs no capability of its own),
   * or on an AF_PACKET socket (`packet`, needs CAP_NET_RAW) like sockex1. Default `udp`. */
  socket?: Socket;
  /** `object`: the interface for XDP, tc and packet sockets (default `lo`). */
  iface?: string;
  /** `object`: where a bare `SEC("uprobe")` goes, `PATH:FUNCTION` (a path from the directory
   * capmatrix runs in, or absolute), e.g. `/usr/bin/bash:readline`. */
  uprobe?: string;
  /** `object`: a command run (as the cell's uid, without file capabilities) once everything is
   * attached; it must exit 0. */
  trigger?: string[];
  /** `exec`: patterns the output must match for `ok`. */
  okWhen?: OkWhen;
  description?: string;
  /** Extra arguments for the sample's loader; `{read:/path}` is replaced by that file's
   * content, read by root in the guest (e.g. a tracefs id the unprivileged loader cannot read). */
  args?: string[];
  /** Commands run as root in the guest before each cell (after its sysctls), as argument arrays;
   * `{sample}` is the path of the sample's binary. A failing command is an infra error. */
  setup?: string[][];
  /** Commands run as root after each cell, to undo `setup`. */
  teardown?: string[][];
  /** 'cell' (default): setup and teardown around every cell. 'group': once around each run of
   * consecutive cells of the scenario in a boot (one per sysctl phase), for setup that the cells
   * do not change and that costs more than the cells (mounting bpffs, say). */
  setupScope?: SetupScope;
  /** Where the BPF calls are made: the initial namespaces, or a user namespace the sample
   * enters itself (the token demo). Recorded in every cell. */
  context?: Context;
  /** `context: 'container'`: the container's seccomp profile and the parent's socket. The caps
   * axis is then what --cap-add adds to the runtime's default set (harness/dsl/container.ts),
   * and rules' has/lacks test the capabilities inside the container. */
  container?: ContainerSpec;
  /** Give the scenario's cells a boot of their own (state that cannot be reset between cells). */
  isolate?: boolean;
  /** This scenario runs the same program as the named one with a change that is not a
   * capability (a tracefs mode, an argument read by root; its description says which):
   * `capmatrix minimize <that one>` searches this one too and shows what it saves. */
  alternativeTo?: string;
  /** Per-cell timeout inside the guest. */
  timeoutSec?: number;
  axes: {
    caps: CapSet[];
    sysctl: Partial<Record<SysctlName, number[]>>;
  };
  expect: ExpectRule[];
}

/** Typed identity: scenarios/*.ts `export default defineScenario({...})`; a file may also
 * export an array of scenarios (one per variant, like Playwright projects). */
export function defineScenario(s: Scenario): Scenario {
  return s;
}

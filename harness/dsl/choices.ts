// The fixed values of the scenario fields that travel on (into cells, the plan, results.json,
// the command line), one tuple each: the scenario's schema, the protocol's, the results' and
// commander's .choices() all take them from here, so a value is added in one place.
// zod/mini: the guest agent bundles it through the protocol (protocol.ts says why)
import * as z from 'zod/mini';

/** `setupScope`: setup and teardown around every cell, or once around a group of cells. */
export const SETUP_SCOPES = ['cell', 'group'] as const;
export type SetupScope = (typeof SETUP_SCOPES)[number];

/** `context`: where the BPF calls are made. */
export const CONTEXTS = ['host', 'userns', 'container'] as const;
export type Context = (typeof CONTEXTS)[number];

/** `axes.grant`: how a cell's capabilities reach its program, as the ways users deploy one give
 * them (each one's process shape: grants.ts): `file` (`setcap …+ep` on the binary), `ambient`
 * (systemd's `User=` + `AmbientCapabilities=`), `unit` (the same locked: `CapabilityBoundingSet=`
 * the set, `NoNewPrivileges=yes`), `rootful` (docker/podman run as uid 0, `--cap-drop ALL
 * --cap-add` the set, the runtime's default seccomp rules), `pod` (Kubernetes, a non-root
 * `runAsUser`, `capabilities: {drop: [ALL], add: set}`, the image's binary given the set by
 * `setcap`), `pod-no-setcap` (the same without file capabilities: the uid gets none) and
 * `pod-no-escalation` (with `allowPrivilegeEscalation: false`: no_new_privs, file capabilities
 * not gained). */
export const GRANTS = ['file', 'ambient', 'unit', 'rootful', 'pod', 'pod-no-setcap', 'pod-no-escalation'] as const;
export type Grant = (typeof GRANTS)[number];

/** `axes.lockdown`: the kernel's lockdown level the cell runs under (`lockdown=` on the kernel
 * command line: a boot of its own for each level; absent, the boot's default). */
export const LOCKDOWNS = ['none', 'integrity', 'confidentiality'] as const;
export type Lockdown = (typeof LOCKDOWNS)[number];

/** `axes.memlock`: the RLIMIT_MEMLOCK (soft and hard) the cell's program starts with: 64 KiB as
 * older distributions and 5.10's default gave, 8 MiB as today's default, or unlimited. */
export const MEMLOCKS = ['64k', '8m', 'unlimited'] as const;
export type Memlock = (typeof MEMLOCKS)[number];
/** Each MEMLOCKS value in bytes (null: RLIM_INFINITY). */
export const MEMLOCK_BYTES: Record<Memlock, number | null> = { '64k': 65536, '8m': 8388608, unlimited: null };

/** `socket`: what an object's socket filter is attached to. */
export const SOCKETS = ['udp', 'packet'] as const;
export type Socket = (typeof SOCKETS)[number];

/** `okWhen`: what a user's loader must print besides exiting 0, a regular expression a stream. */
export const OkWhenSchema = z.strictObject({ stdout: z.optional(z.string()), stderr: z.optional(z.string()) });
export type OkWhen = z.infer<typeof OkWhenSchema>;

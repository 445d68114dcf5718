// The host↔guest contract, defined once: the plan the host writes for one boot, every record the
// guest agent writes back, and how a record travels as one line of the results file. The host
// (run/boot.ts, outcome/guest-records.ts) and the agent (guest/agent.ts, bundled) import it.
//
// A line is `<payload JSON>\t<signature>`: the payload carries a sequence number, the signature
// is Ed25519 over the payload's bytes with a key the agent makes at start and keeps in memory.
// The first line (provenance, seq 0) publishes the public key, before any sample runs; a line a
// sample wrote (it would need the agent's memory to sign) fails verification on the host.
import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
// zod/mini, not zod: the agent bundles this file, and zod's full build cost the guest ~0.4 s a
// boot to load under TCG (measured); the host mixes these schemas into its own zod ones.
import * as z from 'zod/mini';
import { CAPABILITIES } from '../dsl/capabilities.js';
import { GRANTS, LOCKDOWNS, MEMLOCKS, OkWhenSchema, SETUP_SCOPES } from '../dsl/choices.js';
import { SYSCTL_NAMES } from '../dsl/sysctls.js';
import { INFRA_KINDS, OBSERVABLE_OUTCOMES, STAGES } from '../dsl/vocabulary.js';

export const PROTOCOL_VERSION = 3;

const capability = z.enum(CAPABILITIES);
const capSet = z.union([z.literal('root'), z.array(capability)]);
const sysctlName = z.enum(SYSCTL_NAMES);
const argv = z.array(z.string());

// ---- the root tools (the host vouches for them, the agent runs them) ----

/** Where a root tool is looked for, in this order: by the agent (guest/tools.ts) and by the host
 * for the file it vouches for (plan/tool-digests.ts). Never /usr/local, first on PATH. */
export const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'] as const;

/** The files a root tool's name may stand for, in the order they are tried: a path as it is. */
export const toolCandidates = (name: string): string[] =>
  name.includes('/') ? [name] : SYSTEM_DIRS.map((d) => `${d}/${name}`);

/** The tools the agent runs as root of its own accord (guest/commands.ts takes no other name);
 * a scenario's setup and teardown commands add theirs. */
export const AGENT_TOOLS = ['getcap', 'ip', 'mount', 'rmmod', 'setcap', 'setpriv', 'strace', 'tc', 'umount'] as const;
export type AgentTool = (typeof AGENT_TOOLS)[number];

/** What the host found a tool to be: the sha256 of the file it runs (its realpath's content), and
 * the package whose md5 that file matched (null: no package owns it, the host's file all the same). */
export const ToolDigestSchema = z.strictObject({
  sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  package: z.nullable(z.string()),
});
export type ToolDigest = z.infer<typeof ToolDigestSchema>;

// ---- the plan (host → guest) ----

/** One run as the guest agent gets it (run/boot.ts's guestCell, from the host's PlannedCell and its key). */
export const GuestCellSchema = z.strictObject({
  id: z.string(),
  /** The run's key (`<kernel>/<cell id>#<rep>`, or `<search label>#<n>` in a search). */
  key: z.string(),
  sample: z.string(),
  /** The built sample, or a user's loader, on the host's (read-only) filesystem. */
  binary: z.string(),
  /** 'sample': judged by its CAPMATRIX_RESULT line; 'exec': a user's loader, judged by its exit
   * status (and `okWhen`), its failing stage found in a syscall trace. */
  mode: z.enum(['sample', 'exec']),
  /** Where it runs (default: its own fresh directory). */
  cwd: z.optional(z.string()),
  okWhen: z.optional(OkWhenSchema),
  caps: capSet,
  /** How the launcher gives `caps` (dsl/grants.ts: ambient capabilities, a cut bounding set,
   * no_new_privs, a seccomp filter, uid 0; absent: 'file', the copy's file capabilities). */
  grant: z.optional(z.enum(GRANTS)),
  uid: z.int().check(z.nonnegative()),
  /** The kernel lockdown level the cell must run under (the boot's `lockdown=`): checked before it runs. */
  lockdown: z.optional(z.enum(LOCKDOWNS)),
  /** The RLIMIT_MEMLOCK the launcher gives the cell's process (absent: the agent's). */
  memlock: z.optional(z.enum(MEMLOCKS)),
  /** A container cell: the capabilities the container must hold (its sample reports `inside`). */
  inside: z.optional(z.array(capability)),
  sysctl: z.partialRecord(sysctlName, z.int()),
  args: argv,
  setup: z.array(argv),
  teardown: z.array(argv),
  setupScope: z.enum(SETUP_SCOPES),
  scenario: z.string(),
  timeoutSec: z.number().check(z.positive()),
  /** `capmatrix minimize` on a token scenario: the delegation items of this run. */
  delegation: z.optional(z.array(z.string())),
});
export type GuestCell = z.infer<typeof GuestCellSchema>;

export const SearchSchema = z.strictObject({
  label: z.string(),
  /** What the sets are made of: capabilities (file caps of the sample), or the token's
   * delegation items ("maps=queue") passed to the loader after `baseArgs`. */
  dimension: z.enum(['caps', 'delegation']),
  universe: z.array(z.string()),
  baseArgs: z.optional(argv),
  template: GuestCellSchema,
  /** Each minimal set run once more granted each of these ways (`minimize --emit`: a deployment
   * form's shape, dsl/grants.ts), its key formKey(label, grant, n) for the n-th minimal set. */
  forms: z.optional(z.array(z.enum(GRANTS))),
});
export type Search = z.infer<typeof SearchSchema>;

/** The key of the run of a search's n-th minimal set granted as `grant` (`minimize --emit`). */
export const formKey = (label: string, grant: string, n: number) => `${label}#${grant}-${n}`;

/** The key of a capability search's one run as root (when no set of its universe was ok). */
export const searchRootKey = (label: string) => `${label}#root`;

export const PlanSchema = z.strictObject({
  protocol: z.literal(PROTOCOL_VERSION),
  bootId: z.string(),
  /** The results file, inside `rwdir`. */
  results: z.string(),
  /** vng's --rwdir: the agent opens the results file, then detaches this mount, so no path
   * inside the guest leads to a writable copy of it. */
  rwdir: z.string(),
  recordSysctls: z.array(z.string()),
  cells: z.array(GuestCellSchema),
  searches: z.array(SearchSchema),
  /** Every root tool the boot may run (AGENT_TOOLS and the cells' commands), by the name it is
   * run by: the agent runs none the host did not vouch for, and none whose content differs. */
  toolDigests: z.record(z.string(), ToolDigestSchema),
});
export type Plan = z.infer<typeof PlanSchema>;

// ---- the records (guest → host) ----

export const ObservedSchema = z.object({
  outcome: z.enum(OBSERVABLE_OUTCOMES),
  stage: z.enum(STAGES),
  errno: z.nullable(z.int()),
  detail: z.string(),
  data: z.optional(z.record(z.string(), z.unknown())),
});
export type ObservedOutcome = z.infer<typeof ObservedSchema>;

/** The line a sample prints last: `CAPMATRIX_RESULT {...}` (bpf-src/common/capmatrix_result.h). */
export const SampleResultSchema = z.looseObject({
  outcome: z.enum(OBSERVABLE_OUTCOMES),
  stage: z.enum(STAGES),
  errno: z.int(),
  detail: z.string(),
  uid: z.int(),
  capEff: z.string(),
  /** A container sample, once its container exists: the CapEff it holds inside. */
  inside: z.optional(z.string()),
  /** CLOCK_MONOTONIC (ns) of the sample's first bpf(2) call, if it made one. */
  firstBpfNs: z.optional(z.number()),
});
export type SampleResult = z.infer<typeof SampleResultSchema>;
export const RESULT_PREFIX = 'CAPMATRIX_RESULT ';

/** The sample's last result line, parsed and checked; null when it printed none. */
export function sampleResult(stdout: string): { res: SampleResult } | { problem: string } | null {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line.slice(RESULT_PREFIX.length));
  } catch {
    return { problem: `unparsable result line: ${line.slice(0, 300)}` };
  }
  const parsed = SampleResultSchema.safeParse(raw);
  if (parsed.success) return { res: parsed.data };
  const issue = parsed.error.issues[0];
  return { problem: `result line: ${issue?.path.join('.')}: ${issue?.message} in ${line.slice(0, 300)}` };
}

const ms = z.number().check(z.nonnegative());
const optionalMs = z.optional(ms);

/** One kind of capability check the kernel made for a cell's processes (guest/cap-watch.ts). */
export const CapCheckSchema = z.object({
  cap: z.string(),
  /** What cap_capable answered: granted (0) or denied (-EPERM). */
  granted: z.boolean(),
  /** The user namespace the check was against: the initial one, or another (a container's, a
   * token's). */
  ns: z.enum(['initial', 'other']),
  /** false: a noaudit check (ns_capable_noaudit, has_capability_noaudit: the kernel trying a
   * fallback or asking quietly). */
  audit: z.boolean(),
  /** How many times the same check, with the same stack, was made. */
  count: z.int(),
  /** The kernel functions that asked, cap_capable's caller first (symbolised in the guest). */
  stack: z.array(z.string()),
});
export type CapCheck = z.infer<typeof CapCheckSchema>;

/** What a cell cost, step by step, and what it left behind; kept in results.json. */
export const FiguresSchema = z.object({
  durationMs: ms,
  overheadMs: optionalMs,
  sysctlMs: optionalMs,
  setupMs: optionalMs,
  teardownMs: optionalMs,
  execMs: optionalMs,
  /** From the spawn until the sample stopped at its start (fork, exec, until main). */
  startMs: optionalMs,
  /** From the spawn until the sample's first bpf(2) call (absent: it made none, or a user's loader). */
  firstBpfMs: optionalMs,
  /** Writing and fsyncing the cell's cell-start record (the cell record costs the same again). */
  recordMs: optionalMs,
  /** Checking and resetting state after the cell. */
  resetMs: optionalMs,
  /** Taking the guest's fingerprint after the cell and diffing it (guest/fingerprint.ts). */
  fingerprintMs: optionalMs,
  /** Arming the capability recorder before the sample and reading its checks after it. */
  capWatchMs: optionalMs,
  exit: z.optional(z.object({ code: z.nullable(z.int()), signal: z.nullable(z.string()) })),
  stderrTail: z.optional(z.string()),
  /** CapEff of the running sample, read by the agent from /proc/<pid>/status. */
  capEff: z.optional(z.string()),
  /** Every capability check the cell's processes made from the sample's exec on, in the order
   * first made (absent: not recorded, e.g. a user's loader under strace). */
  capChecks: z.optional(z.array(CapCheckSchema)),
  /** What the cell left pinned in the guest's /sys/fs/bpf, removed before the next cell. */
  bpffsLeft: z.optional(z.array(z.string())),
});

const mountedFs = z.object({ path: z.string(), fs: z.nullable(z.string()), mode: z.nullable(z.string()) });

export const ProvenanceRecordSchema = z.looseObject({
  type: z.literal('provenance'),
  bootId: z.string(),
  /** The agent's Ed25519 public key (SPKI DER, base64): every later line is signed with it. */
  publicKey: z.string(),
  release: z.string(),
  clocksource: z.nullable(z.string()),
  sysctls: z.record(z.string(), z.nullable(z.number())),
  tracefs: mountedFs,
  bpffs: mountedFs,
  lockdown: z.nullable(z.string()),
  agentUid: z.nullable(z.number()),
  sudoers: z.array(z.string()),
  /** The guest's PID 1 (/proc/1/comm): guest_init, capmatrix's own, or virtme-init's shell. */
  init: z.optional(z.nullable(z.string())),
  /** The guest's root as mountinfo shows it ("<source> <fs type> <options>"): guest_init's is
   * capmatrix.root, read through the page cache (vng-argv.ts); virtme-init's is vng's /dev/root. */
  rootMount: z.optional(z.nullable(z.string())),
  /** The guest's uptime (ms, the kernel's clock) at this record: where the boot's time went. */
  uptimeMs: z.optional(z.nullable(z.number())),
  /** How cells are contained: one cgroup each, and the results mount detached. */
  containment: z.object({ cgroup: z.nullable(z.string()), rwdirDetached: z.boolean(), detail: z.string() }),
  t: z.number(),
});

export const CellStartRecordSchema = z.strictObject({
  type: z.literal('cell-start'),
  id: z.string(),
  key: z.string(),
  t: z.number(),
});

export const CellRecordSchema = z.strictObject({
  ...FiguresSchema.shape,
  type: z.literal('cell'),
  id: z.string(),
  key: z.string(),
  caps: capSet,
  /** How the caps were given (dsl/grants.ts; absent: file capabilities). */
  grant: z.optional(z.enum(GRANTS)),
  delegation: z.optional(z.array(z.string())),
  /** null: the cell ended in an infra error. */
  observed: z.nullable(ObservedSchema),
  infraKind: z.optional(z.enum(INFRA_KINDS)),
  infraError: z.optional(z.string()),
  /** Every sysctl some cell of this boot sets, as it stood right after this cell. */
  sysctlNow: z.record(z.string(), z.nullable(z.number())),
  /** What the cell left behind that had to be cleaned. */
  resetProblems: z.optional(z.array(z.string())),
  /** The scenario's teardown after this cell failed (the cell's own, or its group's). */
  teardownError: z.optional(z.string()),
});

export const SearchRecordSchema = z.strictObject({
  type: z.literal('search'),
  label: z.string(),
  minimal: z.array(z.array(z.string())),
  violations: z.array(z.strictObject({ caps: z.array(z.string()), within: z.array(z.string()) })),
  runs: z.int(),
  /** Sets found failing from the kernel's checks of a run they only add undenied capabilities to. */
  skippedByChecks: z.optional(z.int()),
  teardownError: z.optional(z.string()),
});

/** What making the boot's sample copies cost (guest/prepare.ts), in the end record. */
export const PrepareFiguresSchema = z.strictObject({ files: z.number(), copyMs: ms, setcapMs: ms, verifyMs: ms });

export type PrepareFigures = z.infer<typeof PrepareFiguresSchema>;

export const EndRecordSchema = z.strictObject({
  type: z.literal('end'),
  t: z.number(),
  prepare: z.optional(PrepareFiguresSchema),
  /** From the provenance record to the first cell's start (ms): the agent's preparation (its
   * overlays' bind, the state helper, the sample copies), the boot's last phase. */
  firstCellMs: z.optional(ms),
  /** Each fingerprint part's median cost per cell (ms). */
  fingerprint: z.optional(z.record(z.string(), ms)),
  /** Each part of a cell's housekeeping (its directory, its cgroup, the reset's checks): its
   * median cost per cell (ms). */
  cellParts: z.optional(z.record(z.string(), ms)),
  /** Why the capability recorder (guest/cap-watch.ts) did not record this boot's cells, or
   * stopped doing so: their capChecks are absent from then on. */
  capWatch: z.optional(z.string()),
  /** Why the agent stopped before the plan's end: a cell left state it could not undo (the
   * cells after it go to a fresh boot). */
  reason: z.optional(z.string()),
});

/** The agent is alive: written every BEAT_MS from the agent's event loop, inside cells too. A
 * stopped, stuck or killed agent stops writing them, and the host ends the boot within seconds. */
export const BeatRecordSchema = z.strictObject({ type: z.literal('beat'), t: z.number() });
export const BEAT_MS = 2000;

export const GuestRecordSchema = z.discriminatedUnion('type', [
  ProvenanceRecordSchema,
  BeatRecordSchema,
  CellStartRecordSchema,
  CellRecordSchema,
  SearchRecordSchema,
  EndRecordSchema,
]);
export type GuestRecord = z.infer<typeof GuestRecordSchema>;
export type ProvenanceRecord = z.infer<typeof ProvenanceRecordSchema>;
export type CellRecord = z.infer<typeof CellRecordSchema>;
export type SearchRecord = z.infer<typeof SearchRecordSchema>;

// ---- one line of the results file ----

/** The agent's signer: a key pair made at start, the private half never leaving its memory. */
export function newSigner(): { publicKey: string; line: (seq: number, record: GuestRecord) => string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    line: (seq, record) => {
      const payload = JSON.stringify({ seq, ...record });
      return `${payload}\t${sign(null, Buffer.from(payload), privateKey).toString('base64')}\n`;
    },
  };
}

export function publicKeyFrom(base64: string): KeyObject {
  return createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
}

export type DecodedLine = { seq: number; record: GuestRecord } | { error: string };

/**
 * One line (without its newline) → its record, or why it is not the agent's: not framed, not
 * JSON, not a record of the protocol, or a signature that does not verify with `key` (for the
 * first line, the key it carries itself).
 */
export function decodeLine(text: string, key: KeyObject | null): DecodedLine {
  const tab = text.lastIndexOf('\t');
  if (tab < 0) return { error: 'no signature (not a line the agent wrote)' };
  const payload = text.slice(0, tab);
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return { error: 'not JSON' };
  }
  const seq = z.object({ seq: z.int().check(z.nonnegative()) }).safeParse(raw);
  if (!seq.success) return { error: 'no sequence number' };
  const { seq: _seq, ...body } = raw as Record<string, unknown>;
  const parsed = GuestRecordSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `not a record of the protocol (${issue?.path.join('.') || 'record'}: ${issue?.message})` };
  }
  const record = parsed.data;
  let verifyWith = key;
  if (!verifyWith && record.type === 'provenance') {
    try {
      verifyWith = publicKeyFrom(record.publicKey);
    } catch {
      return { error: 'provenance carries no usable public key' };
    }
  }
  if (!verifyWith) return { error: 'a record before the provenance line' };
  let good = false;
  try {
    good = verify(null, Buffer.from(payload), verifyWith, Buffer.from(text.slice(tab + 1), 'base64'));
  } catch {}
  if (!good) return { error: 'bad signature (not written by the agent)' };
  return { seq: seq.data.seq, record };
}

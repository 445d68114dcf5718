// What `capmatrix minimize` answers on one kernel (minimize.json), defined once: written by the
// search, read back by `merge` (a CI job per kernel) and rendered by the report.
import { z } from 'zod';
import { GRANTS, LOCKDOWNS, MEMLOCKS } from '../dsl/choices.js';
import { readJsonFile } from '../read-json.js';

/** `--emit`: the deployment forms given for each minimal set, each checked in the same boot
 * (report/deploy-forms.ts: how each is run and printed). */
export const EMIT_FORMS = ['setcap', 'systemd', 'docker', 'podman', 'kubernetes', 'lxd', 'incus'] as const;
export type EmitForm = (typeof EMIT_FORMS)[number];

/** A form run in the guest: what it got, in which cell. */
export const FormCheckSchema = z.object({
  ok: z.boolean(),
  outcome: z.string(),
  detail: z.string(),
  cell: z.string(),
});
export type FormCheck = z.infer<typeof FormCheckSchema>;

/** Why a set one capability short of a minimal set fails. */
export const ShortfallSchema = z.object({
  without: z.string(),
  outcome: z.string(),
  detail: z.string(),
  /** The checks the kernel denied in that run (of the missing capability where it asked for it),
   * by who asked; absent when not recorded or none was denied. */
  denied: z.string().optional(),
});
export type Shortfall = z.infer<typeof ShortfallSchema>;

/** A minimal set, and what the kernel asked of each of its capabilities in the set's own run:
 * who asked, or [] for a capability it never asked for (a finding). */
export const MinimalSetSchema = z.object({
  caps: z.array(z.string()),
  shortfalls: z.array(ShortfallSchema),
  askedFor: z.record(z.string(), z.array(z.string())).optional(),
  /** `--emit`: the set's runs by grant: the search's own (`file`) and each form's (dsl/grants.ts). */
  checks: z.partialRecord(z.enum(GRANTS), FormCheckSchema).optional(),
});
export type MinimalSet = z.infer<typeof MinimalSetSchema>;

const OutcomeLineSchema = z.object({ outcome: z.string(), detail: z.string() });

export const SearchResultSchema = z.object({
  /** 'asked' (the settings given), 'sysctl' (another value of the scenario's axis), 'scenario'
   * (a declared alternative). */
  kind: z.enum(['asked', 'sysctl', 'scenario']),
  scenario: z.string(),
  description: z.string().optional(),
  sysctl: z.record(z.string(), z.number()),
  /** The values the guest really had during the search. */
  effectiveSysctl: z.record(z.string(), z.nullable(z.number())).optional(),
  minimal: z.array(MinimalSetSchema),
  /** What the whole universe gets, when no subset is ok. */
  withAll: OutcomeLineSchema.optional(),
  /** What root (uid 0, every capability) gets, run once when no subset is ok. */
  root: OutcomeLineSchema.optional(),
  /** What the kernel's checks say about other settings (Debian's paranoid patch). */
  notes: z.array(z.string()).optional(),
  violations: z.array(z.object({ caps: z.array(z.string()), within: z.array(z.string()) })),
  /** The group teardown after the search failed: later searches ran on state nobody reset. */
  teardownError: z.string().optional(),
  runs: z.number().int(),
  /** Sets not run because the kernel's checks of a failing run said they fail too: the search
   * without the checks runs `runs + skippedByChecks`. */
  skippedByChecks: z.number().int(),
  bruteForce: z.number().int(),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;

export const MinimizeResultSchema = z.object({
  runDir: z.string(),
  /** Sets of capabilities, or (token scenarios) of delegation items. */
  dimension: z.enum(['caps', 'delegation']),
  kernel: z.object({ id: z.string(), release: z.string() }),
  sample: z.string(),
  /** The user's object or loader, when minimize was asked about one. */
  object: z.string().optional(),
  exec: z.array(z.string()).optional(),
  universe: z.array(z.string()),
  /** The locks every run was under (`--lockdown`, `--memlock`). */
  lockdown: z.enum(LOCKDOWNS).optional(),
  memlock: z.enum(MEMLOCKS).optional(),
  /** The forms asked for (`--emit`), each checked in the boot. */
  emit: z.array(z.enum(EMIT_FORMS)).optional(),
  /** The privilege sysctls as the guest booted with them (Debian's defaults, unless a search set them). */
  bootSysctls: z.record(z.string(), z.nullable(z.number())).optional(),
  searches: z.array(SearchResultSchema),
  /** Why the capability recorder did not run in the boot (no kernel checks, none spared runs). */
  recorderOff: z.string().optional(),
  bootMs: z.nullable(z.number()),
  wallMs: z.number(),
});
export type MinimizeResult = z.infer<typeof MinimizeResultSchema>;

/** A minimize.json of one kernel, checked; a bad one is a usage error naming the file and field. */
export function readMinimizeResult(file: string): MinimizeResult {
  return readJsonFile(file, MinimizeResultSchema, 'a minimize.json of one kernel');
}

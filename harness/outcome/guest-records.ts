// The guest agent's results file: one JSON object per line (provenance, cell-start, cell, end).
import { existsSync, readFileSync } from 'node:fs';
import type { InfraKind } from './attempts.js';

export interface ObservedOutcome {
  outcome: string;
  stage: string;
  errno: number | null;
  detail: string;
  data?: Record<string, unknown>;
}

export interface CellRecord {
  type: 'cell';
  id: string;
  /** The run's key (`<kernel>/<cell id>#<rep>`). */
  key: string;
  caps?: string[] | 'root';
  /** `capmatrix minimize` on a token scenario: the delegation items of this run. */
  delegation?: string[];
  observed: ObservedOutcome | null;
  infraKind?: InfraKind;
  infraError?: string;
  durationMs: number;
  overheadMs?: number;
  sysctlMs?: number;
  setupMs?: number;
  teardownMs?: number;
  execMs?: number;
  capEff?: string;
  exit?: { code: number | null; signal: string | null };
  stderrTail?: string;
  sysctlNow?: Record<string, number | null>;
  /** Time the agent spent after the cell checking and resetting state. */
  resetMs?: number;
  /** What the cell left behind that had to be cleaned. */
  resetProblems?: string[];
}

/** What the guest agent records once per boot (see agent.mjs provenance()). */
export interface GuestProvenance {
  release?: string;
  clocksource?: string | null;
  sysctls?: Record<string, number | null>;
  tracefs?: { fs?: string | null; mode?: string | null };
  bpffs?: { fs?: string | null; mode?: string | null };
  lockdown?: string | null;
  [key: string]: unknown;
}

/** One boot's entry in results.json provenance.boots. */
export interface BootProvenance {
  boot: string;
  kernel: string;
  guest?: GuestProvenance | null;
  consoleLog?: string;
  agentFinished?: boolean;
  vm?: { ended: string; wallMs: number; bootMs: number | null; [key: string]: unknown };
  [key: string]: unknown;
}

export interface SearchRecord {
  type: 'search';
  label: string;
  minimal: string[][];
  violations: { caps: string[]; within: string[] }[];
  runs: number;
}

export interface GuestRecords {
  provenance: GuestProvenance | null;
  /** Run keys in the order their cells started. */
  started: string[];
  /** Finished runs by key. */
  cells: Map<string, CellRecord>;
  /** `capmatrix minimize`: each search's result (minimal sets, violations, runs). */
  searches: SearchRecord[];
  ended: boolean;
  /** Lines that did not parse (a torn last line when the VM died mid-write). */
  garbage: number;
}

export function readGuestRecords(file: string): GuestRecords {
  const r: GuestRecords = { provenance: null, started: [], cells: new Map(), searches: [], ended: false, garbage: 0 };
  if (!existsSync(file)) return r;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let rec: { type?: string; id?: string; key?: string };
    try {
      rec = JSON.parse(line);
    } catch {
      r.garbage++;
      continue;
    }
    if (rec.type === 'provenance') r.provenance = rec as GuestProvenance;
    else if (rec.type === 'cell-start' && rec.key) r.started.push(rec.key);
    else if (rec.type === 'cell' && rec.key) r.cells.set(rec.key, rec as CellRecord);
    else if (rec.type === 'search') r.searches.push(rec as SearchRecord);
    else if (rec.type === 'end') r.ended = true;
  }
  return r;
}

/** Cheap checks for the VM watchdog. */
export function hasLine(file: string, type: string): boolean {
  return existsSync(file) && readFileSync(file, 'utf8').includes(`{"type":"${type}"`);
}

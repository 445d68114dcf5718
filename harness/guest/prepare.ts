// A fresh, root-owned copy of the sample with exactly the cell's file capabilities.
import fs from 'node:fs';
import type { InfraKind } from '../dsl/vocabulary.js';
import { run } from './commands.js';
import type { PlanCell } from './protocol.js';

/** Caps listed by `getcap FILE` ("FILE cap_a,cap_b=ep"), as sorted upper-case names. */
export function parseGetcap(text: string): string[] {
  const m = /\s(\S+)=ep$/.exec(text.trim());
  return m?.[1]
    ? m[1]
        .split(',')
        .map((c) => c.toUpperCase())
        .sort()
    : [];
}

/** Copies the sample and setcaps it; returns an infra error or null. */
export function prepareBinary(cell: PlanCell, file: string): { kind: InfraKind; detail: string } | null {
  fs.copyFileSync(cell.binary, file);
  fs.chmodSync(file, 0o755);
  // A fresh copy carries no file capabilities; the sample's own CapEff (checked after it ran)
  // proves what it held, so getcap would only cost an exec here.
  if (cell.caps === 'root' || cell.caps.length === 0) return null;
  const text = `${cell.caps.map((c) => c.toLowerCase()).join(',')}+ep`;
  const r = run('setcap', [text, file]);
  if (!r.ok) return { kind: 'setup-failed', detail: `setcap ${text}: ${r.out}` };
  const got = parseGetcap(run('getcap', [file]).out);
  const want = [...cell.caps].sort();
  if (got.join(',') !== want.join(','))
    return {
      kind: 'caps-not-applied',
      detail: `getcap shows [${got.join(',')}], the cell asks for [${want.join(',')}]`,
    };
  return null;
}

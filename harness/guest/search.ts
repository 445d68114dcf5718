// `capmatrix minimize`: each search looks for the minimal sets (of capabilities, or of token
// delegation items) of one cell template, choosing the next set from the last outcome, so it
// runs here, in the boot. Sets are named as the DSL names them (cell ids, capability order).
import { type Capability, capSetName } from '../dsl/capabilities.js';
import { cellId, grantedName } from '../dsl/cell-id.js';
import type { Grant } from '../dsl/choices.js';
import { delegationArgs, delegationSetName } from '../dsl/delegation.js';
import { runsAsRoot } from '../dsl/grants.js';
import { type BootState, endGroup, runAndRecord } from './cell.js';
import { minimalSets } from './minimal-sets.js';
import { type CapCheck, formKey, type GuestCell, type Search, searchRootKey } from './protocol.js';
import type { RecordWriter } from './record-writer.js';

/** The cell that runs one set of a search. */
export function searchCell(search: Search, set: string[], n: number): GuestCell {
  const t = search.template;
  const key = `${search.label}#${n}`;
  if (search.dimension === 'delegation')
    return {
      ...t,
      id: cellId(t.scenario, delegationSetName(set), search.label),
      key,
      args: [...(search.baseArgs ?? []), ...delegationArgs(set)],
      delegation: set,
    };
  const caps = set as Capability[];
  return { ...t, id: cellId(t.scenario, capSetName(caps), search.label), key, caps };
}

/** A minimal set granted as a deployment form gives it (`minimize --emit`: a unit's ambient
 * capabilities, a rootful container, a pod; dsl/grants.ts): the form checked before it is shown. */
export function formCell(search: Search, set: string[], n: number, grant: Grant): GuestCell {
  const t = search.template;
  const caps = set as Capability[];
  return {
    ...t,
    id: cellId(t.scenario, grantedName(capSetName(caps), grant), search.label),
    key: formKey(search.label, grant, n),
    caps,
    grant,
    uid: runsAsRoot(grant) ? 0 : t.uid,
  };
}

const deniedCaps = (checks: CapCheck[]) => [...new Set(checks.filter((c) => !c.granted).map((c) => c.cap))];

/** The search's template as root (uid 0, every capability): run once when no set of the
 * universe is ok, to tell "a capability outside the universe" from "even root fails". */
export function rootCell(search: Search): GuestCell {
  const t = search.template;
  return { ...t, id: cellId(t.scenario, 'root', search.label), key: searchRootKey(search.label), caps: 'root', uid: 0 };
}

export async function runSearch(search: Search, boot: BootState, out: RecordWriter): Promise<void> {
  let n = 0;
  // capmatrix's own programs never look at their own capabilities, so the kernel's checks say
  // everything a capability more could change; a user's loader may ask capget(2) itself
  const checksDecide = search.dimension === 'caps' && search.template.mode === 'sample';
  const result = await minimalSets(search.universe, async (set) => {
    const r = await runAndRecord(searchCell(search, set, ++n), search.template, boot, out);
    const ok = r.observed?.outcome === 'ok';
    const denied = checksDecide && r.observed && r.capChecks ? deniedCaps(r.capChecks) : undefined;
    return denied ? { ok, denied } : { ok };
  });
  if (result.minimal.length === 0 && search.dimension === 'caps')
    await runAndRecord(rootCell(search), search.template, boot, out);
  if (search.dimension === 'caps')
    for (const grant of search.forms ?? [])
      for (const [i, set] of result.minimal.entries())
        await runAndRecord(formCell(search, set, i + 1, grant), search.template, boot, out);
  const teardownError = endGroup(boot);
  out.emit({ type: 'search', label: search.label, ...result, ...(teardownError ? { teardownError } : {}) });
}

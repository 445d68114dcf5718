// All minimal capability sets under which a sample's outcome is ok, found with far fewer runs
// than the 2^n subsets: shared by the guest agent (which runs the search inside one boot,
// because each next set depends on the last outcome) and the host's unit tests.
//
// It relies on monotonicity (a capability more never turns ok into a failure): a superset of an
// ok set is taken as ok and a subset of a failing set as failing without running them. That
// assumption is then checked on the sets that matter: every immediate superset of each minimal
// set is really run, and a failure there is reported as a violation.

const key = (s: Iterable<string>) => [...s].sort().join('+') || 'none';

export interface MinimalSets {
  minimal: string[][];
  violations: { caps: string[]; within: string[] }[];
  runs: number;
}

/**
 * @param universe candidate capabilities
 * @param run runs the sample with exactly these caps; true = ok
 */
export async function minimalSets(universe: string[], run: (caps: string[]) => Promise<boolean>): Promise<MinimalSets> {
  /** really run */
  const ran = new Map<string, boolean>();
  const okSets: string[][] = [];
  const failSets: string[][] = [];
  const subset = (a: string[], b: string[]) => a.every((x) => b.includes(x));

  /** Really runs a set (once). */
  const really = async (caps: string[]) => {
    const k = key(caps);
    const known = ran.get(k);
    if (known !== undefined) return known;
    const ok = await run([...caps].sort());
    ran.set(k, ok);
    (ok ? okSets : failSets).push([...caps]);
    return ok;
  };
  /** Infers from what ran when it can, runs otherwise. */
  const isOk = async (caps: string[]) => {
    if (okSets.some((s) => subset(s, caps))) return true;
    if (failSets.some((s) => subset(caps, s))) return false;
    return really(caps);
  };

  const found = new Map<string, string[]>();
  const visited = new Set<string>();
  /** Drops capabilities one by one while the outcome stays ok. */
  const shrink = async (from: string[]) => {
    let cur = [...from];
    for (const c of [...from].reverse()) {
      const cand = cur.filter((x) => x !== c);
      if (await isOk(cand)) cur = cand;
    }
    return cur;
  };
  // Every minimal set other than M misses some m of M, so it is minimal within allowed \ {m}.
  const explore = async (allowed: string[]): Promise<void> => {
    const k = key(allowed);
    if (visited.has(k)) return;
    visited.add(k);
    if (!(await isOk(allowed))) return;
    const m = await shrink(allowed);
    found.set(key(m), m);
    for (const c of m) await explore(allowed.filter((x) => x !== c));
  };
  await explore([...universe]);

  const minimal = [...found.values()]
    .map((s) => [...s].sort())
    .sort((a, b) => a.length - b.length || key(a).localeCompare(key(b)));
  // The reasons (immediate subsets) and the monotonicity check (immediate supersets) run for real.
  const violations: MinimalSets['violations'] = [];
  for (const m of minimal) {
    await really(m);
    for (const c of m) await really(m.filter((x) => x !== c));
    for (const c of universe.filter((x) => !m.includes(x))) {
      const sup = [...m, c].sort();
      if (!(await really(sup))) violations.push({ caps: sup, within: m });
    }
  }
  return { minimal, violations, runs: ran.size };
}

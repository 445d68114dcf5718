// All minimal capability sets under which a sample's outcome is ok, found with far fewer runs
// than the 2^n subsets: shared by the guest agent (which runs the search inside one boot,
// because each next set depends on the last outcome) and the host's unit tests.
//
// It relies on monotonicity (a capability more never turns ok into a failure): a superset of an
// ok set is taken as ok and a subset of a failing set as failing without running them. That
// assumption is then checked on the sets that matter: every immediate superset of each minimal
// set is really run, and a failure there is reported as a violation.
//
// Where the kernel's capability checks of a failing run are known (the recorder's, for a program
// that does not look at its own capabilities), a superset that adds only capabilities the kernel
// never denied in that run is taken as failing too: no check of that run would answer otherwise,
// so the run takes the same path. Those sets are counted (`skippedByChecks`).

const key = (s: Iterable<string>) => [...s].sort().join('+') || 'none';

export interface MinimalSets {
  minimal: string[][];
  violations: { caps: string[]; within: string[] }[];
  runs: number;
  /** Sets the search would have run, found failing from the kernel's checks instead. */
  skippedByChecks: number;
}

/** A run's answer; `denied`: the capabilities the kernel denied in it (absent: not known). */
export interface SetRun {
  ok: boolean;
  denied?: string[];
}

interface Failed {
  caps: string[];
  denied: string[] | undefined;
}

/**
 * @param universe candidate capabilities
 * @param run runs the sample with exactly these caps
 */
export async function minimalSets(
  universe: string[],
  run: (caps: string[]) => Promise<boolean | SetRun>,
): Promise<MinimalSets> {
  /** really run */
  const ran = new Map<string, boolean>();
  const okSets: string[][] = [];
  const failSets: Failed[] = [];
  let skippedByChecks = 0;
  const subset = (a: string[], b: string[]) => a.every((x) => b.includes(x));

  /** Really runs a set (once). */
  const really = async (caps: string[]) => {
    const k = key(caps);
    const known = ran.get(k);
    if (known !== undefined) return known;
    const r = await run([...caps].sort());
    const { ok, denied } = typeof r === 'boolean' ? { ok: r, denied: undefined } : r;
    ran.set(k, ok);
    if (ok) okSets.push([...caps]);
    else failSets.push({ caps: [...caps], denied });
    return ok;
  };
  /** A failing run this set only adds capabilities to that the kernel never denied in it. */
  const samePath = (caps: string[]) =>
    failSets.find(
      (f) => f.denied && subset(f.caps, caps) && !caps.some((c) => !f.caps.includes(c) && f.denied?.includes(c)),
    );
  /** Infers from what ran when it can, runs otherwise. */
  const isOk = async (caps: string[]) => {
    if (okSets.some((s) => subset(s, caps))) return true;
    if (failSets.some((f) => subset(caps, f.caps))) return false;
    const like = samePath(caps);
    if (like) {
      skippedByChecks++;
      failSets.push({ caps: [...caps], denied: like.denied });
      return false;
    }
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
  return { minimal, violations, runs: ran.size, skippedByChecks };
}

// All minimal capability sets under which a sample's outcome is ok, found with far fewer runs
// than the 2^n subsets: plain JS, shared by the guest agent (which runs the search inside one
// boot, because each next set depends on the last outcome) and the host's unit tests.
//
// It relies on monotonicity (a capability more never turns ok into a failure): a superset of an
// ok set is taken as ok and a subset of a failing set as failing without running them. That
// assumption is then checked on the sets that matter: every immediate superset of each minimal
// set is really run, and a failure there is reported as a violation.

/** @typedef {string[]} CapList */

/** @param {Iterable<string>} s */
const key = (s) => [...s].sort().join('+') || 'none';

/**
 * @param {string[]} universe candidate capabilities
 * @param {(caps: string[]) => Promise<boolean>} run runs the sample with exactly these caps; true = ok
 * @returns {Promise<{ minimal: string[][], violations: { caps: string[], within: string[] }[], runs: number }>}
 */
export async function minimalSets(universe, run) {
  /** @type {Map<string, boolean>} really run */
  const ran = new Map();
  /** @type {string[][]} */
  const okSets = [];
  /** @type {string[][]} */
  const failSets = [];
  const subset = (/** @type {string[]} */ a, /** @type {string[]} */ b) => a.every((x) => b.includes(x));

  /** Really runs a set (once). @param {string[]} caps */
  const really = async (caps) => {
    const k = key(caps);
    const known = ran.get(k);
    if (known !== undefined) return known;
    const ok = await run([...caps].sort());
    ran.set(k, ok);
    (ok ? okSets : failSets).push([...caps]);
    return ok;
  };
  /** Infers from what ran when it can, runs otherwise. @param {string[]} caps */
  const isOk = async (caps) => {
    if (okSets.some((s) => subset(s, caps))) return true;
    if (failSets.some((s) => subset(caps, s))) return false;
    return really(caps);
  };

  /** @type {Map<string, string[]>} */
  const found = new Map();
  /** @type {Set<string>} */
  const visited = new Set();
  /** Drops capabilities one by one while the outcome stays ok. @param {string[]} from */
  const shrink = async (from) => {
    let cur = [...from];
    for (const c of [...from].reverse()) {
      const cand = cur.filter((x) => x !== c);
      if (await isOk(cand)) cur = cand;
    }
    return cur;
  };
  // Every minimal set other than M misses some m of M, so it is minimal within allowed \ {m}.
  /** @param {string[]} allowed */
  const explore = async (allowed) => {
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
  /** @type {{ caps: string[], within: string[] }[]} */
  const violations = [];
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

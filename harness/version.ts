// Numeric comparison of dotted kernel and package versions ("6.12.117-1" vs "6.9").
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+~:-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.+~:-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

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

/** A kernel version as scenarios and the catalog write it: "6.9" or "6.12.117". */
export const KERNEL_VERSION = /^\d+\.\d+(\.\d+)?$/;

/** The upstream version at the start of a kernel release or a Debian package version (epoch
 * dropped): "6.12.117+deb13-amd64" → "6.12.117", "1:7.2.13-1" → "7.2.13". */
export function kernelVersionOf(release: string): string {
  return /^(?:\d+:)?(\d+\.\d+(?:\.\d+)?)/.exec(release)?.[1] ?? release;
}

/** "6.12.117+deb13-amd64" → "6.12". */
export function majorMinor(release: string): string {
  return /^(?:\d+:)?(\d+\.\d+)/.exec(release)?.[1] ?? release;
}

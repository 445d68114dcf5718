// Version order as dpkg has it (lib/dpkg/version.c: epoch, upstream version, revision; `~` sorts
// before everything, even the end of the string; letters before other characters). Kernel
// versions ("6.12.117" against "6.9") and package versions ("1.41-1~bpo12+1") both go through it;
// test/version.test.ts checks it against dpkg --compare-versions itself.

interface Parsed {
  epoch: number;
  upstream: string;
  revision: string;
}

function parse(v: string): Parsed {
  const colon = v.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0
    ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) }
    : { epoch, upstream: rest, revision: '' };
}

/** dpkg's order of one character in a non-digit part: `~` first, then the end, letters, others. */
function order(c: string | undefined): number {
  if (c === undefined || /\d/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/\d/.test(a[i] ?? '')) || (j < b.length && !/\d/.test(b[j] ?? ''))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return Math.sign(ac - bc);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (/\d/.test(a[i] ?? '') && /\d/.test(b[j] ?? '')) {
      if (!firstDiff) firstDiff = (a.charCodeAt(i) - b.charCodeAt(j)) | 0;
      i++;
      j++;
    }
    if (/\d/.test(a[i] ?? '')) return 1;
    if (/\d/.test(b[j] ?? '')) return -1;
    if (firstDiff) return Math.sign(firstDiff);
  }
  return 0;
}

/** <0, 0 or >0 as `dpkg --compare-versions a lt|eq|gt b`. */
export function compareVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (pa.epoch !== pb.epoch) return Math.sign(pa.epoch - pb.epoch);
  return verrevcmp(pa.upstream, pb.upstream) || verrevcmp(pa.revision, pb.revision);
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

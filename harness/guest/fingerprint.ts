// A fingerprint of the guest's global state, and what changed between two of them, in readable
// lines: every readable sysctl under kernel., net.core., vm. and user., the mount table, the
// processes, lo (flags, addresses, routes, qdiscs), the loaded modules. Everything is read through
// a procfs the agent mounts for itself on a directory only root can enter, so a mount a cell put
// over /proc/sys/... (or /proc/modules) cannot answer for the kernel.
import fs from 'node:fs';
import path from 'node:path';
import { run } from './commands.js';
import type { LoLink, LoQdiscs } from './reset.js';
import type { SysctlReader } from './sysctl-reader.js';

/** Sysctls the kernel changes by itself across honest cells (measured on debian-6.12 under TCG),
 * never compared. */
export const VOLATILE_SYSCTLS: Record<string, string> = {
  'kernel.random.entropy_avail': 'the entropy pool fills and drains by itself',
  'kernel.random.uuid': 'a new UUID on every read',
  'kernel.ns_last_pid': 'the last pid handed out: every exec moves it',
  'kernel.perf_event_max_sample_rate': 'the kernel lowers it when a perf interrupt runs long (often under TCG)',
  'vm.stat_refresh': 'reading it makes every CPU fold its counters (costly, and it always reads empty)',
};

/** Mounts the kernel makes by itself: debugfs automounts tracefs at its tracing directory on the
 * first access (a cell that reads /sys/kernel/debug/tracing triggers it). */
const AUTOMOUNTS = new Set(['/sys/kernel/debug/tracing tracefs']);

/** /proc/<pid>/stat flags: a kernel thread. */
const PF_KTHREAD = 0x00200000;

export interface Fingerprint {
  /** name → value, whitespace folded */
  sysctls: Map<string, string>;
  /** mount id → "point (fstype source, root) options" */
  mounts: Map<string, string>;
  pids: Set<number>;
  lo: { link: string; addrs: string[]; routes: string[]; qdiscs: string[] };
  modules: Set<string>;
  /** What each part cost to read (ms). */
  ms: Record<'sysctls' | 'mounts' | 'processes' | 'lo' | 'modules', number>;
}

/** A procfs of the agent's own, mounted once at the boot's start. */
export function privateProcfs(): { dir: string } | { error: string } {
  const parent = fs.mkdtempSync(fs.existsSync('/run') ? '/run/capmatrix-proc-' : '/tmp/capmatrix-proc-');
  fs.chmodSync(parent, 0o700);
  const dir = path.join(parent, 'proc');
  fs.mkdirSync(dir);
  const r = run('mount', ['-t', 'proc', '-o', 'nosuid,nodev,noexec', 'proc', dir]);
  return r.ok ? { dir } : { error: `cannot mount a procfs of the agent's own: ${r.out}` };
}

const fold = (v: string) => v.trim().replace(/\s+/g, ' ');
const since = (t: number) => performance.now() - t;

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function mountTable(proc: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of (readOr(path.join(proc, 'self/mountinfo')) ?? '').split('\n')) {
    const [pre, post] = line.split(' - ');
    const f = pre?.split(' ') ?? [];
    const g = post?.split(' ') ?? [];
    if (f.length < 6 || g.length < 2 || AUTOMOUNTS.has(`${f[4]} ${g[0]}`)) continue;
    mounts.set(f[0] ?? '', `${f[4]} (${g[0]} ${g[1]}, root ${f[3]}) ${f[5]}`);
  }
  return mounts;
}

/** IPv4 addresses and routes, every table, from /proc/net/fib_trie: "127.0.0.1/32 host LOCAL". */
export function fibEntries(text: string): string[] {
  const out: string[] = [];
  let table = '';
  let addr = '';
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) table = line.replace(/:$/, '');
    const leaf = /\|-- (\S+)/.exec(line)?.[1];
    if (leaf) addr = leaf;
    const m = /^\s+\/(\d+) (.+)$/.exec(line);
    if (m && addr) out.push(`${table} ${addr}/${m[1]} ${m[2]}`);
  }
  return [...new Set(out)];
}

/** Lines of a /proc/net table that end with `lo`, without the columns that count use. */
function loRows(text: string, drop: number[]): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.at(-1) === 'lo')
    .map((f) => f.filter((_x, i) => !drop.includes(i)).join(' '));
}

/** IFF_* bits of /sys/class/net/<dev>/flags, as `ip link` names them. */
const IFF = [
  'UP',
  'BROADCAST',
  'DEBUG',
  'LOOPBACK',
  'POINTOPOINT',
  'NOTRAILERS',
  'RUNNING',
  'NOARP',
  'PROMISC',
  'ALLMULTI',
  'MASTER',
  'SLAVE',
  'MULTICAST',
];

/** lo's flags and mtu ("<LOOPBACK,UP> mtu 65536") from sysfs (a mount over it is itself a change
 * of the mount table), or from `ip` when sysfs cannot answer. */
async function loLink(lo: LoLink): Promise<string> {
  const flags = readOr('/sys/class/net/lo/flags');
  const mtu = readOr('/sys/class/net/lo/mtu');
  if (flags === null || mtu === null) return fold((await lo.show()).replace(/^\d+:\s*/, '').split('\\')[0] ?? '');
  const bits = Number.parseInt(flags.trim(), 16);
  return `<${IFF.filter((_n, i) => bits & (1 << i)).join(',')}> mtu ${mtu.trim()}`;
}

/** lo: flags and mtu, addresses and routes from the agent's procfs (`ip -batch` keeps the family
 * of a `link show` for the commands after it), qdiscs from the long-lived `tc` (asked first, and
 * awaited last: it answers while the rest is read). */
async function loState(
  proc: string,
  lo: LoLink,
  qdiscs: Promise<string | null> | string[],
): Promise<Fingerprint['lo']> {
  const net = (f: string) => readOr(path.join(proc, 'net', f)) ?? '';
  const link = await loLink(lo);
  const addrs = [
    ...fibEntries(net('fib_trie')).map((e) => `ipv4 ${e}`),
    ...loRows(net('if_inet6'), []).map((r) => `ipv6 ${r}`),
  ];
  // /proc/net/route: RefCnt, Use; ipv6_route: refcnt, use
  const routes = [
    ...loRows(net('route'), [4, 5]).map((r) => `ipv4 ${r}`),
    ...loRows(net('ipv6_route'), [6, 7]).map((r) => `ipv6 ${r}`),
  ];
  if (Array.isArray(qdiscs)) return { link, addrs, routes, qdiscs };
  const q = (await qdiscs) ?? run('tc', ['qdisc', 'show', 'dev', 'lo']).out;
  const qdiscLines = q.split('\n').map(fold).filter(Boolean);
  return { link, addrs, routes, qdiscs: qdiscLines };
}

/** The fingerprint now. The two helpers (sysctls, tc) are asked at once and awaited after the
 * reads node does itself; each part's ms is what it cost the agent's wall time. `knownQdiscs`:
 * lo's qdiscs as they were, for a cell that cannot change them (tc costs the most, ~35 ms). */
export async function takeFingerprint(
  proc: string,
  sysctlReader: SysctlReader,
  lo: LoLink,
  qdiscs: LoQdiscs,
  knownQdiscs?: string[],
): Promise<Fingerprint> {
  const sysctlsAsked = sysctlReader.read();
  const qdiscsAsked = knownQdiscs ?? qdiscs.show();
  let t = performance.now();
  const mounts = mountTable(proc);
  const ms = { sysctls: 0, mounts: since(t), processes: 0, lo: 0, modules: 0 };
  t = performance.now();
  const pids = new Set(
    fs
      .readdirSync(proc)
      .filter((n) => /^\d+$/.test(n))
      .map(Number),
  );
  ms.processes = since(t);
  t = performance.now();
  const modules = new Set(
    (readOr(path.join(proc, 'modules')) ?? '')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean),
  );
  ms.modules = since(t);
  t = performance.now();
  const loNow = await loState(proc, lo, qdiscsAsked);
  ms.lo = since(t);
  t = performance.now();
  const sysctls = await sysctlsAsked;
  ms.sysctls = since(t);
  return { sysctls, mounts, pids, lo: loNow, modules, ms };
}

/** One difference: its line, and how to undo it (null: it cannot be undone by the agent). */
export interface Change {
  line: string;
  kind: 'sysctl' | 'taint' | 'mount' | 'process' | 'lo' | 'module';
  /** sysctl: the value it must have; mount: the mount point; process: the pid; module: the name;
   * lo: the `ip` / `tc` arguments that undo it */
  undo: string | number | string[] | null;
}

interface NewProcess {
  pid: number;
  comm: string;
  uid: number | null;
}

/** A process's name and uid, or null for a kernel thread, a zombie, or one already gone. */
function userProcess(proc: string, pid: number): NewProcess | null {
  const stat = readOr(path.join(proc, String(pid), 'stat'));
  if (!stat) return null;
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); flags is field 9
  if (fields[0] === 'Z' || fields[0] === 'X' || Number(fields[6]) & PF_KTHREAD) return null;
  const status = readOr(path.join(proc, String(pid), 'status')) ?? '';
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return { pid, comm: stat.slice(stat.indexOf('(') + 1, close), uid: uid === undefined ? null : Number(uid) };
}

function setDiff(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((x) => !b.has(x)), removed: before.filter((x) => !a.has(x)) };
}

function loChanges(before: Fingerprint['lo'], after: Fingerprint['lo']): Change[] {
  const out: Change[] = [];
  const flags = (link: string) => /<([^>]*)>/.exec(link)?.[1]?.split(',') ?? [];
  const up = (link: string) => flags(link).includes('UP');
  if (up(before.link) && !up(after.link))
    out.push({ kind: 'lo', line: 'lo is DOWN', undo: ['link', 'set', 'dev', 'lo', 'up'] });
  else if (flags(before.link).join() !== flags(after.link).join())
    out.push({ kind: 'lo', line: `lo flags <${flags(before.link)}> → <${flags(after.link)}>`, undo: null });
  const mtu = (link: string) => /\bmtu (\d+)/.exec(link)?.[1];
  if (mtu(before.link) !== mtu(after.link))
    out.push({
      kind: 'lo',
      line: `lo mtu ${mtu(before.link)} → ${mtu(after.link)}`,
      undo: ['link', 'set', 'dev', 'lo', 'mtu', mtu(before.link) ?? '65536'],
    });
  // addresses and routes follow the link state (lo up brings them back); else they stay changed
  const addrs = setDiff(before.addrs, after.addrs);
  for (const a of addrs.added) out.push({ kind: 'lo', line: `address added: ${a}`, undo: null });
  for (const a of addrs.removed) out.push({ kind: 'lo', line: `address removed: ${a}`, undo: null });
  const routes = setDiff(before.routes, after.routes);
  for (const r of routes.added) out.push({ kind: 'lo', line: `route added: ${r}`, undo: null });
  for (const r of routes.removed) out.push({ kind: 'lo', line: `route removed: ${r}`, undo: null });
  const q = setDiff(before.qdiscs, after.qdiscs);
  for (const x of q.added) {
    const kind = /^qdisc (\S+)/.exec(x)?.[1];
    const where = kind === 'clsact' || kind === 'ingress' ? kind : 'root';
    out.push({ kind: 'lo', line: `lo qdisc added: ${x}`, undo: ['tc:qdisc', 'del', 'dev', 'lo', where] });
  }
  for (const x of q.removed) out.push({ kind: 'lo', line: `lo qdisc removed: ${x}`, undo: null });
  return out;
}

/**
 * What changed from `before` to `after`. A sysctl in `want` must read that value (the agent set
 * it for the cell); any other must read as it did before.
 */
export function diffFingerprints(
  before: Fingerprint,
  after: Fingerprint,
  want: Record<string, string>,
  proc: string,
  ignorePids: Set<number>,
): Change[] {
  const out: Change[] = [];
  for (const [name, now] of after.sysctls) {
    const expected = want[name] ?? before.sysctls.get(name);
    if (expected === undefined || expected === now) continue;
    if (name === 'kernel.tainted') out.push({ kind: 'taint', line: `kernel taint ${expected} → ${now}`, undo: null });
    else out.push({ kind: 'sysctl', line: `${name} ${expected} → ${now}`, undo: expected });
  }
  for (const [id, m] of after.mounts)
    if (!before.mounts.has(id)) out.push({ kind: 'mount', line: `mount added: ${m}`, undo: m.split(' ')[0] ?? null });
    else if (before.mounts.get(id) !== m) out.push({ kind: 'mount', line: `mount changed: ${m}`, undo: null });
  for (const [id, m] of before.mounts)
    if (!after.mounts.has(id)) out.push({ kind: 'mount', line: `mount removed: ${m}`, undo: null });
  for (const pid of after.pids) {
    if (before.pids.has(pid) || ignorePids.has(pid)) continue;
    const p = userProcess(proc, pid);
    if (p)
      out.push({
        kind: 'process',
        line: `process ${pid} (${p.comm}, uid ${p.uid}) new since the cell began`,
        undo: pid,
      });
  }
  out.push(...loChanges(before.lo, after.lo));
  for (const m of after.modules)
    if (!before.modules.has(m)) out.push({ kind: 'module', line: `module ${m} loaded`, undo: m });
  for (const m of before.modules)
    if (!after.modules.has(m)) out.push({ kind: 'module', line: `module ${m} unloaded`, undo: null });
  return out;
}

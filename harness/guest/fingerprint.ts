// A fingerprint of the guest's global state, and what changed between two of them, in readable
// lines: every readable sysctl under kernel., net.core., vm. and user., the mount table, the
// processes, lo (flags, addresses, routes, qdiscs, XDP), the loaded modules, every BPF program,
// map and link, and the programs attached to the root cgroup. All of it is read by one helper
// (state-reader.ts) through a procfs the agent mounts for itself on a directory only root can
// enter, so a mount a cell put over /proc/sys/... (or /proc/modules) cannot answer for the kernel.
import fs from 'node:fs';
import path from 'node:path';
import { runAsRoot } from './commands.js';
import type { StateReader } from './state-reader.js';

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
  /** "prog ID type T NAME", "map ID type T NAME", "link ID type T prog P", by id */
  bpf: Map<string, string>;
  /** "DIR type ATTACH_TYPE": the program ids attached there */
  cgroups: Map<string, string[]>;
  /** What it cost (ms): the helper's answer as node waited for it, node's reading of it, and
   * the helper's own time for each group of parts ("helper sysctl", ...). */
  ms: Record<string, number>;
}

/** A procfs of the agent's own, mounted once at the boot's start. */
export function privateProcfs(): { dir: string } | { error: string } {
  const parent = fs.mkdtempSync(fs.existsSync('/run') ? '/run/capmatrix-proc-' : '/tmp/capmatrix-proc-');
  fs.chmodSync(parent, 0o700);
  const dir = path.join(parent, 'proc');
  fs.mkdirSync(dir);
  const r = runAsRoot('mount', ['-t', 'proc', '-o', 'nosuid,nodev,noexec', 'proc', dir]);
  return r.ok ? { dir } : { error: `cannot mount a procfs of the agent's own: ${r.out}` };
}

const since = (t: number) => performance.now() - t;

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
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

/** IFF_* bits, as `ip link` names them. */
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

/** The helper's "flags 0x49 mtu 65536 xdp 0 prog 0" as "<LOOPBACK,UP> mtu 65536" (and the XDP
 * program, when one is attached). */
export function linkText(line: string): string {
  const m = /^flags 0x([0-9a-f]+) mtu (\d+) xdp (\d+) prog (\d+)$/.exec(line);
  if (!m) return line;
  const bits = Number.parseInt(m[1] ?? '0', 16);
  const xdp = m[3] === '0' ? '' : ` xdp mode ${m[3]} prog ${m[4]}`;
  return `<${IFF.filter((_n, i) => bits & (1 << i)).join(',')}> mtu ${m[2]}${xdp}`;
}

/** Each part read once per answer that changed it (an unchanged part is the same array). */
const parsedParts = new WeakMap<string[], unknown>();
function parsed<T>(lines: string[], read: (lines: string[]) => T): T {
  if (!parsedParts.has(lines)) parsedParts.set(lines, read(lines));
  return parsedParts.get(lines) as T;
}

function mountsOf(lines: string[]): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of lines) {
    const [pre, post] = line.split(' - ');
    const f = pre?.split(' ') ?? [];
    const g = post?.split(' ') ?? [];
    if (f.length < 6 || g.length < 2 || AUTOMOUNTS.has(`${f[4]} ${g[0]}`)) continue;
    mounts.set(f[0] ?? '', `${f[4]} (${g[0]} ${g[1]}, root ${f[3]}) ${f[5]}`);
  }
  return mounts;
}

const cgroupsOf = (lines: string[]) =>
  new Map(
    lines.map((l) => {
      const f = l.split(' ');
      return [f.slice(0, 3).join(' '), f.slice(3)] as const;
    }),
  );

/** The fingerprint from the helper's answer. */
export function fingerprintOf(now: { sysctls: Map<string, string>; parts: Map<string, string[]> }): Fingerprint {
  const part = (name: string) => now.parts.get(name) ?? [];
  const text = (name: string) => part(name).join('\n');
  const lo = {
    link: linkText(part('link')[0] ?? ''),
    addrs: [
      ...parsed(part('fib_trie'), () => fibEntries(text('fib_trie'))).map((e) => `ipv4 ${e}`),
      ...parsed(part('if_inet6'), () => loRows(text('if_inet6'), [])).map((r) => `ipv6 ${r}`),
    ],
    // /proc/net/route: RefCnt, Use; ipv6_route: refcnt, use
    routes: [
      ...parsed(part('route'), () => loRows(text('route'), [4, 5])).map((r) => `ipv4 ${r}`),
      ...parsed(part('ipv6_route'), () => loRows(text('ipv6_route'), [6, 7])).map((r) => `ipv6 ${r}`),
    ],
    qdiscs: part('qdisc'),
  };
  return {
    sysctls: now.sysctls,
    mounts: parsed(part('mounts'), mountsOf),
    pids: parsed(part('pids'), (l) => new Set(l.map(Number))),
    lo,
    modules: parsed(part('modules'), (l) => new Set(l)),
    bpf: parsed(part('bpf'), (l) => new Map(l.map((x) => [x.split(' ', 2).join(' '), x]))),
    cgroups: parsed(part('cgroup'), cgroupsOf),
    ms: {},
  };
}

/** The helper's "recv NS sysctl 812 proc 230 ... sent NS" (µs between two CLOCK_MONOTONIC
 * stamps) as { 'helper sysctl': 0.8, ..., 'to helper': …, 'from helper': … } (ms); `asked` and
 * `got`: node's hrtime (the same clock) when it wrote the question and had the answer. */
function helperCosts(line: string | undefined, asked: bigint, got: bigint): Record<string, number> {
  const f = (line ?? '').split(' ');
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < f.length; i += 2) {
    const [name, value] = [f[i] ?? '', f[i + 1] ?? '0'];
    if (name === 'recv') out['to helper'] = Number(BigInt(value) - asked) / 1e6;
    else if (name === 'sent') out['from helper'] = Number(got - BigInt(value)) / 1e6;
    else out[`helper ${name}`] = Number(value) / 1000;
  }
  return out;
}

/** The fingerprint now, or null when the helper cannot answer (reader.broken says why).
 * `detach`: a program to detach from a cgroup first ("DIR ATTACH_TYPE PROG_ID"). */
export async function takeFingerprint(reader: StateReader, detach?: string): Promise<Fingerprint | null> {
  const t = performance.now();
  const asked = process.hrtime.bigint();
  const now = await reader.read(detach);
  const got = process.hrtime.bigint();
  const helper = since(t);
  if (!now) return null;
  const t2 = performance.now();
  const fp = fingerprintOf(now);
  fp.ms = { answer: helper, parse: since(t2), ...helperCosts(now.parts.get('cost')?.[0], asked, got) };
  return fp;
}

/** One difference: its line, and how to undo it (null: it cannot be undone by the agent). */
export interface Change {
  line: string;
  kind: 'sysctl' | 'taint' | 'mount' | 'process' | 'lo' | 'module' | 'bpf' | 'cgroup';
  /** sysctl: the value it must have; mount: the mount point; process: the pid; module: the name;
   * lo: the `ip` / `tc` arguments that undo it; cgroup: "DIR ATTACH_TYPE PROG_ID" to detach */
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
  const xdp = (link: string) => / xdp (.*)$/.exec(link)?.[1] ?? 'none';
  if (xdp(before.link) !== xdp(after.link))
    out.push({
      kind: 'lo',
      line: `lo XDP ${xdp(before.link)} → ${xdp(after.link)}`,
      undo: ['link', 'set', 'dev', 'lo', 'xdp', 'off'],
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
  // an unchanged part is the same object in both (state-reader.ts): only what the agent set is
  // compared then
  const sysctlNames = before.sysctls === after.sysctls ? Object.keys(want) : after.sysctls.keys();
  for (const name of sysctlNames) {
    const now = after.sysctls.get(name);
    if (now === undefined) continue;
    const expected = want[name] ?? before.sysctls.get(name);
    if (expected === undefined || expected === now) continue;
    if (name === 'kernel.tainted') out.push({ kind: 'taint', line: `kernel taint ${expected} → ${now}`, undo: null });
    else out.push({ kind: 'sysctl', line: `${name} ${expected} → ${now}`, undo: expected });
  }
  if (before.mounts !== after.mounts) out.push(...mountChanges(before.mounts, after.mounts));
  for (const pid of before.pids === after.pids ? [] : after.pids) {
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
  out.push(...bpfChanges(before, after));
  return out;
}

function mountChanges(before: Fingerprint['mounts'], after: Fingerprint['mounts']): Change[] {
  const out: Change[] = [];
  for (const [id, m] of after)
    if (!before.has(id)) out.push({ kind: 'mount', line: `mount added: ${m}`, undo: m.split(' ')[0] ?? null });
    else if (before.get(id) !== m) out.push({ kind: 'mount', line: `mount changed: ${m}`, undo: null });
  for (const [id, m] of before)
    if (!after.has(id)) out.push({ kind: 'mount', line: `mount removed: ${m}`, undo: null });
  return out;
}

/** BPF objects that outlived the cell, and programs attached to a watched cgroup. A new object
 * has no undo of its own: what holds it (an attachment, a process, a mount) is undone, and it
 * goes with that; one that stays ends the boot. Objects that went are not a change (the kernel
 * frees what the boot's setup made when its teardown runs). */
function bpfChanges(before: Fingerprint, after: Fingerprint): Change[] {
  const out: Change[] = [];
  for (const [key, ids] of after.cgroups) {
    const had = new Set(before.cgroups.get(key) ?? []);
    const [dir, , type] = key.split(' ');
    for (const id of ids)
      if (!had.has(id))
        out.push({
          kind: 'cgroup',
          line: `program ${id} attached to cgroup ${dir} (attach type ${type})`,
          undo: `${dir} ${type} ${id}`,
        });
  }
  for (const [key, line] of after.bpf)
    if (!before.bpf.has(key)) out.push({ kind: 'bpf', line: `BPF ${line} outlived the cell`, undo: null });
  return out;
}

// Where a user's loader failed, without changing it: strace, run by root in the guest, records
// the BPF-relevant syscalls of the loader (which runs as the cell's uid under setpriv, traced
// from its first instruction), and the first one the kernel refused names the stage.
//
// A tracer with CAP_SYS_PTRACE does not cost the loader its file capabilities
// (security/commoncap.c: cap_bprm_creds_from_file keeps them when ptracer_capable()); the
// capability check of the cell (the kernel's view while the loader is held at its exec) and
// test/vm/own-program.test.ts show that it held exactly the cell's set.
import { ERRNOS, type ErrnoName, type Stage, UNKNOWN_ERRNO } from '../dsl/vocabulary.js';

const TRACED = [
  // traced so that strace can hold each process at its exec (exec-hold.ts): it tampers only
  // with calls it traces
  'execve',
  'bpf',
  'perf_event_open',
  'socket',
  'setsockopt',
  'open',
  'openat',
  'ioctl',
  'sendmsg',
  'recvmsg',
  'sendto',
  'recvfrom',
  'unshare',
  'fsopen',
  'fsconfig',
  'fsmount',
];

/** strace's command line: follow forks, write to `traceFile`, stop each process at the end of
 * its first execve that strace saw begin (exec-hold.ts releases it). The command's own start is
 * not one: strace starts it before tracing, so a loader must come behind another exec (setpriv). */
export function straceArgv(traceFile: string, command: string[]): string[] {
  return [
    'strace',
    '-f',
    '-qq',
    '-s',
    '256',
    '-o',
    traceFile,
    '-e',
    `trace=${TRACED.join(',')}`,
    '-e',
    'inject=execve:signal=SIGSTOP:when=1',
    '--',
    ...command,
  ];
}

export interface FailedCall {
  stage: Stage;
  errno: ErrnoName | typeof UNKNOWN_ERRNO;
  /** The trace line, shortened. */
  line: string;
}

const BPF_STAGES: Record<string, Stage> = {
  BPF_MAP_CREATE: 'map_create',
  BPF_MAP_FREEZE: 'map_freeze',
  BPF_MAP_LOOKUP_ELEM: 'map_lookup',
  BPF_MAP_UPDATE_ELEM: 'map_update',
  BPF_BTF_LOAD: 'btf_load',
  BPF_LINK_CREATE: 'attach',
  BPF_PROG_ATTACH: 'attach',
  BPF_RAW_TRACEPOINT_OPEN: 'attach',
  BPF_TOKEN_CREATE: 'token_create',
  BPF_OBJ_GET: 'obj_get',
  BPF_OBJ_PIN: 'obj_pin',
  BPF_PROG_GET_FD_BY_ID: 'get_fd_by_id',
  BPF_MAP_GET_FD_BY_ID: 'get_fd_by_id',
  BPF_LINK_GET_FD_BY_ID: 'get_fd_by_id',
  BPF_BTF_GET_FD_BY_ID: 'get_fd_by_id',
  BPF_PROG_GET_NEXT_ID: 'get_next_id',
  BPF_MAP_GET_NEXT_ID: 'get_next_id',
  BPF_LINK_GET_NEXT_ID: 'get_next_id',
  BPF_BTF_GET_NEXT_ID: 'get_next_id',
};

const TRACEFS = /^"\/sys\/kernel\/(debug\/)?tracing\//;

/** The stage of a refused call, or null when the call is not BPF-relevant (an ordinary open). */
export function stageOf(name: string, args: string, errno: string): Stage | null {
  switch (name) {
    case 'bpf': {
      const cmd = /^(BPF_[A-Z_]+)/.exec(args)?.[1] ?? '';
      // the verifier's refusals are EACCES; the capability and sysctl gates before it are EPERM
      if (cmd === 'BPF_PROG_LOAD') return errno === 'EACCES' ? 'verifier' : 'prog_load';
      return BPF_STAGES[cmd] ?? 'run';
    }
    case 'perf_event_open':
      return 'perf_open';
    case 'socket':
      return 'raw_socket';
    case 'setsockopt':
      return /SO_ATTACH_(BPF|FILTER)|SO_ATTACH_REUSEPORT/.test(args) ? 'attach' : null;
    case 'ioctl':
      return /PERF_EVENT_IOC_(SET_BPF|ENABLE)/.test(args) ? 'attach' : null;
    case 'open':
    case 'openat': {
      const file = /"[^"]*"/.exec(args)?.[0] ?? '';
      if (TRACEFS.test(file)) return /\/id"$/.test(file) ? 'tracefs_id' : 'tracefs';
      if (file.startsWith('"/sys/fs/bpf')) return 'obj_get';
      return null;
    }
    case 'unshare':
      return 'unshare';
    case 'fsopen':
    case 'fsmount':
      return 'bpffs_create';
    case 'fsconfig':
      return /delegate_/.test(args) ? 'bpffs_delegate' : 'bpffs_create';
    default:
      return null;
  }
}

/** A refused call as one short line: bpf(2)'s attribute struct cut to what names the object. */
function shortLine(name: string, args: string, result: string): string {
  if (name !== 'bpf') return `${name}(${args.slice(0, 200)}) = ${result}`;
  const cmd = /^(BPF_[A-Z_]+)/.exec(args)?.[1] ?? '';
  const named = [
    ...args.matchAll(/\b(prog_type|map_type|prog_name|map_name|(?:expected_)?attach_type)=("[^"]*"|[A-Z0-9_]+)/g),
  ]
    .map((m) => `${m[1]}=${m[2]}`)
    .filter((kv) => !kv.endsWith('=""'));
  return `bpf(${[cmd, ...named].join(', ')}) = ${result}`;
}

const errnoName = (e: string): FailedCall['errno'] => (e in ERRNOS ? (e as ErrnoName) : UNKNOWN_ERRNO);
const PERMISSION = ['EPERM', 'EACCES'];

/** One call per line: strace -f splits calls that other processes interrupted into an
 * `<unfinished ...>` and a `<... name resumed>` line. */
function joinResumed(text: string): string[] {
  const pending = new Map<string, string>();
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid = '', body = ''] = m;
    if (body.endsWith('<unfinished ...>')) {
      pending.set(pid, body.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>\s?(.*)$/.exec(body);
    if (resumed) {
      out.push(`${pid} ${pending.get(pid) ?? ''}${resumed[1]}`);
      pending.delete(pid);
    } else out.push(`${pid} ${body}`);
  }
  return out;
}

/** The calls the kernel refused (in order), with netlink's refusals (an NLMSG_ERROR answer to a
 * request: XDP when the request set IFLA_XDP). */
export function refusedCalls(text: string): FailedCall[] {
  const failed: FailedCall[] = [];
  const lastRequest = new Map<string, string>();
  for (const line of joinResumed(text)) {
    const m = /^(\d+) (\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:\s+(E[A-Z0-9]+))?/.exec(line);
    if (!m) continue;
    const [, pid = '', name = '', args = '', ret = '', err] = m;
    const short = shortLine(name, args, line.slice(line.lastIndexOf(') = ') + 4));
    if (name === 'sendmsg' || name === 'sendto') lastRequest.set(pid, args);
    if ((name === 'recvmsg' || name === 'recvfrom') && /NLMSG_ERROR/.test(args)) {
      const nl = /error=-(E[A-Z0-9]+)/.exec(args)?.[1];
      if (nl)
        failed.push({
          stage: /IFLA_XDP/.test(lastRequest.get(pid) ?? '') ? 'xdp_attach' : 'attach',
          errno: errnoName(nl),
          line: short,
        });
      continue;
    }
    if (ret !== '-1' || !err) continue;
    const stage = stageOf(name, args, err);
    if (stage) failed.push({ stage, errno: errnoName(err), line: short });
  }
  return failed;
}

/** ENOENT from BPF_*_GET_NEXT_ID is how a walk over the kernel's objects ends, not a refusal. */
const walkEnd = (f: FailedCall) => f.stage === 'get_next_id' && f.errno === 'ENOENT';

/** The refusal that explains a failed run: the first permission error (EPERM, EACCES), else
 * the last refusal (what the loader gave up on) that is not the end of an id walk, else null.
 * Probes that fail harmlessly on a run that then succeeds never get here: a run that exits 0
 * is ok. */
export function decisiveRefusal(text: string): FailedCall | null {
  const failed = refusedCalls(text);
  return failed.find((f) => PERMISSION.includes(f.errno)) ?? failed.filter((f) => !walkEnd(f)).at(-1) ?? null;
}

/** How the loader (the first process of the trace) ended: strace's `+++ exited with N +++` or
 * `+++ killed by SIG… +++` line; null when the trace has none. */
export function loaderExit(text: string): { code: number | null; signal: string | null } | null {
  const pid = /^(\d+)\s/.exec(text)?.[1];
  if (!pid) return null;
  const m = new RegExp(`^${pid}\\s+\\+\\+\\+ (?:exited with (\\d+)|killed by (SIG[A-Z0-9]+))`, 'm').exec(text);
  if (!m) return null;
  return { code: m[1] === undefined ? null : Number(m[1]), signal: m[2] ?? null };
}

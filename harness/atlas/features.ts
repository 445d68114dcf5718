// What a scenario is about, for a reader who searches by what they build: the kind of feature
// (program type, map type, helper, token delegation, container) and the names they would type
// (XDP, BPF_MAP_TYPE_RINGBUF, bpf_probe_write_user, delegate_cmds).
import { familyOf } from '../report/findings.js';

export interface FeatureKind {
  kind: string;
  tags: string[];
}

/** The family (the scenario name up to its first '-') → its kind and fixed search words. */
const FAMILIES: Record<string, FeatureKind> = {
  sockex1: { kind: 'program type', tags: ['SOCKET_FILTER', 'BPF_PROG_TYPE_SOCKET_FILTER', 'AF_PACKET', 'raw socket'] },
  xdp_adjust_tail: { kind: 'program type', tags: ['XDP', 'BPF_PROG_TYPE_XDP', 'generic XDP', 'bpf_xdp_adjust_tail'] },
  trace_output: { kind: 'program type', tags: ['PERF_EVENT_ARRAY', 'bpf_perf_event_output', 'perf_event_open'] },
  uprobe: { kind: 'attach type', tags: ['UPROBE', 'BPF_PROG_TYPE_KPROBE', 'perf_event_open', 'uprobe_multi'] },
  prog: { kind: 'program type', tags: ['object loader', 'libbpf'] },
  map: { kind: 'map type', tags: ['BPF_MAP_CREATE', 'map_create'] },
  pinned_map: { kind: 'map type', tags: ['bpffs', 'BPF_OBJ_GET', 'pinned', 'BPF_MAP_GET_FD_BY_ID'] },
  helpers: { kind: 'helper', tags: ['helper', 'verifier'] },
  token: { kind: 'token delegation', tags: ['BPF token', 'BPF_TOKEN_CREATE', 'delegate_cmds', 'user namespace'] },
  token_libbpf: { kind: 'token delegation', tags: ['BPF token', 'libbpf', 'bpf_token_path', 'LIBBPF_BPF_TOKEN_PATH'] },
  token_container: {
    kind: 'container variant',
    tags: ['BPF token', 'rootless container', 'seccomp', 'cap-add', 'user namespace'],
  },
  lockdown: { kind: 'lock', tags: ['lockdown', 'integrity', 'confidentiality', 'securityfs'] },
  memlock: { kind: 'lock', tags: ['RLIMIT_MEMLOCK', 'memlock', 'CAP_SYS_RESOURCE', 'memcg'] },
  ubd: { kind: 'sysctl', tags: ['kernel.unprivileged_bpf_disabled', 'sysctl'] },
};

/** The words the rest of the name adds: map-ringbuf → BPF_MAP_TYPE_RINGBUF, helpers-send_signal
 * → bpf_send_signal, prog-tc → BPF_PROG_TYPE_TC, trace_output-kprobe → KPROBE; for other
 * families the rest as it reads (token-queue-undelegated → queue, undelegated). */
function nameTags(family: string, rest: string): string[] {
  if (!rest) return [];
  const words = rest.split('-');
  const first = words[0] ?? rest;
  if (family === 'map') return [`BPF_MAP_TYPE_${first.toUpperCase()}`];
  if (family === 'helpers' || family === 'lockdown') return [`bpf_${first}`];
  if (family === 'prog' || family === 'trace_output') return [`BPF_PROG_TYPE_${first.toUpperCase()}`, first];
  return words;
}

export function featureOf(scenario: string): FeatureKind {
  const family = familyOf(`${scenario}/`);
  const known = FAMILIES[family] ?? { kind: 'other', tags: [] };
  const rest = scenario.slice(family.length + 1);
  return { kind: known.kind, tags: [...known.tags, ...nameTags(family, rest)] };
}

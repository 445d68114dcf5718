// `minimize --emit`: each minimal set as the deployment forms users paste, each from the runs
// that checked it in the same boot (dsl/grants.ts: the process shape each form gives). A form
// whose run failed is given as failing, with its outcome and cell, and nothing to paste.
import { type Grant, MEMLOCK_BYTES, type Memlock } from '../dsl/choices.js';
import { delegationMountOptions } from '../dsl/delegation.js';
import type { EmitForm, FormCheck, MinimalSet, MinimizeResult } from '../run/minimize-result.js';

/** The grants each form of a capability set is checked with: the first must be ok for the form
 * to be given; the others show what a near miss of it gets (a pod's binary without its setcap
 * line, say). Forms of the token route are the delegation search's own run (`file` here: the
 * bpffs mounted with exactly those delegate options for a child in a user namespace). */
export const FORM_GRANTS: Record<EmitForm, Grant[]> = {
  setcap: ['file'],
  systemd: ['unit'],
  docker: ['rootful'],
  podman: ['rootful'],
  kubernetes: ['pod', 'pod-no-setcap', 'pod-no-escalation'],
  lxd: [],
  incus: [],
};

/** The forms of each route: capabilities, or a token's delegation. */
const ROUTE_FORMS: Record<MinimizeResult['dimension'], readonly EmitForm[]> = {
  caps: ['setcap', 'systemd', 'docker', 'podman', 'kubernetes'],
  delegation: ['systemd', 'lxd', 'incus'],
};

const TOKEN_CHECK =
  "the search's own run: a bpffs mounted with exactly these delegate options, the loader's child in a user namespace making its token from it";

/** What each form's run was, said where it is shown. */
const CHECKED_AS: Record<EmitForm, string> = {
  lxd: TOKEN_CHECK,
  incus: TOKEN_CHECK,
  setcap: 'the search itself: file capabilities on the binary, uid 65534',
  systemd: 'uid 65534 given the set as ambient capabilities, the bounding set cut to it, no_new_privs',
  docker:
    "uid 0 holding exactly the set (bounding set cut to it), the modelled rules of the runtime's default seccomp profile (bpf, perf_event_open, the mount calls), memlock MEMLOCK, in the guest's namespaces",
  podman:
    "uid 0 holding exactly the set (bounding set cut to it), the modelled rules of the runtime's default seccomp profile (bpf, perf_event_open, the mount calls), memlock MEMLOCK, in the guest's namespaces",
  kubernetes: 'uid 65534, the bounding set cut to the set, the binary given it as file capabilities',
};

/** The near misses' lines: what the run without the form's key part got. */
const NEAR_MISS: Partial<Record<Grant, string>> = {
  'pod-no-setcap': 'without the setcap line (capabilities.add alone gives a non-root uid nothing)',
  'pod-no-escalation': 'with allowPrivilegeEscalation: false (no_new_privs: file capabilities are not gained)',
};

export interface EmittedForm {
  form: EmitForm;
  ok: boolean;
  /** What was run to check it. */
  checkedAs: string;
  /** Its runs (the first decides), by grant. */
  checks: { grant: Grant; check: FormCheck }[];
  /** What to paste, only when ok. */
  text?: string;
}

const bare = (caps: string[]) => caps.map((c) => c.replace(/^CAP_/, ''));

/** A delegation kind's systemd value: `cmds=map_create` → BPFMapCreate, `maps=queue` →
 * BPFMapTypeQueue, `progs=socket_filter` → BPFProgTypeSocketFilter, `attachs=cgroup_inet_ingress`
 * → BPFCgroupInetIngress (the enum names systemd 258 reads); `any` stays `any`. */
const SYSTEMD_KINDS: Record<string, [directive: string, prefix: string]> = {
  cmds: ['BPFDelegateCommands', 'BPF'],
  maps: ['BPFDelegateMaps', 'BPFMapType'],
  progs: ['BPFDelegatePrograms', 'BPFProgType'],
  attachs: ['BPFDelegateAttachments', 'BPF'],
};
const camel = (value: string) =>
  value
    .split('_')
    .map((w) => (w[0] ?? '').toUpperCase() + w.slice(1))
    .join('');

/** Delegation items → [kind, values] in the order the kinds first appear. */
function kinds(items: string[]): [string, string[]][] {
  const out = new Map<string, string[]>();
  for (const item of items) {
    const [kind = '', value = ''] = item.split('=');
    out.set(kind, [...(out.get(kind) ?? []), value]);
  }
  return [...out];
}

/** The token route's forms: the bpffs delegation a unit, an LXD or an Incus container asks for. */
function tokenText(form: EmitForm, items: string[]): string {
  if (items.length === 0) return '# no delegation: the loader needs no bpffs delegated';
  const byKind = kinds(items);
  switch (form) {
    case 'systemd':
      return [
        '[Service]',
        'PrivateUsers=yes',
        'PrivateMounts=yes',
        'DelegateNamespaces=mnt',
        'PrivateBPF=yes',
        ...byKind.map(([kind, values]) => {
          const [directive, prefix] = SYSTEMD_KINDS[kind] ?? [kind, ''];
          return `${directive}=${values.map((v) => (v === 'any' ? 'any' : `${prefix}${camel(v)}`)).join(',')}`;
        }),
      ].join('\n');
    case 'lxd':
      return [
        'security.delegate_bpf=true',
        ...byKind.map(([kind, values]) => `security.delegate_bpf.${kind.replace(/s$/, '')}_types=${values.join(':')}`),
      ]
        .map((kv) => `lxc config set <instance> ${kv}`)
        .join('\n');
    case 'incus':
      return byKind
        .map(([kind, values]) => `incus config set <instance> security.bpffs.delegate_${kind}=${values.join(',')}`)
        .join('\n');
    default:
      return `bpffs delegation: ${delegationMountOptions(items)}`;
  }
}

/** The text of a form for a set (`sample`: the binary the setcap lines name). */
function formText(form: EmitForm, caps: string[], sample: string, memlock?: Memlock): string {
  // --memlock: the limit each run had, as each form sets it (a pod cannot: the runtime's)
  const bytes = memlock ? MEMLOCK_BYTES[memlock] : null;
  // the empty set: nothing to grant (an empty `setcap +ep` is refused; systemd reads an empty
  // CapabilityBoundingSet= as "reset to the whole set")
  const none = caps.length === 0;
  const setcap = `setcap ${caps.map((c) => c.toLowerCase()).join(',')}+ep`;
  switch (form) {
    case 'setcap':
      return none ? `# no capability: ./${sample} needs no setcap` : `${setcap} ./${sample}`;
    case 'systemd':
      return [
        '[Service]',
        'User=<a user of its own, not root>',
        ...(none
          ? ['# no capability: no AmbientCapabilities=']
          : [`AmbientCapabilities=${caps.join(' ')}`, `CapabilityBoundingSet=${caps.join(' ')}`]),
        'NoNewPrivileges=yes',
        ...(memlock ? [`LimitMEMLOCK=${bytes ?? 'infinity'}`] : []),
      ].join('\n');
    case 'docker':
    case 'podman':
      return `${form === 'podman' ? 'sudo podman' : 'docker'} run --cap-drop ALL ${bare(caps)
        .map((c) => `--cap-add ${c}`)
        .join(' ')} --ulimit memlock=${bytes ?? -1}:${bytes ?? -1} <image>`;
    case 'lxd':
    case 'incus':
      return '';
    case 'kubernetes':
      return [
        none ? '# no capability: no setcap line in the image' : `# Dockerfile: RUN ${setcap} /usr/local/bin/${sample}`,
        'securityContext:',
        '  runAsNonRoot: true',
        '  runAsUser: 65534',
        '  allowPrivilegeEscalation: true  # false sets no_new_privs: the file capabilities are not gained',
        '  capabilities:',
        '    drop: [ALL]',
        `    add: [${bare(caps).join(', ')}]`,
        ...(memlock
          ? [`# RLIMIT_MEMLOCK: checked at ${memlock}; a pod has the runtime's own (no per-pod setting)`]
          : []),
      ].join('\n');
  }
}

/** Each asked form of a minimal set, from its runs (`checks` by grant; the search's own run of
 * the set is the `file` one). A form none of whose runs came back, or of the other route, is not given. */
export function emittedForms(
  r: Pick<MinimizeResult, 'emit' | 'sample' | 'dimension' | 'memlock'>,
  m: Pick<MinimalSet, 'caps' | 'checks'>,
): EmittedForm[] {
  const checks = m.checks ?? {};
  const token = r.dimension === 'delegation';
  return (r.emit ?? []).flatMap((form) => {
    if (!ROUTE_FORMS[r.dimension].includes(form)) return [];
    const grants: Grant[] = token ? ['file'] : FORM_GRANTS[form];
    const runs = grants.flatMap((grant) => {
      const check = checks[grant];
      return check ? [{ grant, check }] : [];
    });
    const [decides] = runs;
    if (!decides || decides.grant !== grants[0]) return [];
    const ok = decides.check.ok;
    const text = token ? tokenText(form, m.caps) : formText(form, m.caps, r.sample, r.memlock);
    const checkedAs = token ? TOKEN_CHECK : CHECKED_AS[form].replace('MEMLOCK', r.memlock ?? 'unlimited');
    return [{ form, ok, checkedAs, checks: runs, ...(ok ? { text } : {}) }];
  });
}

/** A near miss's line: what it is, and what its run got. */
export function nearMissLine(grant: Grant, check: FormCheck): string | null {
  const what = NEAR_MISS[grant];
  if (!what) return null;
  return `${what}: ${check.outcome}${check.detail.trim() ? ` ${check.detail.trim()}` : ''} (cell ${check.cell})`;
}

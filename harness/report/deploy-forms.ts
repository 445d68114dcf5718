// `minimize --emit`: each minimal set as the deployment forms users paste, each from the runs
// that checked it in the same boot (dsl/grants.ts: the process shape each form gives). A form
// whose run failed is given as failing, with its outcome and cell, and nothing to paste.
import type { Grant } from '../dsl/choices.js';
import type { EmitForm, FormCheck } from '../run/minimize-result.js';

/** The grants each form is checked with: the first must be ok for the form to be given; the
 * others show what a near miss of it gets (a pod's binary without its setcap line, say). */
export const FORM_GRANTS: Record<EmitForm, Grant[]> = {
  setcap: ['file'],
  systemd: ['unit'],
  docker: ['rootful'],
  podman: ['rootful'],
  kubernetes: ['pod', 'pod-no-setcap', 'pod-no-escalation'],
};

/** What each form's run was, said where it is shown. */
const CHECKED_AS: Record<EmitForm, string> = {
  setcap: 'the search itself: file capabilities on the binary, uid 65534',
  systemd: 'uid 65534 given the set as ambient capabilities, the bounding set cut to it, no_new_privs',
  docker:
    "uid 0 holding exactly the set (bounding set cut to it), the runtime's default seccomp rules for it, memlock unlimited",
  podman:
    "uid 0 holding exactly the set (bounding set cut to it), the runtime's default seccomp rules for it, memlock unlimited",
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

/** The text of a form for a set (`sample`: the binary the setcap lines name). */
function formText(form: EmitForm, caps: string[], sample: string): string {
  const setcap = `setcap ${caps.map((c) => c.toLowerCase()).join(',')}+ep`;
  switch (form) {
    case 'setcap':
      return `${setcap} ./${sample}`;
    case 'systemd':
      return [
        '[Service]',
        'User=<a user of its own, not root>',
        `AmbientCapabilities=${caps.join(' ')}`,
        `CapabilityBoundingSet=${caps.join(' ')}`,
        'NoNewPrivileges=yes',
      ].join('\n');
    case 'docker':
    case 'podman':
      return `${form === 'podman' ? 'sudo podman' : 'docker'} run --cap-drop ALL ${bare(caps)
        .map((c) => `--cap-add ${c}`)
        .join(' ')} --ulimit memlock=-1:-1 <image>`;
    case 'kubernetes':
      return [
        `# Dockerfile: RUN ${setcap} /usr/local/bin/${sample}`,
        'securityContext:',
        '  runAsNonRoot: true',
        '  runAsUser: 65534',
        '  allowPrivilegeEscalation: true  # false sets no_new_privs: the file capabilities are not gained',
        '  capabilities:',
        '    drop: [ALL]',
        `    add: [${bare(caps).join(', ')}]`,
      ].join('\n');
  }
}

/** Each asked form of a minimal set, from its runs (`checks` by grant; the search's own run of
 * the set is the `file` one). A form none of whose runs came back is not given. */
export function emittedForms(
  forms: readonly EmitForm[],
  caps: string[],
  sample: string,
  checks: Partial<Record<Grant, FormCheck>>,
): EmittedForm[] {
  return forms.flatMap((form) => {
    const runs = FORM_GRANTS[form].flatMap((grant) => {
      const check = checks[grant];
      return check ? [{ grant, check }] : [];
    });
    const [decides] = runs;
    if (!decides || decides.grant !== FORM_GRANTS[form][0]) return [];
    const ok = decides.check.ok;
    return [
      {
        form,
        ok,
        checkedAs: CHECKED_AS[form],
        checks: runs,
        ...(ok ? { text: formText(form, caps, sample) } : {}),
      },
    ];
  });
}

/** A near miss's line: what it is, and what its run got. */
export function nearMissLine(grant: Grant, check: FormCheck): string | null {
  const what = NEAR_MISS[grant];
  if (!what) return null;
  return `${what}: ${check.outcome}${check.detail.trim() ? ` ${check.detail.trim()}` : ''} (cell ${check.cell})`;
}

// BPF token delegation items ("cmds=map_create", "maps=queue", …): what a bpffs mount delegates
// (its delegate_cmds/maps/progs/attachs options). One definition for the token loader's
// arguments, the minimize search over them and its report.

/** What a token can delegate that the samples use: the universe of the delegation search. */
export const DEFAULT_DELEGATION = [
  'cmds=map_create',
  'cmds=prog_load',
  'cmds=btf_load',
  'maps=queue',
  'maps=array',
  'progs=socket_filter',
  'progs=kprobe',
  'attachs=any',
];

/** A loader argument that is a delegation (the token sample's `cmds=…`, `maps=…`, …). */
export const DELEGATION_ARG = /^(cmds|maps|progs|attachs)=/;

/** Items → one entry per kind with its values, in the order the kinds first appear. */
function byKind(items: readonly string[]): [string, string[]][] {
  const kinds = new Map<string, string[]>();
  for (const item of items) {
    const [kind = '', value = ''] = item.split('=');
    kinds.set(kind, [...(kinds.get(kind) ?? []), value]);
  }
  return [...kinds];
}

/** Items → the token loader's arguments ("cmds=map_create:prog_load", …), one per kind. */
export function delegationArgs(items: readonly string[]): string[] {
  return byKind(items).map(([kind, values]) => `${kind}=${values.join(':')}`);
}

/** Items → the bpffs mount options ("delegate_maps=queue,…"). */
export function delegationMountOptions(items: readonly string[]): string {
  return byKind(items)
    .map(([kind, values]) => `delegate_${kind}=${values.join(':')}`)
    .join(',');
}

/** A set's name in cell ids: delegation items joined by '+'. */
export function delegationSetName(items: readonly string[]): string {
  return items.join('+') || 'none';
}

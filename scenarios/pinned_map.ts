// Pinned maps (talk l.631-645): root creates an ARRAY map and pins it; uid 65534 opens the pin
// with BPF_OBJ_GET (file permissions decide), or asks for the map by id (CAP_SYS_ADMIN decides).
// ok = the unprivileged process read the map, updated it and read its update back.
import { defineScenario, type Scenario } from '../harness/dsl/scenario.js';

const PIN = '/sys/fs/bpf/capmatrix_shared_counter';
const ID_FILE = '/run/capmatrix-map-id';

const axes: Scenario['axes'] = {
  caps: [[], ['CAP_BPF'], ['CAP_SYS_ADMIN'], 'root'],
  sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2, 1] },
};

/** Root mounts a bpffs of its own over the guest's host-like one (mode 0700), lets others traverse it
 * and pins the map with `mode`. */
function rootPins(mode: string) {
  return {
    // bpffs and the pin stay for the scenario's consecutive cells: they only read and add to it
    setupScope: 'group' as const,
    setup: [
      ['mount', '-t', 'bpf', 'bpf', '/sys/fs/bpf'],
      ['chmod', '0755', '/sys/fs/bpf'],
      ['{sample}', 'setup', PIN, mode, ID_FILE],
    ],
    teardown: [
      ['rm', '-f', PIN, ID_FILE],
      ['umount', '/sys/fs/bpf'],
    ],
  };
}

export default [
  defineScenario({
    name: 'pinned_map',
    sample: 'pinned_map',
    description: 'pin made rw for others (chmod 666, as on the slide); BPF_OBJ_GET, lookup, update',
    args: ['obj-get', PIN],
    ...rootPins('0666'),
    axes,
    expect: [
      {
        until: '6.1',
        when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2] }, lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@obj_get',
        reason:
          'measured on Debian 5.10: its bpf() refuses every command, BPF_OBJ_GET too, to a caller without CAP_BPF or CAP_SYS_ADMIN while unprivileged_bpf_disabled is set (the sysctl check at the top of kernel/bpf/syscall.c __sys_bpf); 6.1 checks it only where maps and programs are made',
      },
      {
        outcome: 'ok',
        reason:
          'BPF_OBJ_GET checks only the pin file permissions (talk l.631, 641-645); no sysctl gate outside MAP_CREATE/PROG_LOAD (6.12 syscall.c)',
      },
    ],
  }),
  defineScenario({
    name: 'pinned_map-private',
    sample: 'pinned_map',
    description: 'the same pin left at root-only 0600',
    args: ['obj-get', PIN],
    ...rootPins('0600'),
    axes,
    expect: [
      { when: { caps: 'root' }, outcome: 'ok', reason: 'root passes DAC' },
      {
        until: '6.1',
        when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2] }, lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@obj_get',
        reason:
          'measured on Debian 5.10: its bpf() refuses every command, BPF_OBJ_GET too, to a caller without CAP_BPF or CAP_SYS_ADMIN while unprivileged_bpf_disabled is set (the sysctl check at the top of kernel/bpf/syscall.c __sys_bpf); 6.1 checks it only where maps and programs are made',
      },
      {
        outcome: 'EACCES@obj_get',
        reason:
          'bpf_obj_get_user → path permission check on the pin (0600 root): generic_permission asks for CAP_DAC_OVERRIDE (recorded), which no cell of this axis has; CAP_BPF/CAP_SYS_ADMIN do not bypass DAC',
      },
    ],
  }),
  defineScenario({
    name: 'pinned_map-by-id',
    sample: 'pinned_map',
    description: 'BPF_MAP_GET_FD_BY_ID with the id root wrote down',
    args: ['by-id', `{read:${ID_FILE}}`],
    ...rootPins('0600'),
    axes,
    expect: [
      { when: { caps: 'root' }, outcome: 'ok', reason: 'root' },
      {
        when: { lacks: ['CAP_SYS_ADMIN'] },
        outcome: 'EPERM@get_fd_by_id',
        reason: 'bpf_map_get_fd_by_id(): `if (!capable(CAP_SYS_ADMIN)) return -EPERM` (6.12 kernel/bpf/syscall.c)',
      },
      { outcome: 'ok', reason: 'CAP_SYS_ADMIN may open any map by id' },
    ],
  }),
];

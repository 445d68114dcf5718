// The guest's fingerprint diff (guest/fingerprint.ts): what a cell changed, in readable lines,
// each with how the agent undoes it (null: it cannot, and the boot ends after the cell).
import { describe, expect, test } from 'vitest';
import {
  diffFingerprints,
  type Fingerprint,
  fibEntries,
  fingerprintOf,
  linkText,
} from '../harness/guest/fingerprint.js';

const LINK = 'lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN';
const base = (): Fingerprint => ({
  sysctls: new Map([
    ['kernel.perf_event_paranoid', '3'],
    ['kernel.unprivileged_bpf_disabled', '2'],
    ['kernel.tainted', '0'],
  ]),
  mounts: new Map([['21', '/proc (proc proc, root /) rw']]),
  pids: new Set([1, 2]),
  lo: { link: LINK, addrs: ['ipv4 Local: 127.0.0.1/32 host LOCAL'], routes: [], qdiscs: ['qdisc noqueue 0: root'] },
  modules: new Set(['9p']),
  bpf: new Map(),
  cgroups: new Map(),
  ms: {},
});
const diff = (after: Fingerprint, want: Record<string, string> = {}) =>
  diffFingerprints(base(), after, want, '/proc', new Set()).map((c) => [c.line, c.undo]);

describe('fingerprint diff', () => {
  test('no change, no line; a sysctl the agent set is compared with what it set', () => {
    expect(diff(base())).toEqual([]);
    const after = base();
    after.sysctls.set('kernel.perf_event_paranoid', '1');
    expect(diff(after, { 'kernel.perf_event_paranoid': '1' })).toEqual([]);
    expect(diff(after)).toEqual([['kernel.perf_event_paranoid 3 → 1', '3']]);
    expect(diff(base(), { 'kernel.perf_event_paranoid': '2' })).toEqual([['kernel.perf_event_paranoid 2 → 3', '2']]);
  });

  test('taint, a new mount, a module, lo down: named, and what cannot be undone says so', () => {
    const after = base();
    after.sysctls.set('kernel.tainted', '4096');
    after.mounts.set('99', '/proc/sys/kernel/perf_event_paranoid (tmpfs tmpfs, root /fake) rw');
    after.modules.add('dummy');
    after.lo = { ...after.lo, link: LINK.replace('LOOPBACK,UP,LOWER_UP', 'LOOPBACK'), addrs: [] };
    expect(diff(after)).toEqual([
      ['kernel taint 0 → 4096', null],
      [
        'mount added: /proc/sys/kernel/perf_event_paranoid (tmpfs tmpfs, root /fake) rw',
        '/proc/sys/kernel/perf_event_paranoid',
      ],
      ['lo is DOWN', ['link', 'set', 'dev', 'lo', 'up']],
      ['address removed: ipv4 Local: 127.0.0.1/32 host LOCAL', null],
      ['module dummy loaded', 'dummy'],
    ]);
  });

  test('a new process is named with its uid; kernel threads are not', () => {
    const after = base();
    after.pids = new Set([1, process.pid]);
    const before = base();
    before.pids = new Set([1]);
    after.pids.add(2); // kthreadd
    const lines = diffFingerprints(before, after, {}, '/proc', new Set()).map((c) => c.line);
    expect(lines).toEqual([`process ${process.pid} (node, uid ${process.getuid?.()}) new since the cell began`]);
  });

  test('IPv4 addresses and routes from /proc/net/fib_trie', () => {
    const trie = ['Local:', '  +-- 127.0.0.0/8 2 0 2', '     |-- 127.0.0.1', '        /32 host LOCAL'].join('\n');
    expect(fibEntries(trie)).toEqual(['Local 127.0.0.1/32 host LOCAL']);
  });

  test('a BPF object that outlived the cell, and a program attached to the root cgroup', () => {
    const before = base();
    before.bpf.set('map 3', 'map 3 type 2 setup_pin');
    const after = base();
    after.bpf.set('prog 41', 'prog 41 type 8 drop_udp');
    after.cgroups.set('/sys/fs/cgroup type 1', ['41']);
    // the setup's pinned map went with its teardown: not the cell's change
    expect(diffFingerprints(before, after, {}, '/proc', new Set()).map((c) => [c.line, c.undo])).toEqual([
      ['program 41 attached to cgroup /sys/fs/cgroup (attach type 1)', '/sys/fs/cgroup 1 41'],
      ['BPF prog 41 type 8 drop_udp outlived the cell', null],
    ]);
  });

  test("the helper's answer read as a fingerprint", () => {
    const fp = fingerprintOf({
      sysctls: new Map([['kernel.tainted', '0']]),
      parts: new Map([
        ['link', ['flags 0x10049 mtu 65536 xdp 2 prog 7']],
        ['qdisc', ['qdisc noqueue 0: parent root']],
        ['bpf', ['prog 7 type 6 xdp_pass', 'map 2 type 2 counts']],
        ['cgroup', ['/sys/fs/cgroup type 1 41 42']],
        ['pids', ['1', '77']],
        ['modules', ['9p', 'virtio_net']],
        ['mounts', ['21 1 0:20 / /proc rw,nosuid - proc proc rw']],
      ]),
    });
    expect(fp.lo.link).toBe('<UP,LOOPBACK,RUNNING> mtu 65536 xdp mode 2 prog 7');
    expect(linkText('flags 0x8 mtu 1500 xdp 0 prog 0')).toBe('<LOOPBACK> mtu 1500');
    expect([...fp.bpf.keys()]).toEqual(['prog 7', 'map 2']);
    expect(fp.cgroups.get('/sys/fs/cgroup type 1')).toEqual(['41', '42']);
    expect([...fp.pids]).toEqual([1, 77]);
    expect(fp.mounts.get('21')).toBe('/proc (proc proc, root /) rw,nosuid');
    expect(fp.lo.qdiscs).toEqual(['qdisc noqueue 0: parent root']);
  });
});

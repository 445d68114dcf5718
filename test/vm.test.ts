import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { kvmDeathIn } from '../harness/vm/accel.js';
import { prepareHostView, removeHostView } from '../harness/vm/host-view.js';
import { type VmOptions, vngArgv } from '../harness/vm/vng-argv.js';
import { vmOptions as opts } from './vm-options.js';

describe('vng argv', () => {
  test('an argument array under setpriv --pdeathsig and timeout(1), TCG when asked, the command after --', () => {
    expect(vngArgv(opts)).toEqual([
      'setpriv',
      '--pdeathsig',
      'TERM',
      '--',
      'timeout',
      '--kill-after=10',
      '101',
      'vng',
      '--run',
      '/k/boot/vmlinuz-6.12',
      '--disable-kvm',
      '--force-9p',
      '--cpus',
      '1',
      '--memory',
      '1G',
      '--rwdir',
      '/r; rm -rf /',
      '--verbose',
      '--append',
      'a=1',
      '--',
      'node',
      '/x/agent.mjs',
      '/r/plan json',
    ]);
    expect(vngArgv({ ...opts, accel: 'kvm' })).not.toContain('--disable-kvm');
  });

  test("QEMU drops root to the boot's uid and runs under seccomp: one --qemu-opts, this QEMU's spelling", () => {
    const argv = vngArgv({ ...opts, qemuUser: { uid: 1610612737, gid: 1610612737 } });
    const qemuOpts = argv.filter((a) => a.startsWith('--qemu-opts='));
    expect(qemuOpts).toHaveLength(1);
    expect(qemuOpts[0]).toMatch(
      /^--qemu-opts=(-runas |-run-with user=)1610612737:1610612737( -sandbox on,\S*spawn=deny\S*)?$/,
    );
    expect(argv.indexOf(qemuOpts[0] ?? '')).toBeLessThan(argv.lastIndexOf('--'));
  });

  test("with guest_init: the view's root exported again as capmatrix.root, read-only; a root vng's shell would misread is not shared", () => {
    const view = { dir: '/t/v', root: '/t/v/root', home: '/t/v/home', mounts: [], shared: [] };
    const qemuOpts = (o: Partial<VmOptions>) =>
      vngArgv({ ...opts, rwdir: '/r', ...o }).find((a) => a.startsWith('--qemu-opts='));
    expect(qemuOpts({ view, init: '/p/guest_init' })).toBe(
      '--qemu-opts=-fsdev local,id=capmatrix_root,path=/t/v/root,security_model=none,readonly=on,multidevs=remap ' +
        '-device virtio-9p-pci,fsdev=capmatrix_root,mount_tag=capmatrix.root',
    );
    // virtme-init would never mount it: no share without guest_init
    expect(qemuOpts({ view })).toBeUndefined();
    for (const root of ['/t/v root', '/t/v,x', '/t/$(id)', 't/v'])
      expect(qemuOpts({ view: { ...view, root }, init: '/p/guest_init' })).toBeUndefined();
  });

  test("with a host view: vng in a mount namespace of its own over the view's mounts, the skeleton as --root", () => {
    const view = {
      dir: '/t/v',
      root: '/t/v/root',
      home: '/t/v/home',
      mounts: [
        { kind: 'overlay' as const, source: '/k:/usr', target: '/t/v/root/usr' },
        { kind: 'bind' as const, source: '/p', target: '/t/v/root/p' },
      ],
      shared: ['/p'],
    };
    const argv = vngArgv({ ...opts, rwdir: '/r', view });
    const vng = argv.indexOf('vng');
    expect(argv.slice(0, 7)).toEqual(['setpriv', '--pdeathsig', 'TERM', '--', 'timeout', '--kill-after=10', '101']);
    expect(argv.slice(7, 11)).toEqual(['unshare', '--mount', '--propagation', 'private']);
    expect(argv.slice(argv.indexOf('sh') + 2, vng)).toEqual([
      '/t/v/home',
      '--overlay',
      '/k:/usr',
      '/t/v/root/usr',
      '--bind',
      '/p',
      '/t/v/root/p',
      '--',
      'env',
      'HOME=/t/v/home',
    ]);
    expect(argv.slice(vng)).toEqual(expect.arrayContaining(['--root', '/t/v/root', '--rwdir', '/r=/r']));
    expect(argv.slice(-4)).toEqual(['--', 'node', '/x/agent.mjs', '/r/plan json']);
    // no user namespace: a normal user's could not map the host's root (host-view.ts)
    expect(argv).not.toContain('--user');
  });
});

describe("the guest's view of the host (no VM)", () => {
  /** Every entry under `dir`, with its mode. */
  const walk = (dir: string): { p: string; mode: number; link: boolean }[] =>
    readdirSync(dir).flatMap((name) => {
      const p = path.join(dir, name);
      const st = lstatSync(p);
      const here = { p, mode: st.mode, link: st.isSymbolicLink() };
      return st.isDirectory() ? [here, ...walk(p)] : [here];
    });

  test('a filtered /etc (world-readable only, no secrets by name), the named paths as mount points, nothing left after', () => {
    const project = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-view-test-'));
    chmodSync(project, 0o755);
    const view = prepareHostView({ paths: [project, path.join(project, 'inside'), '/usr/bin/true'] });
    try {
      const etc = walk(path.join(view.dir, 'etc')).filter((e) => !e.link);
      expect(etc.length).toBeGreaterThan(10);
      // what is not world-readable on the host is not in the copy (bar the empty masks' targets)
      const closed = etc.filter((e) => (e.mode & 0o004) === 0).map((e) => path.basename(e.p));
      expect(closed.sort()).toEqual(['gshadow', 'shadow']);
      expect(readFileSync(path.join(view.dir, 'etc', 'shadow'), 'utf8')).toBe('');
      expect(etc.filter((e) => /_key$|\.key$|sudoers/.test(e.p))).toEqual([]);
      // the project once (what lies under it comes with it), the file as a file
      expect(view.shared).toEqual([project, '/usr/bin/true']);
      expect(view.mounts.map((m) => m.target)).toContain(path.join(view.root, project));
      expect(readdirSync(path.join(view.root, 'root'))).toEqual([]);
      expect(() => prepareHostView({ paths: ['/root'] })).toThrow(/\/root is a whole directory/);
      expect(() => prepareHostView({ paths: [os.tmpdir()] })).toThrow(/whole directory/);
      // QEMU reads as a uid of its own: a path others cannot read is refused, by name
      mkdirSync(path.join(project, 'closed'), { mode: 0o700 });
      chmodSync(path.join(project, 'closed'), 0o700);
      writeFileSync(path.join(project, 'closed', 'x.bpf.o'), '');
      expect(() => prepareHostView({ paths: [project, path.join(project, 'closed', 'x.bpf.o')] })).toThrow(
        `${path.join(project, 'closed')} (mode 700) lets others not in`,
      );
    } finally {
      removeHostView(view);
      rmSync(project, { recursive: true });
    }
    expect(existsSync(view.dir)).toBe(false);
  });
});

describe('KVM deaths in a console', () => {
  test.each([
    ['KVM internal error. Suberror: 1\nextra data[0]: 0x0', 'KVM internal error. Suberror: 1'],
    ['qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n', 'error: failed to set MSR 0x10a to 0x69'],
    ['[    0.000000] Linux version 6.12.57 kvm-clock: Using msrs 4b564d01', null],
  ])('%j → %j', (text, death) => expect(kvmDeathIn(text)).toBe(death));
});

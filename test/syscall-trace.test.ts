// The stage of a user's loader from its strace output: which refused call names it.
import { describe, expect, test } from 'vitest';
import { decisiveRefusal, loaderExit, refusedCalls, stageOf, straceArgv } from '../harness/guest/syscall-trace.js';

// shapes copied from strace 6.1 on the guest (libbpf 1.1 loaders)
const PROBE_EPERM = `812   openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
812   openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libbpf.so.1", O_RDONLY|O_CLOEXEC) = 3
812   bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_SOCKET_FILTER, insn_cnt=2, insns=0x7ffc988e92a0, license="GPL", log_level=0, log_size=0, log_buf=NULL, kern_version=KERNEL_VERSION(0, 0, 0), prog_flags=0, prog_name="", prog_ifindex=0, expected_attach_type=BPF_CGROUP_INET_INGRESS}, 148) = -1 EPERM (Operation not permitted)
812   bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_SOCKET_FILTER, insn_cnt=2, insns=0x7ffc988e9300, license="GPL", prog_name=""}, 148) = -1 EPERM (Operation not permitted)
812   +++ exited with 1 +++
`;

const VERIFIER = `900   openat(AT_FDCWD, "/usr/lib/locale/C.utf8/LC_CTYPE", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)
900   bpf(BPF_BTF_LOAD, {btf="\\237\\353\\1\\0", btf_log_buf=NULL, btf_size=1024, btf_log_size=0, btf_log_level=0}, 40) = -1 EINVAL (Invalid argument)
900   bpf(BPF_MAP_CREATE, {map_type=BPF_MAP_TYPE_ARRAY, key_size=4, value_size=8, max_entries=1, map_name="seen"}, 72) = 4
900   bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_XDP, insn_cnt=14, license="GPL", prog_name="xdp_len", expected_attach_type=BPF_XDP}, 148) = -1 EACCES (Permission denied)
`;

describe('syscall trace → stage', () => {
  test('libbpf probe refused at unprivileged_bpf_disabled=2: EPERM@prog_load, the struct cut short', () => {
    const r = decisiveRefusal(PROBE_EPERM);
    expect(r).toEqual({
      stage: 'prog_load',
      errno: 'EPERM',
      line: 'bpf(BPF_PROG_LOAD, prog_type=BPF_PROG_TYPE_SOCKET_FILTER, expected_attach_type=BPF_CGROUP_INET_INGRESS) = -1 EPERM (Operation not permitted)',
    });
  });

  test('a permission error wins over a harmless probe failure before it; the verifier is EACCES', () => {
    expect(refusedCalls(VERIFIER).map((f) => `${f.errno}@${f.stage}`)).toEqual(['EINVAL@btf_load', 'EACCES@verifier']);
    const r = decisiveRefusal(VERIFIER);
    expect(r?.stage).toBe('verifier');
    expect(r?.line).toContain('prog_name="xdp_len"');
  });

  test('an ordinary file that is not there is not a stage; tracefs and bpffs are', () => {
    expect(stageOf('openat', 'AT_FDCWD, "/etc/missing", O_RDONLY', 'ENOENT')).toBeNull();
    expect(
      stageOf('openat', 'AT_FDCWD, "/sys/kernel/tracing/events/syscalls/sys_enter_write/id", O_RDONLY', 'EACCES'),
    ).toBe('tracefs_id');
    expect(stageOf('openat', 'AT_FDCWD, "/sys/kernel/debug/tracing/kprobe_events", O_WRONLY', 'EACCES')).toBe(
      'tracefs',
    );
    expect(stageOf('openat', 'AT_FDCWD, "/sys/fs/bpf/my_map", O_RDWR', 'EACCES')).toBe('obj_get');
    expect(stageOf('perf_event_open', '{type=PERF_TYPE_TRACEPOINT}, -1, 0, -1, 0', 'EACCES')).toBe('perf_open');
    expect(stageOf('socket', 'AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)', 'EPERM')).toBe('raw_socket');
    expect(stageOf('setsockopt', '3, SOL_SOCKET, SO_ATTACH_BPF, [4], 4', 'EPERM')).toBe('attach');
    expect(stageOf('setsockopt', '3, SOL_SOCKET, SO_REUSEADDR, [1], 4', 'EPERM')).toBeNull();
    expect(stageOf('bpf', 'BPF_TOKEN_CREATE, {token_create={flags=0, bpffs_fd=3}}, 8', 'EPERM')).toBe('token_create');
  });

  test('netlink refuses in its answer: an XDP request is xdp_attach', () => {
    const trace = `77 sendmsg(3, {msg_name={sa_family=AF_NETLINK}, msg_iov=[{iov_base=[{nlmsg_len=52, nlmsg_type=RTM_SETLINK}, {ifi_family=AF_UNSPEC, ifi_index=if_nametoindex("lo")}, [{nla_len=20, nla_type=IFLA_XDP}]]}]}, 0) = 52
77 recvmsg(3, {msg_iov=[{iov_base=[{nlmsg_len=72, nlmsg_type=NLMSG_ERROR, nlmsg_flags=0, nlmsg_seq=1, nlmsg_pid=77}, {error=-EPERM, msg={nlmsg_len=52, nlmsg_type=RTM_SETLINK}}]}]}, 0) = 72
77 recvmsg(3, {msg_iov=[{iov_base=[{nlmsg_len=36, nlmsg_type=NLMSG_ERROR}, {error=0, msg={}}]}]}, 0) = 36
`;
    expect(refusedCalls(trace).map((f) => `${f.errno}@${f.stage}`)).toEqual(['EPERM@xdp_attach']);
  });

  test('calls that other threads interrupted are put back together', () => {
    const trace = `50 bpf(BPF_MAP_CREATE, {map_type=BPF_MAP_TYPE_RINGBUF, map_name="events"}, 72 <unfinished ...>
51 futex(0x1, FUTEX_WAKE, 1) = 0
50 <... bpf resumed>) = -1 EPERM (Operation not permitted)
`;
    expect(decisiveRefusal(trace)).toMatchObject({ stage: 'map_create', errno: 'EPERM' });
  });

  test('an errno outside the vocabulary is observable as EUNKNOWN; no refusal at all is null', () => {
    expect(
      decisiveRefusal('5 bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_XDP}, 148) = -1 ENOMEM (Out of memory)\n'),
    ).toMatchObject({ errno: 'EUNKNOWN', stage: 'prog_load' });
    expect(decisiveRefusal('5 bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_XDP}, 148) = 5\n')).toBeNull();
  });

  test('an id walk ends with ENOENT: not a refusal; refused with EPERM it is get_next_id', () => {
    const walk = `7 bpf(BPF_BTF_GET_NEXT_ID, {start_id=0, next_id=0, open_flags=0}, 12) = 0
7 bpf(BPF_BTF_GET_NEXT_ID, {start_id=1, next_id=0, open_flags=0}, 12) = -1 ENOENT (No such file or directory)
`;
    expect(decisiveRefusal(walk)).toBeNull();
    expect(
      decisiveRefusal(
        `7 openat(AT_FDCWD, "/sys/kernel/tracing/kprobe_events", O_WRONLY) = -1 ENOENT (No such file)\n${walk}`,
      ),
    ).toMatchObject({ stage: 'tracefs', errno: 'ENOENT' });
    expect(
      decisiveRefusal('7 bpf(BPF_BTF_GET_NEXT_ID, {start_id=0}, 12) = -1 EPERM (Operation not permitted)\n'),
    ).toMatchObject({ stage: 'get_next_id', errno: 'EPERM' });
  });

  test("strace holds the loader's exec, and the command is an argument array", () => {
    const argv = straceArgv('/tmp/t/trace', ['setpriv', '--reuid=65534', '--', '/tmp/c/x', 'a b']);
    expect(argv.slice(0, 2)).toEqual(['strace', '-f']);
    expect(argv).toContain('inject=execve:signal=SIGSTOP:when=1');
    expect(argv[argv.indexOf('-e') + 1]).toMatch(/^trace=execve,/);
    expect(argv.slice(-5)).toEqual(['--', 'setpriv', '--reuid=65534', '--', '/tmp/c/x', 'a b'].slice(-5));
  });
});

test('the loader’s exit status comes from the trace, not from strace', () => {
  const trace = `40 bpf(BPF_PROG_LOAD, {prog_type=BPF_PROG_TYPE_XDP}, 148) = -1 EACCES (Permission denied)
41 +++ exited with 0 +++
40 +++ exited with 1 +++
`;
  expect(loaderExit(trace)).toEqual({ code: 1, signal: null });
  expect(loaderExit('7 +++ killed by SIGKILL +++\n')).toEqual({ code: null, signal: 'SIGKILL' });
  expect(loaderExit('')).toBeNull();
});

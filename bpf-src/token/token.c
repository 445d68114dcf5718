// SPDX-License-Identifier: MIT
/* token loader: the talk's BPF token demo (l.1104-1300). Runs as root (the privileged parent)
 * and forks a child that becomes uid 65534 with no capabilities, then:
 *   child:  unshare(CLONE_NEWUSER|CLONE_NEWNS), fsopen("bpf"), send the fs context to the parent
 *   parent: fsconfig delegate_cmds/maps/progs/attachs, FSCONFIG_CMD_CREATE, fsmount, send it back
 *   child:  BPF_TOKEN_CREATE on the mount, then one load with the token:
 *           queue   BPF_MAP_CREATE of the object's QUEUE map, then push and pop a value
 *           kprobe  BPF_PROG_LOAD of the object's kprobe program
 * Usage: token queue|kprobe CONTEXT [cmds=…] [maps=…] [progs=…] [attachs=…]
 *   CONTEXT delegated  as above
 *           self       the child (root in its own user namespace, the rootless-container case)
 *                      sets the delegate_* options itself
 *           seccomp    the child runs under a seccomp filter that refuses unshare(2), as a
 *                      container's default profile does
 * The result line is printed by the parent (it owns the cell's uid and caps); the child's own
 * uid and CapEff in the initial namespace are reported in `child`. */
#define _GNU_SOURCE /* unshare, setresuid */
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"
#include "token_delegation.h"
#include "token.skel.h"

/* uapi of 6.9+, not in Debian 12's linux-libc-dev (6.1) */
#define CM_BPF_TOKEN_CREATE 36
#define CM_BPF_F_TOKEN_FD (1U << 16)

union cm_attr {
	struct { /* BPF_MAP_CREATE */
		__u32 map_type, key_size, value_size, max_entries, map_flags, inner_map_fd, numa_node;
		char map_name[16];
		__u32 map_ifindex, btf_fd, btf_key_type_id, btf_value_type_id, btf_vmlinux_value_type_id;
		__u64 map_extra;
		__s32 value_type_btf_obj_fd, map_token_fd;
	} map;
	struct { /* BPF_PROG_LOAD */
		__u32 prog_type, insn_cnt;
		__u64 insns, license;
		__u32 log_level, log_size;
		__u64 log_buf;
		__u32 kern_version, prog_flags;
		char prog_name[16];
		__u32 prog_ifindex, expected_attach_type, prog_btf_fd, func_info_rec_size;
		__u64 func_info;
		__u32 func_info_cnt, line_info_rec_size;
		__u64 line_info;
		__u32 line_info_cnt, attach_btf_id, attach_prog_fd, core_relo_cnt;
		__u64 fd_array, core_relos;
		__u32 core_relo_rec_size, log_true_size;
		__s32 prog_token_fd;
	} prog;
	struct { /* BPF_TOKEN_CREATE */
		__u32 flags, bpffs_fd;
	} token;
	char pad[160];
};
_Static_assert(offsetof(union cm_attr, map.map_token_fd) == 76, "bpf_attr map_token_fd");
_Static_assert(offsetof(union cm_attr, prog.prog_token_fd) == 144, "bpf_attr prog_token_fd");

static int sys_bpf(int cmd, union cm_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int deny_unshare(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

#define FAIL(e, st, ...) CHILD_FAIL(r, e, st, __VA_ARGS__)

static void child_main(int sock, const char *mode, const char *ctx, int argc, char **argv, struct child_report *r)
{
	struct token_bpf *skel;
	union cm_attr a;
	int fs_fd, mnt_fd, bpffs_fd, token, fd, err;

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		FAIL(errno, "open", "dropping to uid 65534: %s", strerror(errno));
	own_status(r->status, sizeof(r->status)); /* in the initial user namespace: what we really hold */
	if (!strcmp(ctx, "seccomp") && deny_unshare())
		FAIL(errno, "open", "installing the seccomp filter: %s", strerror(errno));
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		FAIL(errno, "unshare", "unshare(CLONE_NEWUSER|CLONE_NEWNS): %s", strerror(errno));
	fs_fd = fsopen("bpf", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		FAIL(errno, "bpffs_create", "fsopen(\"bpf\") in the new user namespace: %s", strerror(errno));
	if (!strcmp(ctx, "self")) {
		char why[200] = "";
		if ((err = set_delegations(fs_fd, 3, argc, argv, why, sizeof(why))))
			FAIL(-err, "bpffs_delegate", "the child itself: %s", why);
		if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
			FAIL(errno, "bpffs_create", "the child itself: FSCONFIG_CMD_CREATE: %s", strerror(errno));
		mnt_fd = fsmount(fs_fd, 0, 0);
	} else {
		if (send_fd(sock, fs_fd))
			FAIL(errno, "open", "sending the bpffs context: %s", strerror(errno));
		mnt_fd = recv_fd(sock);
	}
	if (mnt_fd < 0)
		FAIL(-mnt_fd, "bpffs_create", "no bpffs mount came back: the parent's step failed (see detail)");

	/* fsmount() returns an O_PATH fd, which bpf(2) cannot use: open the mount's root. */
	bpffs_fd = openat(mnt_fd, ".", O_RDONLY | O_CLOEXEC);
	if (bpffs_fd < 0)
		FAIL(errno, "bpffs_create", "openat(mount, \".\"): %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.token.bpffs_fd = bpffs_fd;
	token = sys_bpf(CM_BPF_TOKEN_CREATE, &a);
	if (token < 0)
		FAIL(errno, "token_create", "BPF_TOKEN_CREATE: %s", strerror(errno));

	skel = token_bpf__open();
	if (!skel)
		FAIL(errno, "open", "opening the object: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	if (!strcmp(mode, "queue")) {
		__u32 in = 42, out = 0;
		a.map.map_type = bpf_map__type(skel->maps.queue);
		a.map.value_size = bpf_map__value_size(skel->maps.queue);
		a.map.max_entries = bpf_map__max_entries(skel->maps.queue);
		a.map.map_flags = CM_BPF_F_TOKEN_FD;
		a.map.map_token_fd = token;
		fd = sys_bpf(BPF_MAP_CREATE, &a);
		if (fd < 0)
			FAIL(errno, "map_create", "BPF_MAP_CREATE(QUEUE) with the token: %s", strerror(errno));
		if (bpf_map_update_elem(fd, NULL, &in, 0) || bpf_map_lookup_and_delete_elem(fd, NULL, &out) || out != in)
			FAIL(errno ? errno : ENODATA, "run", "push/pop on the QUEUE map: %s (got %u)", strerror(errno), out);
		FAIL(0, "run", "QUEUE map created with the token; pushed and popped %u", out);
	}
	const struct bpf_insn *insns = bpf_program__insns(skel->progs.not_delegated);
	a.prog.prog_type = BPF_PROG_TYPE_KPROBE;
	a.prog.insns = (unsigned long)insns;
	a.prog.insn_cnt = bpf_program__insn_cnt(skel->progs.not_delegated);
	a.prog.license = (unsigned long)"GPL";
	a.prog.prog_flags = CM_BPF_F_TOKEN_FD;
	a.prog.prog_token_fd = token;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		FAIL(errno, "prog_load", "BPF_PROG_LOAD(KPROBE) with the token: %s", strerror(errno));
	FAIL(0, "run", "KPROBE program loaded with the token");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "", *ctx = argc > 2 ? argv[2] : "";
	struct child_report r = { .err = EINVAL, .stage = "open", .detail = "the child reported nothing" };
	char parent_note[240] = "", extra[256];
	struct cm_child c;

	cm_init();
	if ((strcmp(mode, "queue") && strcmp(mode, "kprobe")) ||
	    (strcmp(ctx, "delegated") && strcmp(ctx, "self") && strcmp(ctx, "seccomp"))) {
		cm_result(EINVAL, "open", NULL, "usage: token queue|kprobe delegated|self|seccomp [cmds=…] [maps=…] [progs=…] [attachs=…]");
		return 2;
	}
	if (cm_fork_child(&c))
		return 1;
	if (c.pid == 0) {
		child_main(c.sock, mode, ctx, argc, argv, &r);
		cm_child_exit(c.report, &r, sizeof(r));
	}
	if (!strcmp(ctx, "delegated")) {
		/* the privileged parent: configure the delegation and materialize the mount */
		parent_materialize(c.sock, 3, argc, argv, parent_note, sizeof(parent_note));
		close(c.sock);
	}
	cm_child_wait(c.pid, c.report, &r, sizeof(r), &r.err);
	snprintf(extra, sizeof(extra), "\"context\":\"%s\",\"child\":\"%s\"", ctx, r.status);
	return cm_child_result(&r, extra, parent_note);
}

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

struct child_report {
	int err;
	char stage[32];
	char detail[480];
	char status[96];
};

static int sys_bpf(int cmd, union cm_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* An fd with a zero errno, or (fd < 0) just the errno of the step that failed. */
static int send_fd(int sock, int fd)
{
	int data = fd < 0 ? -fd : 0;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, 0) == sizeof(data) ? 0 : -1;
}

/* The fd, or -errno of the sender's failed step (-EPIPE if it sent nothing). */
static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int data = 0, fd;
	struct iovec iov = { .iov_base = &data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	if (recvmsg(sock, &msg, 0) != sizeof(data))
		return -EPIPE;
	if (data)
		return -data;
	if (!(c = CMSG_FIRSTHDR(&msg)) || c->cmsg_type != SCM_RIGHTS)
		return -EPIPE;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* "maps=queue" → fsconfig(fs, FSCONFIG_SET_STRING, "delegate_maps", "queue") */
static int set_delegations(int fs_fd, int argc, char **argv, char *why, size_t len)
{
	for (int i = 3; i < argc; i++) {
		char key[32], *eq = strchr(argv[i], '=');
		if (!eq || !eq[1])
			continue;
		snprintf(key, sizeof(key), "delegate_%.*s", (int)(eq - argv[i]), argv[i]);
		if (fsconfig(fs_fd, FSCONFIG_SET_STRING, key, eq + 1, 0)) {
			snprintf(why, len, "fsconfig(%s=%s): %s", key, eq + 1, strerror(errno));
			return -errno;
		}
	}
	return 0;
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

static void own_status(char *out, size_t len)
{
	char line[256], uid[256] = "?", cap[256] = "?";
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "Uid:", 4))
			snprintf(uid, sizeof(uid), "%s", line + 5);
		if (!strncmp(line, "CapEff:", 7))
			snprintf(cap, sizeof(cap), "%s", line + 8);
	}
	if (f)
		fclose(f);
	for (char *p = uid; *p; p++)
		if (*p == '\t')
			*p = ' ';
	snprintf(out, len, "uid %s / CapEff %s", uid, cap);
}

#define FAIL(e, st, ...)                                                    \
	do {                                                                \
		r->err = (e);                                               \
		snprintf(r->stage, sizeof(r->stage), "%s", st);             \
		snprintf(r->detail, sizeof(r->detail), __VA_ARGS__);        \
		return;                                                     \
	} while (0)

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
		if ((err = set_delegations(fs_fd, argc, argv, why, sizeof(why))))
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
	int sv[2], rep[2], status;
	struct child_report r = { .err = EINVAL, .stage = "open", .detail = "the child reported nothing" };
	char parent_note[240] = "", extra[256];
	pid_t pid;

	cm_init();
	if ((strcmp(mode, "queue") && strcmp(mode, "kprobe")) ||
	    (strcmp(ctx, "delegated") && strcmp(ctx, "self") && strcmp(ctx, "seccomp"))) {
		cm_result(EINVAL, "open", NULL, "usage: token queue|kprobe delegated|self|seccomp [cmds=…] [maps=…] [progs=…] [attachs=…]");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) || pipe(rep))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		close(rep[0]);
		child_main(sv[1], mode, ctx, argc, argv, &r);
		if (write(rep[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	close(rep[1]);
	if (!strcmp(ctx, "delegated")) {
		/* the privileged parent: configure the delegation and materialize the mount */
		int fs_fd = recv_fd(sv[0]), mnt_fd = -EPIPE, err;
		if (fs_fd >= 0) {
			if ((err = set_delegations(fs_fd, argc, argv, parent_note, sizeof(parent_note))))
				mnt_fd = err;
			else if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
				mnt_fd = -errno;
				snprintf(parent_note, sizeof(parent_note), "parent: FSCONFIG_CMD_CREATE: %s", strerror(errno));
			} else if ((mnt_fd = fsmount(fs_fd, 0, 0)) < 0) {
				mnt_fd = -errno;
				snprintf(parent_note, sizeof(parent_note), "parent: fsmount: %s", strerror(errno));
			}
			send_fd(sv[0], mnt_fd); /* the mount, or the errno of the step that failed */
		}
		close(sv[0]);
	}
	if (read(rep[0], &r, sizeof(r)) != sizeof(r))
		r.err = EINVAL;
	waitpid(pid, &status, 0);
	snprintf(extra, sizeof(extra), "\"context\":\"%s\",\"child\":\"%s\"", ctx, r.status);
	cm_result(r.err, r.stage, extra, "%s%s%s", r.detail, *parent_note ? " | " : "", parent_note);
	return r.err ? 1 : 0;
}

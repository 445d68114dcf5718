// SPDX-License-Identifier: MIT
/* token_libbpf loader: the talk's libbpf side of the BPF token demo (l.1189-1209). The root
 * parent delegates a bpffs to a child (uid 65534, no capabilities, its own user and mount
 * namespaces), as the token loader does; the child then lets libbpf (≥ 1.4) find the token
 * and load priv_map, and pushes and pops a value on the map libbpf created.
 * Usage: token_libbpf WAY [cmds=…] [maps=…] [progs=…] [attachs=…], WAY how libbpf finds it:
 *   opts      bpf_object_open_opts.bpf_token_path = "/proc/self/fd/N" (the talk's way)
 *   env       LIBBPF_BPF_TOKEN_PATH=/proc/self/fd/N, no path in the opts
 *   implicit  the mount moved onto /sys/fs/bpf in the child's mount namespace, nothing given:
 *             libbpf's default lookup
 *   none      no delegated bpffs: libbpf's default lookup finds the system's /sys/fs/bpf (the
 *             talk's l.187: openat EACCES as an unprivileged user) and loads without a token
 * The parent first mounts /sys/fs/bpf as systemd does (bpffs, mode 0700) in a mount namespace
 * of its own, so the child meets what the talk's machine had.
 * The parent prints the result line; `child` is the child's uid and CapEff in the initial
 * namespace, `bpffs` what opening /sys/fs/bpf gave the child before any mount, `libbpf` what
 * libbpf said about the token. */
#define _GNU_SOURCE /* unshare, setresuid, fsopen */
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "capmatrix_result.h"
#include "token_delegation.h"
#include "token_libbpf.skel.h"
#include "priv_map.h"

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* libbpf says how it looked for a token only at debug level: keep those lines apart. */
static char token_log[600];

static int print_with_token_lines(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[300];
	va_list copy;
	size_t used = strlen(token_log);

	va_copy(copy, args);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	if (strstr(line, "BPF token") || strstr(line, "BPF FS") || strstr(line, "token is prevented"))
		snprintf(token_log + used, sizeof(token_log) - used, "%s", line);
	return cm_libbpf_print(level, fmt, args);
}

static int move_mount_fd(int mnt_fd, const char *to)
{
	return syscall(SYS_move_mount, mnt_fd, "", AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH);
}

/* A systemd machine's /sys/fs/bpf (bpffs, mode 0700, root's), in a mount namespace of this
 * process's own: the guest mounts none, and the cell's mounts die with it. */
static int systemd_like_bpffs(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	return mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700");
}

static void system_bpffs(char *out, size_t len)
{
	int fd = open("/sys/fs/bpf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	snprintf(out, len, "openat /sys/fs/bpf: %s", fd < 0 ? strerror(errno) : "ok");
	if (fd >= 0)
		close(fd);
}

#define FAIL(e, st, ...) CHILD_FAIL(r, e, st, __VA_ARGS__)

/* The bpffs mount from the parent, made where libbpf will look for it (WAY). */
static void place_token_bpffs(int sock, const char *way, char *path, size_t len, struct child_report *r)
{
	int fs_fd = fsopen("bpf", FSOPEN_CLOEXEC), mnt_fd;

	if (fs_fd < 0)
		FAIL(errno, "bpffs_create", "fsopen(\"bpf\") in the new user namespace: %s", strerror(errno));
	if (send_fd(sock, fs_fd))
		FAIL(errno, "open", "sending the bpffs context: %s", strerror(errno));
	mnt_fd = recv_fd(sock);
	if (mnt_fd < 0)
		FAIL(-mnt_fd, "bpffs_create", "no bpffs mount came back: the parent's step failed (see detail)");
	if (!strcmp(way, "implicit") && move_mount_fd(mnt_fd, "/sys/fs/bpf"))
		FAIL(errno, "bpffs_create", "move_mount onto /sys/fs/bpf in the child's mount namespace: %s", strerror(errno));
	if (strcmp(way, "implicit"))
		snprintf(path, len, "/proc/self/fd/%d", mnt_fd);
	if (!strcmp(way, "env") && setenv("LIBBPF_BPF_TOKEN_PATH", path, 1))
		FAIL(errno, "open", "setenv: %s", strerror(errno));
	r->err = 0;
}

static void child_main(int sock, const char *way, struct child_report *r, char *bpffs, size_t bpffs_len)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	char path[64] = "", how[96];

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		FAIL(errno, "open", "dropping to uid 65534: %s", strerror(errno));
	own_status(r->status, sizeof(r->status)); /* in the initial user namespace: what we really hold */
	system_bpffs(bpffs, bpffs_len);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		FAIL(errno, "unshare", "unshare(CLONE_NEWUSER|CLONE_NEWNS): %s", strerror(errno));
	if (strcmp(way, "none")) {
		place_token_bpffs(sock, way, path, sizeof(path), r);
		if (r->err)
			return;
	}
	if (!strcmp(way, "opts"))
		opts.bpf_token_path = path;
	libbpf_set_print(print_with_token_lines);
	snprintf(how, sizeof(how), "token %s%s%s", way, *path ? " at " : "", path);
	load_priv_map(&opts, how, r);
}

static int usage(void)
{
	cm_result(EINVAL, "open", NULL, "usage: token_libbpf opts|env|implicit|none [cmds=…] [maps=…] [progs=…] [attachs=…]");
	return 2;
}

int main(int argc, char **argv)
{
	const char *way = argc > 1 ? argv[1] : "";
	struct child_report r = { .err = EINVAL, .stage = "open", .detail = "the child reported nothing" };
	char parent_note[240] = "", bpffs[96] = "", extra[1200];
	struct cm_child c;

	cm_init();
	if (strcmp(way, "opts") && strcmp(way, "env") && strcmp(way, "implicit") && strcmp(way, "none"))
		return usage();
	if (systemd_like_bpffs()) {
		cm_result(errno, "open", NULL, "mounting a systemd-like bpffs on /sys/fs/bpf: %s", strerror(errno));
		return 1;
	}
	if (cm_fork_child(&c))
		return 1;
	if (c.pid == 0) {
		child_main(c.sock, way, &r, bpffs, sizeof(bpffs));
		/* the child's own libbpf lines travel in its report */
		snprintf(r.detail + strlen(r.detail), sizeof(r.detail) - strlen(r.detail), "%s%s%s%s",
			 *bpffs ? " | " : "", bpffs, *token_log ? " | libbpf: " : "", token_log);
		cm_child_exit(c.report, &r, sizeof(r));
	}
	if (strcmp(way, "none"))
		parent_materialize(c.sock, 2, argc, argv, parent_note, sizeof(parent_note));
	close(c.sock);
	cm_child_wait(c.pid, c.report, &r, sizeof(r), &r.err);
	snprintf(extra, sizeof(extra), "\"context\":\"libbpf-%s\",\"child\":\"%s\"", way, r.status);
	return cm_child_result(&r, extra, parent_note);
}

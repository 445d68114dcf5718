/* SPDX-License-Identifier: MIT */
/* The talk's token delegation (l.1104-1300), shared by the token, token_libbpf and
 * token_container loaders: a root parent and an unprivileged child pass a bpffs context and its
 * mount over a socket, and the child reports back to the parent, who prints the result line.
 *   child:  fsopen("bpf") in its own user namespace → send_fd → … → recv_fd (the mount)
 *   parent: recv_fd → parent_materialize (delegate_* options, create, fsmount) → send_fd
 *   fork:   cm_fork_child (socketpair, pipe, fork), the child's cm_child_exit (its report), the
 *           parent's cm_child_wait and cm_child_result (the one result line)
 * Delegations come as loader arguments: "maps=queue" → delegate_maps=queue. */
#ifndef CAPMATRIX_TOKEN_DELEGATION_H
#define CAPMATRIX_TOKEN_DELEGATION_H

/* the includer defines _GNU_SOURCE first (fsconfig, fsmount) */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "capmatrix_result.h"

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

static int delegation_kind(const char *arg, size_t len)
{
	static const char *const kinds[] = { "cmds", "maps", "progs", "attachs" };

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (strlen(kinds[k]) == len && !strncmp(arg, kinds[k], len))
			return 1;
	return 0;
}

/* argv[first..]: "maps=queue" → fsconfig(fs, FSCONFIG_SET_STRING, "delegate_maps", "queue") */
static int set_delegations(int fs_fd, int first, int argc, char **argv, char *why, size_t len)
{
	for (int i = first; i < argc; i++) {
		char key[32], *eq = strchr(argv[i], '=');
		/* only the four delegation kinds: a loader's other key=value arguments are its own */
		if (!eq || !eq[1] || !delegation_kind(argv[i], (size_t)(eq - argv[i])))
			continue;
		snprintf(key, sizeof(key), "delegate_%.*s", (int)(eq - argv[i]), argv[i]);
		if (fsconfig(fs_fd, FSCONFIG_SET_STRING, key, eq + 1, 0)) {
			snprintf(why, len, "fsconfig(%s=%s): %s", key, eq + 1, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The privileged parent: take the child's bpffs context, configure the delegation, create and
 * mount it, and send the mount back (or the errno of the step that failed). */
static void parent_materialize(int sock, int first, int argc, char **argv, char *note, size_t len)
{
	int fs_fd = recv_fd(sock), mnt_fd, err;

	if (fs_fd < 0)
		return;
	if ((err = set_delegations(fs_fd, first, argc, argv, note, len)))
		mnt_fd = err;
	else if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		mnt_fd = -errno;
		snprintf(note, len, "parent: FSCONFIG_CMD_CREATE: %s", strerror(errno));
	} else if ((mnt_fd = fsmount(fs_fd, 0, 0)) < 0) {
		mnt_fd = -errno;
		snprintf(note, len, "parent: fsmount: %s", strerror(errno));
	}
	send_fd(sock, mnt_fd);
}

/* "uid 65534 65534 65534 65534 / CapEff 0000000000000000": what the child really holds. */
static __attribute__((unused)) void own_status(char *out, size_t len)
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

/* What the child sends back to the parent, who prints the cell's result line. */
struct child_report {
	int err;
	char stage[32];
	char detail[1200];
	char status[96];
};

#define CHILD_FAIL(r, e, st, ...)                                           \
	do {                                                                \
		(r)->err = (e);                                             \
		snprintf((r)->stage, sizeof((r)->stage), "%s", st);         \
		snprintf((r)->detail, sizeof((r)->detail), __VA_ARGS__);    \
		return;                                                     \
	} while (0)

/* The root parent and its child (token, token_libbpf): a socketpair for the bpffs context and
 * its mount, a pipe for the child's report. */
struct cm_child {
	pid_t pid;  /* 0 in the child */
	int sock;   /* this side's end of the socketpair */
	int report; /* the child: the pipe's write end; the parent: its read end */
};

/* socketpair, pipe, fork; each side closes the other side's ends. -1 when the socketpair or the
 * pipe could not be made (nothing forked). */
static __attribute__((unused)) int cm_fork_child(struct cm_child *c)
{
	int sv[2], rep[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) || pipe(rep))
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		close(sv[0]);
		close(rep[0]);
		c->sock = sv[1];
		c->report = rep[1];
		return 0;
	}
	close(sv[1]);
	close(rep[1]);
	c->sock = sv[0];
	c->report = rep[0];
	return 0;
}

/* The child's last step: its report, whole, to the parent (exit status 1 if it could not be). */
static __attribute__((unused, noreturn)) void cm_child_exit(int fd, const void *report, size_t size)
{
	_exit(write(fd, report, size) == (ssize_t)size ? 0 : 1);
}

/* The parent: the child's report into `report` (`*err` = EINVAL when none came whole), then the
 * child reaped. */
static __attribute__((unused)) void cm_child_wait(pid_t pid, int fd, void *report, size_t size, int *err)
{
	int status;

	if (read(fd, report, size) != (ssize_t)size)
		*err = EINVAL;
	waitpid(pid, &status, 0);
}

/* The cell's one result line, printed by the parent: the child's report and the parent's own
 * note; returns the loader's exit code. */
static __attribute__((unused)) int cm_child_result(const struct child_report *r, const char *extra, const char *note)
{
	cm_result(r->err, r->stage, extra, "%s%s%s", r->detail, *note ? " | " : "", note);
	return r->err ? 1 : 0;
}

#endif

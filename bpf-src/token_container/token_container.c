// SPDX-License-Identifier: MIT
/* token_container loader: the talk's BPF token in a rootless container (l.1363-1392). Runs as
 * root, the talk's parent, and listens on a unix socket; then, as a rootless runtime would:
 *   runtime    uid 65534: unshare(USER|NS|PID), uid/gid map 0 → 65534, fork the container
 *   container  pid 1, uid 0 inside: its capabilities cut to caps=MASK (bounding, permitted,
 *              effective, inheritable), no_new_privs, a seccomp filter refusing deny=… (EPERM)
 *   child      (in the container) connects to the parent's socket, then per VARIANT:
 *                unshare  unshare(USER|NS) again (variant 1, seccomp must allow it, l.1370)
 *                capadd   stays in the container's user namespace (variant 2, --cap-add, l.1376)
 *              fsopen("bpf") → the parent delegates and mounts it → libbpf loads priv_map with
 *              bpf_token_path=/proc/self/fd/N (talk l.1189-1209), pushes and pops a value.
 * Usage: token_container unshare|capadd caps=0xMASK deny=SYSCALL,…|- uds=shared|private
 *        [cmds=…] [maps=…] [progs=…] [attachs=…]
 * This sample uses token_libbpf's object (token_libbpf.skel.h). The parent prints the result
 * line; `inside` is the container's CapEff once it exists, for the agent to check. */
#define _GNU_SOURCE /* unshare, setresuid, fsopen */
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "capmatrix_result.h"
#include "token_delegation.h"
#include "token_libbpf.skel.h"
#include "priv_map.h"
#include "seccomp_deny.h"

#define OUTSIDE_UID 65534

struct container_args {
	const char *variant, *deny, *uds;
	unsigned long long caps;
};

/* The container's capabilities: exactly MASK in every set, the bounding set cut to it. */
static int cut_caps(unsigned long long mask, char *why, size_t len)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	for (int cap = 0; cap <= 63 && prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (!(mask & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap)) {
			snprintf(why, len, "dropping capability %d from the bounding set: %s", cap, strerror(errno));
			return -errno;
		}
	d[0].effective = d[0].permitted = d[0].inheritable = (__u32)mask;
	d[1].effective = d[1].permitted = d[1].inheritable = (__u32)(mask >> 32);
	if (syscall(SYS_capset, &h, d)) {
		snprintf(why, len, "capset: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

static void cap_eff_inside(char *out, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, len, "?");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%s", line + 8 + strspn(line + 8, " \t"));
		}
	if (f)
		fclose(f);
}

/* What the child reports, with the container's own capabilities. */
struct container_report {
	struct child_report r;
	char inside[24];
};

#define FAIL(e, st, ...) CHILD_FAIL(&rep->r, e, st, __VA_ARGS__)

/* In the container: the talk's child2 (l.1373, 1382-1390). */
static void child2(const char *sock_path, struct container_args *a, int argc, char **argv, struct container_report *rep)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[64], how[128];
	int sock, fs_fd, mnt_fd;

	(void)argc;
	(void)argv;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)))
		FAIL(errno, "uds_connect", "connect(%s) from the container (uid %d outside): %s", sock_path, OUTSIDE_UID, strerror(errno));
	if (!strcmp(a->variant, "unshare") && unshare(CLONE_NEWUSER | CLONE_NEWNS))
		FAIL(errno, "unshare", "the child: unshare(CLONE_NEWUSER|CLONE_NEWNS) in the container: %s", strerror(errno));
	fs_fd = fsopen("bpf", FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		FAIL(errno, "bpffs_create", "the child: fsopen(\"bpf\") (%s): %s",
		     strcmp(a->variant, "unshare") ? "in the container's user namespace" : "in its own user namespace", strerror(errno));
	if (send_fd(sock, fs_fd))
		FAIL(errno, "open", "sending the bpffs context: %s", strerror(errno));
	mnt_fd = recv_fd(sock);
	if (mnt_fd < 0)
		FAIL(-mnt_fd, "bpffs_create", "no bpffs mount came back: the parent's step failed (see detail)");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mnt_fd);
	opts.bpf_token_path = path;
	snprintf(how, sizeof(how), "in the container (%s), bpf_token_path=%s", a->variant, path);
	load_priv_map(&opts, how, &rep->r);
}

/* pid 1 of the container: capabilities and seccomp as the runtime sets them, then the child. */
static void container_init(const char *sock_path, struct container_args *a, int argc, char **argv, struct container_report *rep)
{
	char why[200] = "";
	int err;

	if ((err = cut_caps(a->caps, why, sizeof(why))))
		FAIL(-err, "open", "the runtime: %s", why);
	cap_eff_inside(rep->inside, sizeof(rep->inside));
	if ((err = install_deny_filter(a->deny, 1, why, sizeof(why))))
		FAIL(-err, "open", "the runtime: %s", why);
	child2(sock_path, a, argc, argv, rep);
}

/* The rootless runtime: uid 65534 makes the container's namespaces and runs its pid 1, whose
 * report goes straight to the parent; only the runtime's own failures are reported here. */
static void make_container(const char *sock_path, struct container_args *a, int argc, char **argv, int rep_fd,
			   struct container_report *rep)
{
	char map[32];
	int status;
	pid_t pid;

	if (setgroups(0, NULL) || setresgid(OUTSIDE_UID, OUTSIDE_UID, OUTSIDE_UID) ||
	    setresuid(OUTSIDE_UID, OUTSIDE_UID, OUTSIDE_UID))
		FAIL(errno, "open", "the runtime: dropping to uid %d: %s", OUTSIDE_UID, strerror(errno));
	/* a uid change clears "dumpable", which makes /proc/self/uid_map root's: a runtime started
	 * as uid 65534 would never have lost it */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID))
		FAIL(errno, "unshare", "the runtime (uid %d): unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID): %s",
		     OUTSIDE_UID, strerror(errno));
	snprintf(map, sizeof(map), "0 %d 1", OUTSIDE_UID);
	if (write_file("/proc/self/setgroups", "deny") || write_file("/proc/self/uid_map", map) ||
	    write_file("/proc/self/gid_map", map))
		FAIL(errno, "unshare", "the runtime: writing the uid/gid maps: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		FAIL(errno, "open", "the runtime: fork: %s", strerror(errno));
	if (pid == 0) {
		container_init(sock_path, a, argc, argv, rep);
		cm_child_exit(rep_fd, rep, sizeof(*rep));
	}
	waitpid(pid, &status, 0);
	_exit(0);
}

__attribute__((noreturn)) static void runtime(const char *sock_path, struct container_args *a, int argc, char **argv, int rep_fd)
{
	struct container_report rep = { .r = { .err = EINVAL, .stage = "open", .detail = "the container reported nothing" } };

	make_container(sock_path, a, argc, argv, rep_fd, &rep);
	cm_child_exit(rep_fd, &rep, sizeof(rep));
}

static const char *arg_value(int argc, char **argv, const char *key)
{
	size_t n = strlen(key);
	for (int i = 2; i < argc; i++)
		if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

/* The parent's socket in a directory of its own: 0666 ("shared", the talk's working setup) or
 * 0600 ("private": the container's uid 65534 cannot connect). */
static int listen_uds(const char *mode, char *dir, size_t dlen, char *sock_path, size_t slen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	snprintf(dir, dlen, "/tmp/capmatrix-token-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755))
		return -1;
	snprintf(sock_path, slen, "%s/parent.sock", dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 1) ||
	    chmod(sock_path, strcmp(mode, "private") ? 0666 : 0600))
		return -1;
	return fd;
}

/* The parent: serve one connection (the delegation), unless the child's report comes first. */
static void serve(int lfd, int rep_fd, int argc, char **argv, char *note, size_t len)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = rep_fd, .events = POLLIN } };
	int conn;

	if (poll(p, 2, -1) <= 0 || !(p[0].revents & POLLIN))
		return;
	conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	parent_materialize(conn, 2, argc, argv, note, len);
	close(conn);
}

static int usage(void)
{
	cm_result(EINVAL, "open", NULL,
		  "usage: token_container unshare|capadd caps=0xMASK deny=SYSCALL,…|- uds=shared|private [cmds=…] [maps=…] [progs=…] [attachs=…]");
	return 2;
}

int main(int argc, char **argv)
{
	struct container_args a = { .variant = argc > 1 ? argv[1] : "" };
	struct container_report rep = { .r = { .err = EINVAL, .stage = "open", .detail = "the runtime reported nothing" } };
	const char *caps = arg_value(argc, argv, "caps");
	char dir[64], sock_path[96], note[240] = "", extra[512];
	int lfd, fds[2];
	pid_t pid;

	cm_init();
	a.deny = arg_value(argc, argv, "deny");
	a.uds = arg_value(argc, argv, "uds");
	if ((strcmp(a.variant, "unshare") && strcmp(a.variant, "capadd")) || !caps || !a.deny || !a.uds ||
	    (strcmp(a.uds, "shared") && strcmp(a.uds, "private")))
		return usage();
	a.caps = strtoull(caps, NULL, 16);
	if ((lfd = listen_uds(a.uds, dir, sizeof(dir), sock_path, sizeof(sock_path))) < 0) {
		cm_result(errno, "open", NULL, "the parent's socket: %s", strerror(errno));
		return 1;
	}
	if (pipe2(fds, O_CLOEXEC))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		close(lfd);
		runtime(sock_path, &a, argc, argv, fds[1]);
	}
	close(fds[1]);
	serve(lfd, fds[0], argc, argv, note, sizeof(note));
	cm_child_wait(pid, fds[0], &rep, sizeof(rep), &rep.r.err);
	close(lfd);
	unlink(sock_path);
	rmdir(dir);
	snprintf(extra, sizeof(extra), "\"context\":\"container-%s\",\"uds\":\"%s\",\"deny\":\"%s\",\"inside\":\"%s\"",
		 a.variant, a.uds, a.deny, rep.inside);
	return cm_child_result(&rep.r, extra, note);
}

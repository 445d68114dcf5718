// SPDX-License-Identifier: MIT
/* cell_spawn: the guest agent's long-lived launcher of the samples (no BPF program of its own).
 * Under TCG node's spawn forks a ~60 MB process and moves the agent into the cell's cgroup and
 * back: 8-18 ms a cell where a small process forks and execs in 2-3 ms. It runs as root, started
 * by the agent before any cell, and does for each request what node's spawn did:
 *   the child: born in the cell's cgroup (clone3's CLONE_INTO_CGROUP; before 5.7 it moves
 *   itself), a session of its own (setsid), made killable by the OOM killer (oom_score_adj 0)
 *   before the sample's first instruction, stdin /dev/null, fds
 *   1, 2, 3 three new pipes and nothing else open, the cell's directory, then (another uid than
 *   the launcher's) no supplementary groups, the cell's gid and uid (which empties the permitted, effective and
 *   ambient sets), every signal at its default and none blocked, and execve with the given
 *   environment only. With an AMBIENT set (another uid than the launcher's), the child keeps its
 *   permitted set across the uid change (PR_SET_KEEPCAPS), narrows permitted and inheritable to
 *   the set and raises each as ambient, as systemd does for User= with AmbientCapabilities=: a
 *   binary without file capabilities then runs with exactly the set. Other shapes a deployment
 *   gives (harness/dsl/grants.ts): a BOUNDING set the bounding set is cut to before the uid
 *   changes (for uid 0, as a rootful container runtime does, the exec then gives exactly it),
 *   NNP (no_new_privs just before the exec: file capabilities are not gained) and SECCOMP (a
 *   filter refusing the named syscalls, installed while the child still holds CAP_SYS_ADMIN,
 *   as runc does without no_new_privs; common/seccomp_deny.h) and MEMLOCK (RLIMIT_MEMLOCK, soft
 *   and hard: a scenario's axes.memlock, or unlimited for a rootful container: before 5.11 BPF
 *   memory is counted against it per uid, and uid 0's count is every root process's, so without
 *   it a uid-0 cell's result would depend on what else root has locked, the recorder included).
 * The handshake is here too: a sample under the agent writes a byte on fd 3 and stops itself
 * (capmatrix_result.h's cm_init). At that stop, seen by waitpid(WUNTRACED) with the byte in its
 * pipe, the launcher (its parent) reads /proc/<pid>/status, says it to the agent and continues it.
 * The agent judges that status (judge.ts), so a launcher that got anything wrong is an infra
 * error. Here rather than in node: the byte, the wait for the stop, the read and SIGCONT cost the
 * agent ~5 ms a cell under TCG (BENCHMARKS.md).
 *
 * Requests on stdin: "<length>\n" and then <length> bytes of NUL-terminated fields:
 *   SEQ CGROUP_DIR|"" UID GID AMBIENT BOUNDING NNP SECCOMP MEMLOCK CWD NENV ENV... NARGV ARGV...
 *   (AMBIENT a capability mask in hex, "0" for none; BOUNDING a mask in hex, "-" to leave the
 *   bounding set whole; NNP "1" or "0"; SECCOMP "-" for no filter, else "deny:" and the
 *   syscalls it refuses, comma-separated; MEMLOCK "-", "unlimited" or bytes; ARGV[0] an absolute path)
 * Answers on stdout, one line each (HEX: bytes hex-encoded, "-" for none, so a line is a line
 * whatever the child wrote):
 *   "spawned SEQ PID"                       the child is running
 *   "held PID HEX"                          the child stopped itself after its byte on fd 3: its
 *                                           /proc/<pid>/status then; it was continued after the read
 *   "failed SEQ REASON"                     no child (a malformed request, fork refused)
 *   "exit PID CODE SIGNAL OUT ERR"          a child ended (CODE -1 when a signal ended it), and
 *                                           the last OUT_TAIL bytes it wrote on stdout and the
 *                                           last ERR_TAIL on stderr (read as they came, and
 *                                           what was left in the pipes at its end; what anything
 *                                           it left running writes after that is not read)
 * The output is read here rather than by the agent: opening the pipes in node and their events
 * cost the agent ~3 ms a cell under TCG.
 * A child that cannot be set up writes why on its stderr pipe and exits with 127.
 * It exits when stdin closes (the agent is gone).
 * Usage: cell_spawn */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "seccomp_deny.h"

#define REQUEST_MAX (1 << 20)
#define FIELDS_MAX 4096
#define OUT_TAIL (1 << 20)
#define ERR_TAIL 8192

struct request {
	const char *seq, *cgroup, *cwd;
	uid_t uid;
	gid_t gid;
	unsigned long long ambient, bounding;
	int cut_bounding, nnp, set_memlock;
	rlim_t memlock;
	const char *seccomp;
	char **env, **argv;
};

/* The last bytes a child wrote on one of its pipes, and the pipe's read end (-1 once closed). */
struct tail {
	int fd;
	size_t limit, len;
	char *buf;
};

/* The children not yet reaped: the read end of each one's fd 3 (-1 once its handshake is done)
 * and of its stdout and stderr. The agent runs one sample at a time; a table, so a child left
 * over is still reaped. */
#define CHILDREN_MAX 64
static struct child {
	pid_t pid;
	int hs;
	struct tail out, err;
} children[CHILDREN_MAX];

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

/* In the child: why it cannot go on, on its stderr pipe, then 127 as a shell says "not run". */
static void _Noreturn child_fail(const char *step)
{
	dprintf(2, "capmatrix cell_spawn: %s: %s\n", step, strerror(errno));
	_exit(127);
}

static void write_file(const char *file, const char *value, const char *step)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		child_fail(step);
	close(fd);
}

/* In the child, after the uid changed with PR_SET_KEEPCAPS: permitted and inheritable become
 * the set, and each of it is raised as ambient. */
static void grant_ambient(unsigned long long set)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	for (int i = 0; i < 2; i++)
		data[i].permitted = data[i].inheritable = (__u32)(set >> (32 * i));
	if (syscall(SYS_capset, &head, data))
		child_fail("capset");
	for (int cap = 0; cap < 64; cap++)
		if (set & (1ULL << cap) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0))
			child_fail("PR_CAP_AMBIENT_RAISE");
}

/* In the child, still root: the bounding set cut to `keep` (a capability the kernel does not
 * know reads < 0 and ends the walk). */
static void cut_bounding(unsigned long long keep)
{
	for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			child_fail("PR_CAPBSET_DROP");
}

static void close_from(unsigned int first)
{
	if (syscall(SYS_close_range, first, ~0U, 0) == 0)
		return;
	for (int fd = (int)first; fd < 65536; fd++) /* before 5.9: no close_range */
		close(fd);
}

/* The child between fork and execve: only async-signal-safe calls. `born_inside`: clone3 made it
 * in the cell's cgroup already. */
static void _Noreturn child(const struct request *r, int pipes[3][2], int born_inside)
{
	char procs[4096];
	sigset_t none;

	if (setsid() < 0)
		child_fail("setsid");
	for (int i = 0; i < 3; i++)
		if (dup2(pipes[i][1], i + 1) < 0)
			child_fail("dup2");
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0)
		child_fail("/dev/null");
	close_from(4);
	if (r->cgroup[0] && !born_inside) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", r->cgroup);
		write_file(procs, "0", "joining the cell's cgroup");
	}
	write_file("/proc/self/oom_score_adj", "0", "oom_score_adj");
	if (chdir(r->cwd) < 0)
		child_fail("chdir");
	if (strcmp(r->seccomp, "-")) {
		char why[256];
		if (strncmp(r->seccomp, "deny:", 5) || install_deny_filter(r->seccomp + 5, 0, why, sizeof(why))) {
			dprintf(2, "capmatrix cell_spawn: seccomp %s: %s\n", r->seccomp, why);
			_exit(127);
		}
	}
	if (r->set_memlock) {
		struct rlimit lim = { r->memlock, r->memlock };
		if (setrlimit(RLIMIT_MEMLOCK, &lim))
			child_fail("RLIMIT_MEMLOCK");
	}
	if (r->cut_bounding)
		cut_bounding(r->bounding);
	/* the agent is root: a uid 0 cell keeps root's groups, as node's spawn without uid did */
	if (r->uid != getuid() || r->gid != getgid()) {
		if (r->ambient && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
			child_fail("PR_SET_KEEPCAPS");
		if (setgroups(0, NULL) < 0)
			child_fail("setgroups");
		if (setgid(r->gid) < 0)
			child_fail("setgid");
		if (setuid(r->uid) < 0)
			child_fail("setuid");
		if (r->ambient)
			grant_ambient(r->ambient);
	} else if (r->ambient) {
		errno = EINVAL; /* root's cell keeps root's own sets: an ambient grant there is a mistake */
		child_fail("an ambient grant for the launcher's own uid");
	}
	if (r->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		child_fail("PR_SET_NO_NEW_PRIVS");
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* SIGKILL, SIGSTOP and the libc's own refuse: harmless */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(r->argv[0], r->argv, r->env);
	child_fail(r->argv[0]);
}

/* Splits the request into its fields; 0, or -1 when it is malformed. */
static int parse(char *buf, size_t len, struct request *r, char **fields)
{
	size_t n = 0, at = 0;

	while (at < len && n < FIELDS_MAX) {
		char *end = memchr(buf + at, '\0', len - at);
		if (!end)
			return -1;
		fields[n++] = buf + at;
		at = (size_t)(end - buf) + 1;
	}
	if (at != len || n < 13)
		return -1;
	r->seq = fields[0];
	r->cgroup = fields[1];
	r->uid = (uid_t)strtoul(fields[2], NULL, 10);
	r->gid = (gid_t)strtoul(fields[3], NULL, 10);
	r->ambient = strtoull(fields[4], NULL, 16);
	r->cut_bounding = strcmp(fields[5], "-") != 0;
	r->bounding = strtoull(fields[5], NULL, 16);
	r->nnp = !strcmp(fields[6], "1");
	r->seccomp = fields[7];
	r->set_memlock = strcmp(fields[8], "-") != 0;
	r->memlock = !strcmp(fields[8], "unlimited") ? RLIM_INFINITY : (rlim_t)strtoull(fields[8], NULL, 10);
	r->cwd = fields[9];
	size_t nenv = strtoul(fields[10], NULL, 10);
	if (11 + nenv >= n)
		return -1;
	size_t nargv = strtoul(fields[11 + nenv], NULL, 10);
	if (nargv < 1 || 12 + nenv + nargv != n || fields[12 + nenv][0] != '/')
		return -1;
	/* each list NULL-terminated in place: the count fields before them are no longer needed */
	memmove(fields + 10, fields + 11, nenv * sizeof(char *));
	fields[10 + nenv] = NULL;
	r->env = fields + 10;
	r->argv = fields + 12 + nenv;
	fields[n] = NULL;
	return 0;
}

/* Keeps the last `limit` bytes of what was read. */
static void tail_add(struct tail *t, const char *data, size_t n)
{
	if (n >= t->limit) {
		data += n - t->limit;
		n = t->limit;
	}
	if (t->len + n > t->limit) {
		size_t drop = t->len + n - t->limit;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
}

/* Reads what the pipe has now (it is non-blocking); closes it at its end or error. */
static void tail_read(struct tail *t)
{
	static char chunk[65536];
	ssize_t n;

	while (t->fd >= 0 && (n = read(t->fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			break;
		}
		tail_add(t, chunk, (size_t)n);
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static void tail_open(struct tail *t, int fd, size_t limit)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	*t = (struct tail){ .fd = fd, .limit = limit, .buf = malloc(limit) };
	if (!t->buf)
		t->limit = 0; /* read and dropped: the cell then has no output to judge */
}

/* " HEX" of the tail, "-" when empty; frees it. */
static void tail_print(struct tail *t)
{
	printf(" ");
	if (!t->len)
		printf("-");
	for (size_t i = 0; i < t->len; i++)
		printf("%02x", (unsigned char)t->buf[i]);
	free(t->buf);
	t->buf = NULL;
	t->len = 0;
}

/* fork(), the child born in `cgroup` when the kernel can (clone3's CLONE_INTO_CGROUP, 5.7): a
 * write to cgroup.procs takes the cgroups' write lock, which waits for an RCU grace period, 8-12 ms
 * a cell under TCG (BENCHMARKS.md). Before 5.7 the child joins it itself (*born_inside 0). */
static pid_t fork_into(const char *cgroup, int *born_inside)
{
	static int unsupported;

	*born_inside = 0;
	if (!cgroup[0] || unsupported)
		return fork();
	int dir = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return fork(); /* the child's own join then says why */
	struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (__u64)dir };
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	int err = errno;
	if (pid != 0)
		close(dir);
	if (pid >= 0) {
		*born_inside = 1;
		return (pid_t)pid;
	}
	if (err == ENOSYS || err == E2BIG || err == EINVAL) {
		unsupported = 1; /* an older kernel: the child joins by itself */
		return fork();
	}
	errno = err;
	return -1;
}

static void spawn(char *buf, size_t len)
{
	static char *fields[FIELDS_MAX + 1];
	struct request r;
	int pipes[3][2];

	if (parse(buf, len, &r, fields)) {
		answer("failed %s malformed request\n", memchr(buf, '\0', len) ? buf : "?");
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (pipe2(pipes[i], O_CLOEXEC)) {
			for (int j = 0; j < i; j++)
				close(pipes[j][0]), close(pipes[j][1]);
			answer("failed %s pipe: %s\n", r.seq, strerror(errno));
			return;
		}
	}
	int slot = 0;
	while (slot < CHILDREN_MAX && children[slot].pid)
		slot++;
	if (slot == CHILDREN_MAX) {
		for (int i = 0; i < 3; i++)
			close(pipes[i][0]), close(pipes[i][1]);
		answer("failed %s %d children not reaped\n", r.seq, CHILDREN_MAX);
		return;
	}
	int born_inside = 0;
	pid_t pid = fork_into(r.cgroup, &born_inside);
	if (pid == 0)
		child(&r, pipes, born_inside);
	for (int i = 0; i < 3; i++)
		close(pipes[i][1]);
	if (pid < 0) {
		for (int i = 0; i < 3; i++)
			close(pipes[i][0]);
		answer("failed %s fork: %s\n", r.seq, strerror(errno));
		return;
	}
	fcntl(pipes[2][0], F_SETFL, O_NONBLOCK);
	children[slot].pid = pid;
	children[slot].hs = pipes[2][0];
	tail_open(&children[slot].out, pipes[0][0], OUT_TAIL);
	tail_open(&children[slot].err, pipes[1][0], ERR_TAIL);
	answer("spawned %s %d\n", r.seq, pid);
}

static int slot_of(pid_t pid)
{
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (children[i].pid == pid)
			return i;
	return -1;
}

/* A child stopped: when it is the handshake's stop (its byte is in the pipe, the first time),
 * its status is read while it is stopped, told, and it is continued. Any other stop is left
 * alone, as a stop the program makes itself. */
static void stopped(int slot)
{
	static char status[16384];
	char file[64], byte;
	pid_t pid = children[slot].pid;
	int hs = children[slot].hs;

	if (hs < 0 || read(hs, &byte, 1) != 1)
		return;
	close(hs);
	children[slot].hs = -1;
	snprintf(file, sizeof(file), "/proc/%d/status", pid);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof(status));
	if (fd >= 0)
		close(fd);
	printf("held %d ", pid);
	for (ssize_t i = 0; i < n; i++)
		printf("%02x", (unsigned char)status[i]);
	answer("\n");
	kill(pid, SIGCONT);
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED)) > 0) {
		int slot = slot_of(pid);
		if (WIFSTOPPED(status)) {
			if (slot >= 0)
				stopped(slot);
			continue;
		}
		if (slot < 0 || !(WIFEXITED(status) || WIFSIGNALED(status)))
			continue;
		struct child *c = &children[slot];
		if (c->hs >= 0)
			close(c->hs);
		/* what it wrote is in the pipes: read it, whoever else still holds them */
		tail_read(&c->out);
		tail_read(&c->err);
		if (c->out.fd >= 0)
			close(c->out.fd);
		if (c->err.fd >= 0)
			close(c->err.fd);
		if (WIFEXITED(status))
			printf("exit %d %d 0", pid, WEXITSTATUS(status));
		else
			printf("exit %d -1 %d", pid, WTERMSIG(status));
		tail_print(&c->out);
		tail_print(&c->err);
		answer("\n");
		*c = (struct child){ .hs = -1, .out.fd = -1, .err.fd = -1 };
	}
}

/* Takes whole requests from what stdin gave so far; returns how many bytes are left over. */
static size_t take_requests(char *in, size_t have)
{
	for (;;) {
		char *nl = memchr(in, '\n', have < 16 ? have : 16);
		if (!nl)
			return have;
		size_t len = strtoul(in, NULL, 10), head = (size_t)(nl - in) + 1;
		if (len > REQUEST_MAX - head) {
			answer("failed ? request of %zu bytes\n", len);
			exit(1);
		}
		if (have < head + len)
			return have;
		spawn(in + head, len);
		memmove(in, in + head + len, have - head - len);
		have -= head + len;
	}
}

int main(void)
{
	static char in[REQUEST_MAX];
	size_t have = 0;
	sigset_t chld;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "cell_spawn: signalfd: %s\n", strerror(errno));
		return 1;
	}
	answer("ready\n");
	for (;;) {
		struct pollfd fds[2 + 2 * CHILDREN_MAX] = { { .fd = 0, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		struct tail *of[2 + 2 * CHILDREN_MAX] = { NULL };
		nfds_t n = 2;
		for (int i = 0; i < CHILDREN_MAX; i++) {
			struct tail *pipes[2] = { &children[i].out, &children[i].err };
			for (int j = 0; j < 2; j++)
				if (children[i].pid && pipes[j]->fd >= 0) {
					of[n] = pipes[j];
					fds[n++] = (struct pollfd){ .fd = pipes[j]->fd, .events = POLLIN };
				}
		}
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (nfds_t i = 2; i < n; i++)
			if (fds[i].revents)
				tail_read(of[i]);
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) < 0 && errno != EAGAIN)
				return 1;
			reap();
		}
		if (fds[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(0, in + have, sizeof(in) - have);
			if (n <= 0)
				return 0;
			have = take_requests(in, have + (size_t)n);
		}
	}
}

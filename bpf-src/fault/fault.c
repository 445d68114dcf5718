// SPDX-License-Identifier: MIT
/* fault: the harness's own test sample (no BPF). Each mode produces one fault the harness must
 * classify, or proves a security property of the guest:
 *   ok | sleep SECONDS        a result line (after a pause)
 *   hang                      never returns                        -> cell-timeout
 *   no-result                 exits 3 without a result line        -> no-result
 *   drop-caps                 drops its capabilities, then reports -> caps-not-applied
 *   kill-agent                SIGKILL to its parent, the agent     -> agent-crash (root cell)
 *   panic                     sysrq 'c'                            -> kernel-panic (root cell)
 *   flip MARKER               ok the first time in a boot, EACCES after -> flaky with --repeat
 *   args ARG...               reports its argv byte for byte (nothing goes through a shell)
 *   escape                    tries to become root or reach root-only files; EPERM@escape when
 *                             every attempt was refused */
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "capmatrix_result.h"

static int drop_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[0].effective = data[1].effective = 0;
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* Runs argv with stdin from /dev/null; returns its exit status, or -errno if it cannot start. */
static int run_quiet(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char escaped[1024];

/* Records one attempt; `got` < 0 is an errno (refused), >= 0 means it worked. */
static void attempt(const char *what, int got)
{
	size_t n = strlen(escaped);

	if (got >= 0)
		snprintf(escaped + n, sizeof(escaped) - n, "%s%s", n ? ", " : "", what);
	fprintf(stderr, "escape: %s -> %s\n", what, got >= 0 ? "WORKED" : strerror(-got));
}

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int escape(void)
{
	char *sudo[] = { "sudo", "-n", "true", NULL };
	char *su[] = { "su", "-c", "true", "root", NULL };
	int r;

	attempt("setuid(0)", setuid(0) ? -errno : 0);
	attempt("setgid(0)", setgid(0) ? -errno : 0);
	r = run_quiet(sudo);
	attempt("sudo -n true", r == 0 ? 0 : r < 0 ? r : r == 127 ? -ENOENT : -EPERM);
	r = run_quiet(su);
	attempt("su -c true root", r == 0 ? 0 : r < 0 ? r : r == 127 ? -ENOENT : -EPERM);
	attempt("open /proc/sysrq-trigger for writing", try_open("/proc/sysrq-trigger", O_WRONLY));
	attempt("open kernel.unprivileged_bpf_disabled for writing",
		try_open("/proc/sys/kernel/unprivileged_bpf_disabled", O_WRONLY));
	attempt("read /proc/1/environ", try_open("/proc/1/environ", O_RDONLY));
	attempt("read /etc/shadow", try_open("/etc/shadow", O_RDONLY));
	r = ptrace(PTRACE_ATTACH, getppid(), 0, 0) ? -errno : 0;
	attempt("ptrace the agent", r);
	if (r == 0)
		ptrace(PTRACE_DETACH, getppid(), 0, 0);
	if (*escaped) {
		cm_result(0, "escape", NULL, "ESCAPED: %s", escaped);
		return 0;
	}
	cm_result(EPERM, "escape", NULL, "every attempt was refused (setuid, setgid, sudo, su, sysrq, sysctl, "
		  "/proc/1/environ, /etc/shadow, ptrace)");
	return 0;
}

static int report_args(int argc, char **argv)
{
	static char extra[8192];
	FILE *f = fmemopen(extra, sizeof(extra) - 1, "w");

	fputs("\"argv\":[", f);
	for (int i = 2; i < argc; i++) {
		if (i > 2)
			fputc(',', f);
		cm_json_string(f, argv[i]);
	}
	fputc(']', f);
	fclose(f);
	cm_result(0, "run", extra, "%d argument(s)", argc - 2);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "ok";

	cm_init();
	if (!strcmp(mode, "ok")) {
		cm_result(0, "run", NULL, "fault sample: ok");
	} else if (!strcmp(mode, "sleep") && argc > 2) {
		sleep((unsigned)atoi(argv[2]));
		cm_result(0, "run", NULL, "slept %s s", argv[2]);
	} else if (!strcmp(mode, "hang")) {
		for (;;)
			pause();
	} else if (!strcmp(mode, "no-result")) {
		fprintf(stderr, "fault: exiting without a result line\n");
		return 3;
	} else if (!strcmp(mode, "drop-caps")) {
		int err = drop_caps();
		cm_result(err ? -err : 0, "run", NULL, "dropped the effective capabilities (%d)", err);
	} else if (!strcmp(mode, "kill-agent")) {
		kill(getppid(), SIGKILL);
		sleep(30);
		cm_result(0, "run", NULL, "the agent survived SIGKILL");
	} else if (!strcmp(mode, "panic")) {
		int fd = open("/proc/sysrq-trigger", O_WRONLY);
		if (fd < 0 || write(fd, "c", 1) != 1) {
			cm_result(errno, "run", NULL, "cannot trigger a panic: %s", strerror(errno));
			return 1;
		}
		sleep(30);
		cm_result(0, "run", NULL, "no panic");
	} else if (!strcmp(mode, "flip") && argc > 2) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0666);
		if (fd >= 0) {
			close(fd);
			cm_result(0, "run", NULL, "first run in this boot");
		} else {
			cm_result(EACCES, "run", NULL, "%s exists: not the first run in this boot", argv[2]);
		}
	} else if (!strcmp(mode, "args")) {
		return report_args(argc, argv);
	} else if (!strcmp(mode, "escape")) {
		return escape();
	} else {
		fprintf(stderr, "fault: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}

// SPDX-License-Identifier: MIT
/* fault: the harness's own test sample (no BPF). Each mode produces one fault the harness must
 * classify, or proves a security property of the guest:
 *   ok | sleep SECONDS        a result line (after a pause)
 *   hang                      never returns                        -> cell-timeout
 *   no-result                 exits 3 without a result line        -> no-result
 *   drop-caps                 drops its capabilities, then reports -> caps-not-applied
 *   kill-agent                SIGKILL to the agent                 -> agent-crash (root cell)
 *   panic                     sysrq 'c'                            -> kernel-panic (root cell)
 *   flip MARKER               ok the first time in a boot, EACCES after -> flaky with --repeat
 *   args ARG...               reports its argv byte for byte (nothing goes through a shell)
 *   escape                    tries to become root or reach root-only files; EPERM@escape when
 *                             every attempt was refused
 *   forge                     tries to write into the agent's results file (forged records of
 *                             the other cells, a fake end) and to swap it for a FIFO or a symlink,
 *                             by path, through /proc/<agent>/fd, and by mounting the 9p share
 *                             again; ok, naming what went through inside the guest
 *   setsid-stdout             leaves a child in a new session that holds stdout open
 *   cgroup-escape             the same, after moving the child into the root cgroup
 *   flood MIB                 writes MIB MiB to stdout before its result line
 *   tamper-copy               chmods its own executable (the boot's copy, CAP_FOWNER) to 0777
 *   self-mode                 ok when its own executable is mode 0755 (a copy nobody changed)
 *   fork-many                 forks paused children until a fork is refused -> cell-limit (pids)
 *   alloc                     touches memory until it is killed             -> cell-limit (memory)
 *   stop-agent                SIGSTOP to the agent                -> agent-crash: stopped beating (root)
 *   stop-helper               SIGSTOP to the agent's state helper (state_watch), then exits: the
 *                             fingerprint after it gets no answer (root) -> state-not-reset, boot ends
 *   kill-launcher             SIGKILL to its parent, the agent's launcher of the samples
 *                             (cell_spawn), then reports ok (root) -> state-not-reset, boot ends
 *   disable-kprobes           disarms every kprobe of the guest through debugfs, the capability
 *                             recorder's (cap_watch) too, then reports ok (root): its canary is
 *                             not counted -> state-not-reset, boot ends
 *   leave-file PATH           creates PATH and leaves it           -> state-not-reset (removed)
 *   read-secret PATH...       tries to read host files the guest must not see: directly, under a
 *                             bind of the guest's root without its submounts (what vng's masks and
 *                             overlays hide), after unmounting what is mounted on the path, and
 *                             under every 9p share mounted again; EACCES@escape when nothing was
 *                             read, else ok naming what it read (the content's first bytes)
 *   bind-sysctl               bind-mounts a file saying 1 over /proc/sys/kernel/perf_event_paranoid
 *                             (CAP_SYS_ADMIN): a sysctl the kernel never had
 *   set-sysctl NAME VALUE     writes a sysctl (root), e.g. one no cell of the boot sets
 *   daemon                    leaves a root daemon: double fork, setsid, in the root cgroup
 *   lo-down                   takes lo down (CAP_NET_ADMIN)
 *   cgroup-drop               attaches a cgroup_skb program that drops every packet to the root
 *                             cgroup's egress (CAP_BPF + CAP_NET_ADMIN) and leaves it there
 *   udp                       a UDP datagram to itself over lo; ok when it arrives, else the
 *                             errno at stage traffic (the victim of cgroup-drop)
 * Each of the last four leaves global state the agent must find, name and undo (or, for a
 * sysctl that will not go back, end the boot). */
#include <fcntl.h>
#include <linux/capability.h>
#include <dirent.h>
#include <libgen.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
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

/* The agent: the parent of the launcher (cell_spawn) that started this sample. */
static pid_t agent_pid(void)
{
	char path[64], stat[512];
	pid_t launcher = getppid(), agent = 0;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)launcher);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, stat, sizeof(stat) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		stat[n] = 0;
		char *end = strrchr(stat, ')');
		if (end)
			sscanf(end + 2, "%*c %d", &agent);
	}
	return agent > 0 ? agent : launcher;
}

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
	r = ptrace(PTRACE_ATTACH, agent_pid(), 0, 0) ? -errno : 0;
	attempt("ptrace the agent", r);
	if (r == 0)
		ptrace(PTRACE_DETACH, agent_pid(), 0, 0);
	if (*escaped) {
		cm_result(0, "escape", NULL, "ESCAPED: %s", escaped);
		return 0;
	}
	cm_result(EPERM, "escape", NULL, "every attempt was refused (setuid, setgid, sudo, su, sysrq, sysctl, "
		  "/proc/1/environ, /etc/shadow, ptrace)");
	return 0;
}

/* The agent's argv is `node <agent> <plan.json>`: the plan's path, from /proc/<agent>/cmdline. */
static int agent_plan(char *plan, size_t len)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd, i = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)agent_pid());
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	for (char *p = buf; p < buf + n; p += strlen(p) + 1, i++)
		if (i == 2) {
			snprintf(plan, len, "%s", p);
			return 0;
		}
	return -ENOENT;
}

/* Forged records: a cell record for every run key of the plan but this cell's, and a fake end,
 * each with a made-up signature. */
static void forged_lines(const char *plan, char *out, size_t len)
{
	static char text[1 << 20];
	const char *self = getenv("CAPMATRIX_CELL");
	size_t used = 0;
	ssize_t n = 0;
	int fd = open(plan, O_RDONLY);

	out[0] = 0;
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	text[n > 0 ? n : 0] = 0;
	for (char *k = strstr(text, "\"key\": \""); k && used < len - 512; k = strstr(k + 1, "\"key\": \"")) {
		char key[256];
		if (sscanf(k + 8, "%255[^\"]", key) != 1 || (self && strstr(key, self)))
			continue;
		used += snprintf(out + used, len - used,
				 "{\"seq\":1,\"type\":\"cell\",\"id\":\"forged\",\"key\":\"%s\",\"caps\":[],"
				 "\"observed\":{\"outcome\":\"EPERM\",\"stage\":\"escape\",\"errno\":1,\"detail\":\"FORGED\"},"
				 "\"durationMs\":1,\"sysctlNow\":{}}\tAAAA\n", key);
	}
	snprintf(out + used, len - used, "{\"seq\":2,\"type\":\"end\",\"t\":1}\tAAAA\n");
}

static int write_into(const char *path, const char *lines, int flags)
{
	int fd = open(path, O_WRONLY | O_APPEND | flags);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, lines, strlen(lines));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Replaces `path` by a FIFO, then by a symlink to /etc/passwd. */
static void swap_file(const char *what, const char *path)
{
	char tmp[4200], label[256];

	snprintf(tmp, sizeof(tmp), "%s.swap", path);
	snprintf(label, sizeof(label), "swap %s for a FIFO", what);
	attempt(label, mkfifo(tmp, 0666) ? -errno : rename(tmp, path) ? -errno : 0);
	unlink(tmp);
	snprintf(label, sizeof(label), "swap %s for a symlink", what);
	attempt(label, symlink("/etc/passwd", tmp) ? -errno : rename(tmp, path) ? -errno : 0);
	unlink(tmp);
}

/* Writes through every descriptor of the agent that names the results file. */
static void through_agent_fds(const char *lines)
{
	char dir[64], link[4200], target[4096];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)agent_pid());
	d = opendir(dir);
	if (!d) {
		attempt("write through /proc/<agent>/fd", -errno);
		return;
	}
	while ((e = readdir(d))) {
		ssize_t n;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strstr(target, "guest-results.jsonl"))
			continue;
		found = 1;
		attempt("write through /proc/<agent>/fd", write_into(link, lines, 0));
	}
	closedir(d);
	if (!found)
		attempt("write through /proc/<agent>/fd", -ENOENT);
}

/* Mounts the rwdir's 9p share again (its tag is in sysfs) and writes and swaps there. */
static void through_new_mount(const char *lines)
{
	char tag[256] = "", path[512];
	DIR *d = opendir("/sys/bus/virtio/drivers/9pnet_virtio");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		FILE *f;
		snprintf(path, sizeof(path), "/sys/bus/virtio/drivers/9pnet_virtio/%s/mount_tag", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(tag, sizeof(tag), f) && strcmp(tag, "/dev/root"))
			break;
		tag[0] = 0;
		fclose(f);
	}
	if (d)
		closedir(d);
	mkdir("/tmp/capmatrix-forge", 0700);
	if (!*tag || mount(tag, "/tmp/capmatrix-forge", "9p", 0, "trans=virtio,version=9p2000.L")) {
		attempt("mount the results share again", *tag ? -errno : -ENOENT);
		rmdir("/tmp/capmatrix-forge");
		return;
	}
	attempt("mount the results share again", 0);
	attempt("write into the new mount", write_into("/tmp/capmatrix-forge/guest-results.jsonl", lines, O_NOFOLLOW));
	swap_file("the file in the new mount", "/tmp/capmatrix-forge/guest-results.jsonl");
	umount2("/tmp/capmatrix-forge", MNT_DETACH);
	rmdir("/tmp/capmatrix-forge"); /* tidy: this fault is about the results, not leftovers */
}

static int forge(void)
{
	static char lines[65536];
	char plan[4096], results[4200], copy[4096];
	int r = agent_plan(plan, sizeof(plan));

	if (r) {
		cm_result(-r, "escape", NULL, "cannot find the agent's plan: %s", strerror(-r));
		return 0;
	}
	snprintf(copy, sizeof(copy), "%s", plan);
	snprintf(results, sizeof(results), "%s/guest/guest-results.jsonl", dirname(copy));
	forged_lines(plan, lines, sizeof(lines));
	attempt("append to the results file by its path", write_into(results, lines, O_NOFOLLOW));
	swap_file("the results file", results);
	through_agent_fds(lines);
	through_new_mount(lines);
	/* What went through reached a file in the guest; whether it reached the host's results is
	 * for the host to say (the test checks every other cell's record and the host's violations). */
	cm_result(0, "run", NULL, "went through in the guest: %s", *escaped ? escaped : "nothing");
	return 0;
}

/* A child that outlives the sample in a session of its own, holding stdout; with `escape_cgroup`
 * it first moves itself into the root cgroup (which CAP_DAC_OVERRIDE allows). */
static int leave_child(int escape_cgroup)
{
	pid_t pid = fork();

	if (pid == 0) {
		setsid();
		if (escape_cgroup) {
			int fd = open("/sys/fs/cgroup/cgroup.procs", O_WRONLY);
			if (fd >= 0) {
				dprintf(fd, "%d\n", (int)getpid());
				close(fd);
			}
		}
		for (;;)
			pause();
	}
	sleep(1);
	cm_result(pid > 0 ? 0 : errno, "run", NULL, "left child %d holding stdout", (int)pid);
	return 0;
}

/* Children that wait until the cell is killed, until fork() says no (the cell's pids.max). */
static int fork_many(void)
{
	int n = 0;

	for (;; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (;;)
				pause();
		}
		if (pid < 0)
			break;
	}
	cm_result(0, "run", NULL, "forked %d children before fork failed: %s", n, strerror(errno));
	return 0;
}

/* Maps 64 MiB at a time, populated by the kernel in one call (a page fault per page is slow
 * under TCG) and then written, until the kernel kills it (the cell's memory.max). */
static int alloc_forever(void)
{
	for (size_t mib = 0;; mib += 64) {
		void *p = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED) {
			cm_result(0, "run", NULL, "mmap failed after %zu MiB: %s", mib, strerror(errno));
			return 0;
		}
		/* a page the kernel could not populate (its charge failed) faults here, and that fault
		 * is where the cgroup's OOM killer acts */
		for (size_t off = 0; off < (64 << 20); off += 4096)
			((volatile char *)p)[off] = 1;
	}
}

static int bind_sysctl(void)
{
	const char *fake = "/tmp/capmatrix-fake-sysctl";
	FILE *f = fopen(fake, "w");

	if (!f || fputs("1\n", f) == EOF || fclose(f)) {
		cm_result(errno, "run", NULL, "cannot write %s: %s", fake, strerror(errno));
		return 1;
	}
	int err = mount(fake, "/proc/sys/kernel/perf_event_paranoid", NULL, MS_BIND, NULL) ? errno : 0;
	cm_result(err, "run", NULL, "bind-mounted %s over kernel.perf_event_paranoid", fake);
	return 0;
}

static int set_sysctl(const char *name, const char *value)
{
	char path[256] = "/proc/sys/";
	size_t n = strlen(path);

	for (const char *c = name; *c && n < sizeof(path) - 1; c++)
		path[n++] = *c == '.' ? '/' : *c;
	path[n] = 0;
	int fd = open(path, O_WRONLY);
	int err = fd < 0 || write(fd, value, strlen(value)) < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	cm_result(err, "run", NULL, "set %s=%s", name, value);
	return 0;
}

/* A daemon as a careless root loader leaves one: it outlives the sample, out of its cgroup. */
static int leave_daemon(void)
{
	int ready[2];

	if (pipe(ready))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int fd = open("/sys/fs/cgroup/cgroup.procs", O_WRONLY);
		if (fd >= 0) {
			dprintf(fd, "%d\n", (int)getpid());
			close(fd);
		}
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		dprintf(ready[1], "%d\n", (int)getpid());
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	char buf[32] = "";
	ssize_t got = read(ready[0], buf, sizeof(buf) - 1);
	waitpid(pid, NULL, 0);
	cm_result(got > 0 ? 0 : EIO, "run", NULL, "left daemon %d in the root cgroup", got > 0 ? atoi(buf) : -1);
	return 0;
}

static int lo_down(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int err = 0;

	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = errno;
	ifr.ifr_flags &= ~IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr))
		err = errno;
	cm_result(err, "run", NULL, "took lo down");
	return 0;
}

/* The talk's careless loader: a program attached to the root cgroup outlives its process. Two
 * instructions (r0 = 0; exit): every packet of every cgroup is dropped on its way out. */
static int cgroup_drop(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr a;
	int cg = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_SKB;
	a.insns = (__u64)(uintptr_t)insns;
	a.insn_cnt = 2;
	a.license = (__u64)(uintptr_t) "GPL";
	strcpy(a.prog_name, "capmatrix_drop");
	int prog = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (cg < 0 || prog < 0) {
		cm_result(errno, "prog_load", NULL, "cannot load the drop program or open the root cgroup");
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.target_fd = (__u32)cg;
	a.attach_bpf_fd = (__u32)prog;
	a.attach_type = BPF_CGROUP_INET_EGRESS;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	int err = syscall(__NR_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) ? errno : 0;
	cm_result(err, "attach", NULL, "attached a program that drops every packet to the root cgroup");
	return 0;
}

static int udp_self(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	struct timeval wait = { .tv_sec = 2 };
	char got[8] = "";
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int err = 0;

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)) ||
	    sendto(fd, "ping", 4, 0, (struct sockaddr *)&addr, len) != 4 || recv(fd, got, sizeof(got), 0) != 4)
		err = errno;
	cm_result(err, "traffic", NULL, "a UDP datagram to itself over lo");
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

/* The first bytes of `path` (printable, for the report) into `out`; 0, or -errno. */
static int read_head(const char *path, char *out, size_t len)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	for (ssize_t i = 0; i < n; i++)
		buf[i] = buf[i] >= 0x20 && buf[i] < 0x7f && buf[i] != '"' && buf[i] != '\\' ? buf[i] : '.';
	buf[n] = 0;
	snprintf(out, len, "%s", buf);
	return 0;
}

/* Writes 0 to debugfs's kprobes/enabled, through a debugfs of its own it then unmounts. */
static int disable_kprobes(void)
{
	char dir[] = "/tmp/capmatrix-debugfs-XXXXXX", path[256];
	int fd, r = 0;

	if (!mkdtemp(dir) || mount("debugfs", dir, "debugfs", 0, NULL)) {
		cm_result(errno, "run", NULL, "debugfs: %s", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/kprobes/enabled", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1)
		r = errno;
	if (fd >= 0)
		close(fd);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	cm_result(r, "run", NULL, "every kprobe disarmed through debugfs");
	return 0;
}

/* SIGSTOP to every process named state_watch (the agent's fingerprint helper). */
static int stop_helper(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int stopped = 0;

	while (d && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "state_watch\n") && !kill(atoi(e->d_name), SIGSTOP))
			stopped++;
		fclose(f);
	}
	if (d)
		closedir(d);
	cm_result(stopped ? 0 : ESRCH, "run", NULL, "stopped %d state helper(s)", stopped);
	return 0;
}

static char secrets[4096];

/* One read of `path` (as `shown`, by `how`): what it read goes into the report. */
static void try_read(const char *shown, const char *how, const char *path)
{
	char head[64];
	int r = read_head(path, head, sizeof(head));
	size_t n = strlen(secrets);

	fprintf(stderr, "read-secret: %s %s -> %s\n", shown, how, r ? strerror(-r) : "READ");
	if (!r)
		snprintf(secrets + n, sizeof(secrets) - n, "%s%s %s: %s", n ? "; " : "", shown, how, head);
}

/* Every 9p share's tag, mounted again where it can be (one that is in use answers EBUSY). */
static int mount_9p_shares(char mnts[][64], int max)
{
	DIR *d = opendir("/sys/bus/virtio/drivers/9pnet_virtio");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) && n < max) {
		char path[512], tag[256] = "";
		FILE *f;
		snprintf(path, sizeof(path), "/sys/bus/virtio/drivers/9pnet_virtio/%s/mount_tag", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(tag, sizeof(tag), f))
			tag[0] = 0;
		fclose(f);
		snprintf(mnts[n], 64, "/tmp/capmatrix-9p-%d", n);
		mkdir(mnts[n], 0700);
		if (*tag && !mount(tag, mnts[n], "9p", MS_RDONLY, "trans=virtio,version=9p2000.L")) {
			fprintf(stderr, "read-secret: mounted 9p share %s again\n", tag);
			n++;
		} else {
			fprintf(stderr, "read-secret: 9p share %s: %s\n", tag, strerror(errno));
			rmdir(mnts[n]);
		}
	}
	if (d)
		closedir(d);
	return n;
}

static int read_secret(int argc, char **argv)
{
	static char mnts[16][64];
	const char *peek = "/tmp/capmatrix-peek";
	char path[4096];
	int peeked, shares;

	mkdir(peek, 0700);
	/* not MS_REC: the guest's root as vng shares it, without the masks and overlays on top */
	peeked = !mount("/", peek, NULL, MS_BIND, NULL);
	fprintf(stderr, "read-secret: bind of / -> %s\n", peeked ? "mounted" : strerror(errno));
	shares = mount_9p_shares(mnts, 16);
	for (int i = 2; i < argc; i++) {
		try_read(argv[i], "directly", argv[i]);
		if (peeked) {
			snprintf(path, sizeof(path), "%s%s", peek, argv[i]);
			try_read(argv[i], "under a bind of /", path);
		}
		for (int s = 0; s < shares; s++) {
			snprintf(path, sizeof(path), "%s%s", mnts[s], argv[i]);
			try_read(argv[i], "in a 9p share mounted again", path);
		}
		/* whatever is mounted on the path or a directory above it, off (vng masks files so) */
		for (int tries = 0; tries < 8 && !umount2(argv[i], MNT_DETACH); tries++)
			try_read(argv[i], "after unmounting what was on it", argv[i]);
	}
	/* tidy: this fault is about what it can read, not what it leaves */
	for (int s = 0; s < shares; s++) {
		umount2(mnts[s], MNT_DETACH);
		rmdir(mnts[s]);
	}
	if (peeked)
		umount2(peek, MNT_DETACH);
	rmdir(peek);
	if (*secrets) {
		cm_result(0, "run", NULL, "READ %s", secrets);
		return 0;
	}
	cm_result(EACCES, "escape", NULL, "read none of %d host path(s)", argc - 2);
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
		kill(agent_pid(), SIGKILL);
		sleep(30);
		cm_result(0, "run", NULL, "the agent survived SIGKILL");
	} else if (!strcmp(mode, "leave-file") && argc > 2) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		cm_result(fd < 0 ? errno : 0, "run", NULL, "left %s", argv[2]);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(mode, "stop-agent")) {
		kill(agent_pid(), SIGSTOP);
		sleep(30);
		cm_result(0, "run", NULL, "the agent went on after SIGSTOP");
	} else if (!strcmp(mode, "kill-launcher")) {
		int r = kill(getppid(), SIGKILL) ? errno : 0;
		cm_result(r, "run", NULL, "SIGKILL to the launcher %d", (int)getppid());
	} else if (!strcmp(mode, "stop-helper")) {
		return stop_helper();
	} else if (!strcmp(mode, "disable-kprobes")) {
		return disable_kprobes();
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
	} else if (!strcmp(mode, "forge")) {
		return forge();
	} else if (!strcmp(mode, "read-secret")) {
		return read_secret(argc, argv);
	} else if (!strcmp(mode, "setsid-stdout")) {
		return leave_child(0);
	} else if (!strcmp(mode, "cgroup-escape")) {
		return leave_child(1);
	} else if (!strcmp(mode, "tamper-copy") || !strcmp(mode, "self-mode")) {
		struct stat st;
		int err = 0;
		if (!strcmp(mode, "tamper-copy") && chmod("/proc/self/exe", 0777))
			err = errno;
		if (!err && stat("/proc/self/exe", &st))
			err = errno;
		if (!err && !strcmp(mode, "self-mode") && (st.st_mode & 07777) != 0755)
			err = EPERM;
		cm_result(err, "run", NULL, "own executable: mode %o", err ? 0 : (unsigned)(st.st_mode & 07777));
	} else if (!strcmp(mode, "fork-many")) {
		return fork_many();
	} else if (!strcmp(mode, "alloc")) {
		return alloc_forever();
	} else if (!strcmp(mode, "bind-sysctl")) {
		return bind_sysctl();
	} else if (!strcmp(mode, "set-sysctl") && argc > 3) {
		return set_sysctl(argv[2], argv[3]);
	} else if (!strcmp(mode, "daemon")) {
		return leave_daemon();
	} else if (!strcmp(mode, "cgroup-drop")) {
		return cgroup_drop();
	} else if (!strcmp(mode, "udp")) {
		return udp_self();
	} else if (!strcmp(mode, "lo-down")) {
		return lo_down();
	} else if (!strcmp(mode, "flood") && argc > 2) {
		static char line[1024];
		long lines = atol(argv[2]) * 1024;
		memset(line, 'x', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\n';
		for (long i = 0; i < lines; i++)
			fwrite(line, 1, sizeof(line), stdout);
		cm_result(0, "run", NULL, "wrote %s MiB before this line", argv[2]);
	} else {
		fprintf(stderr, "fault: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}

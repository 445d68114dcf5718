// SPDX-License-Identifier: MIT
/* guest_init: the guest's PID 1 in place of virtme-ng's shell virtme-init (no BPF of its own).
 *
 * Why: Debian's virtme-ng ships the shell init, which runs ~90 programs (mount, grep, mkdir,
 * systemd-tmpfiles, ...) before the command; under TCG each exec re-reads its binary and libraries
 * over 9p (the root is mounted cache=none), ~10 s a boot. This makes the same mounts with system
 * calls and starts the command, from a root read through the page cache (enter_cached_root): the
 * boot reaches the agent in 7-9 s instead of ~33 s.
 *
 * How it is chosen: vng puts --append options before its own init=, and virtme's initramfs runs
 * the first init= it finds (mkinitramfs.py), so `--append init=<this file>` makes it PID 1 after
 * the initramfs mounted the host's root over 9p. A kernel booted without that initramfs takes the
 * last init= (vng's own) instead: the guest is then the one virtme-init makes.
 *
 * It reads what virtme-init reads: virtme_* variables (the kernel passes unknown a=b parameters to
 * init's environment) and the command, base64 in `virtme.exec=` on /proc/cmdline. It keeps what the
 * agent relies on: proc, sys, dev, tracefs, debugfs, securityfs, cgroup2, the same writable overlays
 * (uppers in /run/tmp/<tag>, as virtme-init makes them), devpts, /dev/shm, the --rwdir shares, lo
 * up, a HOME for root in /run. It leaves out systemd-tmpfiles, udev, the hostname file, and the
 * /etc overrides (no sudoers is written: nobody can sudo). It makes udev's one link that matters
 * (/dev/virtio-ports/<name>), so vng gets the command's real exit code. It never exits: the kernel
 * would panic; it powers the guest off when the command ends. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CMDLINE_MAX 65536

/* A line on the console through the kernel's log: there is no stdout yet. */
static void klog(const char *fmt, const char *a, const char *b)
{
	char line[512];
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	int n = snprintf(line, sizeof(line), "<5>guest_init: ");

	if (fd < 0)
		return;
	/* one write is one record of the kernel's log */
	n += snprintf(line + n, sizeof(line) - (size_t)n, fmt, a, b);
	if (write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

static void mount_or_say(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data))
		klog("mount %s on %s failed", type ? type : src, dst);
}

static void mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(buf, mode);
		*p = '/';
	}
	mkdir(buf, mode);
}

/* The first line of a small sysfs file into buf, without its newline; -1 when unreadable or empty. */
static int read_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return n > 0 ? 0 : -1;
}

/* capmatrix.root (harness/vm/vng-argv.ts): the root vng exports, exported a second time and made
 * the root here, mounted with the page cache (cache=loose). virtme's initramfs mounts vng's share
 * cache=none, so every exec read its binary and libraries over 9p again, at ~17 MB/s under TCG
 * (node alone: 2.4 s cold). The tree is read-only and does not change during a boot; the results
 * share stays cache=none. Done as switch_root does it: the mount moved onto / and chrooted into,
 * so the root is the namespace's top mount (unshare(CLONE_NEWUSER) refuses a chrooted caller).
 * Without the share the guest keeps vng's root. Returns what went wrong (no console yet: /dev is
 * mounted after), or NULL. */
static const char *enter_cached_root(void)
{
	static char problem[160];

	if (mount("capmatrix.root", "/run", "9p", MS_RDONLY,
		  "version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose")) {
		snprintf(problem, sizeof(problem), "no cached root (capmatrix.root): %s", strerror(errno));
		return problem;
	}
	if (chdir("/run") || mount(".", "/", NULL, MS_MOVE, NULL)) {
		snprintf(problem, sizeof(problem), "the cached root stays unused: %s", strerror(errno));
		if (chdir("/") || umount2("/run", MNT_DETACH))
			snprintf(problem, sizeof(problem), "the cached root is half made: %s", strerror(errno));
		return problem;
	}
	if (chroot(".") || chdir("/")) {
		snprintf(problem, sizeof(problem), "chroot into the cached root failed: %s", strerror(errno));
		return problem;
	}
	return NULL;
}

static void mount_kernel_filesystems(void)
{
	mount_or_say("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	mount_or_say("sys", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	mount_or_say("run", "/run", "tmpfs", 0, "mode=0755");
	mount_or_say("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
	mount_or_say("configfs", "/sys/kernel/config", "configfs", 0, NULL);
	mount_or_say("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount_or_say("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	mount_or_say("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	mount_or_say("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);
}

/* virtme_rw_overlayN=DIR: an overlay on DIR, its upper and work in /run/tmp/virtme_rw_overlayN.
 * The merged directory takes its mode and owner from the upper one, so the upper gets DIR's (a
 * 1777 /tmp stays 1777; virtme-init left that to systemd-tmpfiles). */
static void mount_overlays(void)
{
	mkdir("/run/tmp", 0755);
	for (char **e = environ; *e; e++) {
		char tag[64], upper[256], work[256], opts[4400];
		const char *eq = strchr(*e, '=');
		struct stat lower;

		if (strncmp(*e, "virtme_rw_overlay", 17) || !eq || eq - *e >= (long)sizeof(tag))
			continue;
		snprintf(tag, sizeof(tag), "%.*s", (int)(eq - *e), *e);
		snprintf(upper, sizeof(upper), "/run/tmp/%s/upper", tag);
		snprintf(work, sizeof(work), "/run/tmp/%s/work", tag);
		mkdir_p(upper, 0755);
		mkdir_p(work, 0755);
		if (!stat(eq + 1, &lower)) {
			chown(upper, lower.st_uid, lower.st_gid);
			chmod(upper, lower.st_mode & 07777);
		}
		snprintf(opts, sizeof(opts), "xino=off,lowerdir=%s,upperdir=%s,workdir=%s", eq + 1, upper, work);
		/* kernels without xino: the same without it */
		if (mount(tag, eq + 1, "overlay", 0, opts))
			mount_or_say(tag, eq + 1, "overlay", 0, opts + strlen("xino=off,"));
	}
}

static void mount_sys_filesystems(void)
{
	static const char *var_tmpfs[] = { "/var/log", "/var/tmp", "/var/cache" };

	mkdir("/dev/pts", 0755);
	mkdir("/dev/shm", 0755);
	mount_or_say("devpts", "/dev/pts", "devpts", MS_NOEXEC | MS_NOSUID, "gid=5,mode=620");
	mount_or_say("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	for (size_t i = 0; i < sizeof(var_tmpfs) / sizeof(var_tmpfs[0]); i++)
		if (!access(var_tmpfs[i], F_OK))
			mount_or_say("tmpfs", var_tmpfs[i], "tmpfs", 0, NULL);
}

/* virtme_initmountN=PATH: vng's --rwdir/--rodir share with the 9p tag virtme.initmountN. */
static void mount_shares(void)
{
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		char tag[64];

		if (strncmp(*e, "virtme_initmount", 16) || !eq)
			continue;
		snprintf(tag, sizeof(tag), "virtme.initmount%.*s", (int)(eq - *e - 16), *e + 16);
		mkdir_p(eq + 1, 0755);
		mount_or_say(tag, eq + 1, "9p", 0, "version=9p2000.L,trans=virtio,access=any,msize=524288");
	}
}

/* Every other 9p share vng exports (its cache, rw; its guest tools and busybox, ro), mounted as
 * vng's own init script mounts them, at /run/virtme/<name>: a share left unmounted is one a cell
 * with CAP_SYS_ADMIN could mount for itself (a mounted one answers EBUSY). */
static void mount_vng_shares(void)
{
	DIR *d = opendir("/sys/bus/virtio/drivers/9pnet_virtio");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[512], tag[128], dir[256];

		snprintf(path, sizeof(path), "/sys/bus/virtio/drivers/9pnet_virtio/%s/mount_tag", e->d_name);
		if (read_line(path, tag, sizeof(tag)) || strncmp(tag, "virtme.", 7) ||
		    !strncmp(tag, "virtme.initmount", 16))
			continue;
		snprintf(dir, sizeof(dir), "/run/virtme/%s", tag + 7);
		mkdir_p(dir, 0755);
		mount_or_say(tag, dir, "9p", strcmp(tag, "virtme.cache") ? MS_RDONLY : 0,
			     "version=9p2000.L,trans=virtio,access=any,msize=524288");
	}
	if (d)
		closedir(d);
}

/* What udev would make for vng's ports: /dev/virtio-ports/<name> -> ../vportNpM. */
static void link_virtio_ports(void)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;

	if (!d)
		return;
	mkdir("/dev/virtio-ports", 0755);
	while ((e = readdir(d))) {
		char path[512], name[256], link[512], target[512];

		if (strncmp(e->d_name, "vport", 5))
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
		if (read_line(path, name, sizeof(name)))
			continue;
		snprintf(link, sizeof(link), "/dev/virtio-ports/%s", name);
		snprintf(target, sizeof(target), "../%s", e->d_name);
		symlink(target, link);
	}
	closedir(d);
}

static void lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/* Standard base64 up to the closing backquote; returns the decoded length. */
static size_t base64_decode(const char *in, char *out, size_t max)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in && *in != '`' && n < max - 1; in++) {
		const char *p = strchr(alphabet, *in);

		if (!p || !*in)
			continue;
		acc = (acc << 6) | (unsigned int)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = 0;
	return n;
}

/* The command vng was given, or NULL. */
static const char *command(void)
{
	static char cmdline[CMDLINE_MAX], script[CMDLINE_MAX];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;
	const char *start;

	if (fd >= 0)
		close(fd);
	cmdline[n > 0 ? n : 0] = 0;
	start = strstr(cmdline, "virtme.exec=`");
	if (!start)
		return NULL;
	base64_decode(start + strlen("virtme.exec=`"), script, sizeof(script));
	return script;
}

/* The command's environment: PATH, HOME, and none of vng's virtme_* parameters. */
static void command_environment(void)
{
	for (char **e = environ; *e;) {
		char name[128];

		if (strncmp(*e, "virtme_", 7)) {
			e++;
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
		unsetenv(name);
	}
	/* not over /root: a project under /root is shared there */
	mkdir("/run/tmp/roothome", 0700);
	setenv("HOME", "/run/tmp/roothome", 1);
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
}

/* Runs the command in a session of its own on the console; reaps every orphan meanwhile (PID 1)
 * and returns the command's exit code. */
static int run_command(const char *script)
{
	int status = 0;
	pid_t child = fork();

	if (child == 0) {
		int tty = open("/dev/ttyS0", O_RDWR);

		setsid();
		if (tty >= 0) {
			ioctl(tty, TIOCSCTTY, 1);
			dup2(tty, 0);
			dup2(tty, 1);
			dup2(tty, 2);
			if (tty > 2)
				close(tty);
		}
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t w = wait(&status);

		if (w == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (w < 0 && errno == ECHILD)
			return 127;
	}
}

int main(void)
{
	const char *script, *value, *problem;
	char code[16];
	int fd;

	problem = enter_cached_root();
	mount_kernel_filesystems();
	if (problem)
		klog("%s%s", problem, "");
	if ((value = getenv("virtme_hostname")))
		sethostname(value, strlen(value));
	if ((value = getenv("nr_open")) && (fd = open("/proc/sys/fs/nr_open", O_WRONLY | O_CLOEXEC)) >= 0) {
		dprintf(fd, "%s\n", value);
		close(fd);
	}
	mount_overlays();
	mount_sys_filesystems();
	mount_shares();
	mount_vng_shares();
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
	link_virtio_ports();
	lo_up();
	script = command();
	if (script) {
		command_environment();
		klog("starting the command%s%s", "", "");
		snprintf(code, sizeof(code), "%d", run_command(script));
		klog("the command returned %s%s", code, "");
		fd = open("/dev/virtio-ports/virtme.ret", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dprintf(fd, "%s", code);
			close(fd);
		}
	} else {
		klog("no virtme.exec= on the kernel command line%s%s", "", "");
	}
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

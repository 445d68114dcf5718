// SPDX-License-Identifier: MIT
/* state_watch: the guest agent's long-lived reader of the guest's global state (no BPF program of
 * its own). For each line on stdin it reads every part again and prints, for each part that
 * changed since its last answer (all of them the first time), "@part" and the part's lines; the
 * sysctls part holds only the sysctls that changed ("name<TAB>value", whitespace folded). An empty
 * line ends the answer. Parts:
 *   sysctl      every readable sysctl under PROC/sys/{kernel,net/core,vm,user}, opened once
 *               (pread at offset 0 asks the kernel anew), except the names given with -x
 *   mounts      PROC/self/mountinfo
 *   modules     the names in PROC/modules
 *   pids        the numeric entries of PROC
 *   fib_trie, if_inet6, route, ipv6_route   PROC/net/<part>
 *   link        lo's flags, mtu and XDP program (rtnetlink)
 *   qdisc       lo's qdiscs: "qdisc KIND HANDLE: parent PARENT" (rtnetlink)
 *   bpf         every BPF program, map and link the kernel holds: "prog ID TYPE NAME",
 *               "map ID TYPE NAME", "link ID TYPE prog PROG_ID"
 *   cgroup      the programs attached to each cgroup given with -c: "DIR type ATTACH_TYPE ID..."
 *   cost        sent every time: when the question came and the answer left (CLOCK_MONOTONIC ns)
 *               and what each group of parts took between: "recv NS sysctl US ... sent NS"
 * A line "detach DIR ATTACH_TYPE PROG_ID" first detaches that program from that cgroup.
 * A line "reap UID" is answered apart, with "@reaped" and the pid of every process whose real,
 * effective or saved uid is UID, each killed (SIGKILL) first: the cells' uid, after each cell,
 * wherever its processes went. A process found not of the uid is not read again while its
 * /proc directory keeps its inode (procfs gives every new process a new one, on a reused pid
 * too) and is not owned by the uid (it is while the process is dumpable).
 * A line "watch PATH<TAB>PATH..." adds files to watch, each with its identity now (lstat, and stat
 * for a link: device, inode, mode, owner, size, mtime and ctime to the nanosecond), answered "@watched" (and
 * "error REASON" when one could not be added); "changed" is answered with "@changed" and every
 * watched path whose identity is not that any more (gone included), each said once and then no
 * longer watched: the agent's sample copies and root tools, after each cell, where node's stat of
 * each cost ~8 ms a cell under TCG.
 * One process and a few syscalls a part: under TCG an exec costs tens of milliseconds, and
 * node's reads of ~240 files hundreds.
 * With -f DIR the questions and answers go through two FIFOs it makes there, DIR/question and
 * DIR/answer (mode 0600), once it printed "ready" on stdout: the agent opens them without
 * O_NONBLOCK and waits for an answer in read(2), not in its event loop (about 3 ms less a round
 * trip under TCG).
 * Usage: state_watch [-f FIFO_DIR] [-c CGROUP_DIR]... [-x EXCLUDED_SYSCTL]... PROC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "helper_fifos.h"

#define MAX_SYSCTLS 4096
#define VALUE_MAX 4096
#define MAX_CGROUPS 16
#define MAX_EXCLUDED 64
#define PART_MAX (1 << 20)

struct sysctl {
	int fd;
	char *name;
	char *value;
};

static struct sysctl sysctls[MAX_SYSCTLS];
static int n_sysctls;
static const char *excluded[MAX_EXCLUDED];
static int n_excluded;
static const char *cgroup_dirs[MAX_CGROUPS];
static int cgroup_fds[MAX_CGROUPS];
static int n_cgroups;
/* attach types the kernel refused to query on a cgroup (EINVAL): not asked again */
static unsigned char not_cgroup_type[__MAX_BPF_ATTACH_TYPE];
static const char *proc;
static int rtnl = -1;
static int lo_index;

/* A part's text: built into `now`, printed when it differs from `last`. */
struct part {
	const char *name;
	char *last;
	char *now;
	size_t len;
};

static void part_add(struct part *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void part_add(struct part *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->len >= PART_MAX - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->now + p->len, PART_MAX - p->len, fmt, ap);
	va_end(ap);
	p->len = n < 0 ? p->len : p->len + (size_t)n >= PART_MAX ? PART_MAX - 1 : p->len + (size_t)n;
}

/* Prints the part when it changed; its lines never empty (an empty line ends the answer). */
static void part_emit(struct part *p)
{
	p->now[p->len] = 0;
	if (p->last && !strcmp(p->last, p->now)) {
		p->len = 0;
		return;
	}
	printf("@%s\n", p->name);
	for (char *line = p->now, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (end > line)
			printf("%.*s\n", (int)(end - line), line);
		if (!*end)
			break;
	}
	free(p->last);
	p->last = strdup(p->now);
	p->len = 0;
}

/* Reads fd from offset 0 into out (VALUE_MAX), whitespace folded; -1 when unreadable. */
static int read_folded(int fd, char *out)
{
	static char raw[VALUE_MAX];
	ssize_t n = pread(fd, raw, sizeof(raw) - 1, 0);
	int o = 0, space = 0;

	if (n < 0)
		return -1;
	for (ssize_t i = 0; i < n; i++) {
		if (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n') {
			space = o > 0;
			continue;
		}
		if (space && o < VALUE_MAX - 2)
			out[o++] = ' ';
		space = 0;
		if (o < VALUE_MAX - 1)
			out[o++] = raw[i];
	}
	out[o] = 0;
	return 0;
}

static int is_excluded(const char *name)
{
	for (int i = 0; i < n_excluded; i++)
		if (!strcmp(excluded[i], name))
			return 1;
	return 0;
}

static void open_sysctls(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && n_sysctls < MAX_SYSCTLS) {
		char path[4096], child[1024], value[VALUE_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(child, sizeof(child), "%s.%s", name, e->d_name);
		if (e->d_type == DT_DIR) {
			open_sysctls(path, child);
			continue;
		}
		if (is_excluded(child))
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (read_folded(fd, value)) {
			close(fd);
			continue;
		}
		sysctls[n_sysctls].fd = fd;
		sysctls[n_sysctls].name = strdup(child);
		sysctls[n_sysctls].value = NULL;
		n_sysctls++;
	}
	closedir(d);
}

static void read_sysctls(void)
{
	static char value[VALUE_MAX];
	int header = 0;

	for (int i = 0; i < n_sysctls; i++) {
		if (read_folded(sysctls[i].fd, value))
			continue;
		if (sysctls[i].value && !strcmp(sysctls[i].value, value))
			continue;
		free(sysctls[i].value);
		sysctls[i].value = strdup(value);
		if (!header++)
			printf("@sysctl\n");
		printf("%s\t%s\n", sysctls[i].name, value);
	}
}

/* A whole procfs file into the part (a seq_file answers anew on each open). */
static void read_file(struct part *p, const char *rel)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", proc, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		part_add(p, "unreadable: %s\n", strerror(errno));
		return;
	}
	while (p->len < PART_MAX - 1 && (n = read(fd, p->now + p->len, PART_MAX - 1 - p->len)) > 0)
		p->len += (size_t)n;
	close(fd);
}

static void read_modules(struct part *p)
{
	static char text[PART_MAX];
	struct part raw = { .now = text };

	read_file(&raw, "modules");
	text[raw.len] = 0;
	if (!strncmp(text, "unreadable:", 11)) {
		part_add(p, "%s", text);
		return;
	}
	for (char *line = text, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			break;
		part_add(p, "%.*s\n", (int)strcspn(line, " \n"), line);
	}
}

static void read_pids(struct part *p)
{
	DIR *d = opendir(proc);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			part_add(p, "%s\n", e->d_name);
	closedir(d);
}

/* One rtnetlink request; calls each(nlmsghdr) for every answer until DONE or the reply of a
 * non-dump request. */
static int rtnl_ask(void *req, size_t len, void (*each)(struct nlmsghdr *, struct part *), struct part *p)
{
	static char buf[1 << 16];
	struct nlmsghdr *h = req;
	int dump = h->nlmsg_flags & NLM_F_DUMP;

	h->nlmsg_seq++;
	if (send(rtnl, req, len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(rtnl, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *m = (void *)buf; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n)) {
			if (m->nlmsg_seq != h->nlmsg_seq)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(m))->error;
			each(m, p);
			if (!dump)
				return 0;
		}
	}
}

static void each_link(struct nlmsghdr *m, struct part *p)
{
	struct ifinfomsg *ifi = NLMSG_DATA(m);
	int len = (int)IFLA_PAYLOAD(m);
	unsigned mtu = 0, xdp_mode = 0, xdp_prog = 0;

	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_MTU)
			mtu = *(unsigned *)RTA_DATA(a);
		if (a->rta_type != IFLA_XDP)
			continue;
		int xlen = (int)RTA_PAYLOAD(a);
		for (struct rtattr *x = RTA_DATA(a); RTA_OK(x, xlen); x = RTA_NEXT(x, xlen)) {
			if (x->rta_type == IFLA_XDP_ATTACHED)
				xdp_mode = *(unsigned char *)RTA_DATA(x);
			if (x->rta_type == IFLA_XDP_PROG_ID)
				xdp_prog = *(unsigned *)RTA_DATA(x);
		}
	}
	part_add(p, "flags 0x%x mtu %u xdp %u prog %u\n", ifi->ifi_flags, mtu, xdp_mode, xdp_prog);
}

static void read_link(struct part *p)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST },
		  .i = { .ifi_family = AF_UNSPEC, .ifi_index = lo_index } };
	int err = rtnl < 0 ? -EBADF : rtnl_ask(&req, sizeof(req), each_link, p);

	if (err)
		part_add(p, "unreadable: %s\n", strerror(-err));
}

static void handle_text(char *out, size_t len, unsigned h)
{
	if (h == TC_H_ROOT)
		snprintf(out, len, "root");
	else if (h == TC_H_INGRESS)
		snprintf(out, len, "ingress");
	else
		snprintf(out, len, "%x:%x", TC_H_MAJ(h) >> 16, TC_H_MIN(h));
}

static void each_qdisc(struct nlmsghdr *m, struct part *p)
{
	struct tcmsg *t = NLMSG_DATA(m);
	int len = (int)(m->nlmsg_len - NLMSG_LENGTH(sizeof(*t)));
	const char *kind = "?";
	char parent[32];

	if (t->tcm_ifindex != lo_index)
		return;
	for (struct rtattr *a = (void *)((char *)t + NLMSG_ALIGN(sizeof(*t))); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == TCA_KIND)
			kind = RTA_DATA(a);
	handle_text(parent, sizeof(parent), t->tcm_parent);
	part_add(p, "qdisc %s %x: parent %s\n", kind, TC_H_MAJ(t->tcm_handle) >> 16, parent);
}

static void read_qdiscs(struct part *p)
{
	struct {
		struct nlmsghdr h;
		struct tcmsg t;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETQDISC, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		  .t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = lo_index } };
	int err = rtnl < 0 ? -EBADF : rtnl_ask(&req, sizeof(req), each_qdisc, p);

	if (err)
		part_add(p, "unreadable: %s\n", strerror(-err));
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* The fd of object `id` (BPF_*_GET_FD_BY_ID), or -1 when it went meanwhile. */
static int fd_by_id(int cmd, __u32 id)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_id = id; /* prog_id, map_id and link_id share the slot */
	return sys_bpf(cmd, &a);
}

static int info_of(int fd, void *info, __u32 len)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (__u32)fd;
	a.info.info_len = len;
	a.info.info = (__u64)(uintptr_t)info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

/* "prog ID type T NAME", "map ID type T NAME", "link ID type T prog P"; the id alone when the
 * object went meanwhile. The kernel reads as much of the union as its own struct for that kind
 * and wants the rest zero. */
static void describe(struct part *p, const char *kind, __u32 id, int fd)
{
	union {
		struct bpf_prog_info prog;
		struct bpf_map_info map;
		struct bpf_link_info link;
	} info;

	memset(&info, 0, sizeof(info));
	if (fd < 0 || info_of(fd, &info, sizeof(info)))
		part_add(p, "%s %u\n", kind, id);
	else if (!strcmp(kind, "prog"))
		part_add(p, "prog %u type %u %s\n", id, info.prog.type, info.prog.name);
	else if (!strcmp(kind, "map"))
		part_add(p, "map %u type %u %s\n", id, info.map.type, info.map.name);
	else
		part_add(p, "link %u type %u prog %u\n", id, info.link.type, info.link.prog_id);
}

/* Every id of one kind of object, in order, each described by describe(). */
static void each_id(struct part *p, const char *kind, int next_cmd, int fd_cmd)
{
	union bpf_attr a;
	__u32 id = 0;

	for (;;) {
		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(next_cmd, &a)) {
			if (errno != ENOENT)
				part_add(p, "unreadable (%d): %s\n", next_cmd, strerror(errno));
			return;
		}
		id = a.next_id;
		int fd = fd_by_id(fd_cmd, id);
		describe(p, kind, id, fd);
		if (fd >= 0)
			close(fd);
	}
}

static void read_bpf(struct part *p)
{
	each_id(p, "prog", BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID);
	each_id(p, "map", BPF_MAP_GET_NEXT_ID, BPF_MAP_GET_FD_BY_ID);
	each_id(p, "link", BPF_LINK_GET_NEXT_ID, BPF_LINK_GET_FD_BY_ID);
}

static void read_cgroups(struct part *p)
{
	__u32 ids[64];
	union bpf_attr a;

	for (int c = 0; c < n_cgroups; c++) {
		if (cgroup_fds[c] < 0) {
			part_add(p, "%s unreadable\n", cgroup_dirs[c]);
			continue;
		}
		for (int t = 0; t < __MAX_BPF_ATTACH_TYPE; t++) {
			if (not_cgroup_type[t])
				continue;
			memset(&a, 0, sizeof(a));
			a.query.target_fd = (__u32)cgroup_fds[c];
			a.query.attach_type = (__u32)t;
			a.query.prog_ids = (__u64)(uintptr_t)ids;
			a.query.prog_cnt = 64;
			if (sys_bpf(BPF_PROG_QUERY, &a)) {
				if (errno == EINVAL)
					not_cgroup_type[t] = 1;
				else if (errno != ENOSPC)
					part_add(p, "%s type %d unreadable: %s\n", cgroup_dirs[c], t, strerror(errno));
				continue;
			}
			if (!a.query.prog_cnt)
				continue;
			part_add(p, "%s type %d", cgroup_dirs[c], t);
			for (__u32 i = 0; i < a.query.prog_cnt && i < 64; i++)
				part_add(p, " %u", ids[i]);
			part_add(p, "\n");
		}
	}
}

/* "detach CGROUP_DIR ATTACH_TYPE PROG_ID": the agent's undo of a program a cell attached to a
 * cgroup it watches; "@detach" and 0 or the errno, before the answer. */
static void detach(const char *line)
{
	char dir[4096];
	unsigned type, id;
	union bpf_attr a;
	int err = EINVAL;

	if (sscanf(line, "detach %4095s %u %u", dir, &type, &id) == 3)
		for (int c = 0; c < n_cgroups; c++) {
			if (strcmp(cgroup_dirs[c], dir) || cgroup_fds[c] < 0)
				continue;
			int fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, id);
			if (fd < 0) {
				err = errno;
				break;
			}
			memset(&a, 0, sizeof(a));
			a.target_fd = (__u32)cgroup_fds[c];
			a.attach_bpf_fd = (__u32)fd;
			a.attach_type = type;
			err = sys_bpf(BPF_PROG_DETACH, &a) ? errno : 0;
			close(fd);
			break;
		}
	printf("@detach\n%d\n", err);
}

#define CLEARED_MAX 16384

/* Processes found not of the uid asked for: pid and the inode of their /proc directory, as of
 * the last "reap" (a pid gone since is dropped). */
struct cleared {
	int pid;
	ino_t ino;
};
static struct cleared cleared[2][CLEARED_MAX];
static int n_cleared[2], last_cleared;

static int was_cleared(int pid, ino_t ino)
{
	for (int i = 0; i < n_cleared[last_cleared]; i++)
		if (cleared[last_cleared][i].pid == pid)
			return cleared[last_cleared][i].ino == ino;
	return 0;
}

/* 1 when one of the real, effective and saved uids in <pid>/status is uid; -1 when unreadable
 * (gone, or a kernel thread's has them all 0 and is read). */
static int of_uid(int dfd, int pid, uid_t uid)
{
	char file[64], buf[4096];
	unsigned long ids[3];

	snprintf(file, sizeof(file), "%d/status", pid);
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *at = strstr(buf, "\nUid:");
	if (!at || sscanf(at + 5, "%lu %lu %lu", &ids[0], &ids[1], &ids[2]) != 3)
		return -1;
	return ids[0] == uid || ids[1] == uid || ids[2] == uid;
}

/* "reap UID": see the top. */
static void reap(const char *line)
{
	unsigned long uid;
	int next = !last_cleared;
	DIR *d;
	struct dirent *e;

	n_cleared[next] = 0;
	int asked = sscanf(line, "reap %lu", &uid) == 1;
	if (!asked || !(d = opendir(proc))) {
		printf("@reaped\nerror %s\n\n", asked ? strerror(errno) : "malformed");
		fflush(stdout);
		return;
	}
	printf("@reaped\n");
	while ((e = readdir(d))) {
		struct stat st;
		int pid = atoi(e->d_name);

		if (pid <= 0 || fstatat(dirfd(d), e->d_name, &st, 0))
			continue;
		if (st.st_uid != uid && was_cleared(pid, st.st_ino)) {
			if (n_cleared[next] < CLEARED_MAX)
				cleared[next][n_cleared[next]++] = (struct cleared){ pid, st.st_ino };
			continue;
		}
		int of = of_uid(dirfd(d), pid, (uid_t)uid);
		if (of > 0) {
			kill(pid, SIGKILL);
			printf("%d\n", pid);
		} else if (of == 0 && n_cleared[next] < CLEARED_MAX)
			cleared[next][n_cleared[next]++] = (struct cleared){ pid, st.st_ino };
	}
	closedir(d);
	last_cleared = next;
	printf("\n");
	fflush(stdout);
}

#define WATCH_MAX 4096
#define IDENTITY_MAX 256

/* The files given with "watch": the path, its identity then; NULL path once said changed. */
static struct watched {
	char *path;
	char id[IDENTITY_MAX];
} watched[WATCH_MAX];
static int n_watched;

static int stat_text(const struct stat *st, char *out, size_t n)
{
	return snprintf(out, n, "%llu:%llu:%o:%u:%u:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st->st_dev,
			(unsigned long long)st->st_ino, st->st_mode, st->st_uid, st->st_gid, (long long)st->st_size,
			(long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
			st->st_ctim.tv_nsec);
}

/* The path's identity, and when it is a symbolic link the identity of what it leads to too
 * ("missing" when either cannot be had): one lstat for a file or a directory. */
static void identity(const char *path, char *out, size_t n)
{
	struct stat link, file;

	if (lstat(path, &link)) {
		snprintf(out, n, "missing");
		return;
	}
	int at = stat_text(&link, out, n);
	if (!S_ISLNK(link.st_mode))
		return;
	if (stat(path, &file)) {
		snprintf(out, n, "missing");
		return;
	}
	out[at++] = ' ';
	stat_text(&file, out + at, n - (size_t)at);
}

/* "watch PATH<TAB>PATH...": see the top. */
static void watch(char *line)
{
	const char *error = NULL;

	line[strcspn(line, "\n")] = 0;
	for (char *path = strtok(line + 6, "\t"); path; path = strtok(NULL, "\t")) {
		if (n_watched == WATCH_MAX) {
			error = "too many files watched";
			break;
		}
		struct watched *w = &watched[n_watched++];
		w->path = strdup(path);
		identity(path, w->id, sizeof(w->id));
	}
	printf("@watched\n");
	if (error)
		printf("error %s\n", error);
	printf("\n");
	fflush(stdout);
}

/* "changed": see the top. */
static void changed(void)
{
	char now[IDENTITY_MAX];

	printf("@changed\n");
	for (int i = 0; i < n_watched; i++) {
		if (!watched[i].path)
			continue;
		identity(watched[i].path, now, sizeof(now));
		if (!strcmp(now, watched[i].id))
			continue;
		printf("%s\n", watched[i].path);
		free(watched[i].path);
		watched[i].path = NULL;
	}
	printf("\n");
	fflush(stdout);
}

/* What each group of parts cost this answer ("sysctl 812 proc 230 ..." in microseconds): the
 * "@cost" part, sent with every answer. */
static char costs[256];
static struct timespec cost_t;

static long long monotonic_ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* The answer's start; "recv NS" in the cost line (CLOCK_MONOTONIC, node's hrtime clock). */
static void cost_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &cost_t);
	snprintf(costs, sizeof(costs), "recv %lld", monotonic_ns(&cost_t));
}

static void cost(const char *what)
{
	struct timespec now;
	size_t n = strlen(costs);

	clock_gettime(CLOCK_MONOTONIC, &now);
	long us = (now.tv_sec - cost_t.tv_sec) * 1000000L + (now.tv_nsec - cost_t.tv_nsec) / 1000;
	snprintf(costs + n, sizeof(costs) - n, " %s %ld", what, us);
	cost_t = now;
}

/* Makes DIR/question and DIR/answer, says "ready", and takes them as stdin and stdout (each
 * open waits for the agent's). */
static struct part *new_part(const char *name)
{
	struct part *p = calloc(1, sizeof(*p));
	p->name = name;
	p->now = malloc(PART_MAX);
	return p;
}

int main(int argc, char **argv)
{
	static const char *trees[][2] = { { "kernel", "kernel" }, { "net/core", "net.core" }, { "vm", "vm" }, { "user", "user" } };
	static const char *net_files[] = { "fib_trie", "if_inet6", "route", "ipv6_route" };
	struct part *mounts = new_part("mounts"), *modules = new_part("modules"), *pids = new_part("pids");
	struct part *net[4], *link = new_part("link"), *qdisc = new_part("qdisc");
	struct part *bpf = new_part("bpf"), *cgroup = new_part("cgroup");
	char line[8192], dir[4096];
	int opt;

	const char *fifo_dir = NULL;

	while ((opt = getopt(argc, argv, "f:c:x:")) != -1) {
		if (opt == 'f')
			fifo_dir = optarg;
		else if (opt == 'c' && n_cgroups < MAX_CGROUPS) {
			cgroup_dirs[n_cgroups] = optarg;
			cgroup_fds[n_cgroups++] = open(optarg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		} else if (opt == 'x' && n_excluded < MAX_EXCLUDED)
			excluded[n_excluded++] = optarg;
		else {
			fprintf(stderr, "usage: state_watch [-f FIFO_DIR] [-c CGROUP_DIR]... [-x EXCLUDED_SYSCTL]... PROC\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: state_watch [-f FIFO_DIR] [-c CGROUP_DIR]... [-x EXCLUDED_SYSCTL]... PROC\n");
		return 2;
	}
	proc = argv[optind];
	if (fifo_dir && use_fifos("state_watch", fifo_dir))
		return 1;
	for (size_t t = 0; t < sizeof(trees) / sizeof(trees[0]); t++) {
		snprintf(dir, sizeof(dir), "%s/sys/%s", proc, trees[t][0]);
		open_sysctls(dir, trees[t][1]);
	}
	for (int i = 0; i < 4; i++)
		net[i] = new_part(net_files[i]);
	rtnl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	lo_index = (int)if_nametoindex("lo");
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "reap ", 5)) {
			reap(line);
			continue;
		}
		if (!strncmp(line, "watch ", 6)) {
			watch(line);
			continue;
		}
		if (!strcmp(line, "changed\n")) {
			changed();
			continue;
		}
		if (!strncmp(line, "detach ", 7))
			detach(line);
		cost_start();
		read_sysctls();
		cost("sysctl");
		read_file(mounts, "self/mountinfo");
		part_emit(mounts);
		read_modules(modules);
		part_emit(modules);
		read_pids(pids);
		part_emit(pids);
		cost("proc");
		for (int i = 0; i < 4; i++) {
			char rel[64];
			snprintf(rel, sizeof(rel), "net/%s", net_files[i]);
			read_file(net[i], rel);
			part_emit(net[i]);
		}
		cost("net");
		read_link(link);
		part_emit(link);
		read_qdiscs(qdisc);
		part_emit(qdisc);
		cost("rtnl");
		read_bpf(bpf);
		part_emit(bpf);
		read_cgroups(cgroup);
		part_emit(cgroup);
		cost("bpf");
		printf("@cost\n%s sent %lld\n\n", costs, monotonic_ns(&cost_t));
		fflush(stdout);
	}
	return 0;
}

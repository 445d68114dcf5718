// SPDX-License-Identifier: MIT
/* cap_watch: the agent's recorder of a cell's capability checks (cap_watch.bpf.c). Started once
 * per boot, as root, before the first cell. Once loaded and attached it makes the FIFOs
 * DIR/question and DIR/answer (mode 0600), prints "ready" on stdout and from then on reads one
 * question a line from the first and writes each answer, ended by an empty line, to the second
 * (guest/fifo-helper.ts); a failure to start is said on stderr, with exit status 1.
 *   "arm CGID COMM"  count the checks of cgroup CGID from the exec of COMM on  -> "armed CGID"
 *                    (without it, from the first exec in the cgroup on: a sample's launcher)
 *   "take CGID"      the cell's checks, then forgets them:
 *                    "check CAP FLAGS COUNT FIRST FRAME..." per (capability, flags, stack), FLAGS
 *                    as in cap_watch.bpf.c, FRAME a kernel symbol (the caller of cap_capable first),
 *                    "exec 0|1" (whether COMM's exec was seen), "lost N" (checks the map had no room
 *                    for, this boot), "canary ok|failed" (a check of its own, made just now, was
 *                    counted: the probe is still attached).
 * Usage: cap_watch -f DIR */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cap_watch.h"
#include "cap_watch.skel.h"
#include "helper_fifos.h"

struct sym {
	unsigned long long addr;
	char *name;
};

static struct sym *syms;
static size_t n_syms;

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The kernel's text symbols, read once, at the first take (root sees the addresses; ~0.4 s
 * under TCG, so not at the boot's start). */
static void load_syms(void)
{
	size_t cap = 0, len = 0, size = 1 << 24;
	char *text = malloc(size);
	int fd = open("/proc/kallsyms", O_RDONLY);
	ssize_t n;

	if (!text || fd < 0)
		return;
	/* read whole (a seq_file: many short reads), then parsed in place */
	while ((n = read(fd, text + len, size - len - 1)) > 0) {
		len += (size_t)n;
		if (size - len < 4096 && !(text = realloc(text, size *= 2)))
			exit(1);
	}
	close(fd);
	text[len] = 0;
	for (char *line = text, *end; line < text + len; line = end + 1) {
		char *type, *name;
		end = strchr(line, '\n');
		if (!end)
			break;
		*end = 0;
		/* "ADDR TYPE NAME[\t[MODULE]]" */
		type = strchr(line, ' ');
		if (!type || (type[1] != 't' && type[1] != 'T') || type[2] != ' ')
			continue;
		name = type + 3;
		name[strcspn(name, "\t")] = 0;
		if (n_syms == cap) {
			cap = cap ? cap * 2 : 65536;
			syms = realloc(syms, cap * sizeof(*syms));
			if (!syms)
				exit(1);
		}
		syms[n_syms].addr = strtoull(line, NULL, 16);
		syms[n_syms++].name = name;
	}
	qsort(syms, n_syms, sizeof(*syms), by_addr);
}

static const char *symbol(unsigned long long addr)
{
	size_t lo = 0, hi = n_syms;

	if (!syms)
		load_syms();
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return n_syms && syms[lo].addr <= addr ? syms[lo].name : "?";
}

static __u64 counter(struct cap_watch_bpf *skel, __u32 which)
{
	__u64 v = 0;

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &which, &v);
	return v;
}

/* A capability check of its own: setting the hostname it already has asks for CAP_SYS_ADMIN. */
static int canary(struct cap_watch_bpf *skel)
{
	struct utsname u;
	__u64 before = counter(skel, 1);

	if (uname(&u) || sethostname(u.nodename, strlen(u.nodename)))
		return 0;
	return counter(skel, 1) > before;
}

#define BATCH 1024

static void print_check(const struct check_key *key, const struct check_count *count)
{
	printf("check %u %u %llu %llu", key->cap, key->flags, (unsigned long long)count->count,
	       (unsigned long long)count->first);
	/* frame 0 is cap_capable itself */
	for (int i = 1; i < STACK_DEPTH && key->stack[i]; i++)
		printf(" %s", symbol(key->stack[i]));
	printf("\n");
}

/* Every check in the map, taken out in batches (one cell runs at a time: what belongs to another
 * cgroup is a left-over of an earlier cell and is dropped). */
static void take(struct cap_watch_bpf *skel, __u64 cgroup)
{
	static struct check_key keys[BATCH];
	static struct check_count counts[BATCH];
	int checks = bpf_map__fd(skel->maps.checks), armed = bpf_map__fd(skel->maps.armed);
	struct armed a = {};
	int ok = canary(skel);
	__u64 in = 0, out = 0;
	int first = 1;

	for (;;) {
		__u32 n = BATCH;
		int err = bpf_map_lookup_and_delete_batch(checks, first ? NULL : &in, &out, keys, counts, &n, NULL);
		if (err && errno != ENOENT)
			break;
		for (__u32 i = 0; i < n; i++)
			if (keys[i].cgroup == cgroup)
				print_check(&keys[i], &counts[i]);
		if (err)
			break;
		in = out;
		first = 0;
	}
	/* every armed cgroup goes too: one a cell's process made and exec'd in must not stay */
	for (int first_armed = 1;;) {
		static __u64 ids[BATCH];
		static struct armed states[BATCH];
		__u32 n = BATCH;
		int err = bpf_map_lookup_and_delete_batch(armed, first_armed ? NULL : &in, &out, ids, states, &n, NULL);
		if (err && errno != ENOENT)
			break;
		for (__u32 i = 0; i < n; i++)
			if (ids[i] == cgroup)
				a = states[i];
		if (err)
			break;
		in = out;
		first_armed = 0;
	}
	printf("exec %u\nlost %llu\ncanary %s\n", a.exec_seen, (unsigned long long)counter(skel, 2),
	       ok ? "ok" : "failed");
}

int main(int argc, char **argv)
{
	struct cap_watch_bpf *skel;
	char line[256], comm[64];
	unsigned long long cgroup;
	int err;

	if (argc != 3 || strcmp(argv[1], "-f")) {
		fprintf(stderr, "usage: cap_watch -f DIR\n");
		return 2;
	}
	skel = cap_watch_bpf__open();
	if (!skel) {
		fprintf(stderr, "cap_watch: open: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->canary_tgid = (__u32)getpid();
	err = cap_watch_bpf__load(skel);
	/* the kretprobe first: a kprobe added later at the same address runs first, before the
	 * kretprobe swaps the return address for its trampoline (which 5.10's unwinder stops at) */
	if (!err && !(skel->links.on_answer = bpf_program__attach(skel->progs.on_answer)))
		err = -errno;
	if (!err && !(skel->links.on_check = bpf_program__attach(skel->progs.on_check)))
		err = -errno;
	if (!err && !(skel->links.on_exec = bpf_program__attach(skel->progs.on_exec)))
		err = -errno;
	if (err) {
		fprintf(stderr, "cap_watch: load or attach: %s\n", strerror(-err));
		return 1;
	}
	/* the first canary also tells the program which user namespace is the initial one */
	if (!canary(skel) || !skel->bss->init_user_ns) {
		fprintf(stderr, "cap_watch: the probe on cap_capable counted nothing\n");
		return 1;
	}
	if (use_fifos("cap_watch", argv[2]))
		return 1;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "arm %llu %63s", &cgroup, comm) == 2) {
			struct armed a = {};
			memcpy(a.comm, comm, strnlen(comm, sizeof(a.comm) - 1));
			if (bpf_map_update_elem(bpf_map__fd(skel->maps.armed), &cgroup, &a, BPF_ANY))
				printf("failed arm: %s\n", strerror(errno));
			else
				printf("armed %llu\n", cgroup);
		} else if (sscanf(line, "take %llu", &cgroup) == 1)
			take(skel, cgroup);
		else
			printf("failed unknown request\n");
		printf("\n");
		fflush(stdout);
	}
	return 0;
}

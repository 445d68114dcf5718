// SPDX-License-Identifier: MIT
/* uprobe loader: fork a target process that calls my_target_function(count, "capmatrix") with
 * count = 1..N, attach the uprobe to it, and check that the counts it passed arrive.
 *   uprobe perf    libbpf's default: perf_event_open on the uprobe PMU
 *   uprobe multi   a BPF_LINK_CREATE uprobe_multi link, by raw bpf(2): Debian 12's libbpf 1.1
 *                  predates uprobe.multi support */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"
#include "uprobe.skel.h"

#define CALLS 8
#define UPROBE_MULTI_ATTACH_TYPE 48 /* BPF_TRACE_UPROBE_MULTI, include/uapi/linux/bpf.h since 6.6 */

__attribute__((noinline)) int my_target_function(int count, const char *message)
{
	/* keep the call and its arguments from being optimized away */
	asm volatile("" : : "r"(count), "r"(message) : "memory");
	return count + (int)strlen(message);
}

static int seen[CALLS + 1];

static int seen_all(void)
{
	for (int i = 1; i <= CALLS; i++)
		if (!seen[i])
			return 0;
	return 1;
}

static void on_call(void *ctx, int cpu, void *data, __u32 size)
{
	const struct { __u32 pid; __s32 count; } *c = data;

	if (size >= sizeof(*c) && c->count >= 1 && c->count <= CALLS)
		seen[c->count] = 1;
}

/* File offset of a function symbol in an ELF executable: what uprobes attach to. */
static long func_file_offset(const char *path, const char *name)
{
	struct stat st;
	long off = -1;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		return -1;
	unsigned char *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)m;
	Elf64_Shdr *sh = (Elf64_Shdr *)(m + eh->e_shoff);
	Elf64_Phdr *ph = (Elf64_Phdr *)(m + eh->e_phoff);
	for (int i = 0; i < eh->e_shnum && off < 0; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		Elf64_Sym *syms = (Elf64_Sym *)(m + sh[i].sh_offset);
		const char *strtab = (const char *)(m + sh[sh[i].sh_link].sh_offset);
		for (size_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Sym); j++) {
			if (strcmp(strtab + syms[j].st_name, name) || ELF64_ST_TYPE(syms[j].st_info) != STT_FUNC)
				continue;
			for (int k = 0; k < eh->e_phnum; k++) {
				if (ph[k].p_type == PT_LOAD && (ph[k].p_flags & PF_X) && syms[j].st_value >= ph[k].p_vaddr &&
				    syms[j].st_value < ph[k].p_vaddr + ph[k].p_memsz)
					off = syms[j].st_value - ph[k].p_vaddr + ph[k].p_offset;
			}
			break;
		}
	}
	munmap(m, st.st_size);
	return off;
}

/* BPF_LINK_CREATE with the uprobe_multi member of union bpf_attr (6.6 layout). */
static int uprobe_multi_link(int prog_fd, const char *path, unsigned long offset, pid_t pid)
{
	union {
		struct {
			__u32 prog_fd, target_fd, attach_type, flags;
			__u64 path, offsets, ref_ctr_offsets, cookies;
			__u32 cnt, multi_flags, pid;
		} link;
		char pad[144];
	} attr;

	memset(&attr, 0, sizeof(attr));
	attr.link.prog_fd = prog_fd;
	attr.link.attach_type = UPROBE_MULTI_ATTACH_TYPE;
	attr.link.path = (unsigned long)path;
	attr.link.offsets = (unsigned long)&offset;
	attr.link.cnt = 1;
	attr.link.pid = pid;
	return syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "perf";
	int multi = strcmp(mode, "multi") == 0;
	struct uprobe_bpf *skel;
	struct bpf_link *link = NULL;
	struct perf_buffer *pb;
	char self[4096], extra[160];
	int go[2], err, got = 0, link_fd = -1;
	long offset;
	pid_t child;
	ssize_t n;

	cm_init();
	if (!multi && strcmp(mode, "perf")) {
		cm_result(EINVAL, "open", NULL, "usage: uprobe perf|multi");
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	offset = func_file_offset(self, "my_target_function");
	if (offset < 0) {
		cm_result(ENOENT, "open", NULL, "my_target_function not found in %s", self);
		return 1;
	}
	skel = uprobe_bpf__open();
	if (!skel)
		return cm_open_failed("open");
	if (multi)
		bpf_program__set_expected_attach_type(skel->progs.on_target_call, UPROBE_MULTI_ATTACH_TYPE);
	err = uprobe_bpf__load(skel);
	if (err)
		return cm_load_failed(err, NULL);

	/* The target: a child that calls the function once the probe is in place. */
	if (pipe(go))
		return 1;
	child = fork();
	if (child == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(0);
		/* the perf buffer holds every call's record: no pause between them */
		for (int i = 1; i <= CALLS; i++)
			my_target_function(i, "capmatrix");
		_exit(0);
	}
	close(go[0]);

	if (multi) {
		link_fd = uprobe_multi_link(bpf_program__fd(skel->progs.on_target_call), self, offset, child);
		err = link_fd < 0 ? errno : 0;
	} else {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "my_target_function");
		link = bpf_program__attach_uprobe_opts(skel->progs.on_target_call, child, self, 0, &opts);
		err = link ? 0 : errno;
	}
	if (err) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		cm_result(err, multi ? "attach" : "perf_open", NULL, "%s attach to %s+0x%lx (pid %d): %s | %s",
			  multi ? "uprobe_multi link" : "perf uprobe", self, offset, child, strerror(err), cm_log_tail(300));
		return 1;
	}
	pb = perf_buffer__new(bpf_map__fd(skel->maps.calls), 8, on_call, NULL, NULL, NULL);
	if (!pb) {
		err = errno;
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		cm_result(err, "perf_buf", NULL, "perf_buffer__new: %s | %s", strerror(err), cm_log_tail(300));
		return 1;
	}
	if (write(go[1], "g", 1) != 1)
		return 1;
	/* until the child has made its calls and exited, then what is left in the buffer (no wait) */
	for (int i = 0; i < 30 && !seen_all(); i++) {
		perf_buffer__poll(pb, 100);
		if (waitpid(child, NULL, WNOHANG) == child) {
			child = 0;
			perf_buffer__consume(pb);
			break;
		}
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	for (int i = 1; i <= CALLS; i++)
		got += seen[i];
	snprintf(extra, sizeof(extra), "\"mode\":\"%s\",\"counts_received\":%d,\"calls\":%d", mode, got, CALLS);
	perf_buffer__free(pb);
	bpf_link__destroy(link);
	if (link_fd >= 0)
		close(link_fd);
	uprobe_bpf__destroy(skel);
	if (got < CALLS) {
		cm_result(ENODATA, "run", extra, "%s uprobe attached, but only %d of %d counts arrived", mode, got, CALLS);
		return 1;
	}
	cm_result(0, "run", extra, "%s uprobe: all %d counts the target passed arrived", mode, CALLS);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* What cap_watch.bpf.c keeps and cap_watch.c reads: one definition for both sides. */
#ifndef CAPMATRIX_CAP_WATCH_H
#define CAPMATRIX_CAP_WATCH_H
#include <linux/types.h>

#define STACK_DEPTH 8
#define COMM_LEN 16
#define FLAG_NOAUDIT 0x2 /* CAP_OPT_NOAUDIT in opts */
#define FLAG_INSETID 0x4 /* CAP_OPT_INSETID */
#define FLAG_OTHER_NS 0x100
#define FLAG_DENIED 0x200

struct armed {
	char comm[COMM_LEN];
	__u32 exec_seen;
	/* an armed loader's parent (strace, root's tracer): its checks (reading the loader's
	 * memory wants CAP_SYS_PTRACE) are not the loader's */
	__u32 tracer;
};

struct check_key {
	__u64 cgroup;
	__u32 cap;
	__u32 flags;
	__u64 stack[STACK_DEPTH];
};

struct check_count {
	__u64 count;
	__u64 first; /* order of the first such check in the boot */
};
#endif

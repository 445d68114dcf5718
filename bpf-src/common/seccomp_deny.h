/* SPDX-License-Identifier: MIT */
/* A seccomp filter refusing named syscalls with EPERM, as a container runtime's default profile
 * refuses what the container's capabilities do not allow (harness/dsl/container.ts models the
 * rules; DENIABLE_SYSCALLS lists the names this table must know). Used by token_container (the
 * rootless container) and cell_spawn (the rootful container shape). x86-64 only: another
 * architecture's syscall is killed. */
#ifndef CAPMATRIX_SECCOMP_DENY_H
#define CAPMATRIX_SECCOMP_DENY_H
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static const struct { const char *name; int nr; } DENIABLE[] = {
	{ "unshare", __NR_unshare },	   { "setns", __NR_setns },
	{ "mount", __NR_mount },	   { "umount2", __NR_umount2 },
	{ "fsopen", __NR_fsopen },	   { "fsconfig", __NR_fsconfig },
	{ "fsmount", __NR_fsmount },	   { "fspick", __NR_fspick },
	{ "open_tree", __NR_open_tree },   { "move_mount", __NR_move_mount },
	{ "mount_setattr", 442 },	   { "bpf", __NR_bpf },
	{ "perf_event_open", __NR_perf_event_open },
};

static int deniable_nr(const char *name)
{
	for (size_t i = 0; i < sizeof(DENIABLE) / sizeof(DENIABLE[0]); i++)
		if (!strcmp(DENIABLE[i].name, name))
			return DENIABLE[i].nr;
	return -1;
}

/* Installs the filter refusing `deny` (comma-separated names, "-" for none). `set_nnp`: set
 * no_new_privs first (a caller without CAP_SYS_ADMIN must); a runtime that does not set it
 * installs the filter while it still holds CAP_SYS_ADMIN. 0, or -errno with why in `why`. */
static int install_deny_filter(const char *deny, int set_nnp, char *why, size_t len)
{
	struct sock_filter f[64];
	unsigned n = 0;
	char list[512], *save = NULL;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	snprintf(list, sizeof(list), "%s", strcmp(deny, "-") ? deny : "");
	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		int nr = deniable_nr(s);
		if (nr < 0 || n > 60) {
			snprintf(why, len, "deny=: unknown or too many syscalls at \"%s\"", s);
			return -EINVAL;
		}
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = n, .filter = f };
	if ((set_nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		int err = errno;
		snprintf(why, len, "installing the seccomp filter: %s", strerror(err));
		return -err;
	}
	return 0;
}
#endif

// SPDX-License-Identifier: GPL-2.0
/* token: the objects the talk's BPF token demo loads inside a user namespace (l.1104-1300):
 * (a) a QUEUE map, which needs CAP_BPF without a token, and (b) a kprobe program, which the
 * demo's bpffs does not delegate. The loader takes the map definition and the program's
 * instructions from this object and issues the loads itself with the token (raw bpf(2):
 * Debian 12's libbpf 1.1 has no token support). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, __u32);
} queue SEC(".maps");

SEC("kprobe/__x64_sys_getpid")
int not_delegated(struct pt_regs *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

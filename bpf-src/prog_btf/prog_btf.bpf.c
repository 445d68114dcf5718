// SPDX-License-Identifier: GPL-2.0
/* prog_btf: BTF-typed tracing programs (fentry and tp_btf, type TRACING) beside the kprobe and
 * tracepoint of trace_output, for the generic object loader. libbpf finds their targets in the
 * kernel's own BTF (/sys/kernel/btf/vmlinux). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 calls;

/* vfs_unlink: do_unlinkat became filename_unlinkat in 7.x (measured on Debian 7.2); vfs_unlink is
 * in every kernel's BTF */
SEC("fentry/vfs_unlink")
int BPF_PROG(fentry_vfs_unlink)
{
	__sync_fetch_and_add(&calls, 1);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tp_btf_sched_switch)
{
	__sync_fetch_and_add(&calls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

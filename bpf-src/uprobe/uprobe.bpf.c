// SPDX-License-Identifier: GPL-2.0
/* uprobe: on each call of the target's my_target_function(int count, const char *message),
 * send the first argument to user space through a PERF_EVENT_ARRAY. A uprobe program is a
 * BPF_PROG_TYPE_KPROBE program; the loader attaches it either as a perf-event uprobe or as a
 * uprobe_multi link (BPF_TRACE_UPROBE_MULTI, 6.6+). */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct call {
	__u32 pid;
	__s32 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} calls SEC(".maps");

SEC("uprobe")
int on_target_call(struct pt_regs *ctx)
{
	struct call c = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.count = (__s32)PT_REGS_PARM1(ctx),
	};

	bpf_perf_event_output(ctx, &calls, BPF_F_CURRENT_CPU, &c, sizeof(c));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

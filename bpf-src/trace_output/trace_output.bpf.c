// SPDX-License-Identifier: GPL-2.0
/* trace_output: one record per write(2) of the loader, sent through a PERF_EVENT_ARRAY.
 * Two program types for the same job: a kprobe on the write syscall (BPF_PROG_TYPE_KPROBE, 2)
 * and the tracepoint syscalls/sys_enter_write (BPF_PROG_TYPE_TRACEPOINT, 5). The loader
 * enables one of them. The pid to watch sits in a map, not in .rodata, so that the object
 * loads the same way on every kernel. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

struct record {
	__u32 pid;
	__u32 kind; /* 1 kprobe, 2 tracepoint */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

static __always_inline int emit(void *ctx, __u32 kind)
{
	__u32 zero = 0, pid = bpf_get_current_pid_tgid() >> 32;
	__u32 *want = bpf_map_lookup_elem(&target_pid, &zero);
	struct record r = { .pid = pid, .kind = kind };

	if (!want || *want != pid)
		return 0;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &r, sizeof(r));
	return 0;
}

SEC("kprobe/__x64_sys_write")
int write_kprobe(struct pt_regs *ctx)
{
	return emit(ctx, 1);
}

SEC("tracepoint/syscalls/sys_enter_write")
int write_tracepoint(void *ctx)
{
	return emit(ctx, 2);
}

char LICENSE[] SEC("license") = "GPL";

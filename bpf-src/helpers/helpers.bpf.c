// SPDX-License-Identifier: GPL-2.0
/* helpers: one kprobe program per helper from the talk's table (l.1082-1090). What is tested is
 * the verifier's answer for each: whether the helper is offered to this caller at all. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("kprobe/__x64_sys_getpid")
int use_probe_write_user(struct pt_regs *ctx)
{
	char zero = 0;
	bpf_probe_write_user((void *)PT_REGS_PARM1(ctx), &zero, 1);
	return 0;
}

SEC("kprobe/__x64_sys_getpid")
int use_override_return(struct pt_regs *ctx)
{
	bpf_override_return(ctx, 0);
	return 0;
}

SEC("kprobe/__x64_sys_getpid")
int use_send_signal(struct pt_regs *ctx)
{
	bpf_send_signal(0);
	return 0;
}

SEC("kprobe/__x64_sys_getpid")
int use_probe_read_user(struct pt_regs *ctx)
{
	char buf[8];
	bpf_probe_read_user(buf, sizeof(buf), (void *)PT_REGS_PARM1(ctx));
	return buf[0];
}

char LICENSE[] SEC("license") = "GPL";

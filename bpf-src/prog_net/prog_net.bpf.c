// SPDX-License-Identifier: GPL-2.0
/* prog_net: the network program types of the talk's table (l.474-509) that need CAP_NET_ADMIN,
 * for the generic object loader (a scenario's `object:` + `programs:`). Each passes everything:
 * what is measured is who may load and attach it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}

SEC("cgroup_skb/ingress")
int cgroup_skb_pass(struct __sk_buff *skb)
{
	return 1; /* allow */
}

SEC("cgroup/sock_create")
int cgroup_sock_pass(struct bpf_sock *sk)
{
	return 1; /* allow */
}

SEC("lwt_in")
int lwt_in_pass(struct __sk_buff *skb)
{
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";

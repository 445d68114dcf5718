// SPDX-License-Identifier: GPL-2.0
/* prog_sockmap: an SK_SKB stream verdict program with the SOCKMAP it redirects into (talk
 * l.474-509), for the generic object loader. Apart from prog_net because libbpf creates every map
 * of an object, and a SOCKMAP needs CAP_NET_ADMIN of its own. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

SEC("sk_skb/stream_verdict")
int sk_skb_verdict(struct __sk_buff *skb)
{
	return bpf_sk_redirect_map(skb, &socks, 0, 0);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* sockex1: count bytes per IP protocol seen by a raw packet socket.
 * A SOCKET_FILTER program: the one program type that loads without CAP_BPF
 * when kernel.unprivileged_bpf_disabled=0. No global variables, so the object
 * has no .rodata to freeze (which needs CAP_BPF on kernels before 6.5). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} bytes_by_proto SEC(".maps");

SEC("socket")
int count_bytes(struct __sk_buff *skb)
{
	__u8 proto = 0;
	__u32 key;
	__u64 *bytes;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, protocol), &proto, 1) < 0)
		return 0;
	key = proto;
	bytes = bpf_map_lookup_elem(&bytes_by_proto, &key);
	if (bytes)
		__sync_fetch_and_add(bytes, skb->len);
	return 0; /* keep nothing: the socket only exists to run the filter */
}

char LICENSE[] SEC("license") = "GPL";

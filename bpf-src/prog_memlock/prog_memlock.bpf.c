// SPDX-License-Identifier: GPL-2.0
/* prog_memlock: a socket filter with a 1 MiB array map, for the generic object loader under each
 * RLIMIT_MEMLOCK (a scenario's axes.memlock). Before 5.11 a map's memory is charged against the
 * uid's locked memory, so a map larger than the limit cannot be made unless the loader raises it
 * (libbpf does, when the kernel lacks memcg accounting and the loader may: CAP_SYS_RESOURCE). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct big {
	char bytes[4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256); /* 256 x 4 KiB = 1 MiB */
	__type(key, __u32);
	__type(value, struct big);
} big_map SEC(".maps");

SEC("socket")
int big_filter(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct big *b = bpf_map_lookup_elem(&big_map, &key);

	if (b)
		b->bytes[0]++;
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

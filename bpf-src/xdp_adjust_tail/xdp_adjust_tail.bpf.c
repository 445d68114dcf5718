// SPDX-License-Identifier: GPL-2.0
/* xdp_adjust_tail: answer ICMP echo requests larger than MAX_SIZE with ICMP "fragmentation
 * needed" (type 3, code 4), built in place: truncate the request (bpf_xdp_adjust_tail), prepend
 * a new IP + ICMP header (bpf_xdp_adjust_head) and send it back (XDP_TX).
 * The packet size is computed by pointer subtraction, `data_end - data`: the verifier allows
 * that only with allow_ptr_leaks, i.e. CAP_PERFMON ("R3 pointer -= pointer prohibited"). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* From linux/icmp.h, which pulls in libc headers (via linux/if.h) that do not build for -target bpf. */
#define ICMP_ECHO 8
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id, sequence;
		} echo;
		struct {
			__be16 __unused, mtu;
		} frag;
	} un;
};

#define MAX_SIZE 600
#define KEEP (sizeof(struct ethhdr) + sizeof(struct iphdr) + 8) /* eth + original IP + 8 bytes */
#define PREPEND (sizeof(struct iphdr) + sizeof(struct icmphdr))

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} answered SEC(".maps");

static __always_inline __u16 csum_fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

static __always_inline int too_big_reply(struct xdp_md *xdp, int pkt_size)
{
	void *data, *data_end;
	struct ethhdr *eth, *old_eth;
	struct iphdr *ip, *inner;
	struct icmphdr *icmp;
	__u32 zero = 0;
	__u64 *count;

	if (bpf_xdp_adjust_tail(xdp, (int)KEEP - pkt_size))
		return XDP_PASS;
	if (bpf_xdp_adjust_head(xdp, -(int)PREPEND))
		return XDP_PASS;
	data = (void *)(long)xdp->data;
	data_end = (void *)(long)xdp->data_end;
	if (data + PREPEND + KEEP > data_end)
		return XDP_DROP;
	eth = data;
	old_eth = data + PREPEND;
	ip = data + sizeof(*eth);
	icmp = (void *)(ip + 1);
	inner = (void *)(icmp + 1);

	__builtin_memcpy(eth->h_dest, old_eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old_eth->h_dest, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(PREPEND + sizeof(struct iphdr) + 8);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = inner->daddr;
	ip->daddr = inner->saddr;
	ip->check = 0;
	ip->check = csum_fold(bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0));

	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_FRAG_NEEDED;
	icmp->un.frag.__unused = 0;
	icmp->un.frag.mtu = bpf_htons(MAX_SIZE);
	icmp->checksum = 0;
	icmp->checksum = csum_fold(bpf_csum_diff(0, 0, (__be32 *)icmp, sizeof(*icmp) + sizeof(struct iphdr) + 8, 0));

	count = bpf_map_lookup_elem(&answered, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_TX;
}

SEC("xdp")
int xdp_icmp(struct xdp_md *xdp)
{
	void *data_end = (void *)(long)xdp->data_end;
	void *data = (void *)(long)xdp->data;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct icmphdr *icmp;
	int pkt_size;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	pkt_size = data_end - data; /* pointer - pointer: needs CAP_PERFMON */
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_ICMP)
		return XDP_PASS;
	icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > data_end || icmp->type != ICMP_ECHO)
		return XDP_PASS;
	if (pkt_size <= MAX_SIZE || pkt_size > 4096)
		return XDP_PASS;
	return too_big_reply(xdp, pkt_size);
}

char LICENSE[] SEC("license") = "GPL";

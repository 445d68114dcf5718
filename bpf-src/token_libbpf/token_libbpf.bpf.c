// SPDX-License-Identifier: GPL-2.0
/* token_libbpf: the talk's priv_map object (l.1285-1291), loaded by libbpf with a BPF token
 * (l.1189-1209): one QUEUE map, which needs CAP_BPF without a token, and no program. libbpf
 * still loads a program of its own first (its trivial SOCKET_FILTER probe). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 1);
	__type(value, __u32);
} priv_map SEC(".maps");

char _license[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* pinned_map: the map root creates and pins for others (talk l.631-645). No program: what is
 * tested is who may open a pinned map (BPF_OBJ_GET) or a map by id (BPF_MAP_GET_FD_BY_ID). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} shared_counter SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

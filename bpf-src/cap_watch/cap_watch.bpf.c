// SPDX-License-Identifier: GPL-2.0
/* cap_watch: every capability check the kernel makes for a cell's processes (the agent's
 * recorder, harness/guest/cap-watch.ts; not a sample). A kprobe and a kretprobe on cap_capable,
 * the commoncap LSM hook behind capable(), ns_capable(), bpf_capable() and the rest, on every
 * kernel from 5.10 on. Counted per cell (its cgroup), per capability, per target
 * namespace (the initial one or another), per audit flag, per answer and per kernel stack:
 * "counted, not logged per call", bounded by the map. A cell is its cgroup (the cgroup the
 * process is in, not an ancestor's: bpf_get_current_ancestor_cgroup_id is not offered to
 * tracing programs on 5.10); a process that moves itself into another cgroup is not counted.
 *
 * A cell's checks count from its sample's exec on: the first exec in a cgroup other than the
 * root's and the agent's (the launcher's child joins the cell's cgroup, drops to the cell's uid,
 * then execs the sample, so its own setgid/setuid are not counted), or, where the agent armed the
 * cgroup with a name first (a user's loader under strace and setpriv), the exec of that name;
 * then its tracer (the process that exec'd it was strace's child) is not counted. */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cap_watch.h"

/* the two fields read, relocated against the running kernel's BTF (CO-RE) */
struct task_struct {
	struct task_struct *real_parent;
	int tgid;
} __attribute__((preserve_access_index));


/* set before load (cap_watch.c) */
const volatile __u32 canary_tgid = 0;
/* the initial user namespace, as the helper's first canary check names it (its hostname's
 * namespace belongs to it) */
__u64 init_user_ns = 0;

/* the helper's (and so the agent's) cgroup, as its first canary check names it */
__u64 own_cgroup = 0;

struct pending {
	struct check_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, struct armed);
} armed SEC(".maps");

/* emptied after every cell (a cell makes a few dozen kinds of check); the batch read walks every
 * bucket, so no bigger than it needs to be */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct check_key);
	__type(value, struct check_count);
} checks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct pending);
} inflight SEC(".maps");

/* [0] checks seen, [1] the helper's own (canary) checks, [2] checks lost (a full map) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void bump(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		__sync_fetch_and_add(c, 1);
}

/* Whether this check is a cell's: its cgroup is counting, and it is not the loader's tracer. */
static __always_inline int cell_of(__u64 *cgroup, __u32 tgid)
{
	struct armed *a;

	*cgroup = bpf_get_current_cgroup_id();
	a = bpf_map_lookup_elem(&armed, cgroup);
	return a && a->exec_seen && a->tracer != tgid;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	__u64 cgroup = bpf_get_current_cgroup_id();
	struct armed *a, first = { .exec_seen = 1 };
	char comm[COMM_LEN] = {};

	/* the root cgroup's id is 1 */
	if (cgroup <= 1 || cgroup == own_cgroup)
		return 0;
	a = bpf_map_lookup_elem(&armed, &cgroup);
	if (!a) {
		bpf_map_update_elem(&armed, &cgroup, &first, BPF_NOEXIST);
		return 0;
	}
	if (a->exec_seen)
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < COMM_LEN; i++) {
		if (comm[i] != a->comm[i])
			return 0;
		if (!comm[i])
			break;
	}
	a->tracer = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), real_parent, tgid);
	a->exec_seen = 1;
	return 0;
}

SEC("kprobe/cap_capable")
int BPF_KPROBE(on_check, void *cred, void *targ_ns, int cap, unsigned int opts)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending p = {};

	if (canary_tgid && id >> 32 == canary_tgid) {
		if (!init_user_ns) {
			init_user_ns = (__u64)targ_ns;
			own_cgroup = bpf_get_current_cgroup_id();
		}
		bump(1);
		return 0;
	}
	if (!cell_of(&p.key.cgroup, id >> 32))
		return 0;
	p.key.cap = (__u32)cap;
	p.key.flags = (opts & (FLAG_NOAUDIT | FLAG_INSETID)) | ((__u64)targ_ns != init_user_ns ? FLAG_OTHER_NS : 0);
	bpf_get_stack(ctx, p.key.stack, sizeof(p.key.stack), 0);
	bpf_map_update_elem(&inflight, &id, &p, BPF_ANY);
	return 0;
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(on_answer, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&inflight, &id);
	struct check_count *c, fresh = {};
	__u32 seen = 0;
	__u64 *order;

	if (!p)
		return 0;
	if (ret)
		p->key.flags |= FLAG_DENIED;
	order = bpf_map_lookup_elem(&counters, &seen);
	/* read, then added to: an atomic fetch-and-add needs 5.12; the order is only the order */
	if (order) {
		fresh.first = *order;
		__sync_fetch_and_add(order, 1);
	}
	c = bpf_map_lookup_elem(&checks, &p->key);
	if (c)
		__sync_fetch_and_add(&c->count, 1);
	else {
		fresh.count = 1;
		if (bpf_map_update_elem(&checks, &p->key, &fresh, BPF_NOEXIST))
			bump(2);
	}
	bpf_map_delete_elem(&inflight, &id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

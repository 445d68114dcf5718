/* SPDX-License-Identifier: MIT */
/* The talk's priv_map (l.1285-1291, token_libbpf.bpf.c) loaded by libbpf with `opts` (its token
 * path, or none), then used: a value pushed and popped. Shared by token_libbpf and
 * token_container; include after token_libbpf.skel.h and token_delegation.h. */
#ifndef CAPMATRIX_PRIV_MAP_H
#define CAPMATRIX_PRIV_MAP_H

#include <bpf/bpf.h>

/* r: ok with `how` in the detail, or where and why it failed. */
static void load_priv_map(struct bpf_object_open_opts *opts, const char *how, struct child_report *r)
{
	struct token_libbpf_bpf *skel;
	__u32 in = 42, out = 0;
	int err;

	libbpf_set_memlock_rlim(0); /* uid 65534 cannot raise it, and memcg accounts BPF memory since 5.11 */
	skel = token_libbpf_bpf__open_opts(opts);
	if (!skel)
		CHILD_FAIL(r, errno, "open", "opening the object: %s | %s", strerror(errno), cm_log_tail(400));
	err = -token_libbpf_bpf__load(skel);
	if (err)
		CHILD_FAIL(r, err, cm_load_stage(err), "libbpf load (%s): %s | %s", how, strerror(err), cm_load_detail());
	if (bpf_map__update_elem(skel->maps.priv_map, NULL, 0, &in, sizeof(in), 0) ||
	    bpf_map__lookup_and_delete_elem(skel->maps.priv_map, NULL, 0, &out, sizeof(out), 0) || out != in)
		CHILD_FAIL(r, errno ? errno : ENODATA, "run", "push/pop on priv_map: %s (got %u)", strerror(errno), out);
	CHILD_FAIL(r, 0, "run", "libbpf loaded priv_map (%s); pushed and popped %u", how, out);
}

#endif

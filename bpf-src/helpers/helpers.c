// SPDX-License-Identifier: MIT
/* helpers loader: `helpers NAME` loads only the program that calls helper NAME
 * (probe_write_user, override_return, send_signal, probe_read_user) and reports the verifier's
 * verdict: `ok` = the verifier accepted a program calling that helper; a refused helper is
 * EINVAL@verifier with the verifier's message in detail. Nothing is attached. */
#include "capmatrix_result.h"
#include "helpers.skel.h"

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "";
	char want[64];
	struct helpers_bpf *skel;
	struct bpf_program *prog, *chosen = NULL;
	int err;

	cm_init();
	skel = helpers_bpf__open();
	if (!skel)
		return cm_open_failed("open");
	snprintf(want, sizeof(want), "use_%s", name);
	bpf_object__for_each_program(prog, skel->obj) {
		int match = strcmp(bpf_program__name(prog), want) == 0;
		bpf_program__set_autoload(prog, match);
		if (match)
			chosen = prog;
	}
	if (!chosen) {
		cm_result(EINVAL, "open", NULL, "usage: helpers probe_write_user|override_return|send_signal|probe_read_user");
		return 2;
	}
	err = helpers_bpf__load(skel);
	/* a helper the verifier does not offer is EINVAL with a verifier log */
	if (err)
		return cm_load_failed(err, err == -EINVAL && strstr(cm_log, "PROG LOAD LOG") ? "verifier" : NULL);
	cm_result(0, "run", NULL, "the verifier accepted a program calling bpf_%s", name);
	helpers_bpf__destroy(skel);
	return 0;
}

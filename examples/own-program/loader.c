// SPDX-License-Identifier: MIT
/* my-loader: loads prog.bpf.o's XDP program and attaches it to lo, as a real tool would.
 * It knows nothing of capmatrix: it prints what it did and exits 0, or 1 on failure. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : "build/prog.bpf.o";
	struct bpf_object *obj = bpf_object__open_file(file, NULL);
	struct bpf_program *prog;
	struct bpf_link *link;

	if (!obj) {
		fprintf(stderr, "open %s: %s\n", file, strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), "xdp_len"));
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "xdp_len");
	link = bpf_program__attach_xdp(prog, (int)if_nametoindex("lo"));
	if (!link) {
		fprintf(stderr, "attach to lo: %s\n", strerror(errno));
		return 1;
	}
	printf("xdp_len attached to lo\n");
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}

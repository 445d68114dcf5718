// SPDX-License-Identifier: MIT
/* pinned_map loader.
 *   pinned_map setup PIN MODE ID_FILE   (root) create the map, pin it at PIN, chmod PIN to MODE
 *                                       (octal), write the map id to ID_FILE
 *   pinned_map obj-get PIN              BPF_OBJ_GET the pin, look up and update key 0
 *   pinned_map by-id ID                 BPF_MAP_GET_FD_BY_ID, look up and update key 0
 * `ok` = the update is visible through a second lookup. */
#include <stdlib.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"
#include "pinned_map.skel.h"

static int use_map(int fd, const char *how)
{
	__u32 zero = 0;
	__u64 before = 0, after = 0, next;
	char extra[96];
	int err;

	if (bpf_map_lookup_elem(fd, &zero, &before)) {
		err = errno;
		cm_result(err, "map_lookup", NULL, "%s: lookup: %s", how, strerror(err));
		return 1;
	}
	next = before + 1;
	if (bpf_map_update_elem(fd, &zero, &next, BPF_ANY)) {
		err = errno;
		cm_result(err, "map_update", NULL, "%s: update: %s", how, strerror(err));
		return 1;
	}
	bpf_map_lookup_elem(fd, &zero, &after);
	snprintf(extra, sizeof(extra), "\"before\":%llu,\"after\":%llu", (unsigned long long)before,
		 (unsigned long long)after);
	if (after != next) {
		cm_result(ENODATA, "run", extra, "%s: wrote %llu, read back %llu", how, (unsigned long long)next,
			  (unsigned long long)after);
		return 1;
	}
	cm_result(0, "run", extra, "%s: read %llu, wrote and read back %llu", how, (unsigned long long)before,
		  (unsigned long long)after);
	return 0;
}

static int setup(const char *pin, const char *mode, const char *id_file)
{
	struct pinned_map_bpf *skel = pinned_map_bpf__open_and_load();
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	FILE *f;

	if (!skel || bpf_map__pin(skel->maps.shared_counter, pin) || chmod(pin, strtol(mode, NULL, 8)) ||
	    bpf_obj_get_info_by_fd(bpf_map__fd(skel->maps.shared_counter), &info, &len) || !(f = fopen(id_file, "w"))) {
		fprintf(stderr, "pinned_map setup: %s\n", strerror(errno));
		return 1;
	}
	fprintf(f, "%u\n", info.id);
	fclose(f);
	return 0; /* the pin keeps the map alive after we exit */
}

int main(int argc, char **argv)
{
	int fd, err;

	cm_init();
	if (argc == 5 && strcmp(argv[1], "setup") == 0)
		return setup(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "obj-get") == 0) {
		fd = bpf_obj_get(argv[2]);
		if (fd < 0) {
			err = errno;
			cm_result(err, "obj_get", NULL, "BPF_OBJ_GET %s: %s", argv[2], strerror(err));
			return 1;
		}
		return use_map(fd, "BPF_OBJ_GET");
	}
	if (argc == 3 && strcmp(argv[1], "by-id") == 0) {
		fd = bpf_map_get_fd_by_id(strtoul(argv[2], NULL, 10));
		if (fd < 0) {
			err = errno;
			cm_result(err, "get_fd_by_id", NULL, "BPF_MAP_GET_FD_BY_ID %s: %s", argv[2], strerror(err));
			return 1;
		}
		return use_map(fd, "BPF_MAP_GET_FD_BY_ID");
	}
	cm_result(EINVAL, "open", NULL, "usage: pinned_map setup PIN MODE ID_FILE | obj-get PIN | by-id ID");
	return 2;
}

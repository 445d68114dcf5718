// SPDX-License-Identifier: MIT
/* map_types loader.
 *   map_types NAME   create the map NAME of map_types.bpf.c (its type, key, value and size as
 *                    declared there) with BPF_MAP_CREATE, then use it as its type is used
 * `ok` = the map was created and did its job: a value written and read back (array, lru_hash,
 * devmap, cpumap), pushed and popped (stack), the ring's pages mapped with both positions at 0
 * (ringbuf), a socket inserted and removed (sockmap). An XSKMAP takes only a bound AF_XDP socket,
 * so for it `ok` is the creation alone (said in the detail). */
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"
#include "map_types.skel.h"

static int fail(const char *stage, const char *what)
{
	int err = errno ? errno : EIO;

	cm_result(err, stage, NULL, "%s: %s", what, strerror(err));
	return 1;
}

/* Writes `value` at `key` and reads it back (value sizes up to 8 bytes). */
static int write_read(int fd, __u32 key, __u64 value, const char *what)
{
	__u64 back = 0;

	if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
		return fail("map_update", what);
	if (bpf_map_lookup_elem(fd, &key, &back))
		return fail("map_lookup", what);
	if (back != value) {
		cm_result(ENODATA, "run", NULL, "%s: wrote %llu, read back %llu", what, (unsigned long long)value,
			  (unsigned long long)back);
		return 1;
	}
	cm_result(0, "run", NULL, "%s: wrote and read back %llu", what, (unsigned long long)value);
	return 0;
}

static int use_stack(int fd)
{
	__u64 in = 42, out = 0;

	if (bpf_map_update_elem(fd, NULL, &in, BPF_ANY))
		return fail("map_update", "STACK push");
	if (bpf_map_lookup_and_delete_elem(fd, NULL, &out))
		return fail("map_lookup", "STACK pop");
	if (out != in) {
		cm_result(ENODATA, "run", NULL, "STACK: pushed %llu, popped %llu", (unsigned long long)in,
			  (unsigned long long)out);
		return 1;
	}
	cm_result(0, "run", NULL, "STACK: pushed and popped 42");
	return 0;
}

/* A ring buffer is used through mmap: the consumer page read-write, the producer page read-only. */
static int use_ringbuf(int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long *cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned long *prod = cons == MAP_FAILED ? MAP_FAILED : mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);

	if (cons == MAP_FAILED || prod == MAP_FAILED)
		return fail("run", "RINGBUF mmap");
	if (*cons != 0 || *prod != 0) {
		cm_result(ENODATA, "run", NULL, "RINGBUF: consumer %lu, producer %lu on a new ring", *cons, *prod);
		return 1;
	}
	cm_result(0, "run", NULL, "RINGBUF: consumer and producer pages mapped, both positions 0");
	return 0;
}

/* A UDP socket bound on loopback goes in and comes out again. */
static int use_sockmap(int fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	__u32 key = 0;
	__u64 sock = s;

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)))
		return fail("run", "UDP socket on loopback");
	if (bpf_map_update_elem(fd, &key, &sock, BPF_ANY))
		return fail("map_update", "SOCKMAP insert");
	if (bpf_map_delete_elem(fd, &key))
		return fail("map_update", "SOCKMAP remove");
	cm_result(0, "run", NULL, "SOCKMAP: a UDP socket inserted and removed");
	return 0;
}

static int use_map(int fd, enum bpf_map_type type)
{
	switch (type) {
	case BPF_MAP_TYPE_STACK:
		return use_stack(fd);
	case BPF_MAP_TYPE_RINGBUF:
		return use_ringbuf(fd);
	case BPF_MAP_TYPE_SOCKMAP:
		return use_sockmap(fd);
	case BPF_MAP_TYPE_DEVMAP:
		return write_read(fd, 0, if_nametoindex("lo"), "DEVMAP: lo's ifindex");
	case BPF_MAP_TYPE_CPUMAP:
		return write_read(fd, 0, 192, "CPUMAP: CPU 0 with a queue of 192"); /* bpf_cpumap_val.qsize */
	case BPF_MAP_TYPE_XSKMAP:
		cm_result(0, "run", NULL, "XSKMAP: created (only a bound AF_XDP socket goes in)");
		return 0;
	default:
		return write_read(fd, 1, 42, libbpf_bpf_map_type_str(type));
	}
}

int main(int argc, char **argv)
{
	struct map_types_bpf *skel;
	struct bpf_map *map;
	int fd;

	cm_init();
	if (argc != 2) {
		cm_result(EINVAL, "open", NULL, "usage: map_types NAME (a map of map_types.bpf.c)");
		return 2;
	}
	skel = map_types_bpf__open(); /* no bpf(2) call: only the definitions are read */
	map = skel ? bpf_object__find_map_by_name(skel->obj, argv[1]) : NULL;
	if (!map) {
		cm_result(EINVAL, "open", NULL, "no map \"%s\" in map_types.bpf.c", argv[1]);
		return 2;
	}
	fd = bpf_map_create(bpf_map__type(map), argv[1], bpf_map__key_size(map), bpf_map__value_size(map),
			    bpf_map__max_entries(map), NULL);
	if (fd < 0)
		return fail("map_create", libbpf_bpf_map_type_str(bpf_map__type(map)));
	return use_map(fd, bpf_map__type(map));
}

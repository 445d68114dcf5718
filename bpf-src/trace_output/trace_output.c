// SPDX-License-Identifier: MIT
/* trace_output loader.
 *   trace_output kprobe            kprobe on __x64_sys_write, attached by libbpf (perf kprobe PMU)
 *   trace_output tracepoint        tracepoint, attached by libbpf (reads the tracefs id itself)
 *   trace_output tracepoint-id ID  tracepoint, perf_event_open with an id read by root beforehand
 * Then a perf buffer on the PERF_EVENT_ARRAY, write(2)s of our own, and `ok` only when records of
 * our pid arrived. */
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"
#include "trace_output.skel.h"

static int records;

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	records++;
}

static int perf_open_tracepoint(long id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = id,
		.sample_period = 1,
		.wakeup_events = 1,
	};
	return syscall(__NR_perf_event_open, &attr, -1 /* any pid */, 0 /* cpu */, -1, PERF_FLAG_FD_CLOEXEC);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "kprobe";
	struct trace_output_bpf *skel;
	struct bpf_program *prog;
	struct bpf_link *link;
	struct perf_buffer *pb;
	__u32 zero = 0, pid = getpid();
	char extra[96];
	int err, fd;

	cm_init();
	if (strcmp(mode, "kprobe") && strcmp(mode, "tracepoint") && strcmp(mode, "tracepoint-id")) {
		cm_result(EINVAL, "open", NULL, "usage: trace_output kprobe|tracepoint|tracepoint-id ID");
		return 2;
	}
	skel = trace_output_bpf__open();
	if (!skel)
		return cm_open_failed("open");
	prog = strcmp(mode, "kprobe") == 0 ? skel->progs.write_kprobe : skel->progs.write_tracepoint;
	bpf_program__set_autoload(skel->progs.write_kprobe, prog == skel->progs.write_kprobe);
	bpf_program__set_autoload(skel->progs.write_tracepoint, prog == skel->progs.write_tracepoint);
	err = trace_output_bpf__load(skel);
	if (err)
		return cm_load_failed(err, NULL);
	bpf_map_update_elem(bpf_map__fd(skel->maps.target_pid), &zero, &pid, BPF_ANY);

	if (strcmp(mode, "tracepoint-id") == 0) {
		long id = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
		if (id <= 0) {
			cm_result(EINVAL, "open", NULL, "tracepoint-id needs the id as argument");
			return 2;
		}
		fd = perf_open_tracepoint(id);
		if (fd < 0) {
			err = errno;
			cm_result(err, "perf_open", NULL, "perf_event_open(PERF_TYPE_TRACEPOINT, id %ld): %s", id, strerror(err));
			return 1;
		}
		link = bpf_program__attach_perf_event(prog, fd);
	} else {
		link = bpf_program__attach(prog);
	}
	if (!link) {
		err = errno;
		/* libbpf reads tracefs events/<cat>/<name>/id before perf_event_open. */
		const char *stage = strstr(cm_log, "failed to determine tracepoint") ? "tracefs_id"
				    : strstr(cm_log, "perf event") || strstr(cm_log, "perf_event") ? "perf_open"
												    : "attach";
		cm_result(err, stage, NULL, "attach %s: %s | %s", mode, strerror(err), cm_log_tail(400));
		return 1;
	}

	pb = perf_buffer__new(bpf_map__fd(skel->maps.events), 8, on_sample, NULL, NULL, NULL);
	if (!pb) {
		err = errno;
		cm_result(err, "perf_buf", NULL, "perf_buffer__new: %s | %s", strerror(err), cm_log_tail(300));
		return 1;
	}
	fd = open("/dev/null", O_WRONLY);
	for (int round = 0; round < 20 && records < 5; round++) {
		for (int i = 0; i < 5; i++)
			if (write(fd, "capmatrix", 9) < 0)
				break;
		perf_buffer__poll(pb, 100);
	}
	snprintf(extra, sizeof(extra), "\"records\":%d,\"mode\":\"%s\"", records, mode);
	perf_buffer__free(pb);
	bpf_link__destroy(link);
	trace_output_bpf__destroy(skel);
	if (records == 0) {
		cm_result(ENODATA, "run", extra, "%s attached, but no record arrived", mode);
		return 1;
	}
	cm_result(0, "run", extra, "%s: %d records of our write(2)s arrived", mode, records);
	return 0;
}

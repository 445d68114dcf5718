// SPDX-License-Identifier: MIT
/* object_loader: capmatrix's generic loader for a user's own BPF object (a scenario's `object:`).
 *
 *   object_loader --object FILE [--program NAME]... [--socket udp|packet] [--iface IF]
 *                 [--uprobe PATH:FUNCTION] [--load-only NAME]... [--trigger CMD [ARG]...]
 *
 * Each program is tried on its own (the object is opened again with only that program set to
 * load), so one program's verdict never hides another's: load (libbpf's probe, the maps, the
 * program) and then attach:
 *   SOCKET_FILTER          to a UDP socket on loopback (needs no capability of its own), or with
 *                          --socket packet to an AF_PACKET socket on --iface, like sockex1;
 *   XDP                    to --iface (default lo) through a BPF link;
 *   SCHED_CLS (tc)         to --iface's clsact ingress hook (netlink; the hook is removed at exit);
 *   CGROUP_*               to the root cgroup v2 (/sys/fs/cgroup) through a BPF link;
 *   everything else        through libbpf's auto-attach by section name (kprobe, tracepoint,
 *                          raw_tp, fentry, uprobe/<path>:<func>, …); a bare SEC("uprobe") or
 *                          SEC("uretprobe") goes on --uprobe PATH:FUNCTION.
 * A program whose section libbpf cannot auto-attach (a bare SEC("uprobe") without --uprobe, a
 * struct_ops, …) fails EOPNOTSUPP@attach: loaded is not what a real agent needs. --load-only NAME
 * asks for that program to be loaded and not attached.
 * With all attached, --trigger runs (as this uid, without file capabilities) and must exit 0.
 * The result line says the first failing program's stage and errno; `programs` lists them all,
 * each with whether it was attached.
 * "ok" means loaded and attached (or loaded, where asked): whether the program did its job is
 * for the user's own loader. */
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"

#define MAX_PROGS 64

struct opts {
	const char *object;
	const char *only[MAX_PROGS];
	int n_only;
	const char *load_only[MAX_PROGS];
	int n_load_only;
	int packet;
	const char *iface;
	const char *uprobe; /* PATH:FUNCTION for a uprobe section without a target */
	char **trigger;
};

struct verdict {
	char name[128];
	char section[128];
	int err;
	const char *stage;
	int attached;
	char detail[900];
};

/* The kept BPF links and sockets: they stay open until the trigger has run. */
static struct bpf_link *links[MAX_PROGS];
static int n_links;
static int socks[MAX_PROGS];
static int n_socks;
/* a clsact hook this run created, removed before exit (it would outlive the process) */
static struct bpf_tc_hook tc_hook = { .sz = sizeof(struct bpf_tc_hook), .attach_point = BPF_TC_INGRESS };
static int tc_created;

static int usage(const char *why)
{
	cm_result(EINVAL, "open", NULL, "object_loader: %s", why);
	return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
	o->iface = "lo";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--trigger")) {
			if (i + 1 >= argc)
				return usage("--trigger needs a command");
			o->trigger = &argv[i + 1];
			return 0;
		}
		if (i + 1 >= argc)
			return usage("an option without its value");
		if (!strcmp(a, "--object"))
			o->object = argv[++i];
		else if (!strcmp(a, "--program") && o->n_only < MAX_PROGS)
			o->only[o->n_only++] = argv[++i];
		else if (!strcmp(a, "--load-only") && o->n_load_only < MAX_PROGS)
			o->load_only[o->n_load_only++] = argv[++i];
		else if (!strcmp(a, "--iface"))
			o->iface = argv[++i];
		else if (!strcmp(a, "--uprobe"))
			o->uprobe = argv[++i];
		else if (!strcmp(a, "--socket")) {
			const char *s = argv[++i];
			if (strcmp(s, "udp") && strcmp(s, "packet"))
				return usage("--socket takes udp or packet");
			o->packet = !strcmp(s, "packet");
		} else
			return usage("unknown option (--object, --program, --socket, --iface, --uprobe, --load-only, --trigger)");
	}
	return o->object ? 0 : usage("--object FILE is required");
}

static int listed(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

static int wanted(const struct opts *o, const char *name)
{
	return !o->n_only || listed(o->only, o->n_only, name);
}

static void fail(struct verdict *v, int err, const char *stage, const char *fmt, const char *what)
{
	v->err = err;
	v->stage = stage;
	snprintf(v->detail, sizeof(v->detail), fmt, what, strerror(err), cm_log_tail(500));
}

static int socket_filter(struct verdict *v, int prog_fd, const struct opts *o)
{
	int s, ifindex;

	if (o->packet) {
		struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
		s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
		if (s < 0)
			return fail(v, errno, "raw_socket", "socket(AF_PACKET, SOCK_RAW)%s: %s%s", ""), -1;
		ifindex = (int)if_nametoindex(o->iface);
		ll.sll_ifindex = ifindex;
		if (!ifindex || bind(s, (struct sockaddr *)&ll, sizeof(ll)))
			return fail(v, errno ? errno : ENODEV, "raw_socket", "bind to %s: %s%s", o->iface), -1;
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)))
			return fail(v, errno, "raw_socket", "UDP socket on loopback%s: %s%s", ""), -1;
	}
	if (setsockopt(s, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd)))
		return fail(v, errno, "attach", "setsockopt(SO_ATTACH_BPF)%s: %s%s", ""), close(s), -1;
	socks[n_socks++] = s;
	return 0;
}

/* libbpf says which step of an attach failed only in its log. */
static const char *attach_stage(void)
{
	if (strstr(cm_log, "failed to determine tracepoint") || strstr(cm_log, "tracing/events"))
		return "tracefs_id";
	if (strstr(cm_log, "perf event") || strstr(cm_log, "perf_event"))
		return "perf_open";
	return "attach";
}

static int tc_attach(struct verdict *v, struct bpf_program *p, const struct opts *o)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(p));
	int err;

	tc_hook.ifindex = (int)if_nametoindex(o->iface);
	if (!tc_hook.ifindex)
		return fail(v, ENODEV, "attach", "no interface %s: %s%s", o->iface), -1;
	err = bpf_tc_hook_create(&tc_hook);
	if (err && err != -EEXIST)
		return fail(v, -err, "attach", "tc clsact hook on %s: %s | %s", o->iface), -1;
	tc_created |= !err;
	err = bpf_tc_attach(&tc_hook, &opts);
	if (err)
		return fail(v, -err, "attach", "tc ingress filter on %s: %s | %s", o->iface), -1;
	return 0;
}

/* A bare SEC("uprobe")/SEC("uretprobe") on --uprobe PATH:FUNCTION, in every process. */
static struct bpf_link *uprobe_attach(struct bpf_program *p, const char *target)
{
	DECLARE_LIBBPF_OPTS(bpf_uprobe_opts, opts);
	static char path[4096];
	const char *colon = strrchr(target, ':');

	if (!colon || colon == target || !colon[1]) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(colon - target), target);
	opts.func_name = colon + 1;
	opts.retprobe = !strncmp(bpf_program__section_name(p), "uretprobe", 9);
	return bpf_program__attach_uprobe_opts(p, -1, path, 0, &opts);
}

static int is_bare_uprobe(const struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p);
	return !strcmp(sec, "uprobe") || !strcmp(sec, "uretprobe") || !strcmp(sec, "uprobe.s") ||
	       !strcmp(sec, "uretprobe.s");
}

static int attach_one(struct verdict *v, struct bpf_program *p, const struct opts *o)
{
	enum bpf_prog_type t = bpf_program__type(p);
	struct bpf_link *link = NULL;
	int fd, ifindex;

	if (t == BPF_PROG_TYPE_SOCKET_FILTER)
		return socket_filter(v, bpf_program__fd(p), o);
	cm_log_len = 0;
	cm_log[0] = 0;
	if (t == BPF_PROG_TYPE_XDP) {
		ifindex = (int)if_nametoindex(o->iface);
		if (!ifindex)
			return fail(v, ENODEV, "xdp_attach", "no interface %s: %s%s", o->iface), -1;
		link = bpf_program__attach_xdp(p, ifindex);
		if (!link)
			return fail(v, errno, "xdp_attach", "XDP link on %s: %s | %s", o->iface), -1;
	} else if (t == BPF_PROG_TYPE_SCHED_CLS) {
		return tc_attach(v, p, o);
	} else if (t == BPF_PROG_TYPE_CGROUP_SKB || t == BPF_PROG_TYPE_CGROUP_SOCK ||
		   t == BPF_PROG_TYPE_CGROUP_SOCK_ADDR || t == BPF_PROG_TYPE_CGROUP_SOCKOPT ||
		   t == BPF_PROG_TYPE_CGROUP_SYSCTL || t == BPF_PROG_TYPE_CGROUP_DEVICE) {
		fd = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return fail(v, errno, "attach", "open %s: %s%s", "/sys/fs/cgroup"), -1;
		link = bpf_program__attach_cgroup(p, fd);
		close(fd);
		if (!link)
			return fail(v, errno, "attach", "cgroup link on %s: %s | %s", "/sys/fs/cgroup"), -1;
	} else if (o->uprobe && is_bare_uprobe(p)) {
		link = uprobe_attach(p, o->uprobe);
		if (!link)
			return fail(v, errno, attach_stage(), "uprobe on %s: %s | %s", o->uprobe), -1;
	} else {
		link = bpf_program__attach(p);
		if (!link && (errno == EOPNOTSUPP || errno == ESRCH))
			return fail(v, EOPNOTSUPP, "attach",
				    "section %s: loaded, not attached: libbpf cannot attach it by itself (give its "
				    "target, e.g. uprobe PATH:FUNCTION, or ask for it loaded only): %s | %s",
				    bpf_program__section_name(p)),
			       -1;
		if (!link)
			return fail(v, errno, attach_stage(), "attach %s: %s | %s", bpf_program__section_name(p)), -1;
	}
	links[n_links++] = link;
	return 0;
}

/* 0: attached (every way above that returns 0 attached it) */
static int attach(struct verdict *v, struct bpf_program *p, const struct opts *o)
{
	int err = attach_one(v, p, o);

	v->attached = !err;
	return err;
}

/* One program: the object opened again with only it set to load, then loaded and attached. */
static void try_program(const struct opts *o, const char *name, struct verdict *v)
{
	struct bpf_object *obj;
	struct bpf_program *p, *mine = NULL;
	int err;

	snprintf(v->name, sizeof(v->name), "%s", name);
	v->err = 0;
	v->stage = "run";
	obj = bpf_object__open_file(o->object, NULL);
	if (!obj) {
		fail(v, errno, "open", "open %s: %s%s", o->object);
		return;
	}
	bpf_object__for_each_program(p, obj) {
		int me = !strcmp(bpf_program__name(p), name);
		bpf_program__set_autoload(p, me);
		if (me)
			mine = p;
	}
	snprintf(v->section, sizeof(v->section), "%s", mine ? bpf_program__section_name(mine) : "");
	cm_log_len = 0;
	cm_log[0] = 0;
	err = bpf_object__load(obj);
	if (err) {
		/* what libbpf was refused, not what it then failed on without it */
		err = cm_module_btf_refused() ? EPERM : -err;
		v->err = err;
		v->stage = cm_load_stage(err);
		if (!strcmp(v->stage, "probe")) /* libbpf's log says it at length; the reason is one line */
			snprintf(v->detail, sizeof(v->detail),
				 "load %s: libbpf's first load (a trivial SOCKET_FILTER) was refused: %s", name,
				 strerror(err));
		else
			snprintf(v->detail, sizeof(v->detail), "load %s: %s | %s", name, strerror(err),
				 cm_load_detail());
		return; /* the object stays open: nothing of it was loaded, and the process ends soon */
	}
	if (mine && listed(o->load_only, o->n_load_only, name))
		snprintf(v->detail, sizeof(v->detail), "loaded, not attached, as asked (%s)", v->section);
	else if (mine && attach(v, mine, o) == 0 && !v->detail[0])
		snprintf(v->detail, sizeof(v->detail), "loaded and attached (%s)", v->section);
}

/* Links and sockets would go with the process; a clsact hook would not. */
static void detach_all(void)
{
	for (int i = 0; i < n_links; i++)
		bpf_link__destroy(links[i]);
	for (int i = 0; i < n_socks; i++)
		close(socks[i]);
	if (tc_created) {
		tc_hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS; /* the whole clsact qdisc */
		bpf_tc_hook_destroy(&tc_hook);
	}
}

static int run_trigger(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void programs_json(char *out, size_t len, const struct verdict *vs, int n)
{
	size_t used = (size_t)snprintf(out, len, "\"programs\":[");

	for (int i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used,
					 "%s{\"name\":\"%s\",\"section\":\"%s\",\"outcome\":\"%s\",\"stage\":\"%s\","
					 "\"attached\":%s}",
					 i ? "," : "", vs[i].name, vs[i].section, cm_errno_name(vs[i].err),
					 vs[i].err ? vs[i].stage : "run", vs[i].attached ? "true" : "false");
	if (used < len)
		snprintf(out + used, len - used, "]");
}

int main(int argc, char **argv)
{
	static struct verdict vs[MAX_PROGS];
	static char names[MAX_PROGS][128], extra[8192];
	struct opts o = { 0 };
	struct bpf_object *obj;
	struct bpf_program *p;
	int n = 0, first = -1, attached = 0, err;

	cm_init();
	if (parse(argc, argv, &o))
		return 2;
	/* the program names (opening parses ELF and BTF only: no bpf(2) call yet) */
	obj = bpf_object__open_file(o.object, NULL);
	if (!obj) {
		err = errno;
		cm_result(err, "open", NULL, "open %s: %s | %s", o.object, strerror(err), cm_log_tail(400));
		return 1;
	}
	bpf_object__for_each_program(p, obj)
		if (wanted(&o, bpf_program__name(p)) && n < MAX_PROGS)
			snprintf(names[n++], sizeof(names[0]), "%s", bpf_program__name(p));
	bpf_object__close(obj);
	if (!n) {
		cm_result(ENOENT, "open", NULL, "%s: no program %s", o.object,
			  o.n_only ? "of the names given by --program" : "in the object");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		try_program(&o, names[i], &vs[i]);
		if (vs[i].err && first < 0)
			first = i;
	}
	programs_json(extra, sizeof(extra), vs, n);
	err = first < 0 && o.trigger ? run_trigger(o.trigger) : 0;
	detach_all();
	if (first >= 0) {
		cm_result(vs[first].err, vs[first].stage, extra, "%s", vs[first].detail);
		return 1;
	}
	if (err) {
		cm_result(err > 0 ? err : ENODATA, "run", extra, "trigger %s failed", o.trigger[0]);
		return 1;
	}
	for (int i = 0; i < n; i++)
		attached += vs[i].attached;
	if (attached == n)
		cm_result(0, "run", extra, "%d program(s) loaded and attached: %s%s", n, vs[0].detail,
			  n > 1 ? ", …" : "");
	else
		cm_result(0, "run", extra, "%d program(s) loaded, %d of them attached, the rest loaded only as asked: %s%s",
			  n, attached, vs[0].detail, n > 1 ? ", …" : "");
	return 0;
}

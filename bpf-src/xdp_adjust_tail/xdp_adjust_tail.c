// SPDX-License-Identifier: MIT
/* xdp_adjust_tail loader: attach the XDP program in generic mode on lo, send oversized ICMP
 * echo requests from a ping socket, and count the "fragmentation needed" answers that come back
 * on the socket's error queue. `ok` only when the program rewrote packets and answers arrived.
 *   xdp_adjust_tail                 load and attach with libbpf (bpf_xdp_attach, netlink)
 *   xdp_adjust_tail iproute2 CAPS   as root: capsh --drop=CAPS then `ip link set dev lo xdpgeneric
 *                                   obj … sec xdp`, the talk's slide (l.812-857); CAPS may be ""
 * The ping socket needs net.ipv4.ping_group_range to include our gid (the scenario sets it). */
#include <time.h> /* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"
#include "xdp_adjust_tail.skel.h"

#define PINGS 3

/* Sends PINGS oversized echo requests; returns how many ICMP frag-needed errors came back, or -errno. */
static int ping_and_count(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[1200] = { 0 }, cbuf[512];
	struct icmphdr *req = (struct icmphdr *)buf;
	int one = 1, answers = 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);

	if (s < 0)
		return -errno;
	setsockopt(s, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	for (int i = 0; i < PINGS; i++) {
		req->type = ICMP_ECHO;
		req->un.echo.sequence = htons(i + 1);
		if (sendto(s, buf, 1000, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EMSGSIZE)
			return -errno;
		struct pollfd p = { .fd = s, .events = POLLIN | POLLERR };
		/* one answer per ping: the next ping goes as soon as it came (no waiting out a timeout) */
		int answered = 0;
		while (!answered && poll(&p, 1, 300) > 0) {
			struct iovec iov = { .iov_base = buf + 1100, .iov_len = 64 };
			struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
			if (recvmsg(s, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) >= 0) {
				for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
					struct sock_extended_err *e = (struct sock_extended_err *)CMSG_DATA(c);
					if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR &&
					    e->ee_origin == SO_EE_ORIGIN_ICMP && e->ee_type == ICMP_DEST_UNREACH &&
					    e->ee_code == ICMP_FRAG_NEEDED)
						answered = 1;
				}
				answers += answered;
				continue;
			}
			recv(s, buf + 1100, 64, MSG_DONTWAIT); /* an echo reply: the program did not answer */
			break;
		}
	}
	close(s);
	return answers;
}

/* The `answered` counter of whatever XDP program is attached to lo; -1 when there is none, -2
 * when this loader may not read it (a program by id needs CAP_SYS_ADMIN: an unprivileged loader
 * in iproute2 mode, whose ip attached it). */
#define COUNTER_UNREADABLE (-2)
static long attached_counter(int ifindex)
{
	struct bpf_prog_info info = { 0 };
	__u32 prog_id = 0, map_ids[4] = { 0 }, len = sizeof(info), zero = 0;
	__u64 value = 0;
	int fd;

	if (bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &prog_id) || !prog_id)
		return -1;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0 && errno == EPERM)
		return COUNTER_UNREADABLE;
	info.nr_map_ids = 4;
	info.map_ids = (unsigned long)map_ids;
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	for (__u32 i = 0; i < info.nr_map_ids && i < 4; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 ml = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd >= 0 && !bpf_obj_get_info_by_fd(mfd, &mi, &ml) && strcmp(mi.name, "answered") == 0 &&
		    !bpf_map_lookup_elem(mfd, &zero, &value))
			return (long)value;
	}
	return -1;
}

static int report_traffic(int answers, long rewritten, const char *how)
{
	char extra[128];

	snprintf(extra, sizeof(extra), "\"answers\":%d,\"rewritten\":%ld,\"loader\":\"%s\"", answers, rewritten, how);
	if (answers < 0) {
		cm_result(-answers, "traffic", extra, "ping socket: %s (net.ipv4.ping_group_range?)", strerror(-answers));
		return 1;
	}
	if (answers == 0 || (rewritten <= 0 && rewritten != COUNTER_UNREADABLE)) {
		cm_result(ENODATA, "run", extra, "attached, but %d answers / %ld packets rewritten", answers, rewritten);
		return 1;
	}
	/* only the program answers an echo request with "fragmentation needed": the answers are its */
	if (rewritten == COUNTER_UNREADABLE)
		cm_result(0, "run", extra,
			  "%d frag-needed answers to %d oversized pings; its counter not read (a program by id needs CAP_SYS_ADMIN)",
			  answers, PINGS);
	else
		cm_result(0, "run", extra, "%d frag-needed answers to %d oversized pings; %ld packets rewritten", answers,
			  PINGS, rewritten);
	return 0;
}

/* Run `capsh --drop=CAPS --shell=ip -- link set dev lo xdpgeneric obj FILE sec xdp`, stderr kept.
 * FILE is written in a directory of its own under /tmp (the cell's directory is root's), removed
 * once ip is done with it. */
static int iproute2_mode(const char *drop)
{
	const void *elf;
	size_t size = 0;
	char dir[] = "/tmp/capmatrix-ip-XXXXXX", obj[64], dropopt[256], errbuf[4096] = "";
	int err_pipe[2], status, ifindex = if_nametoindex("lo");
	FILE *f = NULL;
	pid_t pid;

	elf = xdp_adjust_tail_bpf__elf_bytes(&size);
	if (mkdtemp(dir)) {
		snprintf(obj, sizeof(obj), "%s/xdp_adjust_tail.bpf.o", dir);
		f = fopen(obj, "w");
	}
	if (!f || fwrite(elf, 1, size, f) != size || fclose(f)) {
		cm_result(errno, "open", NULL, "writing the object under %s: %s", dir, strerror(errno));
		return 1;
	}
	snprintf(dropopt, sizeof(dropopt), "--drop=%s", drop);
	if (pipe(err_pipe))
		return 1;
	pid = fork();
	if (pid == 0) {
		dup2(err_pipe[1], 2);
		dup2(err_pipe[1], 1);
		char *argv[] = { "capsh", *drop ? dropopt : "--drop=", "--shell=/usr/sbin/ip", "--", "link", "set",
				 "dev", "lo", "xdpgeneric", "obj", obj, "sec", "xdp", NULL };
		execvp("capsh", argv);
		_exit(127);
	}
	close(err_pipe[1]);
	size_t len = 0;
	ssize_t n;
	while ((n = read(err_pipe[0], errbuf + len, sizeof(errbuf) - 1 - len)) > 0)
		len += n;
	errbuf[len] = 0;
	waitpid(pid, &status, 0);
	unlink(obj);
	rmdir(dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *tail = len > 500 ? errbuf + len - 500 : errbuf;
		if (strstr(errbuf, "pointer -= pointer prohibited") || strstr(errbuf, "Permission denied"))
			cm_result(EACCES, strstr(errbuf, "PROG LOAD LOG") ? "verifier" : "prog_load", NULL,
				  "ip link set ... xdpgeneric (capsh %s) failed: %s", dropopt, tail);
		else
			cm_result(EPERM, "prog_load", NULL, "ip link set ... xdpgeneric (capsh %s) failed: %s", dropopt, tail);
		return 1;
	}
	int answers = ping_and_count();
	long rewritten = attached_counter(ifindex);
	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	return report_traffic(answers, rewritten, "iproute2");
}

int main(int argc, char **argv)
{
	struct xdp_adjust_tail_bpf *skel;
	int err, ifindex = if_nametoindex("lo"), answers;
	__u32 zero = 0;
	__u64 rewritten = 0;

	cm_init();
	if (argc > 1 && strcmp(argv[1], "iproute2") == 0)
		return iproute2_mode(argc > 2 ? argv[2] : "");
	skel = xdp_adjust_tail_bpf__open();
	if (!skel)
		return cm_open_failed("open");
	err = xdp_adjust_tail_bpf__load(skel);
	if (err)
		return cm_load_failed(err, NULL);
	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xdp_icmp), XDP_FLAGS_SKB_MODE, NULL);
	if (err) {
		err = -err;
		cm_result(err, "xdp_attach", NULL, "bpf_xdp_attach(lo, generic): %s", strerror(err));
		return 1;
	}
	answers = ping_and_count();
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.answered), &zero, &rewritten);
	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	xdp_adjust_tail_bpf__destroy(skel);
	return report_traffic(answers, (long)rewritten, "libbpf");
}

// SPDX-License-Identifier: MIT
/* sockex1 loader: load the filter, attach it to a raw AF_PACKET socket bound to lo,
 * make ICMP, TCP and UDP traffic on loopback ourselves (no ping: ping needs its own
 * privileges), and read the per-protocol byte counts. `ok` only when all three
 * protocols were counted. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "capmatrix_result.h"
#include "sockex1.skel.h"

static int loopback(struct sockaddr_in *a, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

/* TCP: a connection to our own listener, with some payload. */
static int tcp_traffic(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	char buf[512] = "capmatrix";
	int l, c, s;

	l = socket(AF_INET, SOCK_STREAM, 0);
	loopback(&a, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		return -errno;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	s = accept(l, NULL, NULL);
	if (s < 0)
		return -errno;
	for (int i = 0; i < 4; i++)
		if (write(c, buf, sizeof(buf)) < 0 || read(s, buf, sizeof(buf)) < 0)
			return -errno;
	close(s);
	close(c);
	close(l);
	return 0;
}

/* UDP to a bound socket, and UDP to a closed port: the kernel answers the latter
 * with ICMP port unreachable, which is our ICMP traffic. */
static int udp_and_icmp_traffic(void)
{
	struct sockaddr_in a, closed;
	socklen_t alen = sizeof(a);
	char buf[256] = "capmatrix";
	int r, s, probe;

	r = socket(AF_INET, SOCK_DGRAM, 0);
	loopback(&a, 0);
	if (r < 0 || bind(r, (struct sockaddr *)&a, sizeof(a)) || getsockname(r, (struct sockaddr *)&a, &alen))
		return -errno;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -errno;
	for (int i = 0; i < 4; i++)
		if (sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&a, sizeof(a)) < 0)
			return -errno;
	/* A port nobody listens on: bind a socket to learn a free port, then close it. */
	probe = socket(AF_INET, SOCK_DGRAM, 0);
	loopback(&closed, 0);
	alen = sizeof(closed);
	if (probe < 0 || bind(probe, (struct sockaddr *)&closed, sizeof(closed)) ||
	    getsockname(probe, (struct sockaddr *)&closed, &alen))
		return -errno;
	close(probe);
	for (int i = 0; i < 4; i++)
		sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&closed, sizeof(closed));
	close(s);
	close(r);
	return 0;
}

int main(void)
{
	struct sockex1_bpf *skel;
	struct sockaddr_ll ll = { 0 };
	__u64 icmp = 0, tcp = 0, udp = 0;
	__u32 key;
	int sock, fd, err;
	char extra[160];

	cm_init();
	skel = sockex1_bpf__open();
	if (!skel)
		return cm_open_failed("sockex1_bpf__open");
	err = sockex1_bpf__load(skel);
	if (err)
		return cm_load_failed(err, NULL);

	sock = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (sock < 0) {
		err = errno;
		cm_result(err, "raw_socket", NULL, "socket(AF_PACKET, SOCK_RAW): %s", strerror(err));
		return 1;
	}
	ll.sll_family = AF_PACKET;
	ll.sll_protocol = htons(ETH_P_ALL);
	ll.sll_ifindex = if_nametoindex("lo");
	if (bind(sock, (struct sockaddr *)&ll, sizeof(ll))) {
		err = errno;
		cm_result(err, "raw_socket", NULL, "bind to lo: %s", strerror(err));
		return 1;
	}
	fd = bpf_program__fd(skel->progs.count_bytes);
	if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &fd, sizeof(fd))) {
		err = errno;
		cm_result(err, "attach", NULL, "setsockopt(SO_ATTACH_BPF): %s", strerror(err));
		return 1;
	}

	if ((err = tcp_traffic()) || (err = udp_and_icmp_traffic())) {
		err = -err;
		cm_result(err, "traffic", NULL, "making loopback traffic: %s", strerror(err));
		return 1;
	}
	usleep(100 * 1000);

	fd = bpf_map__fd(skel->maps.bytes_by_proto);
	key = IPPROTO_ICMP;
	bpf_map_lookup_elem(fd, &key, &icmp);
	key = IPPROTO_TCP;
	bpf_map_lookup_elem(fd, &key, &tcp);
	key = IPPROTO_UDP;
	bpf_map_lookup_elem(fd, &key, &udp);
	snprintf(extra, sizeof(extra), "\"counts\":{\"icmp\":%llu,\"tcp\":%llu,\"udp\":%llu}",
		 (unsigned long long)icmp, (unsigned long long)tcp, (unsigned long long)udp);

	close(sock);
	sockex1_bpf__destroy(skel);
	if (!icmp || !tcp || !udp) {
		cm_result(ENODATA, "run", extra, "filter attached but counted icmp=%llu tcp=%llu udp=%llu bytes",
			  (unsigned long long)icmp, (unsigned long long)tcp, (unsigned long long)udp);
		return 1;
	}
	cm_result(0, "run", extra, "bytes counted: icmp=%llu tcp=%llu udp=%llu",
		  (unsigned long long)icmp, (unsigned long long)tcp, (unsigned long long)udp);
	return 0;
}

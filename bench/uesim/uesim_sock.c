/* Kernel-socket mode: the UEs live behind a veth in a network namespace (or
 * on loopback). One UDP socket receives every UE's messages (route the UE
 * prefix as local: ip route add local 100.64.0.0/10 dev lo); recvmmsg takes
 * a batch, each message goes through the UE model, and the acks leave with
 * sendmmsg from the address the message was sent to (IP_PKTINFO), to the
 * BM-SC address and port it came from. No EAL. */
#include "uesim.h"

#include "ack_delay.h"
#include "ue_burst.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCK_BATCH 64

/* One ack on its way: the bytes, where to, and from which local address. */
struct sock_ack {
	uint8_t ack[KB_ACK_LEN];
	struct sockaddr_storage to;
	socklen_t to_len;
	int af;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} from;
	bool has_from;
};

struct sock_tx {
	struct mmsghdr msgs[2 * SOCK_BATCH];
	struct iovec iov[2 * SOCK_BATCH];
	struct sock_ack acks[2 * SOCK_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[2 * SOCK_BATCH];
	unsigned n;
};

static int open_socket(const struct kb_uesim_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int af, one = 1, buf = 64 << 20;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, o->bind_addr, &s4->sin_addr) == 1) {
		af = AF_INET;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(o->udp_port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, o->bind_addr, &s6->sin6_addr) == 1) {
		af = AF_INET6;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(o->udp_port);
		len = sizeof(*s6);
	} else {
		fprintf(stderr, "uesim: --bind %s is not an IP address\n", o->bind_addr);
		return -1;
	}
	int fd = socket(af, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("uesim: socket");
		return -1;
	}
	/* big buffers: a rollover arrives much faster than one core drains it */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	int rc = af == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
			       : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	if (rc != 0 || bind(fd, (struct sockaddr *)&ss, len) != 0) {
		fprintf(stderr, "uesim: bind %s port %u: %s\n", o->bind_addr, o->udp_port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void tx_add(struct sock_tx *tx, const struct sock_ack *a)
{
	unsigned i = tx->n++;
	struct msghdr *h = &tx->msgs[i].msg_hdr;
	tx->acks[i] = *a;
	memset(h, 0, sizeof(*h));
	tx->iov[i].iov_base = tx->acks[i].ack;
	tx->iov[i].iov_len = KB_ACK_LEN;
	h->msg_iov = &tx->iov[i];
	h->msg_iovlen = 1;
	h->msg_name = &tx->acks[i].to;
	h->msg_namelen = a->to_len;
	if (!a->has_from)
		return;
	h->msg_control = tx->ctl[i].buf;
	struct cmsghdr *c = (struct cmsghdr *)tx->ctl[i].buf;
	if (a->af == AF_INET) {
		struct in_pktinfo pi = {.ipi_spec_dst = a->from.v4.ipi_addr};
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = {.ipi6_addr = a->from.v6.ipi6_addr};
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

static void tx_flush(int fd, struct sock_tx *tx, struct kb_uesim_run *run)
{
	unsigned done = 0;
	while (done < tx->n) {
		int n = sendmmsg(fd, tx->msgs + done, tx->n - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) {
				/* the kernel is full: give it a moment, acks are worth keeping */
				struct pollfd p = {.fd = fd, .events = POLLOUT};
				poll(&p, 1, 10);
				continue;
			}
			run->tx_fail++; /* this one cannot go (e.g. no route); skip it */
			done++;
			continue;
		}
		done += (unsigned)n;
	}
	tx->n = 0;
}

int kb_uesim_run_sock(struct kb_uesim *sim, const struct kb_uesim_opts *o)
{
	static struct sock_tx tx;
	static uint8_t bufs[SOCK_BATCH][2048];
	static union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[SOCK_BATCH];
	struct mmsghdr msgs[SOCK_BATCH];
	struct iovec iov[SOCK_BATCH];
	struct sockaddr_storage from[SOCK_BATCH];
	struct kb_ack_delay delay = {0};
	struct kb_uesim_run run;
	struct kb_ptm_rx *ptm = NULL;
	int fd = open_socket(o);
	if (fd < 0)
		return 2;
	if (kb_ptm_rx_new(sim, o, &ptm) != 0 ||
	    (ptm != NULL && kb_ptm_rx_sock_open(ptm, o->bind_addr, fd) != 0)) {
		kb_ptm_rx_free(ptm);
		close(fd);
		return 2;
	}
	if (o->delay_us > 0 && kb_ack_delay_init(&delay, o->delay_queue, sizeof(struct sock_ack))) {
		fprintf(stderr, "uesim: no memory for the delay queue\n");
		kb_ptm_rx_free(ptm);
		close(fd);
		return 2;
	}
	struct kb_ue_burst *burst = NULL;
	if (!o->ref_crypto && (burst = kb_ue_burst_new(sim)) == NULL) {
		fprintf(stderr, "uesim: cannot set up the IPsec-MB burst path\n");
		kb_ack_delay_free(&delay);
		kb_ptm_rx_free(ptm);
		close(fd);
		return 2;
	}
	fprintf(stderr, "uesim: %u UEs, kernel socket %s port %u, crypto %s\n", sim->n_ue,
		o->bind_addr, o->udp_port, burst != NULL ? kb_ue_burst_arch(burst) : "openssl");

	kb_uesim_run_start(&run, sim, o);
	run.ptm = ptm;
	while (!kb_uesim_run_tick(&run)) {
		struct pollfd pp[1 + KB_PTM_MAX_FDS] = {{.fd = fd, .events = POLLIN}};
		nfds_t np = 1 + kb_ptm_rx_pollfds(ptm, pp + 1);
		int timeout = delay.count > 0 ? 1 : 50;
		if (poll(pp, np, timeout) < 0 && errno != EINTR)
			break;
		kb_ptm_rx_sock_input(ptm, pp + 1);
		struct pollfd p = pp[0];
		for (unsigned i = 0; i < SOCK_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		int n = (p.revents & POLLIN) ? recvmmsg(fd, msgs, SOCK_BATCH, MSG_DONTWAIT, NULL)
					     : 0;
		uint64_t now_ns = (uint64_t)(kb_uesim_now() * 1e9);
		/* the batch through the UE model at once (truncated datagrams
		 * are malformed: handed over as a 0-byte message) */
		const uint8_t *in[SOCK_BATCH];
		uint16_t in_len[SOCK_BATCH];
		enum kb_ue_verdict v[SOCK_BATCH];
		struct kb_ue_reply reps[SOCK_BATCH];
		for (int i = 0; i < n; i++) {
			in[i] = bufs[i];
			in_len[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
					    ? 0
					    : (uint16_t)msgs[i].msg_len;
		}
		if (n > 0 && burst != NULL)
			kb_ue_burst_handle(burst, in, in_len, (unsigned)n, v, reps);
		else
			for (int i = 0; i < n; i++)
				v[i] = kb_uesim_handle(sim, in[i], in_len[i], &reps[i]);
		for (int i = 0; i < n; i++) {
			const struct kb_ue_reply *r = &reps[i];
			struct msghdr *h = &msgs[i].msg_hdr;
			if (r->copies == 0)
				continue;
			struct sock_ack a;
			memset(&a, 0, sizeof(a));
			memcpy(a.ack, r->ack, KB_ACK_LEN);
			memcpy(&a.to, &from[i], h->msg_namelen);
			a.to_len = h->msg_namelen;
			a.af = from[i].ss_family;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL;
			     c = CMSG_NXTHDR(h, c)) {
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
					memcpy(&a.from.v4, CMSG_DATA(c), sizeof(a.from.v4));
					a.has_from = a.af == AF_INET;
				} else if (c->cmsg_level == IPPROTO_IPV6 &&
					   c->cmsg_type == IPV6_PKTINFO) {
					memcpy(&a.from.v6, CMSG_DATA(c), sizeof(a.from.v6));
					a.has_from = a.af == AF_INET6;
				}
			}
			for (unsigned c = 0; c < r->copies; c++) {
				if (o->delay_us > 0 &&
				    kb_ack_delay_push(&delay, now_ns + o->delay_us * 1000ull, &a))
					continue;
				if (o->delay_us > 0)
					run.delay_overflow++;
				tx_add(&tx, &a);
			}
		}
		const struct sock_ack *d;
		while (tx.n < 2 * SOCK_BATCH && (d = kb_ack_delay_peek(&delay, now_ns)) != NULL) {
			tx_add(&tx, d);
			kb_ack_delay_pop(&delay);
		}
		if (tx.n > 0)
			tx_flush(fd, &tx, &run);
	}
	/* acks still waiting are lost with the UE going away: count them */
	run.tx_fail += delay.count;
	kb_ack_delay_free(&delay);
	close(fd);
	int rc = kb_uesim_run_finish(&run);
	kb_ue_burst_free(burst);
	kb_ptm_rx_free(ptm);
	return rc;
}

/*
 * libkvmi - bench/floor_tool.c: the floor against a real host model
 * (bench-floor-tool): the least an introspection tool can do to answer CR
 * events, with no library.
 *
 * It listens on a unix socket, accepts one connection, answers QEMU's
 * handshake (reads struct_size and the rest of QEMU's struct, sends a
 * 24-byte struct with a zero cookie), asks KVMI_GET_GUEST_INFO for the
 * vCPU count, enables KVMI_EVENT_CR and CR3 interception on every vCPU
 * (all those commands in one write, their replies only checked), then
 * reads the socket into one buffer and, for every whole event in it,
 * parses the 8-byte header and answers CONTINUE with the new CR value:
 *   --reply each    one write per reply, as soon as its event is parsed
 *                   (what keeps a host that reads one message at a time
 *                   busy);
 *   --reply gather  one write for all the replies of one read (what pays
 *                   against a host that writes many events at once).
 *   --epoll         sleep in epoll_wait() and read without blocking, as
 *                   an event loop does (else a blocking read()).
 *   --busy-poll US  with --epoll: when a read finds nothing, read again
 *                   (sched_yield() between reads) until US microseconds
 *                   have passed since the last bytes came, then sleep;
 *                   the floor of the library's busy_poll_us (server.h);
 *                   one guest only.
 * scripts/bench takes the fastest as the floor.  After --warmup events,
 * --events more are timed (rate and getrusage CPU per event); then the
 * tool closes the connection and prints one line.
 *
 * --guests N: accept N connections (one after the other, each started as
 * above), then serve them all from one epoll loop (--epoll is implied):
 * the same parse and replies per connection, --warmup and --events
 * counted over every guest together; at the end every connection is
 * closed, and the line gains guests=N.
 *
 * Usage: bench-floor-tool --socket PATH [--events N] [--warmup N]
 *                         [--reply each|gather] [--epoll] [--guests N]
 *                         [--busy-poll US]
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <kvmi/wire.h>

#include "bench_util.h"

#define BUF_BYTES (64 * 1024)

struct event_reply_msg {
	struct kvmi_msg_hdr hdr;
	struct kvmi_vcpu_hdr vcpu;
	struct kvmi_event_reply common;
	struct kvmi_event_cr_reply cr;
};

/* one guest's connection and what of its input is not parsed yet */
struct conn {
	int fd;
	size_t have;
	char *buf;
};

static int fd = -1, ep = -1; /* fd: the connection being served */
static uint64_t busy_ns, last_bytes_ns; /* --busy-poll */

static void die(const char *what)
{
	fprintf(stderr, "bench-floor-tool: %s: %s\n", what,
		errno ? strerror(errno) : "protocol");
	exit(1);
}

static void read_full(void *buf, size_t len)
{
	if (bench_read_all(fd, buf, len))
		die("read");
}

/* the event loop's read: wait in epoll_wait(), then read non-blocking */
static ssize_t loop_read(void *buf, size_t len)
{
	for (;;) {
		struct epoll_event e;
		ssize_t n = read(fd, buf, len);

		if (n > 0 && busy_ns)
			last_bytes_ns = bench_now_ns();
		if (n >= 0 || ep < 0 || errno != EAGAIN)
			return n;
		if (busy_ns && bench_now_ns() - last_bytes_ns < busy_ns) {
			sched_yield();
			continue;
		}
		if (epoll_wait(ep, &e, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

static void use_epoll(struct conn *c)
{
	struct epoll_event e = {.events = EPOLLIN};

	if (ep < 0)
		ep = epoll_create1(EPOLL_CLOEXEC);
	e.data.ptr = c;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) ||
	    fcntl(c->fd, F_SETFL, O_NONBLOCK))
		die("epoll");
}

/* --guests N: the next connection with input (epoll_wait when every
 * one reported has been served) */
static struct conn *next_ready(void)
{
	static struct epoll_event evs[64];
	static int nev, iev;

	while (iev == nev) {
		iev = 0;
		nev = epoll_wait(ep, evs, 64, -1);
		if (nev < 0 && errno != EINTR)
			die("epoll_wait");
		if (nev < 0)
			nev = 0;
	}
	return evs[iev++].data.ptr;
}

static void listen_accept(const char *path, unsigned int guests,
			  struct conn *conns, void (*started)(struct conn *c))
{
	struct sockaddr_un sa;
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (lfd < 0 || strlen(path) >= sizeof(sa.sun_path))
		die("socket");
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, guests > 1 ? (int)guests : 1))
		die("bind/listen");
	for (unsigned int i = 0; i < guests; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			die("accept");
		conns[i].fd = fd;
		conns[i].buf = malloc(BUF_BYTES);
		if (!conns[i].buf)
			die("malloc");
		started(&conns[i]);
	}
	close(lfd);
	unlink(path);
}

/* QEMU's struct in, ours out; then GET_GUEST_INFO: the vCPU count */
static unsigned int start(void)
{
	struct kvmi_introspector2qemu me = {.struct_size = sizeof(me)};
	struct {
		struct kvmi_msg_hdr hdr;
		struct kvmi_error_code ec;
		struct kvmi_get_guest_info_reply info;
	} r;
	struct kvmi_msg_hdr q = {.id = KVMI_GET_GUEST_INFO, .seq = 1};
	char skip[256];
	uint32_t size;

	read_full(&size, sizeof(size));
	if (size < 32 || size > 65536)
		die("QEMU's struct_size");
	for (size -= 4; size;) {
		size_t n = size < sizeof(skip) ? size : sizeof(skip);

		read_full(skip, n);
		size -= (uint32_t)n;
	}
	if (bench_write_all(fd, &me, sizeof(me)) ||
	    bench_write_all(fd, &q, sizeof(q)))
		die("write");
	read_full(&r, sizeof(r.hdr) + sizeof(r.ec));
	if (r.hdr.id != KVMI_GET_GUEST_INFO || r.ec.err ||
	    r.hdr.size != sizeof(r.ec) + sizeof(r.info))
		die("GET_GUEST_INFO reply");
	read_full(&r.info, sizeof(r.info));
	return r.info.vcpu_count;
}

/* CONTROL_EVENTS(CR) and CONTROL_CR(3) for every vCPU, in one write */
static void enable(unsigned int vcpus)
{
	struct ctl {
		struct kvmi_msg_hdr hdr;
		struct kvmi_vcpu_hdr vcpu;
		union {
			struct kvmi_control_events ev;
			struct kvmi_control_cr cr;
		} u;
	} *c = calloc(2 * (size_t)vcpus, sizeof(*c));

	if (!c)
		die("calloc");
	for (unsigned int i = 0; i < vcpus; i++) {
		struct ctl *e = &c[2 * i], *r = &c[2 * i + 1];

		e->hdr.id = KVMI_CONTROL_EVENTS;
		e->hdr.size = sizeof(*e) - sizeof(e->hdr);
		e->hdr.seq = 2 + 2 * i;
		e->vcpu.vcpu = (__u16)i;
		e->u.ev.event_id = KVMI_EVENT_CR;
		e->u.ev.enable = 1;
		r->hdr.id = KVMI_CONTROL_CR;
		r->hdr.size = sizeof(*r) - sizeof(r->hdr);
		r->hdr.seq = 3 + 2 * i;
		r->vcpu.vcpu = (__u16)i;
		r->u.cr.enable = 1;
		r->u.cr.cr = 3;
	}
	if (bench_write_all(fd, c, 2 * (size_t)vcpus * sizeof(*c)))
		die("write");
	free(c);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --socket PATH [--events N] [--warmup N] "
		"[--reply each|gather] [--epoll] [--guests N (1..65536)] "
		"[--busy-poll US (one guest)]\n",
		prog);
	exit(2);
}

static unsigned int vcpus_all;

/* a guest accepted: its start-up (vCPU count, events on) */
static void start_guest(struct conn *c)
{
	unsigned int vcpus;

	fd = c->fd;
	vcpus = start();
	enable(vcpus);
	vcpus_all += vcpus;
}

int main(int argc, char **argv)
{
	static struct event_reply_msg out[BUF_BYTES / 576 + 1];
	struct bench_window w = {.warmup = 2000, .count = 200000};
	const char *path = NULL;
	int gather = 0, done = 0, epoll = 0;
	long cmd_replies = 0, guests = 1;
	struct conn *conns;
	int guests_opt = 0;

	for (int i = 1; i < argc; i++) {
		if (bench_window_opt(argc, argv, &i, &w, &path))
			continue;
		if (!strcmp(argv[i], "--reply") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "gather"))
				gather = 1;
			else if (strcmp(argv[i], "each"))
				usage(argv[0]);
		} else if (!strcmp(argv[i], "--epoll")) {
			epoll = 1;
		} else if (!strcmp(argv[i], "--busy-poll") && i + 1 < argc) {
			long us = atol(argv[++i]);

			if (us < 1 || us > 10000)
				usage(argv[0]);
			busy_ns = (uint64_t)us * 1000;
		} else if (!strcmp(argv[i], "--guests") && i + 1 < argc) {
			guests = atol(argv[++i]);
			guests_opt = 1;
			if (guests < 1 || guests > 65536) {
				fprintf(stderr,
					"%s: --guests must be 1..65536\n",
					argv[0]);
				usage(argv[0]);
			}
		} else
			usage(argv[0]);
	}
	if (!path || w.count < 1 || w.warmup < 1 || (busy_ns && !epoll) ||
	    (busy_ns && guests > 1))
		usage(argv[0]);
	conns = calloc((size_t)guests, sizeof(*conns));
	if (!conns)
		die("calloc");
	if (guests > 1) {
		bench_raise_nofile();
		epoll = 1;
	}
	listen_accept(path, (unsigned int)guests, conns, start_guest);
	for (long i = 0; epoll && i < guests; i++)
		use_epoll(&conns[i]);
	memset(out, 0, sizeof(out));
	while (!done) {
		struct conn *c = guests > 1 ? next_ready() : conns;
		char *buf = c->buf;
		size_t have = c->have, off = 0, nout = 0;
		ssize_t n;

		fd = c->fd;
		n = guests > 1 ? read(fd, buf + have, BUF_BYTES - have)
			       : loop_read(buf + have, BUF_BYTES - have);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			die("the host closed the connection early; read");
		have += (size_t)n;
		while (!done && have - off >= sizeof(struct kvmi_msg_hdr)) {
			const struct kvmi_msg_hdr *h =
			    (const void *)(buf + off);
			const struct kvmi_event *ev = (const void *)(h + 1);
			const struct kvmi_event_cr *cr;
			struct event_reply_msg *r = &out[nout];

			if (h->size > KVMI_HOST_MSG_SIZE_VALUE)
				die("an oversized message");
			if (have - off < sizeof(*h) + h->size)
				break;
			off += sizeof(*h) + h->size;
			if (h->id != KVMI_EVENT) {
				/* a reply to the enabling commands */
				if (((const struct kvmi_error_code *)(h + 1))
					->err)
					die("CONTROL_EVENTS/CONTROL_CR "
					    "refused");
				cmd_replies++;
				continue;
			}
			if (h->size < ev->size + sizeof(*cr) ||
			    ev->event != KVMI_EVENT_CR)
				die("an event that is not a CR event");
			cr = (const void *)((const char *)ev + ev->size);
			r->hdr.id = KVMI_EVENT_REPLY;
			r->hdr.size = sizeof(*r) - sizeof(r->hdr);
			r->hdr.seq = h->seq;
			r->vcpu.vcpu = ev->vcpu;
			r->common.action = KVMI_EVENT_ACTION_CONTINUE;
			r->common.event = KVMI_EVENT_CR;
			r->cr.new_val = cr->new_value;
			if (!gather && bench_write_all(fd, r, sizeof(*r)))
				die("write");
			nout += gather;
			done = bench_window_event(&w);
		}
		if (nout && bench_write_all(fd, out, nout * sizeof(*out)))
			die("write");
		have -= off;
		memmove(buf, buf + off, have);
		c->have = have;
	}
	for (long i = 0; i < guests; i++) {
		close(conns[i].fd);
		free(conns[i].buf);
	}
	free(conns);
	if (cmd_replies > 2 * (long)vcpus_all)
		die("more command replies than commands");
	printf("floor-tool reply=%s wait=%s busy_poll_us=%llu ",
	       gather ? "gather" : "each", epoll ? "epoll" : "read",
	       (unsigned long long)(busy_ns / 1000));
	if (guests_opt)
		printf("guests=%ld ", guests);
	return bench_window_print(&w, "");
}

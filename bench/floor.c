/*
 * libkvmi - bench/floor.c: the raw socket floor.
 *
 * Two processes over a unix stream socket: a "host" writes event-sized
 * messages (576 bytes, a PF/CR/MSR event) and a "tool" reads each whole
 * message and answers with a reply-sized message (24 bytes, an event
 * reply), with no parsing at all.  The host keeps WINDOW messages
 * outstanding (1 = one vCPU, 8 = eight vCPUs), writing every free slot's
 * message in one write.  Prints messages per second.  This is the
 * baseline every library figure in bench/ is divided by.
 *
 * Usage: bench-floor [--window N] [--count N] [--cpus TOOL,HOST] [--epoll]
 *   --epoll: both sides sleep in epoll_wait() and read non-blocking, as
 *   an event loop does (on some machines faster than blocking reads)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define EVENT_BYTES 576
#define REPLY_BYTES 24

static int use_epoll, ep = -1;

/*
 * read(2) as the library does it with --epoll: wait in epoll_wait() (the
 * way an event loop sleeps), then read without blocking; otherwise a
 * plain blocking read.
 */
static ssize_t floor_read(int fd, void *buf, size_t len)
{
	for (;;) {
		struct epoll_event e;
		ssize_t n;

		if (use_epoll && ep < 0) {
			ep = epoll_create1(EPOLL_CLOEXEC);
			e.events = EPOLLIN;
			e.data.fd = fd;
			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) ||
			    fcntl(fd, F_SETFL, O_NONBLOCK))
				return -1;
		}
		n = read(fd, buf, len);
		if (n >= 0 || !use_epoll || errno != EAGAIN)
			return n;
		if (epoll_wait(ep, &e, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

static void tool_side(int fd, long count)
{
	char buf[EVENT_BYTES * 64], reply[REPLY_BYTES * 64];
	size_t have = 0;
	long done = 0;

	memset(reply, 0, sizeof(reply));
	while (done < count) {
		ssize_t n = floor_read(fd, buf + have, sizeof(buf) - have);
		size_t whole;

		if (n <= 0)
			exit(n < 0 ? 3 : 0);
		have += (size_t)n;
		whole = have / EVENT_BYTES;
		if (whole) {
			/* one write answers every whole message read */
			if (bench_write_all(fd, reply, whole * REPLY_BYTES) < 0)
				exit(3);
			done += (long)whole;
			have -= whole * EVENT_BYTES;
			memmove(buf, buf + whole * EVENT_BYTES, have);
		}
	}
	exit(0);
}

static double host_side(int fd, long count, int window)
{
	char ev[EVENT_BYTES * 8], rbuf[REPLY_BYTES * 64];
	long sent = 0, answered = 0;
	size_t rhave = 0;
	uint64_t t0;

	memset(ev, 0x5a, sizeof(ev));
	t0 = bench_now_ns();
	while (answered < count) {
		/* every free slot in one write, as a host with several
		 * vCPUs waiting sends what it has */
		long k = window - (sent - answered);

		if (k > count - sent)
			k = count - sent;
		if (k > 0) {
			if (bench_write_all(fd, ev, (size_t)k * EVENT_BYTES) < 0)
				return -1;
			sent += k;
		}
		ssize_t n = floor_read(fd, rbuf + rhave, sizeof(rbuf) - rhave);
		if (n <= 0)
			return -1;
		rhave += (size_t)n;
		answered += (long)(rhave / REPLY_BYTES);
		rhave %= REPLY_BYTES;
	}
	return (double)count * 1e9 / (double)(bench_now_ns() - t0);
}

int main(int argc, char **argv)
{
	long count = 200000;
	int window = 1, sv[2], status, tool_cpu = -1, host_cpu = -1;
	double rate;
	pid_t pid;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--window") && i + 1 < argc)
			window = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else if (!strcmp(argv[i], "--epoll"))
			use_epoll = 1;
		else if (!strcmp(argv[i], "--cpus") && i + 1 < argc &&
			 sscanf(argv[i + 1], "%d,%d", &tool_cpu, &host_cpu) == 2)
			i++;
		else {
			fprintf(stderr,
				"usage: %s [--window N (1..8)] [--count N] "
				"[--cpus TOOL,HOST] [--epoll]\n",
				argv[0]);
			return 2;
		}
	}
	if (window < 1 || window > 8 || count < 1) {
		fprintf(stderr, "bench-floor: window must be 1..8, count > 0\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		if (tool_cpu >= 0)
			bench_pin(tool_cpu);
		tool_side(sv[1], count);
	}
	close(sv[1]);
	if (host_cpu >= 0)
		bench_pin(host_cpu);
	rate = host_side(sv[0], count, window);
	close(sv[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || rate < 0) {
		fprintf(stderr, "bench-floor: run failed\n");
		return 1;
	}
	printf("floor window=%d wait=%s msgs_per_s=%.0f\n", window,
	       use_epoll ? "epoll" : "read", rate);
	return 0;
}

/*
 * libkvmi - bench/bench_util.h: small helpers shared by the benchmarks
 * (monotonic clock, full writes, CPU pinning, the measuring window of an
 * event-answering tool).
 */
#ifndef KVMI_BENCH_UTIL_H
#define KVMI_BENCH_UTIL_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* all @len bytes of @buf written (@out) or read, whatever the pieces;
 * -1 on an error or end of file */
static inline int bench_io_all(int fd, void *buf, size_t len, int out)
{
	char *p = buf;

	while (len) {
		ssize_t n = out ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int bench_write_all(int fd, const void *buf, size_t len)
{
	return bench_io_all(fd, (void *)buf, len, 1);
}

static inline int bench_read_all(int fd, void *buf, size_t len)
{
	return bench_io_all(fd, buf, len, 0);
}

/* pin the calling process to @cpu; exits on failure */
static inline void bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

/*
 * The measuring window of a tool that answers events: after @warmup
 * events, @count more are timed, with the process's CPU time
 * (getrusage: every thread, user + system) over the same events.
 */
struct bench_window {
	long warmup, count, seen;
	uint64_t t0, t1;     /* monotonic ns at the window's ends */
	uint64_t cpu0, cpu1; /* process CPU ns at the window's ends */
};

static inline uint64_t bench_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
		   1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
		   1000u;
}

/* one more event answered; 1 when it ended the window (stop then) */
static inline int bench_window_event(struct bench_window *w)
{
	if (++w->seen == w->warmup) {
		w->cpu0 = bench_cpu_ns();
		w->t0 = bench_now_ns();
	}
	if (w->seen != w->warmup + w->count)
		return 0;
	w->t1 = bench_now_ns();
	w->cpu1 = bench_cpu_ns();
	return 1;
}

/*
 * The options of every event-answering tool: --socket PATH, --events N
 * (the window's count), --warmup N.  When argv[*i] is one, consumes it
 * and its value and returns 1; else 0.
 */
static inline int bench_window_opt(int argc, char **argv, int *i,
				   struct bench_window *w, const char **path)
{
	const char *a = argv[*i];

	if (*i + 1 >= argc)
		return 0;
	if (!strcmp(a, "--socket"))
		*path = argv[++*i];
	else if (!strcmp(a, "--events"))
		w->count = atol(argv[++*i]);
	else if (!strcmp(a, "--warmup"))
		w->warmup = atol(argv[++*i]);
	else
		return 0;
	return 1;
}

/* print "@what ... events_per_s=R cpu_ns_per_event=C"; 1 if the window
 * never ended */
static inline int bench_window_print(const struct bench_window *w,
				     const char *what)
{
	if (!w->t1) {
		fprintf(stderr, "%s: only %ld events arrived\n", what, w->seen);
		return 1;
	}
	printf("%s events=%ld events_per_s=%.0f cpu_ns_per_event=%.0f\n", what,
	       w->count, (double)w->count * 1e9 / (double)(w->t1 - w->t0),
	       (double)(w->cpu1 - w->cpu0) / (double)w->count);
	return 0;
}

#endif /* KVMI_BENCH_UTIL_H */

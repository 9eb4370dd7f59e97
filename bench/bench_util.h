/*
 * libkvmi - bench/bench_util.h: small helpers shared by the benchmarks
 * (monotonic clock, full writes, CPU pinning, the measuring window of an
 * event-answering tool, memory readings).  libc only: the tools built
 * against other libraries use it too.
 */
#ifndef KVMI_BENCH_UTIL_H
#define KVMI_BENCH_UTIL_H

#include <errno.h>
#include <malloc.h>
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

/* resident set size of the calling process, bytes (0 when unknown) */
static inline long bench_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE);
}

/* heap in use, bytes: malloc's chunks in use in every arena plus the
 * blocks it mmapped (large allocations live outside the arenas) */
static inline size_t bench_heap_bytes(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

/* the memory benchmarks' readings: before any guest, with the guests
 * connected and idle, with the events queued */
enum { BENCH_MEM_BASE, BENCH_MEM_IDLE, BENCH_MEM_QUEUED };
struct bench_mem {
	long rss[3];
	size_t heap[3];
};

static inline void bench_mem_read(struct bench_mem *m, int at)
{
	m->rss[at] = bench_rss_bytes();
	m->heap[at] = bench_heap_bytes();
}

/* print "@what guests=N rss_per_guest=B heap_per_guest=B rss_base_kib=K
 * rss_idle_kib=K" and, when @queued > 0, " queued=N answered=N
 * rss_per_queued_event=B heap_per_queued_event=B rss_queued_kib=K": per
 * guest from base to idle, per event from idle to queued */
static inline void bench_mem_print(const char *what, const struct bench_mem *m,
				   long guests, long queued, long answered)
{
	printf("%s guests=%ld rss_per_guest=%.1f heap_per_guest=%.1f "
	       "rss_base_kib=%ld rss_idle_kib=%ld",
	       what, guests,
	       (double)(m->rss[BENCH_MEM_IDLE] - m->rss[BENCH_MEM_BASE]) /
		   (double)guests,
	       ((double)m->heap[BENCH_MEM_IDLE] -
		(double)m->heap[BENCH_MEM_BASE]) /
		   (double)guests,
	       m->rss[BENCH_MEM_BASE] / 1024, m->rss[BENCH_MEM_IDLE] / 1024);
	if (queued > 0)
		printf(" queued=%ld answered=%ld rss_per_queued_event=%.1f "
		       "heap_per_queued_event=%.1f rss_queued_kib=%ld",
		       queued, answered,
		       (double)(m->rss[BENCH_MEM_QUEUED] -
				m->rss[BENCH_MEM_IDLE]) /
			   (double)queued,
		       ((double)m->heap[BENCH_MEM_QUEUED] -
			(double)m->heap[BENCH_MEM_IDLE]) /
			   (double)queued,
		       m->rss[BENCH_MEM_QUEUED] / 1024);
	printf("\n");
}

/* raise RLIMIT_NOFILE to its hard limit; returns the new soft limit */
static inline long bench_raise_nofile(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur;
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

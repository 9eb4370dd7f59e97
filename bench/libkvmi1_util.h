/*
 * libkvmi - bench/libkvmi1_util.h: what the benchmark tools of the libkvmi
 * 1.x API share (bench-events-libkvmi1, bench-memory-libkvmi1): the
 * accepted guests, the log callback, the CR event's CONTINUE reply.
 * <libkvmi.h> and libc only, header-only: scripts/bench compiles these
 * tools against Bitdefender's libkvmi as well as ours.
 */
#ifndef KVMI_BENCH_LIBKVMI1_UTIL_H
#define KVMI_BENCH_LIBKVMI1_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libkvmi.h>

/* the guests the accept thread handed over: the first @max are kept */
struct bench1_guests {
	pthread_mutex_t lock;
	pthread_cond_t arrived;
	void **doms; /* @max slots */
	long n, max;
};

#define BENCH1_GUESTS_INIT(slots, count)                                       \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, slots, 0, \
		    count                                                      \
	}

/* the accept callback (kvmi_init_unix_socket's, @ctx: the guests): keep
 * the guest while there is room, refuse it afterwards */
static inline int bench1_new_guest(void *dom, unsigned char (*uuid)[16],
				   void *ctx)
{
	struct bench1_guests *g = ctx;
	int keep;

	(void)uuid;
	pthread_mutex_lock(&g->lock);
	keep = g->n < g->max;
	if (keep)
		g->doms[g->n++] = dom;
	pthread_cond_signal(&g->arrived);
	pthread_mutex_unlock(&g->lock);
	return keep ? 0 : -1;
}

/* wait up to @seconds for @upto guests (at most @max); how many came */
static inline long bench1_wait_guests_upto(struct bench1_guests *g, long upto,
					   int seconds)
{
	struct timespec until;
	long n;

	if (upto > g->max)
		upto = g->max;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&g->lock);
	while (g->n < upto && pthread_cond_timedwait(&g->arrived, &g->lock,
						     &until) != ETIMEDOUT)
		;
	n = g->n;
	pthread_mutex_unlock(&g->lock);
	return n;
}

/* wait up to @seconds for every guest; how many came (no more come once
 * it is @max) */
static inline long bench1_wait_guests(struct bench1_guests *g, int seconds)
{
	return bench1_wait_guests_upto(g, g->max, seconds);
}

/* the library's warnings and errors to stderr */
static inline void bench1_log_cb(kvmi_log_level level, const char *s, void *ctx)
{
	(void)ctx;
	if (level >= KVMI_LOG_LEVEL_WARNING)
		fprintf(stderr, "libkvmi: %s\n", s);
}

/* answer the CR event @ev CONTINUE, the write as the guest made it */
static inline int bench1_reply_cr(void *dom, const struct kvmi_dom_event *ev)
{
	struct {
		struct kvmi_vcpu_hdr hdr;
		struct kvmi_event_reply common;
		struct kvmi_event_cr_reply cr;
	} rpl;

	memset(&rpl, 0, sizeof(rpl));
	rpl.hdr.vcpu = ev->event.common.vcpu;
	rpl.common.action = KVMI_EVENT_ACTION_CONTINUE;
	rpl.common.event = ev->event.common.event;
	rpl.cr.new_val = ev->event.cr.new_value;
	return kvmi_reply_event(dom, ev->seq, &rpl, sizeof(rpl));
}

#endif /* KVMI_BENCH_LIBKVMI1_UTIL_H */

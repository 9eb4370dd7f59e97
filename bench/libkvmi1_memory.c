/*
 * libkvmi - bench/libkvmi1_memory.c: memory per connected idle guest and
 * per queued event through the libkvmi 1.x API (<libkvmi.h>)
 * (bench-memory-libkvmi1).
 *
 * One source for both libraries: meson builds it against our 1.x layer,
 * scripts/bench against Bitdefender's libkvmi (as bench-events-libkvmi1).
 * Only <libkvmi.h> (and what it includes) and libc are used
 * (bench_util.h and libkvmi1_util.h are header-only).
 *
 * kvmi_init_unix_socket() listens on --socket; heap in use
 * (bench_heap_bytes) and resident set are read, then again once --guests
 * guests were accepted and each answered kvmi_get_vcpu_count(): the
 * difference over the guests is the cost of an idle guest.
 *
 * --queued: then CR events and CR3 interception are enabled on every vCPU
 * of every guest (the host is kvmi-fakehost --insn cr3 --events-per-vcpu
 * 2: a vCPU raises one event and waits for its reply).  The events are
 * left in the library's queue - the 1.x queue of events read but not yet
 * popped - by asking each guest kvmi_get_vcpu_count() until
 * kvmi_get_pending_events() counts one event per vCPU: a command's reply
 * comes after the events the host sent before it, which the library
 * reads and queues on the way.  With every event queued, heap and
 * resident set are read again: the growth over the idle reading divided
 * by the events is the cost of one queued event.  Then every event is
 * popped, answered CONTINUE (the CR reply of libkvmi1_events.c) and
 * freed; each vCPU's second event (popped and answered the same way)
 * proves its first reply reached the host.
 *
 * Usage: bench-memory-libkvmi1 --socket PATH [--guests N] [--queued]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkvmi.h>

#include "bench_util.h"
#include "libkvmi1_util.h"

#define PROG "bench-memory-libkvmi1"

/* pop and answer @n CR events of @dom, waiting up to @ms for each (0:
 * only those queued); 0 or -1 (said why) */
static int answer(void *dom, unsigned int n, kvmi_timeout_t ms)
{
	for (unsigned int i = 0; i < n; i++) {
		struct kvmi_dom_event *ev;

		if (ms && kvmi_wait_event(dom, ms)) {
			fprintf(stderr, PROG ": %u of %u events: wait: %s\n", i,
				n, strerror(errno));
			return -1;
		}
		if (kvmi_pop_event(dom, &ev)) {
			fprintf(stderr, PROG ": %u of %u events: pop: %s\n", i,
				n, strerror(errno));
			return -1;
		}
		if (ev->event.common.event != KVMI_EVENT_CR ||
		    bench1_reply_cr(dom, ev)) {
			fprintf(stderr, PROG ": event %u not answered\n",
				ev->event.common.event);
			free(ev);
			return -1;
		}
		free(ev);
	}
	return 0;
}

/* ask @dom until one event per vCPU (@vcpus) is in the library's queue;
 * 0, or -1 after 30 s or a failed command */
static int fill_queue(void *dom, unsigned int vcpus)
{
	uint64_t end = bench_now_ns() + 30000000000u;
	unsigned int n;

	while (kvmi_get_pending_events(dom) < vcpus) {
		if (bench_now_ns() > end) {
			fprintf(stderr,
				PROG ": only %zu of %u events queued "
				     "in 30 s\n",
				kvmi_get_pending_events(dom), vcpus);
			return -1;
		}
		if (kvmi_get_vcpu_count(dom, &n)) {
			fprintf(stderr, PROG ": vCPU count: %s\n",
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --socket PATH [--guests N (1..100000)] [--queued]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench1_guests g1 = BENCH1_GUESTS_INIT(NULL, 1);
	struct bench_mem mem = {0};
	const char *path = NULL;
	unsigned int *vcpus;
	long guests = 1, total = 0;
	int queued = 0, rc = 1;
	void **doms;
	void *ctx;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--guests") && i + 1 < argc)
			guests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--queued"))
			queued = 1;
		else
			usage(argv[0]);
	}
	if (!path || guests < 1 || guests > 100000)
		usage(argv[0]);
	if (bench_raise_nofile() < guests + 64) {
		fprintf(stderr,
			PROG ": the fd limit is too low for %ld guests\n",
			guests);
		return 1;
	}
	doms = calloc((size_t)guests, sizeof(*doms));
	vcpus = calloc((size_t)guests, sizeof(*vcpus));
	if (!doms || !vcpus) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	g1.doms = doms;
	g1.max = guests;
	kvmi_set_log_cb(bench1_log_cb, NULL);
	ctx = kvmi_init_unix_socket(path, bench1_new_guest, NULL, &g1);
	if (!ctx) {
		fprintf(stderr, PROG ": cannot listen on %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	bench_mem_read(&mem, BENCH_MEM_BASE);
	if (bench1_wait_guests(&g1, 60) < guests) {
		fprintf(stderr, PROG ": only %ld of %ld guests in 60 s\n",
			bench1_wait_guests(&g1, 0), guests);
		goto out;
	}
	for (long g = 0; g < guests; g++)
		if (kvmi_get_vcpu_count(doms[g], &vcpus[g])) {
			fprintf(stderr, PROG ": vCPU count: %s\n",
				strerror(errno));
			goto out;
		}
	bench_mem_read(&mem, BENCH_MEM_IDLE);
	if (queued) {
		for (long g = 0; g < guests; g++) {
			total += vcpus[g];
			for (unsigned short v = 0; v < vcpus[g]; v++)
				if (kvmi_control_events(doms[g], v,
							KVMI_EVENT_CR, true) ||
				    kvmi_control_cr(doms[g], v, 3, true)) {
					fprintf(stderr,
						PROG ": enabling CR3 events on "
						     "vCPU %u: %s\n",
						v, strerror(errno));
					goto out;
				}
		}
		for (long g = 0; g < guests; g++)
			if (fill_queue(doms[g], vcpus[g]))
				goto out;
		bench_mem_read(&mem, BENCH_MEM_QUEUED);
		/* the queued events, then each vCPU's second one */
		for (long g = 0; g < guests; g++)
			if (answer(doms[g], vcpus[g], 0))
				goto out;
		for (long g = 0; g < guests; g++)
			if (answer(doms[g], vcpus[g], 10000))
				goto out;
	}
	bench_mem_print("memory-libkvmi1", &mem, guests, total, total);
	rc = 0;
out:
	/* no guest comes any more: the context's accept thread stops */
	kvmi_uninit(ctx);
	for (long g = 0; g < g1.n; g++)
		kvmi_domain_close(doms[g], true);
	free(vcpus);
	free(doms);
	return rc;
}

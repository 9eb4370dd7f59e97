/*
 * libkvmi - bench/libkvmi1_events.c: the event round trip through the
 * libkvmi 1.x API (<libkvmi.h>), the way LibVMI's KVM driver uses it
 * (bench-events-libkvmi1, bench-events-libkvmi1-ours).
 *
 * One source for both libraries: scripts/bench builds it against
 * Bitdefender's libkvmi (from ../shared/interop, built in the bench build
 * directory) as bench-events-libkvmi1, and meson builds it unchanged
 * against our library's 1.x compatibility layer as
 * bench-events-libkvmi1-ours.  Only <libkvmi.h> (and what it includes) and
 * libc are used; bench_util.h and libkvmi1_util.h are header-only.
 *
 * kvmi_init_unix_socket() listens on --socket; the first guest's domain
 * comes from the accept callback; kvmi_get_vcpu_count(), then
 * kvmi_control_events(CR) and kvmi_control_cr(3) on every vCPU; then the
 * LibVMI loop: kvmi_wait_event, kvmi_pop_event, build the CR reply
 * (kvmi_vcpu_hdr + kvmi_event_reply + kvmi_event_cr_reply, CONTINUE with
 * the new value), kvmi_reply_event, free().  After --warmup events,
 * --events more are timed (rate, and getrusage CPU per event over every
 * thread of the process, the library's accept thread included); then the
 * domain is closed and one line printed.
 *
 * Usage: bench-events-libkvmi1 --socket PATH [--events N] [--warmup N]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkvmi.h>

#include "bench_util.h"
#include "libkvmi1_util.h"

static void *slot;
static struct bench1_guests guests = BENCH1_GUESTS_INIT(&slot, 1);

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s --socket PATH [--events N] [--warmup N]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench_window w = {.warmup = 2000, .count = 200000};
	const char *path = NULL;
	unsigned int vcpus = 0;
	void *ctx, *dom;
	int done = 0;

	for (int i = 1; i < argc; i++) {
		if (!bench_window_opt(argc, argv, &i, &w, &path))
			usage(argv[0]);
	}
	if (!path || w.count < 1 || w.warmup < 1)
		usage(argv[0]);
	kvmi_set_log_cb(bench1_log_cb, NULL);
	ctx = kvmi_init_unix_socket(path, bench1_new_guest, NULL, &guests);
	if (!ctx) {
		fprintf(stderr,
			"bench-events-libkvmi1: cannot listen on %s: %s\n",
			path, strerror(errno));
		return 1;
	}
	if (bench1_wait_guests(&guests, 10) < 1) {
		fprintf(stderr, "bench-events-libkvmi1: no guest in 10 s\n");
		return 1;
	}
	dom = slot;
	if (kvmi_get_vcpu_count(dom, &vcpus)) {
		fprintf(stderr, "bench-events-libkvmi1: vCPU count: %s\n",
			strerror(errno));
		return 1;
	}
	for (unsigned short v = 0; v < vcpus; v++)
		if (kvmi_control_events(dom, v, KVMI_EVENT_CR, true) ||
		    kvmi_control_cr(dom, v, 3, true)) {
			fprintf(stderr,
				"bench-events-libkvmi1: enabling CR3 events on "
				"vCPU %u: %s\n",
				v, strerror(errno));
			return 1;
		}
	while (!done) {
		struct kvmi_dom_event *ev;

		if (kvmi_wait_event(dom, 1000)) {
			if (errno == ETIMEDOUT)
				continue;
			fprintf(stderr, "bench-events-libkvmi1: wait: %s\n",
				strerror(errno));
			break;
		}
		if (kvmi_pop_event(dom, &ev)) {
			fprintf(stderr, "bench-events-libkvmi1: pop: %s\n",
				strerror(errno));
			break;
		}
		if (ev->event.common.event != KVMI_EVENT_CR ||
		    bench1_reply_cr(dom, ev)) {
			fprintf(
			    stderr,
			    "bench-events-libkvmi1: event %u not answered\n",
			    ev->event.common.event);
			free(ev);
			break;
		}
		free(ev);
		done = bench_window_event(&w);
	}
	kvmi_domain_close(dom, true);
	kvmi_uninit(ctx);
	return bench_window_print(&w, "events-libkvmi1");
}

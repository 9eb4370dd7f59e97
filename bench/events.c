/*
 * libkvmi - bench/events.c: event round trip through the library.
 *
 * kvmi-fakehost runs one guest with N vCPUs whose every instruction is a
 * CR3 load (--insn cr3), intercepted: each raises a KVMI_EVENT_CR (576
 * bytes on the wire, the size bench-floor uses), so the simulated guest
 * work between events does not count against the round trip; each
 * vCPU waits for the reply before going on, so N vCPUs keep N events
 * outstanding, like bench-floor's window.  The tool registers a handler
 * that answers CONTINUE.  After a warm-up, the time of COUNT replied
 * events gives events per second; then the tool closes the channel.
 *
 * Usage: bench-events [--vcpus N] [--events N] [--cpus TOOL,HOST]
 *                     [--fakehost PATH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WARMUP 2000

static long seen, target;
static uint64_t t0, t1;

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)ctx;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	if (++seen == WARMUP)
		t0 = bench_now_ns();
	if (seen == WARMUP + target) {
		t1 = bench_now_ns();
		kvmi_dom_close(dom);
	}
}

static int on_new(struct kvmi_dom *dom, void *ctx)
{
	(void)ctx;
	if (kvmi_dom_on_event(dom, KVMI_EVENT_CR, on_cr, NULL, NULL) ||
	    kvmi_hooks_control_event(dom, KVMI_EVENT_CR, 1) ||
	    kvmi_hooks_control_cr(dom, 3, 1)) {
		fprintf(stderr, "bench-events: cannot enable CR3 events\n");
		exit(1);
	}
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--vcpus N (1..64)] [--events N] "
		"[--cpus TOOL,HOST] [--fakehost PATH]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *fakehost = NULL;
	int vcpus = 1, tool_cpu = -1, host_cpu = -1;
	char vbuf[16], ebuf[32];
	struct bh b;

	target = 200000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			vcpus = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--events") && i + 1 < argc)
			target = atol(argv[++i]);
		else if (bh_common_opt(argc, argv, &i, &tool_cpu, &host_cpu,
				       &fakehost) != 1)
			usage(argv[0]);
	}
	if (vcpus < 1 || vcpus > 64 || target < 1)
		usage(argv[0]);
	bh_init(&b, fakehost, on_new, tool_cpu, host_cpu);
	bh_start(&b);
	snprintf(vbuf, sizeof(vbuf), "%d", vcpus);
	/* enough events that the vCPUs never run dry before COUNT */
	snprintf(ebuf, sizeof(ebuf), "%ld", (WARMUP + target) / vcpus + 1000);
	{
		const char *args[] = {"--vcpus", vbuf, "--events-per-vcpu",
				      ebuf, "--hot-count", "0", "--insn", "cr3",
				      NULL};

		bh_spawn(&b, args);
	}
	bh_run(&b);
	if (!t1) {
		fprintf(stderr, "bench-events: only %ld events arrived\n", seen);
		bh_fini(&b);
		return 1;
	}
	printf("events vcpus=%d events=%ld events_per_s=%.0f\n", vcpus, target,
	       (double)target * 1e9 / (double)(t1 - t0));
	bh_fini(&b);
	return 0;
}

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
 * events gives events per second, and the process's CPU time over them
 * (getrusage) the CPU per event; then the tool closes the channel.
 *
 * --socket PATH: the tool side alone, for another host (bench-kernel-host,
 * or kvmi-fakehost started by scripts/bench): listen on PATH, answer the
 * first guest's CR events the same way, and exit once its channel is
 * closed; --vcpus is then the host's business.
 *
 * --busy-poll US: the server's busy_poll_us (server.h): the loop polls
 * without sleeping for US microseconds after a host's bytes came.
 *
 * Usage: bench-events [--vcpus N] [--events N] [--warmup N]
 *                     [--cpus TOOL,HOST] [--fakehost PATH] [--socket PATH]
 *                     [--busy-poll US]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct bench_window win = {.warmup = 2000, .count = 200000};

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)ctx;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	if (bench_window_event(&win))
		kvmi_dom_close(dom);
}

/* --socket: the host is not ours to wait for; end with its channel */
static void on_gone(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct bh *b = ctx;

	(void)dom;
	(void)reason;
	kvmi_server_shutdown(b->srv);
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
		"usage: %s [--vcpus N (1..64)] [--events N] [--warmup N] "
		"[--cpus TOOL,HOST] [--fakehost PATH] [--socket PATH] "
		"[--busy-poll US]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *fakehost = NULL, *listen_path = NULL;
	int vcpus = 1, tool_cpu = -1, host_cpu = -1, busy = 0;
	char vbuf[16], ebuf[32], label[32];
	struct bh b;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			vcpus = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--busy-poll") && i + 1 < argc)
			busy = atoi(argv[++i]);
		else if (bench_window_opt(argc, argv, &i, &win, &listen_path))
			continue;
		else if (bh_common_opt(argc, argv, &i, &tool_cpu, &host_cpu,
				       &fakehost) != 1)
			usage(argv[0]);
	}
	if (vcpus < 1 || vcpus > 64 || win.count < 1 || win.warmup < 1 ||
	    busy < 0 || busy > (int)KVMI_SERVER_BUSY_POLL_MAX_US)
		usage(argv[0]);
	bh_init(&b, fakehost, on_new, tool_cpu, host_cpu);
	b.cfg.busy_poll_us = (unsigned int)busy;
	if (listen_path) {
		b.cfg.unix_path = listen_path;
		b.cfg.disconnect = on_gone;
		bh_start(&b);
		bh_run(&b);
		rc = bench_window_print(&win, "events host=external");
		bh_fini(&b);
		return rc;
	}
	bh_start(&b);
	snprintf(vbuf, sizeof(vbuf), "%d", vcpus);
	/* enough events that the vCPUs never run dry before COUNT */
	snprintf(ebuf, sizeof(ebuf), "%ld",
		 (win.warmup + win.count) / vcpus + 1000);
	{
		const char *args[] = {"--vcpus", vbuf, "--events-per-vcpu",
				      ebuf, "--hot-count", "0", "--insn", "cr3",
				      NULL};

		bh_spawn(&b, args);
	}
	bh_run(&b);
	snprintf(label, sizeof(label), "events vcpus=%d", vcpus);
	rc = bench_window_print(&win, label);
	bh_fini(&b);
	return rc;
}

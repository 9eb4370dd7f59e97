/*
 * libkvmi - bench/memory.c: the native API's memory per connected idle
 * guest and per queued (held, unanswered) event.
 *
 * Idle guests: the tool's resident set and heap in use (bench_heap_bytes)
 * are read once the server listens, then with GUESTS kvmi-fakehost guests
 * connected (handshake and start-up done, no events enabled); the
 * difference divided by GUESTS is the cost of one guest in the tool's
 * process.  The kernel's socket buffers are not part of a process's
 * resident set, so they are excluded by construction.
 *
 * --queued: then every vCPU of every guest (GUESTS x VCPUS) gets CR3
 * interception (--insn cr3, two events per vCPU).  The handler holds each
 * vCPU's first event (kvmi_event_hold) without replying; since a vCPU
 * waits for its reply, exactly one event per vCPU arrives.  With all
 * GUESTS x VCPUS held, resident set and heap are read again: the growth
 * over the idle reading divided by the events is the cost of one queued
 * event.  Then every held event is answered CONTINUE; each vCPU's second
 * event (answered at once) proves its first reply reached the host, and
 * the host's report must show every event of every guest replied.
 *
 * Usage: bench-memory [--guests N] [--vcpus N] [--queued]
 *                     [--fakehost PATH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static long guests = 1000, vcpus = 1, connected, queued;
static struct kvmi_dom **doms;
static struct kvmi_event_ctx **held;
static long total, nheld, nsecond;
static int failed;
static struct bench_mem mem;

static void fail(const char *what)
{
	fprintf(stderr, "bench-memory: %s\n", what);
	failed = 1;
}

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	struct bh *b = ctx;

	(void)dom;
	if (nheld < total) {
		/* a first event: the vCPU waits; keep it */
		kvmi_event_hold(ev);
		held[nheld++] = ev;
		if (nheld < total)
			return;
		bench_mem_read(&mem, BENCH_MEM_QUEUED);
		for (long i = 0; i < total; i++)
			if (kvmi_event_reply(held[i],
					     KVMI_EVENT_ACTION_CONTINUE))
				fail("a held event could not be answered");
		return;
	}
	/* a second event: its vCPU got the first reply */
	if (kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE))
		fail("a second event could not be answered");
	if (++nsecond == total || failed)
		kvmi_server_shutdown(b->srv);
}

static int on_new(struct kvmi_dom *dom, void *ctx)
{
	struct bh *b = ctx;

	doms[connected] = dom;
	if (++connected < guests)
		return 0;
	bench_mem_read(&mem, BENCH_MEM_IDLE);
	if (!queued) {
		kvmi_server_shutdown(b->srv);
		return 0;
	}
	/* every guest is here: now the events may come */
	for (long i = 0; i < guests; i++)
		if (kvmi_dom_on_event(doms[i], KVMI_EVENT_CR, on_cr, b, NULL) ||
		    kvmi_hooks_control_event(doms[i], KVMI_EVENT_CR, 1) ||
		    kvmi_hooks_control_cr(doms[i], 3, 1)) {
			fail("cannot enable CR3 events");
			kvmi_server_shutdown(b->srv);
			break;
		}
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--guests N (1..100000)] [--vcpus N (1..1024)] "
		"[--queued] [--fakehost PATH]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *fakehost = NULL;
	char gbuf[16], vbuf[16], what[32];
	struct bh b;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--guests") && i + 1 < argc)
			guests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			vcpus = atol(argv[++i]);
		else if (!strcmp(argv[i], "--queued"))
			queued = 1;
		else if (!strcmp(argv[i], "--fakehost") && i + 1 < argc)
			fakehost = argv[++i];
		else
			usage(argv[0]);
	}
	if (guests < 1 || guests > 100000 || vcpus < 1 || vcpus > 1024)
		usage(argv[0]);
	if (bench_raise_nofile() < guests + 64) {
		fprintf(stderr,
			"bench-memory: the fd limit is too low for "
			"%ld guests\n",
			guests);
		return 1;
	}
	total = guests * vcpus;
	doms = calloc((size_t)guests, sizeof(*doms));
	held = calloc((size_t)total, sizeof(*held));
	if (!doms || !held) {
		fprintf(stderr, "bench-memory: out of memory\n");
		return 1;
	}
	bh_init(&b, fakehost, on_new, -1, -1);
	bh_start(&b);
	bench_mem_read(&mem, BENCH_MEM_BASE);
	snprintf(gbuf, sizeof(gbuf), "%ld", guests);
	snprintf(vbuf, sizeof(vbuf), "%ld", vcpus);
	{
		const char *idle[] = {"--guests",    gbuf, "--vcpus", vbuf,
				      "--hot-count", "0",  NULL};
		const char *events[] = {
		    "--guests",		 gbuf, "--vcpus", vbuf,
		    "--hot-count",	 "0",  "--insn",  "cr3",
		    "--events-per-vcpu", "2",  NULL};

		bh_spawn(&b, queued ? events : idle);
	}
	bh_run(&b);
	if (connected != guests) {
		fprintf(stderr, "bench-memory: only %ld of %ld guests came\n",
			connected, guests);
		failed = 1;
	} else if (queued && (nheld != total || nsecond != total)) {
		fprintf(stderr,
			"bench-memory: %ld of %ld events held, %ld of them "
			"answered\n",
			nheld, total, nsecond);
		failed = 1;
	} else if (queued &&
		   bh_report_count(&b, "\"events_unreplied\":0,") != guests) {
		fprintf(stderr,
			"bench-memory: the host saw events unreplied\n");
		failed = 1;
	}
	if (failed) {
		bh_fini(&b);
		return 1;
	}
	snprintf(what, sizeof(what), "memory vcpus=%ld", vcpus);
	bench_mem_print(what, &mem, guests, queued ? total : 0, nsecond);
	bh_fini(&b);
	free(held);
	free(doms);
	return 0;
}

/*
 * libkvmi - bench/scale.c: many guests at once.
 *
 * GUESTS kvmi-fakehost guests with VCPUS vCPUs each connect; the tool
 * plants 5 breakpoints on addresses the guests execute and intercepts CR3
 * loads, so events flow from every vCPU.  After FLOW_MS with every guest
 * connected, QEMU asks every guest to unhook at once (SIGUSR1 to
 * kvmi-fakehost); kvmi_server_unhook_on_event() takes every hook back
 * and closes each channel.  Prints events handled, the time from the
 * request to the last channel closed, the slowest guest's own unhook,
 * the whole run's time, and how many guests kvmi-fakehost found clean
 * with every event replied exactly once.
 *
 * Usage: bench-scale [--guests N] [--vcpus N] [--flow-ms N] [--fakehost P]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const uint64_t hot[] = {0x3010, 0x3200, 0x5008, 0x6100, 0x9040};
static long guests = 1000, connected, unhooked, failed, events;
static unsigned int flow_ms = 1000;
static uint64_t t_request, t_last, slowest_us;
static uv_timer_t flow;

static int on_hit(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		  uint64_t gpa, void *ctx)
{
	(void)dom;
	(void)ev;
	(void)gpa;
	(void)ctx;
	events++;
	return 0;
}

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)dom;
	(void)ctx;
	events++;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
}

static void on_flowed(uv_timer_t *t)
{
	struct bh *b = t->data;

	t_request = bench_now_ns();
	uv_process_kill(&b->host, SIGUSR1);
	uv_close((uv_handle_t *)t, NULL);
}

static int on_new(struct kvmi_dom *dom, void *ctx)
{
	struct bh *b = ctx;
	int err = kvmi_dom_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1);

	for (size_t i = 0; !err && i < sizeof(hot) / sizeof(hot[0]); i++)
		err = kvmi_bp_set(dom, hot[i], on_hit, NULL, NULL);
	if (!err)
		err = kvmi_hooks_control_event(dom, KVMI_EVENT_CR, 1);
	if (!err)
		err = kvmi_hooks_control_cr(dom, 3, 1);
	if (err) {
		fprintf(stderr, "bench-scale: hooking a guest: %s\n",
			kvmi_strerror(err));
		failed++;
		return -1;
	}
	if (++connected == guests) {
		uv_timer_init(b->loop, &flow);
		flow.data = b;
		uv_timer_start(&flow, on_flowed, flow_ms, 0);
	}
	return 0;
}

static void after_unhook(struct kvmi_dom *dom,
			 const struct kvmi_unhook_report *r, void *ctx)
{
	(void)dom;
	(void)ctx;
	unhooked++;
	if (r->result)
		failed++;
	if (r->elapsed_us > slowest_us)
		slowest_us = r->elapsed_us;
	t_last = bench_now_ns();
}

int main(int argc, char **argv)
{
	const char *fakehost = NULL;
	int vcpus = 4, clean, replied;
	char gbuf[16], vbuf[16];
	uint64_t t0, t_end;
	struct bh b;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--guests") && i + 1 < argc)
			guests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc)
			vcpus = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--flow-ms") && i + 1 < argc)
			flow_ms = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--fakehost") && i + 1 < argc)
			fakehost = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--guests N] [--vcpus N] "
				"[--flow-ms N] [--fakehost PATH]\n",
				argv[0]);
			return 2;
		}
	}
	if (guests < 1 || guests > 10000 || vcpus < 1 || vcpus > 64) {
		fprintf(stderr, "bench-scale: --guests 1..10000, --vcpus 1..64\n");
		return 2;
	}
	if (bench_raise_nofile() < guests + 64) {
		fprintf(stderr, "bench-scale: the fd limit is too low\n");
		return 1;
	}
	bh_init(&b, fakehost, on_new, -1, -1);
	bh_start(&b);
	kvmi_server_on_event(b.srv, KVMI_EVENT_CR, on_cr, NULL, NULL);
	kvmi_server_unhook_on_event(b.srv, 10000, NULL, after_unhook, NULL);
	snprintf(gbuf, sizeof(gbuf), "%ld", guests);
	snprintf(vbuf, sizeof(vbuf), "%d", vcpus);
	t0 = bench_now_ns();
	{
		const char *args[] = {"--guests", gbuf, "--vcpus", vbuf,
				      "--hot-count", "0", "--hot-gpa",
				      "0x3010,0x3200,0x5008,0x6100,0x9040",
				      "--unhook-timeout-ms", "30000", NULL};

		bh_spawn(&b, args);
	}
	bh_run(&b);
	t_end = bench_now_ns();
	clean = bh_report_count(&b, "\"verdict\":\"clean\"");
	replied = bh_report_count(&b, "\"events_unreplied\":0,");
	printf("scale guests=%ld vcpus=%d events=%ld unhooked=%ld failed=%ld "
	       "clean=%d all_replied=%d unhook_all_ms=%.1f "
	       "slowest_guest_ms=%.1f run_s=%.2f\n",
	       guests, vcpus, events, unhooked, failed, clean, replied,
	       t_request && t_last > t_request
		       ? (double)(t_last - t_request) / 1e6
		       : -1.0,
	       (double)slowest_us / 1e3, (double)(t_end - t0) / 1e9);
	bh_fini(&b);
	return clean == guests && replied == guests && !failed ? 0 : 1;
}

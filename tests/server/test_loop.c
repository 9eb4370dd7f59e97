/*
 * libkvmi - tests/server/test_loop.c: how a domain shares the loop.
 * A guest whose handlers each run a synchronous command while its vCPUs
 * keep sending events must not hold the loop: a timer on the same loop
 * keeps firing during the flood.  And an event round trip must not
 * restart the socket's poll handle (two epoll_ctl calls each time): the
 * handle is only restarted when what it watches changes.  With busy
 * polling on (cfg.busy_poll_us), the loop does not sleep between the
 * events of a busy guest, and sleeps again once its host went quiet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "internal.h"

#define VCPUS 4
#define PER_VCPU 1500
#define TOTAL (VCPUS * PER_VCPU)

static long events, ticks_during_flood, cmd_errors;
static unsigned long restarts_at_start, restarts_at_end;
static uv_timer_t ticker;

static void on_cr_with_command(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
			       void *ctx)
{
	uint32_t v;

	(void)ctx;
	/* a handler that asks the host something before answering */
	if (kvmi_dom_get_version(dom, &v))
		cmd_errors++;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	if (++events == TOTAL)
		kvmi_dom_close(dom);
}

static bool spin_ever_open; /* the busy polling's handle (below) */

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)ctx;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	spin_ever_open |= dom->srv->spin_open;
	if (++events == 100)
		restarts_at_start = dom->poll_restarts;
	if (events == TOTAL) {
		restarts_at_end = dom->poll_restarts;
		kvmi_dom_close(dom);
	}
}

static void on_tick(uv_timer_t *t)
{
	if (events > 0 && events < TOTAL)
		ticks_during_flood++;
	if (events == TOTAL)
		uv_close((uv_handle_t *)t, NULL);
}

static int enable_cr3(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	h_enable_cr3(dom);
	return 0;
}

/* ---- busy polling ---- */

static long nvcsw_at_100, nvcsw_at_end;
static bool spin_on_at_end;
static uint64_t last_event_ns, spin_off_ns;
static struct kvmi_dom *quiet_dom;
static uv_prepare_t spin_watch;

/* after the last event: every loop turn, just before the loop polls,
 * looks whether the busy polling stopped by itself (the host sends
 * nothing more: the poll that follows may sleep), then closes */
static void on_spin_watch(uv_prepare_t *c)
{
	struct kvmi_server *srv = c->data;

	if (uv_is_active((uv_handle_t *)&srv->spin))
		return;
	spin_off_ns = uv_hrtime();
	uv_close((uv_handle_t *)c, NULL);
	kvmi_dom_close(quiet_dom);
}

static void on_cr_busy(struct kvmi_dom *dom, struct kvmi_event_ctx *ev,
		       void *ctx)
{
	(void)ctx;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
	spin_ever_open |= dom->srv->spin_open;
	if (++events == 100)
		nvcsw_at_100 = h_thread_sleeps();
	if (events < TOTAL)
		return;
	nvcsw_at_end = h_thread_sleeps();
	spin_on_at_end = uv_is_active((uv_handle_t *)&dom->srv->spin);
	last_event_ns = uv_hrtime();
	quiet_dom = dom;
	spin_watch.data = dom->srv;
	uv_prepare_start(&spin_watch, on_spin_watch);
}

static void run_flood(kvmi_event_cb cb)
{
	struct harness h;
	const char *args[] = {"--vcpus", "4", "--events-per-vcpu", "1500",
			      "--hot-count", "0", NULL};

	events = ticks_during_flood = cmd_errors = 0;
	restarts_at_start = restarts_at_end = 0;
	h_init(&h);
	h.cfg.new_domain = enable_cr3;
	/* long enough that a loaded machine's host still answers inside it */
	h.cfg.busy_poll_us = cb == on_cr_busy ? KVMI_SERVER_BUSY_POLL_MAX_US : 0;
	h_start(&h);
	kvmi_server_on_event(h.srv, KVMI_EVENT_CR, cb, NULL, NULL);
	uv_prepare_init(&h.loop, &spin_watch);
	uv_timer_init(&h.loop, &ticker);
	uv_timer_start(&ticker, on_tick, 1, 1);
	h_spawn_fakehost(&h, args);
	/* the handler closes the channel at the last event: the host ends */
	h_run(&h, 60000);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(events, TOTAL);
	assert_int_equal(cmd_errors, 0);
	if (!uv_is_closing((uv_handle_t *)&spin_watch))
		uv_close((uv_handle_t *)&spin_watch, NULL);
	uv_run(&h.loop, UV_RUN_NOWAIT);
	h_fini(&h);
}

static void test_busy_guest_does_not_hold_the_loop(void **state)
{
	(void)state;
	run_flood(on_cr_with_command);
	print_message("timer ticks while %d events with a command each "
		      "flowed: %ld\n",
		      TOTAL, ticks_during_flood);
	/* thousands of round trips take far more than a few ms */
	assert_true(ticks_during_flood >= 5);
}

static void test_round_trips_leave_the_poll_handle_alone(void **state)
{
	(void)state;
	run_flood(on_cr);
	print_message("poll restarts from event 100 to %d: %lu\n", TOTAL,
		      restarts_at_end - restarts_at_start);
	/* a restart only when a reply could not be written at once */
	assert_true(restarts_at_end - restarts_at_start < TOTAL / 100);
}

static void test_busy_poll_keeps_the_loop_awake(void **state)
{
	(void)state;
	spin_ever_open = spin_on_at_end = false;
	spin_off_ns = 0;
	run_flood(on_cr_busy);
	print_message("busy polling: the loop slept %ld times over events "
		      "100 to %d; it stopped polling %.1f ms after the last\n",
		      nvcsw_at_end - nvcsw_at_100, TOTAL,
		      (double)(spin_off_ns - last_event_ns) / 1e6);
	assert_true(spin_ever_open);
	assert_true(spin_on_at_end);
	/* without it the loop sleeps about once per event: it waits for
	 * the host after each reply */
	assert_true(nvcsw_at_end - nvcsw_at_100 < (TOTAL - 100) / 100);
	/* the host went quiet: the polling stopped by itself (else the
	 * channel was never closed and h_run failed), not before the
	 * last event */
	assert_true(spin_off_ns > last_event_ns);
}

static void test_no_busy_poll_by_default(void **state)
{
	(void)state;
	spin_ever_open = false;
	run_flood(on_cr);
	assert_false(spin_ever_open);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_guest_does_not_hold_the_loop),
		cmocka_unit_test(test_round_trips_leave_the_poll_handle_alone),
		cmocka_unit_test(test_busy_poll_keeps_the_loop_awake),
		cmocka_unit_test(test_no_busy_poll_by_default),
	};
	int r = h_peer_main(argc, argv, NULL, 0);

	if (r >= 0)
		return r;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * libkvmi - tests/server/test_loop.c: how a domain shares the loop.
 * A guest whose handlers each run a synchronous command while its vCPUs
 * keep sending events must not hold the loop: a timer on the same loop
 * keeps firing during the flood.  And an event round trip must not
 * restart the socket's poll handle (two epoll_ctl calls each time): the
 * handle is only restarted when what it watches changes.
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

static void on_cr(struct kvmi_dom *dom, struct kvmi_event_ctx *ev, void *ctx)
{
	(void)ctx;
	kvmi_event_reply(ev, KVMI_EVENT_ACTION_CONTINUE);
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
	assert_int_equal(kvmi_hooks_control_event(dom, KVMI_EVENT_CR, 1), 0);
	assert_int_equal(kvmi_hooks_control_cr(dom, 3, 1), 0);
	return 0;
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
	h_start(&h);
	kvmi_server_on_event(h.srv, KVMI_EVENT_CR, cb, NULL, NULL);
	uv_timer_init(&h.loop, &ticker);
	uv_timer_start(&ticker, on_tick, 1, 1);
	h_spawn_fakehost(&h, args);
	/* the handler closes the channel at the last event: the host ends */
	h_run(&h, 60000);
	assert_int_equal(h.new_domains, 1);
	assert_int_equal(events, TOTAL);
	assert_int_equal(cmd_errors, 0);
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

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_guest_does_not_hold_the_loop),
		cmocka_unit_test(test_round_trips_leave_the_poll_handle_alone),
	};
	int r = h_peer_main(argc, argv, NULL, 0);

	if (r >= 0)
		return r;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

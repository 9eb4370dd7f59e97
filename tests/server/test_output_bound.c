/*
 * libkvmi - tests/server/test_output_bound.c: the per-domain output bound
 * (struct kvmi_server_config output_max / output_stall_ms).  A host that
 * stops reading while its vCPUs keep raising events (kvmi-fakehost
 * --misbehave stop-reading, 256 vCPUs, a PF on each every 20 ms) gets no
 * more of its bytes read once the replies waiting for it pass the bound,
 * and is closed with -ENOBUFS when it stays past it for output_stall_ms -
 * no command is outstanding, so nothing else would ever close it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"

#define BOUND (64 * 1024)
#define STALL_MS 400

struct bound_state {
	uint64_t paused_ms, failed_ms, closed_ms;
	int reason, disconnects;
	char paused_line[512];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* the guest's own INT3s (one in four of its hot addresses) raise
 * BREAKPOINT events once they are on: the host has sent an event, so its
 * misbehaviour begins; no handler: the library answers CONTINUE */
static int on_new(struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;

	h->new_domains++;
	return kvmi_dom_control_events(dom, 0, KVMI_EVENT_BREAKPOINT, 1);
}

static void on_gone(struct kvmi_dom *dom, int reason, void *ctx)
{
	struct harness *h = ctx;
	struct bound_state *st = h->test;

	(void)dom;
	h->disconnects++;
	st->disconnects++;
	st->reason = reason;
	st->closed_ms = mono_ms();
}

static void on_log(enum kvmi_log_level level, const char *msg,
		   struct kvmi_dom *dom, void *ctx)
{
	struct harness *h = ctx;
	struct bound_state *st = h->test;

	(void)dom;
	(void)level;
	if (!st->paused_ms && strstr(msg, "reading paused")) {
		st->paused_ms = mono_ms();
		snprintf(st->paused_line, sizeof(st->paused_line), "%s", msg);
	}
	if (!st->failed_ms && strstr(msg, "read none of our output"))
		st->failed_ms = mono_ms();
}

/* a server with config size @size, output bound @max and stall @stall,
 * and kvmi-fakehost @args run against it to the end */
static void run(struct harness *h, struct bound_state *st, size_t size,
		size_t max, unsigned int stall, const char *const *args)
{
	h_init(h);
	h->test = st;
	h->cfg.size = size;
	h->cfg.new_domain = on_new;
	h->cfg.disconnect = on_gone;
	h->cfg.log = on_log;
	h->cfg.command_timeout_ms = 60000; /* never the reason */
	h->cfg.output_max = max;
	h->cfg.output_stall_ms = stall;
	h_start(h);
	h_spawn_fakehost(h, args);
	h_run(h, 15000);
}

static void test_host_that_stops_reading_is_closed(void **state)
{
	struct harness h;
	struct bound_state st = {0};
	const char *args[] = {"--vcpus", "256", "--misbehave", "stop-reading",
			      "--misbehave-after", "1", "--duration-ms",
			      "20000", NULL};
	char want[64];

	(void)state;
	run(&h, &st, sizeof(h.cfg), BOUND, STALL_MS, args);
	assert_int_equal(st.disconnects, 1);
	assert_int_equal(st.reason, -ENOBUFS);
	assert_true(st.paused_ms && st.failed_ms);
	snprintf(want, sizeof(want), "(bound %d)", BOUND);
	assert_non_null(strstr(st.paused_line, want));
	/* closed at the stall timeout after reading stopped, not before */
	assert_true(st.failed_ms - st.paused_ms >= STALL_MS);
	assert_true(st.failed_ms - st.paused_ms < STALL_MS + 1000);
	printf("measured: paused -> closed %llu ms (stall %d ms)\n",
	       (unsigned long long)(st.failed_ms - st.paused_ms), STALL_MS);
	assert_int_equal(h_report_count(&h, "\"end\":\"tool-closed\""), 1);
	h_fini(&h);
}

/* the new fields are read only when the config's size covers them: a
 * config of the first release's size gets the default (1 MiB) bound, so
 * a reader of 128 KiB stuck output is not closed at 400 ms; zero means
 * the defaults too */
static void test_old_config_size_gets_defaults(void **state)
{
	struct harness h;
	struct bound_state st = {0};
	const char *args[] = {"--vcpus", "2", "--misbehave", "stop-reading",
			      "--misbehave-after", "1", "--duration-ms",
			      "1500", NULL};

	(void)state;
	/* output_max 1024 and output_stall_ms 10 lie beyond the size */
	run(&h, &st, KVMI_SERVER_CONFIG_SIZE_V0, 1024, 10, args);
	/* 2 vCPUs x 50 PF/s x ~600 bytes in 1.5 s stays below 1 MiB: the
	 * host's own duration ends it (the socket reports an error: our
	 * replies were left unread) */
	assert_int_equal(st.disconnects, 1);
	assert_int_not_equal(st.reason, -ENOBUFS);
	assert_int_equal(st.paused_ms, 0);
	h_fini(&h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_that_stops_reading_is_closed),
		cmocka_unit_test(test_old_config_size_gets_defaults),
	};
	int rc = h_peer_main(argc, argv, NULL, 0);

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

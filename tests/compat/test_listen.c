/*
 * libkvmi - tests/compat/test_listen.c: the 1.x accept thread against
 * peers that stall QEMU's handshake.  A kvmi-fakehost that sends its
 * handshake one byte a second (--misbehave slowloris) or nothing at all
 * (idle) connects first; a good guest connecting after it must be
 * accepted, handed to the new-guest callback and served well within the
 * stalled handshake's timeout (10 s), and kvmi_uninit must not wait for
 * the stalled handshake either.  Written against <libkvmi.h> only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness1.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void stalled_then_good(const char *mode)
{
	static const char *const args[] = {"--vcpus", "1", "--duration-ms",
					   "60000", NULL};
	unsigned int vcpus = 0;
	long long t0, accepted_ms, uninit_ms;
	struct h1 h;
	pid_t stall;
	void *dom;

	h1_listen(&h);
	/* the stalled peer is first in the listener's queue */
	stall = h1_spawn_stalling(&h, mode);
	t0 = now_ms();
	h1_run(&h, args);
	dom = h1_dom(&h);
	accepted_ms = now_ms() - t0;
	assert_int_equal(kvmi_get_vcpu_count(dom, &vcpus), 0);
	assert_int_equal(vcpus, 1);
	if (getenv("KVMI_TEST_VERBOSE"))
		fprintf(stderr, "%s: good guest served after %lld ms\n", mode,
			accepted_ms);
	/* one stalled handshake would hold it 10 s if they were serial */
	assert_true(accepted_ms < 2000);
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	/* the stalled handshake is still running: uninit ends it now */
	t0 = now_ms();
	h1_fini(&h);
	uninit_ms = now_ms() - t0;
	assert_true(uninit_ms < 2000);
	h1_stop_stalling(&h, stall);
}

static void test_slowloris_does_not_hold_accept(void **state)
{
	(void)state;
	stalled_then_good("slowloris");
}

static void test_idle_does_not_hold_accept(void **state)
{
	(void)state;
	stalled_then_good("idle");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slowloris_does_not_hold_accept),
	    cmocka_unit_test(test_idle_does_not_hold_accept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

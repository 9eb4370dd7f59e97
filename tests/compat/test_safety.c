/*
 * libkvmi - tests/compat/test_safety.c: the unhook safety net, with a
 * tool written against <libkvmi.h> that never enables KVMI_EVENT_UNHOOK
 * (as LibVMI): it plants INT3s with kvmi_write_physical, restricts a
 * page, enables breakpoints and leaves the breakpoint events it pops
 * unanswered.  kvmi-fakehost requests an unhook once the vCPUs hit the
 * INT3s.  With the net (the default) the guest comes out clean and the
 * socket closes in time; with KVMI_SAFETY_NET=0 (the control) the same
 * tool leaves it dirty.  A tool that enables UNHOOK itself gets the event
 * and unhooks on its own.  Against a kvmi-v7 host the tool also restricts
 * a page in another EPT view, moves a vCPU there, makes the view visible,
 * single-steps a vCPU and (v7-2023) creates the view and allocates a gfn:
 * the net undoes all of it (the report's hooks_left counts none), and
 * without it they stay.  Each test runs against the dialect in
 * $KVMI_TEST_DIALECT.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness1.h"

static const char *const fakehost_args[] = {"--vcpus",
					    "2",
					    "--hot-gpa",
					    "0x10000,0x10040",
					    "--hot-count",
					    "0",
					    "--unhook-after-events",
					    "2",
					    "--unhook-timeout-ms",
					    "5000",
					    "--duration-ms",
					    "30000",
					    NULL};

static const unsigned long long bp[2] = {0x10000, 0x10040};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* enable breakpoints, restrict a page, plant both INT3s in one write
 * (the vCPUs hit them at once: the unhook request follows the hits) */
static void hook(void *dom, unsigned char orig[2])
{
	unsigned long long page = 0x30000;
	unsigned char ro = KVMI_PAGE_ACCESS_R, buf[0x41];

	for (unsigned short v = 0; v < 2; v++)
		assert_int_equal(
		    kvmi_control_events(dom, v, KVMI_EVENT_BREAKPOINT, 1), 0);
	assert_int_equal(kvmi_set_page_access(dom, &page, &ro, 1, 0), 0);
	assert_int_equal(kvmi_read_physical(dom, bp[0], buf, sizeof(buf)), 0);
	orig[0] = buf[0];
	orig[1] = buf[0x40];
	assert_int_not_equal(orig[0], 0xcc);
	assert_int_not_equal(orig[1], 0xcc);
	buf[0] = buf[0x40] = 0xcc;
	assert_int_equal(kvmi_write_physical(dom, bp[0], buf, sizeof(buf)), 0);
}

/* pop events without answering them until the domain goes; returns the
 * breakpoints seen */
static int leave_events_open(void *dom)
{
	long long end = now_ms() + 15000;
	int bps = 0;

	while (now_ms() < end) {
		struct kvmi_dom_event *ev = NULL;

		if (kvmi_wait_event(dom, 100) < 0) {
			if (errno == ETIMEDOUT)
				continue;
			assert_int_equal(errno, ENOTCONN);
			return bps;
		}
		assert_int_equal(kvmi_pop_event(dom, &ev), 0);
		assert_int_equal(ev->event.common.event, KVMI_EVENT_BREAKPOINT);
		bps++;
		free(ev);
	}
	fail_msg("the domain was not closed within 15 s");
	return bps;
}

/* the kvmi-v7 settings a tool leaves behind: a page restricted in a view
 * of its own, vCPU 1 on it, the view visible, vCPU 1 single-stepping
 * (no SINGLESTEP events asked for), a gfn allocated (v7-2023) */
static void hook_v7(void *dom)
{
	bool y2023 = strcmp(h1_dialect(), "v7-2023") == 0;
	unsigned long long page = 0x31000, gfn = 0;
	unsigned char ro = KVMI_PAGE_ACCESS_R;
	unsigned short view = 1;

	if (y2023)
		assert_int_equal(kvmi_create_ept_view(dom, &view), 0);
	assert_int_equal(kvmi_set_page_access(dom, &page, &ro, 1, view), 0);
	assert_int_equal(kvmi_switch_ept_view(dom, 1, view), 0);
	assert_int_equal(kvmi_control_ept_view(dom, 1, view, true), 0);
	assert_int_equal(kvmi_control_singlestep(dom, 1, true), 0);
	if (y2023) {
		assert_int_equal(kvmi_get_next_available_gfn(dom, &gfn), 0);
		assert_int_equal(kvmi_alloc_gfn(dom, gfn), 0);
	}
}

/* fakehost up, the guest hooked; @net: the KVMI_SAFETY_NET value (NULL:
 * unset); @own_unhook: the tool enables UNHOOK itself first */
static void *start_hooked(struct h1 *h, const char *net, bool own_unhook,
			  unsigned char orig[2])
{
	void *dom;

	if (net)
		setenv("KVMI_SAFETY_NET", net, 1);
	else
		unsetenv("KVMI_SAFETY_NET");
	h1_start(h, fakehost_args);
	dom = h1_dom(h);
	if (own_unhook)
		assert_int_equal(
		    kvmi_control_vm_events(dom, KVMI_EVENT_UNHOOK, 1), 0);
	if (h1_v7() && !own_unhook)
		hook_v7(dom);
	hook(dom, orig);
	return dom;
}

static void test_net_restores_and_closes(void **state)
{
	unsigned char orig[2];
	struct h1 h;
	void *dom;

	(void)state;
	dom = start_hooked(&h, NULL, false, orig);
	/* the hits may arrive with the UNHOOK, answered by the net before
	 * the tool pops them; the host's unhook request (after 2 events)
	 * proves they came */
	leave_events_open(dom);
	assert_false(kvmi_domain_is_connected(dom));
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"unhook_sent\":true"), 1);
	assert_int_equal(h1_count(&h, "\"closed_in_time\":true"), 1);
	assert_int_equal(h1_count(&h, "\"bytes_differing\":0"), 1);
	assert_int_equal(h1_count(&h, "\"pages_restricted\":0"), 1);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	/* every view, single-stepping and gfn undone (v6: no such fields) */
	assert_int_equal(h1_v7_hooks_left(&h), h1_v7() ? 0 : -1);
	h1_fini(&h);
}

static void test_without_net_guest_is_dirty(void **state)
{
	unsigned char orig[2];
	struct h1 h;
	void *dom;

	(void)state;
	dom = start_hooked(&h, "0", false, orig);
	leave_events_open(dom);
	h1_finish(&h, dom);
	unsetenv("KVMI_SAFETY_NET");
	assert_int_equal(h1_count(&h, "\"unhook_sent\":false"), 1);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 0);
	assert_int_equal(h1_count(&h, "\"bytes_differing\":0"), 0);
	/* the kvmi-v7 settings stay too: the net's check above can fail */
	if (h1_v7())
		assert_true(h1_v7_hooks_left(&h) >= 3);
	h1_fini(&h);
}

/* a tool with its own UNHOOK handling: the net stands aside */
static void test_tool_unhook_comes_first(void **state)
{
	unsigned char orig[2], rwx = KVMI_PAGE_ACCESS_RWX;
	unsigned long long page = 0x30000;
	struct kvmi_dom_event *open[8];
	int n_open = 0;
	long long end;
	struct h1 h;
	void *dom;

	(void)state;
	dom = start_hooked(&h, NULL, true, orig);
	end = now_ms() + 15000;
	for (;;) {
		struct kvmi_dom_event *ev = NULL;

		assert_true(now_ms() < end);
		if (kvmi_wait_event(dom, 100) < 0) {
			assert_int_equal(errno, ETIMEDOUT);
			continue;
		}
		assert_int_equal(kvmi_pop_event(dom, &ev), 0);
		if (ev->event.common.event == KVMI_EVENT_UNHOOK) {
			free(ev);
			break;
		}
		assert_true(n_open < 8);
		open[n_open++] = ev;
	}
	/* the tool's own unhook: bytes back, page rwx, RETRY the hits */
	for (int i = 0; i < 2; i++)
		assert_int_equal(kvmi_write_physical(dom, bp[i], &orig[i], 1),
				 0);
	assert_int_equal(kvmi_set_page_access(dom, &page, &rwx, 1, 0), 0);
	for (int i = 0; i < n_open; i++) {
		assert_int_equal(
		    h1_reply(dom, open[i], KVMI_EVENT_ACTION_RETRY), 0);
		free(open[i]);
	}
	assert_true(kvmi_domain_is_connected(dom));
	h1_finish(&h, dom);
	assert_int_equal(h1_count(&h, "\"unhook_sent\":true"), 1);
	assert_int_equal(h1_count(&h, "\"closed_in_time\":true"), 1);
	assert_int_equal(h1_count(&h, "\"verdict\":\"clean\""), 1);
	h1_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_net_restores_and_closes),
	    cmocka_unit_test(test_without_net_guest_is_dirty),
	    cmocka_unit_test(test_tool_unhook_comes_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/fakehost - test_report.c: what makes a guest's verdict "clean",
 * and the JSON line that reports it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "report.h"

static const uint8_t uuid[16] = { 0x12, 0x34 };

struct ctx {
	struct harness h;
	struct fh_outcome o;
	struct fh_verdict v;
	char json[8192];
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	h_init(&c.h, NULL);
	c.o.name = "vm \"one\"";
	c.o.uuid = uuid;
	c.o.handshake_ok = 1;
	c.o.end = "tool-closed";
	c.o.unhook_ms = -1;
	c.o.vm = c.h.vm;
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	h_free(&c->h);
	return 0;
}

static const char *report(struct ctx *c)
{
	FILE *f = fmemopen(c->json, sizeof(c->json), "w");

	assert_non_null(f);
	fh_verdict_compute(&c->o, &c->v);
	assert_int_equal(fh_report_write(f, &c->o, &c->v), 0);
	fclose(f);
	assert_non_null(strchr(c->json, '\n'));
	return c->json;
}

static void untouched_guest_is_clean(void **state)
{
	struct ctx *c = *state;

	assert_non_null(strstr(report(c), "\"verdict\":\"clean\""));
	assert_true(c->v.clean);
	assert_non_null(strstr(c->json, "\"name\":\"vm \\\"one\\\"\""));
	assert_non_null(strstr(c->json, "\"uuid\":\"12340000-0000-0000-0000-000000000000\""));
	assert_non_null(strstr(c->json, "\"unhook_ms\":null"));
	assert_non_null(strstr(c->json, "\"guest_int3_handled\":0,"));
}

static void changed_byte_and_restricted_page_are_dirty(void **state)
{
	struct ctx *c = *state;
	uint8_t b = (uint8_t)~fh_memory_orig_byte(&c->h.vm->mem, 0x4000);

	assert_int_equal(fh_memory_write(&c->h.vm->mem, 0x4000, &b, 1), 0);
	assert_int_equal(fh_memory_set_access(&c->h.vm->mem, 0x9000, 1), 0);
	report(c);
	assert_false(c->v.clean);
	assert_int_equal(c->v.bytes_differing, 1);
	assert_int_equal(c->v.pages_restricted, 1);
	assert_non_null(strstr(c->json, "\"bytes_differing\":1,"));
	assert_non_null(strstr(c->json, "\"pages_restricted\":1,"));
	assert_non_null(strstr(c->json, "1 bytes of guest memory differ, 1 pages still restricted"));
}

static void restored_state_is_clean_again(void **state)
{
	struct ctx *c = *state;
	uint8_t orig = fh_memory_orig_byte(&c->h.vm->mem, 0x4000);
	uint8_t b = (uint8_t)~orig;

	assert_int_equal(fh_memory_write(&c->h.vm->mem, 0x4000, &b, 1), 0);
	assert_int_equal(fh_memory_set_access(&c->h.vm->mem, 0x9000, 1), 0);
	assert_int_equal(fh_memory_write(&c->h.vm->mem, 0x4000, &orig, 1), 0);
	assert_int_equal(fh_memory_set_access(&c->h.vm->mem, 0x9000, 7), 0);
	report(c);
	assert_true(c->v.clean);
}

static void integrity_errors_crash_and_host_close_are_dirty(void **state)
{
	struct ctx *c = *state;

	fh_vm_integrity_error(c->h.vm, "#BP at %d", 1);
	c->h.vm->crashed = 1;
	fh_vm_close(c->h.vm, "bad thing %d", 7);
	report(c);
	assert_false(c->v.clean);
	assert_non_null(strstr(c->v.text, "host closed the channel: bad thing 7"));
	assert_non_null(strstr(c->v.text, "guest crashed by the tool"));
	assert_non_null(strstr(c->v.text, "1 guest integrity errors"));
	assert_non_null(strstr(c->json, "\"integrity_error\":\"#BP at 1\""));
	assert_non_null(strstr(c->json, "\"crashed\":true"));
}

static void unhook_not_closed_in_time_is_dirty(void **state)
{
	struct ctx *c = *state;

	c->o.unhook_requested = c->o.unhook_sent = 1;
	c->o.closed_in_time = 0;
	c->o.end = "unhook-timeout";
	report(c);
	assert_false(c->v.clean);
	assert_non_null(strstr(c->json, "\"closed_in_time\":false"));
	c->o.closed_in_time = 1;
	c->o.unhook_ms = 12.5;
	report(c);
	assert_true(c->v.clean);
	assert_non_null(strstr(c->json, "\"unhook_ms\":12.500"));
}

static void failed_handshake_is_dirty(void **state)
{
	struct ctx *c = *state;

	c->o.handshake_ok = 0;
	c->o.handshake_error = "introspection: bad";
	c->o.vm = NULL;
	report(c);
	assert_false(c->v.clean);
	assert_non_null(strstr(c->json, "\"handshake_ok\":false,\"handshake_error\":\"introspection: bad\""));
	assert_non_null(strstr(c->json, "\"hooks_left\":null"));
}

static void hooks_left_are_reported_not_judged(void **state)
{
	struct ctx *c = *state;

	c->h.vm->vcpus[0].events = 1u << KVMI_EVENT_BREAKPOINT;
	c->h.vm->vcpus[1].events = 1u << KVMI_EVENT_BREAKPOINT;
	c->h.vm->vcpus[1].crs = 1u << 3;
	c->h.vm->vm_events = 1u << KVMI_EVENT_UNHOOK;
	report(c);
	assert_true(c->v.clean);
	assert_non_null(strstr(c->json, "\"hooks_left\":{\"vcpu_events\":{\"breakpoint\":2},"
					"\"vm_events\":[\"unhook\"],\"cr_intercepts\":1,"
					"\"msr_intercepts\":0}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(untouched_guest_is_clean),
		T(changed_byte_and_restricted_page_are_dirty),
		T(restored_state_is_clean_again),
		T(integrity_errors_crash_and_host_close_are_dirty),
		T(unhook_not_closed_in_time_is_dirty),
		T(failed_handshake_is_dirty),
		T(hooks_left_are_reported_not_judged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

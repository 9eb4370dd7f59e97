/*
 * libkvmi - tests/codec/test_decoder_alloc.c: the decoder allocates nothing
 * per message: none for whole messages, one reassembly buffer on the first
 * split message and none after it; a failed reassembly allocation returns
 * -ENOMEM with nothing consumed and the same bytes decode once memory is
 * back.  Links the internal archive for the allocation counter (alloc.h).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmi/codec.h>

#include "alloc.h"
#include "host_encoder.h"

static uint8_t ev[KVMI_ENCODE_MAX];

static size_t bp_event(uint32_t seq)
{
	struct kvmi_event common = {.event = KVMI_EVENT_BREAKPOINT};
	struct kvmi_event_breakpoint bp = {.gpa = 0x1000, .insn_len = 1};
	int n = kvmi_encode_event(ev, sizeof(ev), seq, &common, sizeof(common),
				  &bp, sizeof(bp));

	assert_true(n > 0);
	return (size_t)n;
}

/* feed @len bytes of ev in two parts split at @split; one message */
static void feed_split(struct kvmi_decoder *d, size_t len, size_t split)
{
	const struct kvmi_msg *m;

	assert_int_equal(kvmi_decoder_feed(d, ev, split, &m), split);
	assert_null(m);
	assert_int_equal(kvmi_decoder_feed(d, ev + split, len - split, &m),
			 len - split);
	assert_non_null(m);
	assert_int_equal(m->u.event.common->event, KVMI_EVENT_BREAKPOINT);
}

static void test_no_allocation_per_message(void **state)
{
	struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	const struct kvmi_msg *m;
	size_t len = bp_event(1);

	(void)state;
	assert_non_null(d);
	kvmi__alloc_count = 0;
	kvmi__alloc_fail_at = LONG_MAX; /* count, never fail */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(kvmi_decoder_feed(d, ev, len, &m), len);
		assert_non_null(m);
	}
	assert_int_equal(kvmi__alloc_count, 0);

	feed_split(d, len, 100);
	assert_int_equal(kvmi__alloc_count, 1);
	for (size_t split = 1; split < len; split++)
		feed_split(d, len, split);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(kvmi_decoder_feed(d, ev, len, &m), len);
		assert_non_null(m);
	}
	assert_int_equal(kvmi__alloc_count, 1);
	kvmi__alloc_fail_at = 0;
	kvmi_decoder_free(d);
}

static void test_reassembly_allocation_failure(void **state)
{
	struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	const struct kvmi_msg *m;
	size_t len = bp_event(2);

	(void)state;
	assert_non_null(d);
	kvmi__alloc_count = 0;
	kvmi__alloc_fail_at = 1; /* the reassembly buffer */
	assert_int_equal(kvmi_decoder_feed(d, ev, 100, &m), -ENOMEM);
	assert_null(m);
	assert_int_equal(kvmi_decoder_buffered(d), 0);
	assert_int_equal(kvmi_decoder_offset(d), 0);
	assert_null(kvmi_decoder_error(d, NULL));
	kvmi__alloc_fail_at = 0;
	feed_split(d, len, 100);
	assert_int_equal(kvmi_decoder_offset(d), len);
	kvmi_decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_allocation_per_message),
		cmocka_unit_test(test_reassembly_allocation_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

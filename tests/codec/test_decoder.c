/*
 * libkvmi - tests/codec/test_decoder.c: the streaming decoder on
 * hand-built streams: every kind of message, whole and one byte at a time,
 * larger/smaller host common structs, and each framing error with its
 * distinct code, text and byte offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvmi/codec.h>

struct collected {
	int n;
	struct kvmi_msg_hdr hdr[16];
	int kind[16];
	uint64_t gpa[16];
	uint16_t csize[16];
	uint64_t rip[16];
	int err;
};

/* feed stream in chunks of `chunk` bytes (0 = whole) */
static void run(enum kvmi_direction dir, const uint8_t *s, size_t len,
		size_t chunk, struct collected *c)
{
	struct kvmi_decoder *d = kvmi_decoder_new(dir);
	size_t pos = 0;

	assert_non_null(d);
	memset(c, 0, sizeof(*c));
	while (pos < len) {
		size_t end = chunk ? (pos + chunk < len ? pos + chunk : len) : len;

		while (pos < end) {
			const struct kvmi_msg *m;
			ssize_t r = kvmi_decoder_feed(d, s + pos, end - pos, &m);

			if (r < 0) {
				c->err = (int)r;
				assert_non_null(kvmi_decoder_error(d, NULL));
				assert_int_equal(kvmi_decoder_feed(d, s, 1, &m),
						 KVMI_E_DECODER_FAILED);
				kvmi_decoder_free(d);
				return;
			}
			pos += (size_t)r;
			if (!m)
				continue;
			assert_true(c->n < 16);
			c->hdr[c->n] = m->hdr;
			c->kind[c->n] = m->kind;
			if (m->kind == KVMI_MSG_EVENT) {
				c->gpa[c->n] = m->u.event.data->breakpoint.gpa;
				c->csize[c->n] = m->u.event.common->size;
				c->rip[c->n] = m->u.event.common->arch.regs.rip;
			}
			c->n++;
		}
	}
	c->err = kvmi_decoder_finish(d);
	kvmi_decoder_free(d);
}

static size_t bp_event(uint8_t *buf, uint32_t seq, size_t common_size,
		       uint64_t gpa)
{
	struct kvmi_event ev;
	struct kvmi_event_breakpoint bp = {.gpa = gpa, .insn_len = 1};
	int n;

	memset(&ev, 0, sizeof(ev));
	ev.vcpu = 1;
	ev.event = KVMI_EVENT_BREAKPOINT;
	ev.arch.regs.rip = 0xfffff80000001000ull;
	n = kvmi_encode_event(buf, KVMI_ENCODE_MAX, seq, &ev, common_size, &bp,
			      sizeof(bp));
	assert_true(n > 0);
	return (size_t)n;
}

static void test_events_every_chunking(void **state)
{
	uint8_t s[4096];
	size_t len = 0;
	struct collected whole, c;

	(void)state;
	len += bp_event(s + len, 1, 544, 0x1000);
	len += bp_event(s + len, 2, 560, 0x2000); /* newer host */
	len += bp_event(s + len, 3, 160, 0x3000); /* older host */
	len += (size_t)kvmi_encode_reply(s + len, sizeof(s) - len,
					 KVMI_READ_PHYSICAL, 9, 0, "abcd", 4);
	len += (size_t)kvmi_encode_event_reply_error(s + len, sizeof(s) - len,
						     3, -KVM_EINVAL);
	run(KVMI_DIR_HOST_TO_TOOL, s, len, 0, &whole);
	assert_int_equal(whole.err, 0);
	assert_int_equal(whole.n, 5);
	assert_int_equal(whole.gpa[0], 0x1000);
	assert_int_equal(whole.gpa[1], 0x2000);
	assert_int_equal(whole.gpa[2], 0x3000);
	assert_int_equal(whole.csize[1], 560);
	assert_int_equal(whole.rip[1], 0xfffff80000001000ull);
	/* 160 bytes of common struct end before regs.rip (offset 144+8) */
	assert_int_equal(whole.rip[2], 0xfffff80000001000ull);
	assert_int_equal(whole.kind[3], KVMI_MSG_REPLY);
	assert_int_equal(whole.kind[4], KVMI_MSG_EVENT_REPLY_ERROR);
	for (size_t chunk = 1; chunk <= len; chunk++) {
		run(KVMI_DIR_HOST_TO_TOOL, s, len, chunk, &c);
		assert_int_equal(c.err, 0);
		assert_int_equal(c.n, whole.n);
		assert_memory_equal(c.hdr, whole.hdr, sizeof(c.hdr));
		assert_memory_equal(c.gpa, whole.gpa, sizeof(c.gpa));
	}
}

static void test_common_truncated_zero_fill(void **state)
{
	uint8_t s[1024];
	struct collected c;
	size_t len = bp_event(s, 1, 140, 0x5000); /* ends inside regs */

	(void)state;
	run(KVMI_DIR_HOST_TO_TOOL, s, len, 0, &c);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.rip[0], 0); /* rip at 144: not sent, zero */
	assert_int_equal(c.gpa[0], 0x5000);
}

static void expect_error(const uint8_t *s, size_t len, int err)
{
	struct collected c;

	run(KVMI_DIR_HOST_TO_TOOL, s, len, 0, &c);
	assert_int_equal(c.err, err);
	for (size_t chunk = 1; chunk < 9; chunk++) {
		run(KVMI_DIR_HOST_TO_TOOL, s, len, chunk, &c);
		assert_int_equal(c.err, err);
	}
}

static void test_framing_errors(void **state)
{
	uint8_t s[10000];
	struct kvmi_msg_hdr h = {.id = KVMI_EVENT, .size = 9000, .seq = 1};
	size_t len;

	(void)state;
	memset(s, 0, sizeof(s));
	memcpy(s, &h, sizeof(h));
	expect_error(s, 8 + 9000, KVMI_E_MSG_TOO_BIG);

	len = bp_event(s, 1, 544, 0x1000);
	expect_error(s, 5, KVMI_E_TRUNC_HEADER);
	expect_error(s, len - 1, KVMI_E_TRUNC_BODY);

	len = bp_event(s, 1, 544, 0x1000);
	s[8] = 4; /* common size 4 < 8 */
	s[9] = 0;
	expect_error(s, len, KVMI_E_EVENT_COMMON_SHORT);

	len = bp_event(s, 1, 544, 0x1000);
	s[8] = 0xff; /* common size 0x2ff > 560 */
	s[9] = 0x02;
	expect_error(s, len, KVMI_E_EVENT_COMMON_OVERRUN);

	len = bp_event(s, 1, 544, 0x1000);
	s[8 + 4] = 50; /* unknown event id */
	expect_error(s, len, KVMI_E_UNKNOWN_EVENT);

	len = bp_event(s, 1, 544, 0x1000);
	s[2] -= 8; /* payload 8 bytes short of the breakpoint data */
	expect_error(s, len - 8, KVMI_E_EVENT_PAYLOAD_SHORT);

	h = (struct kvmi_msg_hdr){.id = 200, .size = 8, .seq = 1};
	memcpy(s, &h, sizeof(h));
	expect_error(s, 16, KVMI_E_UNKNOWN_MSG);
}

static void test_error_text_and_offset(void **state)
{
	uint8_t s[64] = {0};
	struct kvmi_msg_hdr h = {.id = KVMI_GET_VERSION, .size = 9000};
	struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	const struct kvmi_msg *m;
	uint64_t off = 0;
	int n;

	(void)state;
	n = kvmi_encode_get_version(s, sizeof(s), 1);
	memcpy(s + n, &h, sizeof(h));
	assert_int_equal(kvmi_decoder_feed(d, s, (size_t)n + 8, &m), n);
	assert_non_null(m);
	assert_int_equal(kvmi_decoder_feed(d, s + n, 8, &m), KVMI_E_MSG_TOO_BIG);
	assert_non_null(strstr(kvmi_decoder_error(d, &off),
			       "message size 9000 exceeds the maximum 8184"));
	assert_int_equal(off, (uint64_t)n);
	kvmi_decoder_reset(d);
	assert_null(kvmi_decoder_error(d, NULL));
	assert_int_equal(kvmi_decoder_feed(d, s, (size_t)n, &m), n);
	kvmi_decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_every_chunking),
		cmocka_unit_test(test_common_truncated_zero_fill),
		cmocka_unit_test(test_framing_errors),
		cmocka_unit_test(test_error_text_and_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

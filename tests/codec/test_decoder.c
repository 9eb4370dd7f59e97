/*
 * libkvmi - tests/codec/test_decoder.c: the streaming decoder on
 * hand-built streams: every kind of message, whole and one byte at a time,
 * larger/smaller host common structs, and each framing error with its
 * distinct code, text and byte offset; the per-direction rules (what the
 * tool side may send, what a host reply must carry), sticky errors and
 * argument checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvmi/codec.h>
#include "host_encoder.h"

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
		size_t end =
		    chunk ? (pos + chunk < len ? pos + chunk : len) : len;

		while (pos < end) {
			const struct kvmi_msg *m;
			ssize_t r =
			    kvmi_decoder_feed(d, s + pos, end - pos, &m);

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

/* a short common struct after full ones: nothing of the earlier events
 * shows through, whether messages are decoded in place or gathered */
static void test_zero_fill_after_full_common(void **state)
{
	uint8_t s[4096];
	size_t len = 0;
	struct collected c;

	(void)state;
	len += bp_event(s + len, 1, sizeof(struct kvmi_event), 0x1000);
	len += bp_event(s + len, 2, 140, 0x2000);
	len += bp_event(s + len, 3, sizeof(struct kvmi_event), 0x3000);
	len += bp_event(s + len, 4, 140, 0x4000);
	for (size_t chunk = 0; chunk <= len; chunk++) {
		run(KVMI_DIR_HOST_TO_TOOL, s, len, chunk, &c);
		assert_int_equal(c.err, 0);
		assert_int_equal(c.n, 4);
		assert_int_equal(c.rip[0], 0xfffff80000001000ull);
		assert_int_equal(c.rip[1], 0);
		assert_int_equal(c.rip[2], 0xfffff80000001000ull);
		assert_int_equal(c.rip[3], 0);
		assert_int_equal(c.gpa[1], 0x2000);
		assert_int_equal(c.gpa[3], 0x4000);
	}
}

/* a whole event of our common size at the start of an aligned chunk is
 * read where it is; in a misaligned chunk it is copied (the event
 * pointers are aligned), with the same contents */
static void test_common_in_place_when_aligned(void **state)
{
	static _Alignas(16) uint8_t s[2048];
	struct kvmi_decoder *d;
	const struct kvmi_msg *m;
	size_t len = bp_event(s, 1, sizeof(struct kvmi_event), 0x1000);

	(void)state;
	d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	assert_non_null(d);
	assert_int_equal(kvmi_decoder_feed(d, s, len, &m), (ssize_t)len);
	assert_non_null(m);
	assert_ptr_equal(m->u.event.common, s + sizeof(struct kvmi_msg_hdr));
	assert_int_equal(m->u.event.common->arch.regs.rip,
			 0xfffff80000001000ull);
	memmove(s + 1, s, len);
	assert_int_equal(kvmi_decoder_feed(d, s + 1, len, &m), (ssize_t)len);
	assert_non_null(m);
	assert_ptr_not_equal(m->u.event.common,
			     s + 1 + sizeof(struct kvmi_msg_hdr));
	assert_int_equal((uintptr_t)m->u.event.common %
			     _Alignof(struct kvmi_event),
			 0);
	assert_int_equal(m->u.event.common->arch.regs.rip,
			 0xfffff80000001000ull);
	assert_int_equal(m->u.event.common->vcpu, 1);
	kvmi_decoder_free(d);
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
	assert_int_equal(kvmi_decoder_feed(d, s + n, 8, &m),
			 KVMI_E_MSG_TOO_BIG);
	assert_non_null(strstr(kvmi_decoder_error(d, &off),
			       "message size 9000 exceeds the maximum 8184"));
	assert_int_equal(off, (uint64_t)n);
	kvmi_decoder_reset(d);
	assert_null(kvmi_decoder_error(d, NULL));
	assert_int_equal(kvmi_decoder_feed(d, s, (size_t)n, &m), n);
	kvmi_decoder_free(d);
}

static uint8_t msg[KVMI_ENCODE_MAX + 16];

/* feed @len bytes of msg whole to a new decoder; the result, *@m and the
 * decoder (freed by the caller) */
static ssize_t feed_new(enum kvmi_direction dir, int len,
			const struct kvmi_msg **m, struct kvmi_decoder **out)
{
	struct kvmi_decoder *d = kvmi_decoder_new(dir);

	assert_non_null(d);
	assert_true(len > 0);
	*out = d;
	return kvmi_decoder_feed(d, msg, (size_t)len, m);
}

/* @len bytes of msg fail with @err; then the decoder stays failed */
static void expect_refused(enum kvmi_direction dir, int len, int err)
{
	const struct kvmi_msg *m = (const void *)msg;
	struct kvmi_decoder *d;

	assert_int_equal(feed_new(dir, len, &m, &d), err);
	assert_null(m);
	assert_non_null(kvmi_decoder_error(d, NULL));
	assert_int_equal(kvmi_decoder_feed(d, msg, 8, &m),
			 KVMI_E_DECODER_FAILED);
	assert_int_equal(kvmi_decoder_finish(d), err);
	kvmi_decoder_free(d);
}

static void test_tool_side_rules(void **state)
{
	const uint8_t body[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	const struct kvmi_msg *m;
	struct kvmi_decoder *d;
	int n;

	(void)state;
	/* an unknown command id is the host's business: decoded, not known */
	n = kvmi_encode_command_raw(msg, sizeof(msg), 77, 5, 0, 0, body, 12);
	assert_int_equal(feed_new(KVMI_DIR_TOOL_TO_HOST, n, &m, &d), n);
	assert_int_equal(m->kind, KVMI_MSG_COMMAND);
	assert_int_equal(m->hdr.id, 77);
	assert_false(m->u.command.known);
	assert_false(m->u.command.has_vcpu);
	assert_int_equal(m->u.command.body_len, 12);
	assert_memory_equal(m->u.command.body, body, 12);
	kvmi_decoder_free(d);

	/* an event reply without its vcpu header and common reply */
	n = kvmi_encode_command_raw(msg, sizeof(msg), KVMI_EVENT_REPLY, 5, 0, 0,
				    body, 12);
	expect_refused(KVMI_DIR_TOOL_TO_HOST, n, KVMI_E_MSG_SHORT);

	/* a vCPU command shorter than the vCPU header */
	n = kvmi_encode_command_raw(msg, sizeof(msg), KVMI_GET_REGISTERS, 5, 0,
				    0, body, 4);
	expect_refused(KVMI_DIR_TOOL_TO_HOST, n, KVMI_E_MSG_SHORT);

	/* above 8184 payload bytes */
	{
		struct kvmi_msg_hdr h = {.id = KVMI_WRITE_PHYSICAL,
					 .size = KVMI_MSG_SIZE_VALUE + 1};

		memset(msg, 0, sizeof(msg));
		memcpy(msg, &h, sizeof(h));
		expect_refused(KVMI_DIR_TOOL_TO_HOST, 8 + h.size,
			       KVMI_E_MSG_TOO_BIG);
	}
}

static void test_host_reply_rules(void **state)
{
	struct kvmi_get_registers_reply regs;
	uint8_t data[sizeof(regs) + 16] = {0};
	const struct kvmi_msg *m;
	struct kvmi_decoder *d;
	uint32_t nmsrs = 1;
	int n;

	(void)state;
	/* a reply too short for its error code */
	n = kvmi_encode_command_raw(msg, sizeof(msg), KVMI_GET_VERSION, 5, 0, 0,
				    data, 4);
	expect_refused(KVMI_DIR_HOST_TO_TOOL, n, KVMI_E_MSG_SHORT);

	/* GET_REGISTERS: exactly 472 + 16 * nmsrs data bytes */
	memcpy(data + offsetof(struct kvmi_get_registers_reply, msrs), &nmsrs,
	       sizeof(nmsrs));
	n = kvmi_encode_reply(msg, sizeof(msg), KVMI_GET_REGISTERS, 5, 0, data,
			      sizeof(data));
	assert_int_equal(feed_new(KVMI_DIR_HOST_TO_TOOL, n, &m, &d), n);
	assert_int_equal(m->u.reply.data_len, 472 + 16);
	kvmi_decoder_free(d);
	n = kvmi_encode_reply(msg, sizeof(msg), KVMI_GET_REGISTERS, 5, 0, data,
			      sizeof(data) - 8);
	expect_refused(KVMI_DIR_HOST_TO_TOOL, n, KVMI_E_MSG_SIZE);
	nmsrs = 0;
	memcpy(data + offsetof(struct kvmi_get_registers_reply, msrs), &nmsrs,
	       sizeof(nmsrs));
	n = kvmi_encode_reply(msg, sizeof(msg), KVMI_GET_REGISTERS, 5, 0, data,
			      sizeof(data));
	expect_refused(KVMI_DIR_HOST_TO_TOOL, n, KVMI_E_MSG_SIZE);

	/* an error reply never exposes data; an extension id is a reply */
	n = kvmi_encode_reply(msg, sizeof(msg), KVMI_EXT_GET_NEXT_AVAILABLE_GFN,
			      6, -KVM_EOPNOTSUPP, NULL, 0);
	assert_int_equal(feed_new(KVMI_DIR_HOST_TO_TOOL, n, &m, &d), n);
	assert_int_equal(m->kind, KVMI_MSG_REPLY);
	assert_int_equal(m->u.reply.host_err, -KVM_EOPNOTSUPP);
	assert_null(m->u.reply.data);
	kvmi_decoder_free(d);

	/* a host never sends command ids it does not answer */
	n = kvmi_encode_command_raw(
	    msg, sizeof(msg), KVMI_NEXT_AVAILABLE_COMMAND, 5, 0, 0, data, 8);
	expect_refused(KVMI_DIR_HOST_TO_TOOL, n, KVMI_E_UNKNOWN_MSG);
}

static void test_arguments_and_buffering(void **state)
{
	const struct kvmi_msg *m = NULL;
	struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	int n = kvmi_encode_get_vcpu_info(msg, sizeof(msg), 9, 1);

	(void)state;
	assert_int_equal(kvmi_decoder_feed(NULL, msg, 1, &m), -EINVAL);
	assert_int_equal(kvmi_decoder_feed(d, NULL, 1, &m), -EINVAL);
	assert_int_equal(kvmi_decoder_feed(d, msg, 1, NULL), -EINVAL);
	assert_int_equal(kvmi_decoder_set_max_size(d, 0), -EINVAL);
	assert_int_equal(kvmi_decoder_set_max_size(d, 65536), -EINVAL);

	/* partial message: held, max size fixed until it completes */
	assert_int_equal(kvmi_decoder_feed(d, msg, 3, &m), 3);
	assert_null(m);
	assert_int_equal(kvmi_decoder_buffered(d), 3);
	assert_int_equal(kvmi_decoder_set_max_size(d, 100), -EBUSY);
	assert_int_equal(kvmi_decoder_feed(d, msg + 3, (size_t)n - 3, &m),
			 n - 3);
	assert_non_null(m);
	assert_int_equal(m->u.command.vcpu.vcpu, 1);
	assert_int_equal(kvmi_decoder_buffered(d), 0);
	assert_int_equal(kvmi_decoder_offset(d), (uint64_t)n);

	/* a smaller limit then refuses a larger message */
	assert_int_equal(kvmi_decoder_set_max_size(d, 4), 0);
	assert_int_equal(kvmi_decoder_feed(d, msg, (size_t)n, &m),
			 KVMI_E_MSG_TOO_BIG);
	kvmi_decoder_free(d);
	kvmi_decoder_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_events_every_chunking),
	    cmocka_unit_test(test_common_truncated_zero_fill),
	    cmocka_unit_test(test_zero_fill_after_full_common),
	    cmocka_unit_test(test_common_in_place_when_aligned),
	    cmocka_unit_test(test_framing_errors),
	    cmocka_unit_test(test_error_text_and_offset),
	    cmocka_unit_test(test_tool_side_rules),
	    cmocka_unit_test(test_host_reply_rules),
	    cmocka_unit_test(test_arguments_and_buffering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

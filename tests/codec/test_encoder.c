/*
 * libkvmi - tests/codec/test_encoder.c: encoders refuse what the protocol
 * forbids (page crossing, counts, registers, actions, buffer space) and
 * send padding as zero; their output decodes back to the same values.
 * Error and message names; every host KVM_E* code mapped to errno with
 * the original kept; which errors are fatal for a connection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmi/codec.h>
#include "host_encoder.h"

static uint8_t buf[KVMI_ENCODE_MAX];

static const struct kvmi_msg *decode_one(enum kvmi_direction dir, int n)
{
	static struct kvmi_decoder *d;
	const struct kvmi_msg *m = NULL;

	kvmi_decoder_free(d);
	d = kvmi_decoder_new(dir);
	assert_true(n > 0);
	assert_int_equal(kvmi_decoder_feed(d, buf, (size_t)n, &m), n);
	assert_non_null(m);
	return m;
}

static void test_physical_limits(void **state)
{
	uint8_t data[4097] = {0};

	(void)state;
	assert_int_equal(kvmi_encode_read_physical(buf, sizeof(buf), 1, 0x1000,
						   0),
			 KVMI_E_PAGE_CROSS);
	assert_int_equal(kvmi_encode_read_physical(buf, sizeof(buf), 1, 0x1ff0,
						   17),
			 KVMI_E_PAGE_CROSS);
	assert_int_equal(kvmi_encode_write_physical(buf, sizeof(buf), 1, 0x1000,
						    data, 4097),
			 KVMI_E_PAGE_CROSS);
	assert_int_equal(kvmi_encode_read_physical(buf, sizeof(buf), 1, 0x1ff0,
						   16),
			 8 + 16);
	assert_int_equal(kvmi_encode_write_physical(buf, sizeof(buf), 1, 0x1000,
						    data, 4096),
			 8 + 16 + 4096);
	assert_int_equal(kvmi_encode_write_physical(buf, sizeof(buf), 1, 0x1000,
						    NULL, 1),
			 -EINVAL);
	assert_int_equal(kvmi_encode_write_physical(buf, 100, 1, 0x1000, data,
						    4096),
			 KVMI_E_NOSPACE);
}

static void test_counts(void **state)
{
	static struct kvmi_page_access_entry e[512];
	static uint64_t gpas[1023];
	static uint32_t msrs[483];
	const struct kvmi_msg *m;
	int n;

	(void)state;
	assert_int_equal(kvmi_encode_set_page_access(buf, sizeof(buf), 1, 0, e,
						     512),
			 KVMI_E_TOO_MANY);
	n = kvmi_encode_set_page_access(buf, sizeof(buf), 1, 0, e, 511);
	assert_int_equal(n, 8 + 8 + 511 * 16);
	assert_true(n - 8 <= KVMI_MSG_SIZE_VALUE);
	assert_int_equal(kvmi_encode_get_page_access(buf, sizeof(buf), 1, 0,
						     gpas, 1023),
			 KVMI_E_TOO_MANY);
	assert_int_equal(kvmi_encode_get_page_access(buf, sizeof(buf), 1, 0,
						     gpas, 1022),
			 8 + 8 + 1022 * 8);
	assert_int_equal(kvmi_encode_get_registers(buf, sizeof(buf), 1, 0, msrs,
						   483),
			 KVMI_E_TOO_MANY);
	n = kvmi_encode_get_registers(buf, sizeof(buf), 1, 3, msrs, 482);
	m = decode_one(KVMI_DIR_TOOL_TO_HOST, n);
	assert_int_equal(m->u.command.vcpu.vcpu, 3);
	assert_int_equal(m->u.command.body_len, 8 + 482 * 4);
	e[0].access = 8;
	assert_int_equal(kvmi_encode_set_page_access(buf, sizeof(buf), 1, 0, e,
						     1),
			 -EINVAL);
}

static void test_padding_zeroed(void **state)
{
	struct kvmi_page_access_entry e = {.gpa = 0x5000, .access = 3};
	const struct kvmi_msg *m;
	struct kvmi_page_access_entry got;
	int n;

	(void)state;
	e.padding1 = 0xff; /* caller garbage must not leak */
	e.padding3 = 0xffffffff;
	memset(buf, 0xaa, sizeof(buf));
	n = kvmi_encode_set_page_access(buf, sizeof(buf), 7, 0, &e, 1);
	m = decode_one(KVMI_DIR_TOOL_TO_HOST, n);
	assert_int_equal(m->hdr.seq, 7);
	memcpy(&got, m->u.command.body + 8, sizeof(got));
	assert_int_equal(got.gpa, 0x5000);
	assert_int_equal(got.access, 3);
	assert_int_equal(got.padding1, 0);
	assert_int_equal(got.padding2, 0);
	assert_int_equal(got.padding3, 0);
}

static void test_register_and_event_rules(void **state)
{
	struct kvmi_event_pf_reply pf = {.ctx_size = 257};
	const struct kvmi_msg *m;
	int n;

	(void)state;
	assert_int_equal(kvmi_encode_control_cr(buf, sizeof(buf), 1, 0, 2, 1),
			 -EINVAL);
	assert_int_equal(kvmi_encode_control_msr(buf, sizeof(buf), 1, 0,
						 0x2000, 1),
			 -EINVAL);
	assert_true(kvmi_encode_control_msr(buf, sizeof(buf), 1, 0, 0xc0001fff,
					    1) > 0);
	assert_int_equal(kvmi_encode_control_events(buf, sizeof(buf), 1, 0,
						    KVMI_EVENT_UNHOOK, 1),
			 -EINVAL);
	assert_int_equal(kvmi_encode_control_events(buf, sizeof(buf), 1, 0,
						    KVMI_EVENT_CREATE_VCPU, 1),
			 -EINVAL);
	assert_int_equal(kvmi_encode_control_vm_events(buf, sizeof(buf), 1,
						       KVMI_EVENT_BREAKPOINT, 1),
			 -EINVAL);
	/* RETRY only for BREAKPOINT, PF, DESCRIPTOR; never reply UNHOOK */
	assert_int_equal(kvmi_encode_event_reply(buf, sizeof(buf), 1, 0,
						 KVMI_EVENT_XSETBV,
						 KVMI_EVENT_ACTION_RETRY),
			 -EINVAL);
	assert_int_equal(kvmi_encode_event_reply(buf, sizeof(buf), 1, 0,
						 KVMI_EVENT_UNHOOK,
						 KVMI_EVENT_ACTION_CONTINUE),
			 -EINVAL);
	assert_int_equal(kvmi_encode_event_reply(buf, sizeof(buf), 1, 0,
						 KVMI_EVENT_CR,
						 KVMI_EVENT_ACTION_CONTINUE),
			 -EINVAL);
	assert_int_equal(kvmi_encode_event_reply(buf, sizeof(buf), 1, 0,
						 KVMI_EVENT_BREAKPOINT, 7),
			 -EINVAL);
	assert_int_equal(kvmi_encode_event_reply_pf(buf, sizeof(buf), 1, 0,
						    KVMI_EVENT_ACTION_RETRY,
						    &pf),
			 -EINVAL);
	n = kvmi_encode_event_reply_cr(buf, sizeof(buf), 9, 2,
				       KVMI_EVENT_ACTION_CONTINUE, 0x1234);
	m = decode_one(KVMI_DIR_TOOL_TO_HOST, n);
	assert_int_equal(m->kind, KVMI_MSG_EVENT_REPLY);
	assert_int_equal(m->hdr.seq, 9);
	assert_int_equal(m->u.event_reply.vcpu.vcpu, 2);
	assert_int_equal(m->u.event_reply.common.event, KVMI_EVENT_CR);
	assert_int_equal(m->u.event_reply.tail_len, 8);
	n = kvmi_encode_event_reply(buf, sizeof(buf), 3, 0,
				    KVMI_EVENT_BREAKPOINT,
				    KVMI_EVENT_ACTION_RETRY);
	assert_int_equal(n, 8 + 16);
}

static void test_replies_round_trip(void **state)
{
	struct kvmi_get_version_reply v = {.version = 1};
	uint8_t ext[16] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0};
	const struct kvmi_msg *m;
	int n;

	(void)state;
	n = kvmi_encode_reply(buf, sizeof(buf), KVMI_GET_VERSION, 4, 0, &v,
			      sizeof(v));
	m = decode_one(KVMI_DIR_HOST_TO_TOOL, n);
	assert_int_equal(m->kind, KVMI_MSG_REPLY);
	assert_int_equal(m->u.reply.data_len, 8);
	/* an extension host's 16-byte version reply is accepted */
	n = kvmi_encode_reply(buf, sizeof(buf), KVMI_GET_VERSION, 4, 0, ext,
			      sizeof(ext));
	m = decode_one(KVMI_DIR_HOST_TO_TOOL, n);
	assert_int_equal(m->u.reply.data_len, 16);
	/* a reply shorter than its struct is not */
	n = kvmi_encode_reply(buf, sizeof(buf), KVMI_GET_GUEST_INFO, 4, 0, &v,
			      sizeof(v));
	{
		struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);

		assert_int_equal(kvmi_decoder_feed(d, buf, (size_t)n, &m),
				 KVMI_E_MSG_SIZE);
		kvmi_decoder_free(d);
	}
	/* error replies carry no data and map to errno */
	n = kvmi_encode_reply(buf, sizeof(buf), KVMI_READ_PHYSICAL, 4,
			      -KVM_ENOSYS, "x", 1);
	assert_int_equal(n, 16);
	m = decode_one(KVMI_DIR_HOST_TO_TOOL, n);
	assert_int_equal(m->u.reply.host_err, -KVM_ENOSYS);
	assert_int_equal(m->u.reply.err, -ENOSYS);
	assert_null(m->u.reply.data);
}

static const int all_errors[] = {
	KVMI_E_MSG_TOO_BIG,	     KVMI_E_TRUNC_HEADER,
	KVMI_E_TRUNC_BODY,	     KVMI_E_UNKNOWN_MSG,
	KVMI_E_UNKNOWN_EVENT,	     KVMI_E_EVENT_COMMON_SHORT,
	KVMI_E_EVENT_COMMON_OVERRUN, KVMI_E_EVENT_PAYLOAD_SHORT,
	KVMI_E_MSG_SHORT,	     KVMI_E_MSG_SIZE,
	KVMI_E_DECODER_FAILED,	     KVMI_E_PAGE_CROSS,
	KVMI_E_TOO_MANY,	     KVMI_E_NOSPACE,
	KVMI_E_UNEXPECTED_REPLY,     KVMI_E_QUEUE_FULL,
	KVMI_E_ALREADY_REPLIED,	     KVMI_E_EVENT_REPLY_REJECTED,
	KVMI_E_HANDSHAKE_SIZE,	     KVMI_E_HANDSHAKE_REFUSED,
	KVMI_E_VERSION,		     KVMI_E_CAPTURE_FORMAT,
	KVMI_E_PEER_REFUSED,	     KVMI_E_DEADLINE,
	KVMI_E_VERIFY,
};

static void test_names_and_errors(void **state)
{
	(void)state;
	assert_string_equal(kvmi_msg_name(KVMI_GET_MAX_GFN), "KVMI_GET_MAX_GFN");
	assert_string_equal(kvmi_msg_name(999), "UNKNOWN");
	assert_string_equal(kvmi_event_name(KVMI_EVENT_UNHOOK),
			    "KVMI_EVENT_UNHOOK");
	assert_string_equal(kvmi_err_name(KVMI_E_MSG_TOO_BIG),
			    "KVMI_E_MSG_TOO_BIG");
	assert_string_equal(kvmi_err_name(-EINVAL), "EINVAL");
	assert_string_equal(kvmi_host_error_name(-KVM_EOPNOTSUPP),
			    "KVM_EOPNOTSUPP");
	assert_int_equal(kvmi_host_error_to_errno(-KVM_EPERM), -EPERM);
	assert_int_equal(kvmi_host_error_to_errno(-4242), -EPROTO);
	assert_true(kvmi_error_is_fatal(KVMI_E_UNEXPECTED_REPLY));
	assert_false(kvmi_error_is_fatal(-EINVAL));
	/* every library error has its own name and its own text */
	for (size_t i = 0; i < sizeof(all_errors) / sizeof(all_errors[0]);
	     i++) {
		int e = all_errors[i];

		assert_true(e < 0);
		assert_string_not_equal(kvmi_err_name(e), "UNKNOWN");
		assert_string_not_equal(kvmi_strerror(e), "unknown error");
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(all_errors[j], e);
			assert_string_not_equal(kvmi_err_name(all_errors[j]),
						kvmi_err_name(e));
			assert_string_not_equal(kvmi_strerror(all_errors[j]),
						kvmi_strerror(e));
		}
	}
	assert_string_equal(kvmi_err_name(KVMI_E__LAST), "UNKNOWN");
	assert_string_equal(kvmi_strerror(KVMI_E__LAST), "unknown error");
	{
		struct kvmi_seq s;

		kvmi_seq_init(&s, 0xffffffffu);
		assert_int_equal(kvmi_seq_next(&s), 0xffffffffu);
		assert_int_equal(kvmi_seq_next(&s), 0);
	}
}

/* every host error of the protocol's table (sec. 3.7): its errno value,
 * its name, the original kept in the decoded reply */
static void test_host_errors(void **state)
{
	static const struct {
		int32_t host;
		int err;
		const char *name;
	} map[] = {
		{-KVM_EPERM, -EPERM, "KVM_EPERM"},
		{-KVM_ENOENT, -ENOENT, "KVM_ENOENT"},
		{-KVM_E2BIG, -E2BIG, "KVM_E2BIG"},
		{-KVM_EAGAIN, -EAGAIN, "KVM_EAGAIN"},
		{-KVM_ENOMEM, -ENOMEM, "KVM_ENOMEM"},
		{-KVM_EFAULT, -EFAULT, "KVM_EFAULT"},
		{-KVM_EBUSY, -EBUSY, "KVM_EBUSY"},
		{-KVM_EINVAL, -EINVAL, "KVM_EINVAL"},
		{-KVM_EOPNOTSUPP, -EOPNOTSUPP, "KVM_EOPNOTSUPP"},
		{-KVM_ENOSYS, -ENOSYS, "KVM_ENOSYS"},
	};

	(void)state;
	assert_int_equal(KVM_ENOSYS, 1000);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const struct kvmi_msg *m;
		int n;

		assert_int_equal(kvmi_host_error_to_errno(map[i].host),
				 map[i].err);
		assert_string_equal(kvmi_host_error_name(map[i].host),
				    map[i].name);
		assert_string_equal(kvmi_host_error_name(-map[i].host),
				    map[i].name);
		assert_false(kvmi_error_is_fatal(map[i].err));
		n = kvmi_encode_reply(buf, sizeof(buf), KVMI_GET_CPUID, 3,
				      map[i].host, NULL, 0);
		m = decode_one(KVMI_DIR_HOST_TO_TOOL, n);
		assert_int_equal(m->u.reply.host_err, map[i].host);
		assert_int_equal(m->u.reply.err, map[i].err);
	}
	assert_int_equal(kvmi_host_error_to_errno(0), 0);
	assert_string_equal(kvmi_host_error_name(0), "0");
	assert_int_equal(kvmi_host_error_to_errno(-3), -EPROTO);
	assert_int_equal(kvmi_host_error_to_errno(22), -EPROTO);
	assert_string_equal(kvmi_host_error_name(-3), "KVM_E?");

	/* what closes a connection and what does not */
	assert_true(kvmi_error_is_fatal(KVMI_E_MSG_TOO_BIG));
	assert_true(kvmi_error_is_fatal(KVMI_E_DECODER_FAILED));
	assert_true(kvmi_error_is_fatal(KVMI_E_QUEUE_FULL));
	assert_true(kvmi_error_is_fatal(KVMI_E_EVENT_REPLY_REJECTED));
	assert_true(kvmi_error_is_fatal(-ECONNRESET));
	assert_true(kvmi_error_is_fatal(-EPIPE));
	assert_true(kvmi_error_is_fatal(-ENOTCONN));
	assert_true(kvmi_error_is_fatal(-EPROTO));
	assert_false(kvmi_error_is_fatal(0));
	assert_false(kvmi_error_is_fatal(KVMI_E_PAGE_CROSS));
	assert_false(kvmi_error_is_fatal(KVMI_E_TOO_MANY));
	assert_false(kvmi_error_is_fatal(KVMI_E_NOSPACE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_physical_limits),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_padding_zeroed),
		cmocka_unit_test(test_register_and_event_rules),
		cmocka_unit_test(test_replies_round_trip),
		cmocka_unit_test(test_names_and_errors),
		cmocka_unit_test(test_host_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/fakehost - test_handshake.c: QEMU's handshake rules as the
 * simulated QEMU applies them (struct sizes, cookie, bytes beyond the
 * tool's struct left for the kernel), without sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <nettle/sha1.h>

#include <kvmi/wire.h>

#include "handshake.h"

static void tool_struct(uint8_t *out, uint32_t size, const char *secret)
{
	struct sha1_ctx ctx;

	memset(out, 0, size);
	memcpy(out, &size, 4);
	if (secret) {
		sha1_init(&ctx);
		sha1_update(&ctx, strlen(secret), (const uint8_t *)secret);
		sha1_digest(&ctx, SHA1_DIGEST_SIZE, out + 4);
	}
}

static void good_cookie_accepted_byte_by_byte(void **state)
{
	struct fh_handshake hs;
	uint8_t t[24];

	(void)state;
	tool_struct(t, 24, "s3cret");
	fh_handshake_init(&hs, "s3cret", 6);
	for (unsigned i = 0; i < 24; i++) {
		assert_int_equal(hs.state == FH_HS_OK, 0);
		assert_int_equal(fh_handshake_feed(&hs, t + i, 1), 1);
	}
	assert_int_equal(hs.state, FH_HS_OK);
}

static void bad_cookie_refused(void **state)
{
	struct fh_handshake hs;
	uint8_t t[24];

	(void)state;
	tool_struct(t, 24, "wrong");
	fh_handshake_init(&hs, "s3cret", 6);
	assert_int_equal(fh_handshake_feed(&hs, t, 24), 24);
	assert_int_equal(hs.state, FH_HS_FAILED);
	assert_non_null(strstr(hs.error, "cookie"));
}

static void no_secret_accepts_any_hash(void **state)
{
	struct fh_handshake hs;
	uint8_t t[24];

	(void)state;
	tool_struct(t, 24, "anything");
	fh_handshake_init(&hs, NULL, 0);
	assert_int_equal(fh_handshake_feed(&hs, t, 24), 24);
	assert_int_equal(hs.state, FH_HS_OK);
}

static void short_struct_fails(void **state)
{
	struct fh_handshake hs;
	uint8_t t[24];

	(void)state;
	tool_struct(t, 20, NULL);
	fh_handshake_init(&hs, NULL, 0);
	fh_handshake_feed(&hs, t, 20);
	assert_int_equal(hs.state, FH_HS_FAILED);
	assert_non_null(strstr(hs.error, "too small"));
}

static void size_below_four_stalls(void **state)
{
	struct fh_handshake hs;
	uint32_t size = 2;

	(void)state;
	fh_handshake_init(&hs, NULL, 0);
	fh_handshake_feed(&hs, &size, 4);
	assert_int_equal(hs.state, FH_HS_STALLED);
}

static void long_struct_accepted_and_rest_left(void **state)
{
	struct fh_handshake hs;
	uint8_t t[64 + 8];

	(void)state;
	tool_struct(t, 64, "k");
	memset(t + 24, 0xee, 40); /* extra bytes QEMU ignores */
	memcpy(t + 64, "KVMICMD!", 8); /* the first command, same write */
	fh_handshake_init(&hs, "k", 1);
	assert_int_equal(fh_handshake_feed(&hs, t, sizeof(t)), 64);
	assert_int_equal(hs.state, FH_HS_OK);
}

static void qemu_struct_sizes(void **state)
{
	struct fh_identity id;
	struct fh_buf b = { 0 };
	struct kvmi_qemu2introspector_ext q;

	(void)state;
	memset(&id, 0, sizeof(id));
	id.struct_size = 96;
	id.start_time = 1234;
	id.max_gpa = 1 << 30;
	strcpy(id.name, "vm-a");
	id.uuid[0] = 0xab;
	assert_int_equal(fh_handshake_message(&id, &b), 0);
	assert_int_equal(b.len, 96);
	memcpy(&q, b.data, 96);
	assert_int_equal(q.base.struct_size, 96);
	assert_int_equal(q.base.start_time, 1234);
	assert_string_equal(q.base.name, "vm-a");
	assert_int_equal(q.base.uuid[0], 0xab);
	id.struct_size = 104;
	assert_int_equal(fh_handshake_message(&id, &b), 0);
	assert_int_equal(b.len, 96 + 104);
	memcpy(&q, b.data + 96, 104);
	assert_int_equal(q.base.struct_size, 104);
	assert_int_equal(q.max_gpa, 1 << 30);
	id.struct_size = 200;
	assert_int_equal(fh_handshake_message(&id, &b), 0);
	assert_int_equal(b.len, 96 + 104 + 200);
	for (unsigned i = 104; i < 200; i++)
		assert_int_equal(b.data[200 + i], 0);
	fh_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_cookie_accepted_byte_by_byte),
		cmocka_unit_test(bad_cookie_refused),
		cmocka_unit_test(no_secret_accepts_any_hash),
		cmocka_unit_test(short_struct_fails),
		cmocka_unit_test(size_below_four_stalls),
		cmocka_unit_test(long_struct_accepted_and_rest_left),
		cmocka_unit_test(qemu_struct_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

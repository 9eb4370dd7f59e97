/*
 * libkvmi - tests/wireshark/test_pcapng.c: the pcapng writer of
 * tools/pcapng.c (SHB, IDB and EPB layout, block lengths, option lists,
 * padding, argument and sticky write errors) and kvmi-dump's packet
 * layout of tools/dump_pcapng.c (pseudo-header, message bytes, timestamp
 * and direction flags) for messages decoded by the library.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvmi/codec.h>

#include "dump_pcapng.h"
#include "pcapng.h"
#include "pcapng_parse.h"

/* a writer on a memory stream; the bytes appear in *buf at fflush */
struct mem {
	FILE *f;
	char *buf;
	size_t len;
	struct pcapng_writer w;
};

static void mem_open(struct mem *m)
{
	memset(m, 0, sizeof(*m));
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	pcapng_writer_init(&m->w, m->f);
}

/* flush, split into blocks (framing checked) and return their count */
static int mem_blocks(struct mem *m, struct pn_block *b, int max)
{
	char why[128] = "";
	int n;

	assert_int_equal(fflush(m->f), 0);
	n = pn_blocks((const uint8_t *)m->buf, m->len, b, max, why,
		      sizeof(why));
	if (n < 0)
		fail_msg("bad framing: %s", why);
	return n;
}

static void mem_close(struct mem *m)
{
	fclose(m->f);
	free(m->buf);
}

/* the option value of @code as a string (options start at @opt) */
static void assert_text_option(const struct pn_block *b, size_t opt,
			       uint16_t code, const char *want)
{
	const uint8_t *v = NULL;
	int l = pn_option(b->body + opt, b->body_len - opt, code, &v);

	assert_int_equal(l, (int)strlen(want));
	assert_memory_equal(v, want, strlen(want));
}

/* SHB: type, byte-order magic, version 1.0, section length -1,
 * shb_userappl padded to 32 bits, both lengths equal (checked by the
 * walker); without an application name there are no options at all */
static void test_shb_layout(void **state)
{
	struct pn_block b[2];
	struct mem m;
	int64_t sl;

	(void)state;
	mem_open(&m);
	assert_int_equal(pcapng_write_shb(&m.w, "abcde"), 0);
	assert_int_equal(mem_blocks(&m, b, 2), 1);
	assert_int_equal(b[0].type, PCAPNG_BT_SHB);
	/* 28 fixed + option (4 + 8 padded) + end of options 4 */
	assert_int_equal(b[0].total, 28 + 12 + 4);
	assert_int_equal(pn_u32(b[0].body), 0x1A2B3C4D);
	assert_int_equal(pn_u16(b[0].body + 4), 1);
	assert_int_equal(pn_u16(b[0].body + 6), 0);
	memcpy(&sl, b[0].body + 8, 8);
	assert_true(sl == -1);
	assert_text_option(&b[0], 16, PCAPNG_OPT_SHB_USERAPPL, "abcde");
	/* the padding after "abcde" is zero (pn_option checks) and the
	 * byte-order magic reads 1A 2B 3C 4D in the host's order */
	mem_close(&m);

	mem_open(&m);
	assert_int_equal(pcapng_write_shb(&m.w, NULL), 0);
	assert_int_equal(mem_blocks(&m, b, 2), 1);
	assert_int_equal(b[0].total, 28);
	/* a second section header is refused, nothing written */
	assert_int_equal(pcapng_write_shb(&m.w, NULL), -EINVAL);
	assert_int_equal(mem_blocks(&m, b, 2), 1);
	mem_close(&m);
}

/* IDB: link type, reserved 0, snaplen, if_name, if_description and
 * if_tsresol (left out for the default 6) */
static void test_idb_layout(void **state)
{
	struct pn_block b[4];
	const uint8_t *v = NULL;
	struct mem m;

	(void)state;
	mem_open(&m);
	/* no interface before the section header */
	assert_int_equal(pcapng_write_idb(&m.w, 147, 100, NULL, NULL, 9),
			 -EINVAL);
	assert_int_equal(pcapng_write_shb(&m.w, NULL), 0);
	assert_int_equal(pcapng_write_idb(&m.w, 147, 65559, "kvmi", "desc!", 9),
			 0);
	assert_int_equal(pcapng_write_idb(&m.w, 1, 0, NULL, NULL, 6), 0);
	assert_int_equal(m.w.nifaces, 2);
	assert_int_equal(mem_blocks(&m, b, 4), 3);
	assert_int_equal(b[1].type, PCAPNG_BT_IDB);
	/* 20 fixed + "kvmi" (4+4) + "desc!" (4+8) + tsresol (4+4) + end 4 */
	assert_int_equal(b[1].total, 20 + 8 + 12 + 8 + 4);
	assert_int_equal(pn_u16(b[1].body), 147);
	assert_int_equal(pn_u16(b[1].body + 2), 0);
	assert_int_equal(pn_u32(b[1].body + 4), 65559);
	assert_text_option(&b[1], 8, PCAPNG_OPT_IF_NAME, "kvmi");
	assert_text_option(&b[1], 8, PCAPNG_OPT_IF_DESCRIPTION, "desc!");
	assert_int_equal(pn_option(b[1].body + 8, b[1].body_len - 8,
				   PCAPNG_OPT_IF_TSRESOL, &v),
			 1);
	assert_int_equal(v[0], 9);
	/* the default resolution and no names: no options */
	assert_int_equal(b[2].type, PCAPNG_BT_IDB);
	assert_int_equal(b[2].total, 20);
	assert_int_equal(pn_u16(b[2].body), 1);
	mem_close(&m);
}

/* EPB: interface, 64-bit timestamp split high/low, captured and
 * original length, data padded with zeros, epb_flags when given */
static void test_epb_layout(void **state)
{
	static const uint8_t data[5] = {1, 2, 3, 4, 5};
	const uint64_t ts = 0x0123456789abcdefull;
	const uint8_t *v = NULL;
	struct pn_block b[6];
	struct mem m;

	(void)state;
	mem_open(&m);
	assert_int_equal(pcapng_write_shb(&m.w, NULL), 0);
	/* no packet before its interface */
	assert_int_equal(pcapng_write_epb(&m.w, 0, ts, data, 5, 0), -EINVAL);
	assert_int_equal(pcapng_write_idb(&m.w, 147, 100, NULL, NULL, 9), 0);
	assert_int_equal(pcapng_write_epb(&m.w, 1, ts, data, 5, 0), -EINVAL);
	assert_int_equal(pcapng_write_epb(&m.w, 0, ts, NULL, 5, 0), -EINVAL);
	assert_int_equal(
	    pcapng_write_epb(&m.w, 0, ts, data, PCAPNG_MAX_DATA + 1, 0),
	    -EINVAL);
	assert_int_equal(
	    pcapng_write_epb(&m.w, 0, ts, data, 5, PCAPNG_EPB_OUTBOUND), 0);
	assert_int_equal(pcapng_write_epb(&m.w, 0, 7, data, 4, 0), 0);
	assert_int_equal(
	    pcapng_write_epb(&m.w, 0, 8, NULL, 0, PCAPNG_EPB_INBOUND), 0);
	assert_int_equal(mem_blocks(&m, b, 6), 5);

	assert_int_equal(b[2].type, PCAPNG_BT_EPB);
	/* 32 fixed + 8 data + flags (4+4) + end 4 */
	assert_int_equal(b[2].total, 32 + 8 + 8 + 4);
	assert_int_equal(pn_u32(b[2].body), 0);
	assert_int_equal(pn_u32(b[2].body + 4), 0x01234567);
	assert_int_equal(pn_u32(b[2].body + 8), 0x89abcdef);
	assert_int_equal(pn_u32(b[2].body + 12), 5);
	assert_int_equal(pn_u32(b[2].body + 16), 5);
	assert_memory_equal(b[2].body + 20, data, 5);
	assert_int_equal(b[2].body[25] | b[2].body[26] | b[2].body[27], 0);
	assert_int_equal(pn_option(b[2].body + 28, b[2].body_len - 28,
				   PCAPNG_OPT_EPB_FLAGS, &v),
			 4);
	assert_int_equal(pn_u32(v), PCAPNG_EPB_OUTBOUND);

	/* 4 bytes, no padding, no flags: no options */
	assert_int_equal(b[3].total, 32 + 4);
	assert_int_equal(pn_u32(b[3].body + 8), 7);
	/* an empty packet with a flag */
	assert_int_equal(b[4].total, 32 + 8 + 4);
	assert_int_equal(pn_u32(b[4].body + 12), 0);
	assert_int_equal(pn_option(b[4].body + 20, b[4].body_len - 20,
				   PCAPNG_OPT_EPB_FLAGS, &v),
			 4);
	assert_int_equal(pn_u32(v), PCAPNG_EPB_INBOUND);
	mem_close(&m);
}

/* a failed write is reported with its errno and is sticky */
static void test_write_error_sticky(void **state)
{
	static const uint8_t data[64];
	struct pcapng_writer w;
	FILE *f = fopen("/dev/full", "wb");

	(void)state;
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	pcapng_writer_init(&w, f);
	assert_int_equal(pcapng_write_shb(&w, "x"), -ENOSPC);
	assert_int_equal(pcapng_writer_error(&w), -ENOSPC);
	assert_int_equal(pcapng_write_idb(&w, 147, 0, NULL, NULL, 9), -ENOSPC);
	assert_int_equal(pcapng_write_epb(&w, 0, 0, data, sizeof(data), 0),
			 -ENOSPC);
	assert_int_equal(w.have_shb, 0);
	fclose(f);
}

/* kvmi-dump's layout for one decoded message of each direction: the
 * pseudo-header (version, direction, byte order, stream offset), the
 * message bytes as encoded, start + record time, and the direction in
 * epb_flags (host->tool inbound, tool->host outbound) */
static void test_dump_packet_layout(void **state)
{
	uint8_t cmd[64], rep[64];
	int cmd_len, rep_len;
	struct kvmi_decoder *dt = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	struct kvmi_decoder *dh = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	const struct kvmi_msg *msg = NULL;
	struct kvmi_dump_pcapng o;
	struct pn_block b[4];
	const uint8_t *v = NULL;
	struct kvmi_msg_hdr h = {KVMI_GET_GUEST_INFO, 24, 9};
	struct kvmi_error_code ec = {0, 0};
	struct kvmi_get_guest_info_reply gi = {.vcpu_count = 3};
	uint16_t one = 1;
	uint8_t little;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_non_null(dt);
	assert_non_null(dh);
	memcpy(&little, &one, 1);
	/* two commands in a row: the second starts at stream offset 8 */
	cmd_len = kvmi_encode_get_version(cmd, sizeof(cmd), 1);
	assert_int_equal(cmd_len, 8);
	cmd_len +=
	    kvmi_encode_read_physical(cmd + 8, sizeof(cmd) - 8, 2, 0x1000, 16);
	memcpy(rep, &h, 8);
	memcpy(rep + 8, &ec, 8);
	memcpy(rep + 16, &gi, 16);
	rep_len = 32;

	assert_int_equal(kvmi_dump_pcapng_begin(&o, f, 1000000000ull), 0);
	assert_int_equal(kvmi_decoder_feed(dt, cmd, 8, &msg), 8);
	assert_non_null(msg);
	assert_int_equal(
	    kvmi_dump_pcapng_message(&o, KVMI_DIR_TOOL_TO_HOST, 5, msg), 0);
	assert_int_equal(
	    kvmi_decoder_feed(dt, cmd + 8, (size_t)cmd_len - 8, &msg),
	    cmd_len - 8);
	assert_non_null(msg);
	assert_int_equal(
	    kvmi_dump_pcapng_message(&o, KVMI_DIR_TOOL_TO_HOST, 6, msg), 0);
	assert_int_equal(kvmi_decoder_feed(dh, rep, (size_t)rep_len, &msg),
			 rep_len);
	assert_non_null(msg);
	assert_int_equal(
	    kvmi_dump_pcapng_message(&o, KVMI_DIR_HOST_TO_TOOL, 7, msg), 0);
	assert_int_equal(o.packets, 3);
	assert_int_equal(fflush(f), 0);
	{
		char why[128] = "";
		struct pn_block all[8];
		int n = pn_blocks((const uint8_t *)buf, len, all, 8, why,
				  sizeof(why));

		assert_int_equal(n, 5);
		memcpy(b, all + 1, sizeof(b));
	}
	/* the interface: USER0, nanoseconds */
	assert_int_equal(b[0].type, PCAPNG_BT_IDB);
	assert_int_equal(pn_u16(b[0].body), 147);
	assert_int_equal(pn_option(b[0].body + 8, b[0].body_len - 8,
				   PCAPNG_OPT_IF_TSRESOL, &v),
			 1);
	assert_int_equal(v[0], 9);

	/* second command: offset 8, the READ_PHYSICAL bytes */
	assert_int_equal(b[2].type, PCAPNG_BT_EPB);
	assert_int_equal(pn_u32(b[2].body + 8), 1000000006u);
	assert_int_equal(pn_u32(b[2].body + 12), 16 + cmd_len - 8);
	assert_int_equal(b[2].body[20], 1);		 /* version */
	assert_int_equal(b[2].body[21], 1);		 /* tool->host */
	assert_int_equal(b[2].body[22], little ? 0 : 1); /* byte order */
	for (int i = 23; i < 28; i++)
		assert_int_equal(b[2].body[i], 0);
	assert_int_equal(pn_u64le(b[2].body + 28), 8);
	assert_memory_equal(b[2].body + 36, cmd + 8, (size_t)cmd_len - 8);
	assert_int_equal(pn_option(b[2].body + 20 + 16 + cmd_len - 8,
				   b[2].body_len - 20 - 16 - (cmd_len - 8),
				   PCAPNG_OPT_EPB_FLAGS, &v),
			 4);
	assert_int_equal(pn_u32(v), PCAPNG_EPB_OUTBOUND);

	/* the reply: host->tool, offset 0, inbound */
	assert_int_equal(pn_u32(b[3].body + 8), 1000000007u);
	assert_int_equal(b[3].body[21], 0);
	assert_int_equal(pn_u64le(b[3].body + 28), 0);
	assert_memory_equal(b[3].body + 36, rep, (size_t)rep_len);
	assert_int_equal(pn_option(b[3].body + 20 + 16 + rep_len,
				   b[3].body_len - 20 - 16 - rep_len,
				   PCAPNG_OPT_EPB_FLAGS, &v),
			 4);
	assert_int_equal(pn_u32(v), PCAPNG_EPB_INBOUND);

	kvmi_decoder_free(dt);
	kvmi_decoder_free(dh);
	fclose(f);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shb_layout),
	    cmocka_unit_test(test_idb_layout),
	    cmocka_unit_test(test_epb_layout),
	    cmocka_unit_test(test_write_error_sticky),
	    cmocka_unit_test(test_dump_packet_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

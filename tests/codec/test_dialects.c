/*
 * libkvmi - tests/codec/test_dialects.c: the kvmi-v7 (2021, 2023) and v12
 * dialects in the codec: encoder bytes checked against the layouts of
 * KVMI-V7.md / KVMI-V12.md (golden values written from the facts pages,
 * not from the encoder), host->tool streams of each dialect decoded whole
 * and split at every byte offset, round trips of every per-dialect
 * command through a tool->host decoder, names and id maps, and the
 * dialect told from a GET_VERSION reply.
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

static uint8_t buf[KVMI_ENCODE_MAX];
static uint8_t area[4097]; /* an XSAVE area to send */

static uint16_t u16_at(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t u32_at(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t u64_at(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* header check: id, payload size, seq */
static void expect_hdr(int n, uint16_t id, uint16_t size, uint32_t seq)
{
	assert_int_equal(n, 8 + size);
	assert_int_equal(u16_at(buf, 0), id);
	assert_int_equal(u16_at(buf, 2), size);
	assert_int_equal(u32_at(buf, 4), seq);
}

static void test_v7_encoder_layouts(void **state)
{
	enum kvmi_dialect v7 = KVMI_DIALECT_V7;
	struct kvmi_event_pf_reply pf;
	int n;

	(void)state;
	/* INJECT_EXCEPTION (19): nr@8, byte 9 padding even with has_error,
	 * error_code@12, address@16 (sec. 4) */
	n = kvmi_encode_inject_exception_d(v7, buf, sizeof(buf), 5, 1, 14, 1, 2,
					   0x7000);
	expect_hdr(n, 19, 24, 5);
	assert_int_equal(u16_at(buf, 8), 1);
	assert_int_equal(buf[16], 14);
	assert_int_equal(buf[17], 0);
	assert_int_equal(u32_at(buf, 20), 2);
	assert_int_equal(u64_at(buf, 24), 0x7000);
	/* the v6 encoder still sends has_error */
	n = kvmi_encode_inject_exception(buf, sizeof(buf), 5, 1, 14, 1, 2, 0);
	assert_int_equal(buf[17], 1);

	/* CONTROL_CMD_RESPONSE (27): flags at byte 2; v6 refuses flags */
	n = kvmi_encode_control_cmd_response_d(
	    v7, buf, sizeof(buf), 6, 0, 1, KVMI_V7_CMD_RESPONSE_ERROR_EVENTS);
	expect_hdr(n, 27, 8, 6);
	assert_memory_equal(buf + 8, "\x00\x01\x01\x00\x00\x00\x00\x00", 8);
	assert_int_equal(kvmi_encode_control_cmd_response_d(
			     KVMI_DIALECT_V6, buf, sizeof(buf), 6, 0, 1, 1),
			 -EINVAL);

	/* CHANGE_GFN (60): 16 bytes in 2021, 24 with view in 2023 */
	n = kvmi_encode_change_gfn_d(v7, buf, sizeof(buf), 7, 1, 0, 0x10, 0x20);
	expect_hdr(n, 60, 8 + 16, 7);
	assert_int_equal(u64_at(buf, 16), 0x10);
	assert_int_equal(u64_at(buf, 24), 0x20);
	assert_int_equal(
	    kvmi_encode_change_gfn_d(v7, buf, sizeof(buf), 7, 1, 2, 0x10, 0x20),
	    -EINVAL);
	n = kvmi_encode_change_gfn_d(KVMI_DIALECT_V7_2023, buf, sizeof(buf), 7,
				     1, 2, 0x10, 0x20);
	expect_hdr(n, 60, 8 + 24, 7);
	assert_int_equal(u16_at(buf, 16), 2);
	assert_int_equal(u64_at(buf, 24), 0x10);
	assert_int_equal(u64_at(buf, 32), 0x20);

	/* SET_PAGE_SVE (30): view@0 suppress@2 gpa@8 */
	n = kvmi_encode_set_page_sve_d(v7, buf, sizeof(buf), 8, 1, 0x5000, 1);
	expect_hdr(n, 30, 16, 8);
	assert_int_equal(u16_at(buf, 8), 1);
	assert_int_equal(buf[10], 1);
	assert_int_equal(u64_at(buf, 16), 0x5000);

	/* CONTROL_EPT_VIEW (36): view@0 visible@2 after the vCPU header */
	n = kvmi_encode_control_ept_view_d(v7, buf, sizeof(buf), 9, 1, 2, 1);
	expect_hdr(n, 36, 16, 9);
	assert_int_equal(u16_at(buf, 16), 2);
	assert_int_equal(buf[18], 1);

	/* SET_VE_INFO (28): gpa@0 trigger_vmexit@8 */
	n = kvmi_encode_set_ve_info_d(v7, buf, sizeof(buf), 10, 0, 0x9000, 1);
	expect_hdr(n, 28, 24, 10);
	assert_int_equal(u64_at(buf, 16), 0x9000);
	assert_int_equal(buf[24], 1);

	/* ids of the other v7 commands */
	expect_hdr(kvmi_encode_set_ept_view_d(v7, buf, sizeof(buf), 1, 0, 1),
		   32, 16, 1);
	expect_hdr(kvmi_encode_disable_ve_d(v7, buf, sizeof(buf), 1, 0), 33, 8,
		   1);
	expect_hdr(kvmi_encode_get_ept_view_d(v7, buf, sizeof(buf), 1, 0), 34,
		   8, 1);
	expect_hdr(
	    kvmi_encode_translate_gva_d(v7, buf, sizeof(buf), 1, 0, 0x1000), 35,
	    16, 1);
	expect_hdr(kvmi_encode_get_xcr_d(v7, buf, sizeof(buf), 1, 0, 0), 37, 16,
		   1);
	expect_hdr(
	    kvmi_encode_set_xsave_d(v7, buf, sizeof(buf), 1, 0, area, 512), 38,
	    8 + 512, 1);
	assert_int_equal(
	    kvmi_encode_set_xsave_d(v7, buf, sizeof(buf), 1, 0, area, 4097),
	    -EINVAL);
	expect_hdr(
	    kvmi_encode_control_singlestep_d(v7, buf, sizeof(buf), 1, 0, 1), 63,
	    16, 1);
	assert_int_equal(buf[16], 1);

	/* 2023-only commands: not on 2021, with their ids on 2023 */
	assert_int_equal(
	    kvmi_encode_query_physical_d(v7, buf, sizeof(buf), 1, 5),
	    -EOPNOTSUPP);
	assert_int_equal(kvmi_encode_create_ept_view_d(v7, buf, sizeof(buf), 1),
			 -EOPNOTSUPP);
	expect_hdr(kvmi_encode_get_next_available_gfn_d(KVMI_DIALECT_V7_2023,
							buf, sizeof(buf), 1),
		   31, 0, 1);
	expect_hdr(kvmi_encode_query_physical_d(KVMI_DIALECT_V7_2023, buf,
						sizeof(buf), 1, 5),
		   39, 8, 1);
	expect_hdr(kvmi_encode_alloc_gfn_d(KVMI_DIALECT_V7_2023, buf,
					   sizeof(buf), 1, 0, 5),
		   41, 16, 1);
	expect_hdr(kvmi_encode_free_gfn_d(KVMI_DIALECT_V7_2023, buf,
					  sizeof(buf), 1, 0, 5),
		   42, 16, 1);
	expect_hdr(kvmi_encode_create_ept_view_d(KVMI_DIALECT_V7_2023, buf,
						 sizeof(buf), 1),
		   43, 0, 1);
	expect_hdr(kvmi_encode_destroy_ept_view_d(KVMI_DIALECT_V7_2023, buf,
						  sizeof(buf), 1, 3),
		   44, 8, 1);
	assert_int_equal(u16_at(buf, 8), 3);

	/* gone in v7: GET_PAGE_ACCESS-era ids; and v12's CONTROL_CLEANUP */
	assert_int_equal(
	    kvmi_encode_control_cleanup_d(v7, buf, sizeof(buf), 1, 1),
	    -EOPNOTSUPP);
	/* kvmi-v7 SET_PAGE_WRITE_BITMAP: bytes 0-1 are padding */
	{
		struct kvmi_page_write_bitmap_entry e = {.gpa = 0x1000,
							 .bitmap = ~0u};

		assert_int_equal(kvmi_encode_set_page_write_bitmap_d(
				     v7, buf, sizeof(buf), 1, 1, &e, 1),
				 -EINVAL);
		expect_hdr(kvmi_encode_set_page_write_bitmap_d(
			       v7, buf, sizeof(buf), 1, 0, &e, 1),
			   26, 24, 1);
	}
	/* events: CONTROL_EVENTS takes CPUID (13) in v7 only */
	expect_hdr(kvmi_encode_control_events_d(v7, buf, sizeof(buf), 1, 0,
						KVMI_V7_EVENT_CPUID, 1),
		   9, 16, 1);
	assert_int_equal(kvmi_encode_control_events(buf, sizeof(buf), 1, 0,
						    KVMI_V7_EVENT_CPUID, 1),
			 -EINVAL);
	expect_hdr(kvmi_encode_control_vm_events_d(v7, buf, sizeof(buf), 1,
						   KVMI_V7_EVENT_CMD_ERROR, 1),
		   8, 8, 1);

	/* event replies: CPUID takes no RETRY; CMD_ERROR is never replied;
	 * the PF reply's byte 12 is padding */
	expect_hdr(kvmi_encode_event_reply_d(v7, buf, sizeof(buf), 4, 1,
					     KVMI_V7_EVENT_CPUID,
					     KVMI_EVENT_ACTION_CONTINUE),
		   0, 16, 4);
	assert_int_equal(buf[17], KVMI_V7_EVENT_CPUID);
	assert_int_equal(kvmi_encode_event_reply_d(v7, buf, sizeof(buf), 4, 1,
						   KVMI_V7_EVENT_CPUID,
						   KVMI_EVENT_ACTION_RETRY),
			 -EINVAL);
	assert_int_equal(kvmi_encode_event_reply_d(v7, buf, sizeof(buf), 4, 0,
						   KVMI_V7_EVENT_CMD_ERROR,
						   KVMI_EVENT_ACTION_CONTINUE),
			 -EINVAL);
	memset(&pf, 0, sizeof(pf));
	pf.rep_complete = 1;
	n = kvmi_encode_event_reply_pf_d(v7, buf, sizeof(buf), 4, 1,
					 KVMI_EVENT_ACTION_CONTINUE, &pf);
	expect_hdr(n, 0, 16 + 272, 4);
	assert_int_equal(buf[8 + 16 + 12], 0);
	assert_int_equal(buf[8 + 16 + 13], 1);
	pf.singlestep = 1;
	assert_int_equal(
	    kvmi_encode_event_reply_pf_d(v7, buf, sizeof(buf), 4, 1,
					 KVMI_EVENT_ACTION_CONTINUE, &pf),
	    -EINVAL);
	/* v7 SET_PAGE_ACCESS keeps its live view */
	{
		struct kvmi_page_access_entry e = {
		    .gpa = 0x3000, .access = KVMI_PAGE_ACCESS_R};

		expect_hdr(kvmi_encode_set_page_access_d(v7, buf, sizeof(buf),
							 1, 2, &e, 1),
			   21, 24, 1);
		assert_int_equal(u16_at(buf, 8), 2);
		assert_int_equal(u16_at(buf, 10), 1);
	}
}

static void test_v12_encoder_layouts(void **state)
{
	enum kvmi_dialect v12 = KVMI_DIALECT_V12;
	struct kvmi_page_access_entry e = {.gpa = 0x3000,
					   .access = KVMI_PAGE_ACCESS_R};
	struct kvmi_event_pf_reply pf;
	struct kvmi_event ev;
	int n;

	(void)state;
	/* VM_PAUSE_VCPU (16): vcpu@0 wait@2, no vCPU header */
	n = kvmi_encode_pause_vcpu_d(v12, buf, sizeof(buf), 3, 0x0102, 1);
	expect_hdr(n, 16, 8, 3);
	assert_memory_equal(buf + 8, "\x02\x01\x01\x00\x00\x00\x00\x00", 8);
	/* VCPU_CONTROL_CR (13): cr@0 enable@1 after the vCPU header */
	n = kvmi_encode_control_cr_d(v12, buf, sizeof(buf), 3, 1, 3, 1);
	expect_hdr(n, 13, 16, 3);
	assert_int_equal(u16_at(buf, 8), 1);
	assert_memory_equal(buf + 16, "\x03\x01\x00\x00\x00\x00\x00\x00", 8);
	/* VM_READ_PHYSICAL (12): gpa@0, u16 size@8, padding */
	n = kvmi_encode_read_physical_d(v12, buf, sizeof(buf), 3, 0x2000, 4096);
	expect_hdr(n, 12, 16, 3);
	assert_int_equal(u64_at(buf, 8), 0x2000);
	assert_int_equal(u16_at(buf, 16), 4096);
	assert_int_equal(u16_at(buf, 18), 0);
	assert_int_equal(u32_at(buf, 20), 0);
	/* VM_WRITE_PHYSICAL (14): data@16 */
	n = kvmi_encode_write_physical_d(v12, buf + 64, sizeof(buf) - 64, 3,
					 0x2000, "abcd", 4);
	assert_int_equal(n, 8 + 20);
	assert_int_equal(u16_at(buf + 64, 0), 14);
	assert_int_equal(u16_at(buf + 64, 16), 4);
	assert_memory_equal(buf + 64 + 24, "abcd", 4);
	/* VM_SET_PAGE_ACCESS (20): count@0, no view */
	n = kvmi_encode_set_page_access_d(v12, buf, sizeof(buf), 3, 0, &e, 1);
	expect_hdr(n, 20, 24, 3);
	assert_int_equal(u16_at(buf, 8), 1);
	assert_int_equal(u64_at(buf, 16), 0x3000);
	assert_int_equal(
	    kvmi_encode_set_page_access_d(v12, buf, sizeof(buf), 3, 1, &e, 1),
	    -EINVAL);
	/* the renumbered commands */
	expect_hdr(kvmi_encode_check_command_d(v12, buf, sizeof(buf), 1, 29), 4,
		   8, 1);
	expect_hdr(kvmi_encode_check_event_d(v12, buf, sizeof(buf), 1, 5), 6, 8,
		   1);
	expect_hdr(kvmi_encode_get_guest_info_d(v12, buf, sizeof(buf), 1), 8, 0,
		   1);
	expect_hdr(kvmi_encode_get_vcpu_info_d(v12, buf, sizeof(buf), 1, 0), 3,
		   8, 1);
	expect_hdr(kvmi_encode_control_vm_events_d(v12, buf, sizeof(buf), 1,
						   KVMI_V12_VM_EVENT_UNHOOK, 1),
		   10, 8, 1);
	expect_hdr(kvmi_encode_control_events_d(v12, buf, sizeof(buf), 1, 0,
						KVMI_V12_VCPU_EVENT_BREAKPOINT,
						1),
		   5, 16, 1);
	assert_int_equal(u16_at(buf, 16), 5);
	assert_int_equal(
	    kvmi_encode_control_events_d(v12, buf, sizeof(buf), 1, 0,
					 KVMI_V12_VCPU_EVENT_TRAP, 1),
	    -EINVAL);
	expect_hdr(
	    kvmi_encode_get_registers_d(v12, buf, sizeof(buf), 1, 0, NULL, 0),
	    7, 16, 1);
	expect_hdr(kvmi_encode_get_cpuid_d(v12, buf, sizeof(buf), 1, 0, 0, 0),
		   11, 16, 1);
	expect_hdr(kvmi_encode_inject_exception_d(v12, buf, sizeof(buf), 1, 0,
						  3, 1, 0, 0),
		   15, 24, 1);
	assert_int_equal(buf[17], 0);
	expect_hdr(kvmi_encode_get_xcr_d(v12, buf, sizeof(buf), 1, 0, 0), 17,
		   16, 1);
	expect_hdr(kvmi_encode_control_cleanup_d(v12, buf, sizeof(buf), 1, 1),
		   18, 8, 1);
	expect_hdr(kvmi_encode_get_xsave_d(v12, buf, sizeof(buf), 1, 0), 19, 8,
		   1);
	expect_hdr(
	    kvmi_encode_set_xsave_d(v12, buf, sizeof(buf), 1, 0, NULL, 0), 21,
	    8, 1);
	expect_hdr(kvmi_encode_get_mtrr_type_d(v12, buf, sizeof(buf), 1, 0, 0),
		   23, 16, 1);
	expect_hdr(kvmi_encode_control_msr_d(v12, buf, sizeof(buf), 1, 0,
					     0xc0000082, 1),
		   25, 16, 1);
	expect_hdr(
	    kvmi_encode_control_singlestep_d(v12, buf, sizeof(buf), 1, 0, 1),
	    27, 16, 1);
	expect_hdr(kvmi_encode_translate_gva_d(v12, buf, sizeof(buf), 1, 0, 0),
		   29, 16, 1);
	/* what v12 does not have */
	assert_int_equal(kvmi_encode_get_max_gfn_d(v12, buf, sizeof(buf), 1),
			 -EOPNOTSUPP);
	assert_int_equal(kvmi_encode_control_cmd_response_d(
			     v12, buf, sizeof(buf), 1, 1, 1, 0),
			 -EOPNOTSUPP);
	assert_int_equal(
	    kvmi_encode_set_ept_view_d(v12, buf, sizeof(buf), 1, 0, 0),
	    -EOPNOTSUPP);
	assert_int_equal(kvmi_encode_get_map_token_d(v12, buf, sizeof(buf), 1),
			 -EOPNOTSUPP);

	/* event replies are message 1; PF has no reply struct */
	n = kvmi_encode_event_reply_cr_d(v12, buf, sizeof(buf), 9, 1,
					 KVMI_EVENT_ACTION_CONTINUE, 0x1000);
	expect_hdr(n, 1, 24, 9);
	assert_int_equal(buf[17], KVMI_V12_VCPU_EVENT_CR);
	assert_int_equal(u64_at(buf, 24), 0x1000);
	n = kvmi_encode_event_reply_d(v12, buf, sizeof(buf), 9, 1,
				      KVMI_V12_VCPU_EVENT_PF,
				      KVMI_EVENT_ACTION_RETRY);
	expect_hdr(n, 1, 16, 9);
	n = kvmi_encode_event_reply_pf_d(v12, buf, sizeof(buf), 9, 1,
					 KVMI_EVENT_ACTION_CONTINUE, NULL);
	expect_hdr(n, 1, 16, 9);
	memset(&pf, 0, sizeof(pf));
	pf.ctx_size = 4;
	assert_int_equal(
	    kvmi_encode_event_reply_pf_d(v12, buf, sizeof(buf), 9, 1,
					 KVMI_EVENT_ACTION_CONTINUE, &pf),
	    -EINVAL);
	assert_int_equal(kvmi_encode_event_reply_d(v12, buf, sizeof(buf), 9, 0,
						   KVMI_V12_VM_EVENT_UNHOOK,
						   KVMI_EVENT_ACTION_CONTINUE),
			 -EINVAL);

	/* events: message 0 is the header alone, message 1 header +
	 * 544-byte common (event byte 0) + data: 568 for a breakpoint */
	memset(&ev, 0, sizeof(ev));
	ev.event = KVMI_V12_VM_EVENT_UNHOOK;
	n = kvmi_encode_event_d(v12, buf, sizeof(buf), 1, &ev, sizeof(ev), NULL,
				0);
	expect_hdr(n, 0, 8, 1);
	assert_memory_equal(buf + 8, "\0\0\0\0\0\0\0\0", 8);
	ev.event = KVMI_V12_VCPU_EVENT_BREAKPOINT;
	ev.vcpu = 1;
	ev.arch.regs.rip = 0x1234;
	{
		struct kvmi_event_breakpoint bp = {.gpa = 0x401000,
						   .insn_len = 1};

		n = kvmi_encode_event_d(v12, buf, sizeof(buf), 2, &ev,
					sizeof(ev), &bp, sizeof(bp));
	}
	expect_hdr(n, 1, 568, 2);
	assert_int_equal(u16_at(buf, 8), 5);
	assert_int_equal(u16_at(buf, 16), 544);
	assert_int_equal(u16_at(buf, 18), 1);
	assert_int_equal(buf[20], 0);
	assert_int_equal(u64_at(buf, 16 + 144), 0x1234); /* rip */
	assert_int_equal(u64_at(buf, 16 + 544), 0x401000);
	/* host error to an event reply: message 1, an error only */
	expect_hdr(kvmi_encode_event_reply_error_d(v12, buf, sizeof(buf), 3,
						   -KVM_EINVAL),
		   1, 8, 3);
	assert_int_equal(
	    kvmi_encode_event_reply_error_d(v12, buf, sizeof(buf), 3, 0),
	    -EINVAL);
}

/* ---- host->tool streams ---- */

struct stream {
	uint8_t b[16384];
	size_t len;
};

static void put(struct stream *s, int n)
{
	assert_true(n > 0);
	memcpy(s->b + s->len, buf, (size_t)n);
	s->len += (size_t)n;
}

static void event_common(struct kvmi_event *ev, uint16_t vcpu, uint8_t id)
{
	memset(ev, 0, sizeof(*ev));
	ev->vcpu = vcpu;
	ev->event = id;
	ev->arch.mode = KVMI_MODE_64;
	ev->arch.regs.rip = 0x1000u + id;
}

struct seen {
	int n;
	int kind[32];
	uint16_t id[32];
	int event[32];
	int vcpu[32];
	uint64_t word[32]; /* first 8 data bytes (event) or reply data */
	size_t dlen[32];
	int herr[32];
	int err;
};

static void decode_all(enum kvmi_dialect dialect, const struct stream *s,
		       size_t chunk, struct seen *o)
{
	struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	size_t pos = 0;

	assert_non_null(d);
	assert_int_equal(kvmi_decoder_set_dialect(d, dialect), 0);
	memset(o, 0, sizeof(*o));
	while (pos < s->len) {
		size_t end =
		    chunk && pos + chunk < s->len ? pos + chunk : s->len;

		while (pos < end) {
			const struct kvmi_msg *m;
			ssize_t r =
			    kvmi_decoder_feed(d, s->b + pos, end - pos, &m);

			if (r < 0) {
				o->err = (int)r;
				kvmi_decoder_free(d);
				return;
			}
			pos += (size_t)r;
			if (!m)
				continue;
			assert_true(o->n < 32);
			o->kind[o->n] = m->kind;
			o->id[o->n] = m->hdr.id;
			if (m->kind == KVMI_MSG_EVENT) {
				o->event[o->n] = m->u.event.common->event;
				o->vcpu[o->n] = m->u.event.common->vcpu;
				o->dlen[o->n] = m->u.event.data_size;
				memcpy(&o->word[o->n], m->u.event.data->raw, 8);
			} else {
				o->herr[o->n] = m->u.reply.host_err;
				o->dlen[o->n] = m->u.reply.data_len;
				if (m->u.reply.data_len >= 8)
					memcpy(&o->word[o->n], m->u.reply.data,
					       8);
			}
			o->n++;
		}
	}
	o->err = kvmi_decoder_finish(d);
	kvmi_decoder_free(d);
}

/* the same messages whole and at every chunk size (1 = byte by byte) */
static void decode_every_split(enum kvmi_dialect dialect,
			       const struct stream *s, struct seen *whole)
{
	struct seen part;

	decode_all(dialect, s, 0, whole);
	assert_int_equal(whole->err, 0);
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		decode_all(dialect, s, chunk, &part);
		assert_int_equal(part.err, 0);
		assert_int_equal(part.n, whole->n);
		assert_memory_equal(&part, whole, sizeof(part));
	}
	/* and split once at every byte offset */
	for (size_t cut = 1; cut < s->len; cut += 7) {
		struct kvmi_decoder *d =
		    kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
		const struct kvmi_msg *m;
		size_t pos = 0;
		int n = 0;

		assert_int_equal(kvmi_decoder_set_dialect(d, dialect), 0);
		while (pos < s->len) {
			size_t end = pos < cut ? cut : s->len;
			ssize_t r =
			    kvmi_decoder_feed(d, s->b + pos, end - pos, &m);

			assert_true(r >= 0);
			pos += (size_t)r;
			n += m != NULL;
		}
		assert_int_equal(n, whole->n);
		assert_int_equal(kvmi_decoder_finish(d), 0);
		kvmi_decoder_free(d);
	}
}

static void v7_stream(struct stream *s)
{
	struct kvmi_v7_get_version_reply ver = {
	    .version = 1, .features = {.spp = 1, .singlestep = 1}};
	struct kvmi_v7_event_trap trap = {
	    .vector = 14, .error_code = 2, .cr2 = 0x7000};
	struct kvmi_v7_event_singlestep ss = {.failed = 1};
	struct kvmi_v7_event_cpuid cpuid = {.function = 0x40000000,
					    .insn_length = 2};
	struct kvmi_v7_event_cmd_error ce = {
	    .err = -KVM_EINVAL, .msg_seq = 44, .msg_id = 10};
	uint64_t gpa = 0x5000;
	struct kvmi_event ev;

	memset(s, 0, sizeof(*s));
	put(s, kvmi_encode_reply(buf, sizeof(buf), 2, 1, 0, &ver, sizeof(ver)));
	event_common(&ev, 1, KVMI_EVENT_TRAP);
	put(s, kvmi_encode_event(buf, sizeof(buf), 1, &ev, sizeof(ev), &trap,
				 sizeof(trap)));
	event_common(&ev, 0, KVMI_EVENT_SINGLESTEP);
	put(s, kvmi_encode_event(buf, sizeof(buf), 2, &ev, sizeof(ev), &ss,
				 sizeof(ss)));
	event_common(&ev, 1, KVMI_V7_EVENT_CPUID);
	put(s, kvmi_encode_event(buf, sizeof(buf), 3, &ev, sizeof(ev), &cpuid,
				 sizeof(cpuid)));
	event_common(&ev, 0, KVMI_V7_EVENT_CMD_ERROR);
	memset(&ev.arch, 0, sizeof(ev.arch));
	put(s, kvmi_encode_event(buf, sizeof(buf), 4, &ev, sizeof(ev), &ce,
				 sizeof(ce)));
	/* the unknown id 12 answered -KVM_ENOSYS; EAGAIN for an event reply */
	put(s,
	    kvmi_encode_reply(buf, sizeof(buf), 12, 2, -KVM_ENOSYS, NULL, 0));
	put(s, kvmi_encode_event_reply_error(buf, sizeof(buf), 9, -KVM_EAGAIN));
	put(s, kvmi_encode_reply(buf, sizeof(buf), KVMI_V7_VCPU_TRANSLATE_GVA,
				 3, 0, &gpa, sizeof(gpa)));
	/* a tool sent id 1: -KVM_ENOSYS with id 1, not an event */
	put(s, kvmi_encode_reply(buf, sizeof(buf), 1, 4, -KVM_ENOSYS, NULL, 0));
}

static void test_v7_stream_every_split(void **state)
{
	struct stream s;
	struct seen o;

	(void)state;
	v7_stream(&s);
	decode_every_split(KVMI_DIALECT_V7, &s, &o);
	assert_int_equal(o.n, 9);
	assert_int_equal(o.kind[8], KVMI_MSG_REPLY);
	assert_int_equal(o.id[8], 1);
	assert_int_equal(o.herr[8], -KVM_ENOSYS);
	assert_int_equal(o.kind[0], KVMI_MSG_REPLY);
	assert_int_equal(o.dlen[0], 16);
	/* TRAP: 16 bytes, vector 14 in byte 0 */
	assert_int_equal(o.kind[1], KVMI_MSG_EVENT);
	assert_int_equal(o.event[1], KVMI_EVENT_TRAP);
	assert_int_equal(o.dlen[1], 16);
	assert_int_equal(o.word[1] & 0xff, 14);
	assert_int_equal(o.word[1] >> 32, 2);
	assert_int_equal(o.event[2], KVMI_EVENT_SINGLESTEP);
	assert_int_equal(o.dlen[2], 8);
	assert_int_equal(o.word[2], 1);
	assert_int_equal(o.event[3], KVMI_V7_EVENT_CPUID);
	assert_int_equal(o.word[3], 0x40000000);
	assert_int_equal(o.event[4], KVMI_V7_EVENT_CMD_ERROR);
	assert_int_equal((int32_t)o.word[4], -KVM_EINVAL);
	assert_int_equal(o.word[4] >> 32, 44);
	assert_int_equal(o.kind[5], KVMI_MSG_REPLY);
	assert_int_equal(o.herr[5], -KVM_ENOSYS);
	assert_int_equal(o.kind[6], KVMI_MSG_EVENT_REPLY_ERROR);
	assert_int_equal(o.word[7], 0x5000);

	/* the same stream fails a v6 decoder at the TRAP (the issue's
	 * symptom), and v7-2023 decodes it like v7 */
	decode_all(KVMI_DIALECT_V6, &s, 0, &o);
	assert_int_equal(o.err, KVMI_E_EVENT_PAYLOAD_SHORT);
	assert_int_equal(o.n, 1);
	decode_every_split(KVMI_DIALECT_V7_2023, &s, &o);
	assert_int_equal(o.n, 9);
}

static void test_v7_reply_rules(void **state)
{
	struct kvmi_get_version_reply v6ver = {.version = 1};
	struct stream s;
	struct seen o;
	uint64_t gfn = 7;

	(void)state;
	/* a v7 GET_VERSION reply needs its 16 bytes */
	memset(&s, 0, sizeof(s));
	put(&s, kvmi_encode_reply(buf, sizeof(buf), 2, 1, 0, &v6ver,
				  sizeof(v6ver)));
	decode_all(KVMI_DIALECT_V7, &s, 0, &o);
	assert_int_equal(o.err, KVMI_E_MSG_SIZE);
	/* a successful reply to a 2023-only id is no 2021 reply */
	memset(&s, 0, sizeof(s));
	put(&s,
	    kvmi_encode_reply(buf, sizeof(buf), 31, 1, 0, &gfn, sizeof(gfn)));
	decode_all(KVMI_DIALECT_V7, &s, 0, &o);
	assert_int_equal(o.err, KVMI_E_UNKNOWN_MSG);
	decode_all(KVMI_DIALECT_V7_2023, &s, 0, &o);
	assert_int_equal(o.err, 0);
	assert_int_equal(o.word[0], 7);
	/* unknown v7 event id */
	{
		struct kvmi_event ev;

		memset(&s, 0, sizeof(s));
		event_common(&ev, 0, 14);
		put(&s, kvmi_encode_event(buf, sizeof(buf), 1, &ev, sizeof(ev),
					  NULL, 0));
		decode_all(KVMI_DIALECT_V7, &s, 0, &o);
		assert_int_equal(o.err, KVMI_E_UNKNOWN_EVENT);
	}
}

static void v12_stream(struct stream *s)
{
	struct kvmi_v12_get_version_reply ver = {
	    .version = 1, .max_msg_size = 8184, .features = {.singlestep = 1}};
	struct kvmi_event_breakpoint bp = {.gpa = 0x401000, .insn_len = 1};
	struct kvmi_v12_vcpu_event_cr cr = {
	    .cr = 3, .old_value = 1, .new_value = 2};
	struct kvmi_v7_event_singlestep ss = {.failed = 0};
	uint8_t regs[sizeof(struct kvmi_get_registers_reply) + 16];
	struct kvmi_get_registers_reply r;
	struct kvmi_event ev;

	memset(s, 0, sizeof(*s));
	put(s, kvmi_encode_reply(buf, sizeof(buf), 2, 1, 0, &ver, sizeof(ver)));
	event_common(&ev, 1, KVMI_V12_VCPU_EVENT_BREAKPOINT);
	put(s, kvmi_encode_event_d(KVMI_DIALECT_V12, buf, sizeof(buf), 1, &ev,
				   sizeof(ev), &bp, sizeof(bp)));
	event_common(&ev, 0, KVMI_V12_VCPU_EVENT_CR);
	put(s, kvmi_encode_event_d(KVMI_DIALECT_V12, buf, sizeof(buf), 2, &ev,
				   sizeof(ev), &cr, sizeof(cr)));
	event_common(&ev, 1, KVMI_V12_VCPU_EVENT_SINGLESTEP);
	put(s, kvmi_encode_event_d(KVMI_DIALECT_V12, buf, sizeof(buf), 3, &ev,
				   sizeof(ev), &ss, sizeof(ss)));
	memset(&r, 0, sizeof(r));
	r.msrs.nmsrs = 1;
	memset(regs, 0, sizeof(regs));
	memcpy(regs, &r, sizeof(r));
	regs[sizeof(r) + 8] = 0x42;
	put(s, kvmi_encode_reply(buf, sizeof(buf), KVMI_V12_VCPU_GET_REGISTERS,
				 2, 0, regs, sizeof(regs)));
	put(s,
	    kvmi_encode_reply(buf, sizeof(buf), 40, 3, -KVM_ENOSYS, NULL, 0));
	put(s, kvmi_encode_event_reply_error_d(KVMI_DIALECT_V12, buf,
					       sizeof(buf), 3, -KVM_EINVAL));
	event_common(&ev, 0, KVMI_V12_VM_EVENT_UNHOOK);
	put(s, kvmi_encode_event_d(KVMI_DIALECT_V12, buf, sizeof(buf), 4, &ev,
				   sizeof(ev), NULL, 0));
	/* a tool sent id 0: -KVM_ENOSYS with id 0, not a VM event */
	put(s, kvmi_encode_reply(buf, sizeof(buf), 0, 9, -KVM_ENOSYS, NULL, 0));
}

static void test_v12_stream_every_split(void **state)
{
	struct stream s;
	struct seen o;

	(void)state;
	v12_stream(&s);
	decode_every_split(KVMI_DIALECT_V12, &s, &o);
	assert_int_equal(o.n, 9);
	assert_int_equal(o.dlen[0], 16);
	assert_int_equal(o.kind[1], KVMI_MSG_EVENT);
	assert_int_equal(o.id[1], 1);
	assert_int_equal(o.event[1], KVMI_V12_VCPU_EVENT_BREAKPOINT);
	assert_int_equal(o.vcpu[1], 1);
	assert_int_equal(o.word[1], 0x401000);
	assert_int_equal(o.event[2], KVMI_V12_VCPU_EVENT_CR);
	assert_int_equal(o.word[2], 3);
	assert_int_equal(o.dlen[2], 24);
	assert_int_equal(o.event[3], KVMI_V12_VCPU_EVENT_SINGLESTEP);
	assert_int_equal(o.dlen[3], 8);
	assert_int_equal(o.kind[4], KVMI_MSG_REPLY);
	assert_int_equal(o.dlen[4],
			 sizeof(struct kvmi_get_registers_reply) + 16);
	assert_int_equal(o.herr[5], -KVM_ENOSYS);
	assert_int_equal(o.kind[6], KVMI_MSG_EVENT_REPLY_ERROR);
	assert_int_equal(o.herr[6], -KVM_EINVAL);
	assert_int_equal(o.kind[7], KVMI_MSG_EVENT);
	assert_int_equal(o.id[7], 0);
	assert_int_equal(o.event[7], KVMI_V12_VM_EVENT_UNHOOK);
	assert_int_equal(o.dlen[7], 0);
	assert_int_equal(o.kind[8], KVMI_MSG_REPLY);
	assert_int_equal(o.id[8], 0);
	assert_int_equal(o.herr[8], -KVM_ENOSYS);

	/* v6 and v7 decoders do not take a v12 event */
	decode_all(KVMI_DIALECT_V6, &s, 0, &o);
	assert_int_not_equal(o.err, 0);
	decode_all(KVMI_DIALECT_V7, &s, 0, &o);
	assert_int_not_equal(o.err, 0);
}

static void test_v12_event_rules(void **state)
{
	struct kvmi_event ev;
	struct stream s;
	struct seen o;

	(void)state;
	/* a breakpoint without its data; an unknown id */
	memset(&s, 0, sizeof(s));
	event_common(&ev, 0, 5);
	put(&s, kvmi_encode_event_d(KVMI_DIALECT_V12, buf, sizeof(buf), 1, &ev,
				    sizeof(ev), NULL, 0));
	decode_all(KVMI_DIALECT_V12, &s, 0, &o);
	assert_int_equal(o.err, KVMI_E_EVENT_PAYLOAD_SHORT);
	memset(&s, 0, sizeof(s));
	event_common(&ev, 0, 21);
	put(&s, kvmi_encode_event_d(KVMI_DIALECT_V12, buf, sizeof(buf), 1, &ev,
				    sizeof(ev), NULL, 0));
	decode_all(KVMI_DIALECT_V12, &s, 0, &o);
	assert_int_equal(o.err, KVMI_E_UNKNOWN_EVENT);
	/* a VM event message carrying a vCPU event id */
	memset(&s, 0, sizeof(s));
	{
		struct kvmi_msg_hdr h = {
		    .id = KVMI_V12_VM_EVENT, .size = 8, .seq = 1};
		struct kvmi_v12_event_hdr eh = {.event = 5};

		memcpy(s.b, &h, sizeof(h));
		memcpy(s.b + 8, &eh, sizeof(eh));
		s.len = 16;
	}
	decode_all(KVMI_DIALECT_V12, &s, 0, &o);
	assert_int_equal(o.err, KVMI_E_UNKNOWN_EVENT);
}

/* ---- tool->host round trips ---- */

struct rt {
	enum kvmi_dialect d;
	int n;
	int vcpu; /* expected has_vcpu */
};

static void check_command(enum kvmi_dialect d, int n, int has_vcpu, size_t body)
{
	struct kvmi_decoder *dec = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	const struct kvmi_msg *m;
	uint16_t id = u16_at(buf, 0);

	assert_true(n > 0);
	assert_int_equal(kvmi_decoder_set_dialect(dec, d), 0);
	assert_int_equal(kvmi_decoder_feed(dec, buf, (size_t)n, &m), n);
	assert_non_null(m);
	assert_int_equal(m->kind, KVMI_MSG_COMMAND);
	assert_int_equal(m->u.command.known, 1);
	assert_int_equal(m->u.command.has_vcpu, has_vcpu);
	assert_int_equal(m->u.command.body_len, body);
	assert_int_equal(kvmi_command_has_vcpu_d(d, id), has_vcpu);
	kvmi_decoder_free(dec);
}

static void test_round_trips(void **state)
{
	enum kvmi_dialect all[] = {KVMI_DIALECT_V7, KVMI_DIALECT_V7_2023,
				   KVMI_DIALECT_V12};
	struct kvmi_page_access_entry e = {.gpa = 0x1000};
	struct kvm_regs regs;

	(void)state;
	memset(&regs, 0, sizeof(regs));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		enum kvmi_dialect d = all[i];
		int v12 = d == KVMI_DIALECT_V12;

		check_command(
		    d, kvmi_encode_check_command_d(d, buf, sizeof(buf), 1, 2),
		    0, 8);
		check_command(
		    d, kvmi_encode_get_vcpu_info_d(d, buf, sizeof(buf), 1, 1),
		    1, 0);
		check_command(
		    d, kvmi_encode_pause_vcpu_d(d, buf, sizeof(buf), 1, 1, 0),
		    !v12, 8);
		check_command(d,
			      kvmi_encode_get_registers_d(d, buf, sizeof(buf),
							  1, 1, NULL, 0),
			      1, 8);
		check_command(d,
			      kvmi_encode_set_registers_d(d, buf, sizeof(buf),
							  1, 1, &regs),
			      1, sizeof(regs));
		check_command(
		    d,
		    kvmi_encode_read_physical_d(d, buf, sizeof(buf), 1, 0, 8),
		    0, 16);
		check_command(d,
			      kvmi_encode_set_page_access_d(d, buf, sizeof(buf),
							    1, 0, &e, 1),
			      0, 24);
		check_command(
		    d,
		    kvmi_encode_translate_gva_d(d, buf, sizeof(buf), 1, 1, 0),
		    1, 8);
		check_command(d,
			      kvmi_encode_control_singlestep_d(
				  d, buf, sizeof(buf), 1, 1, 1),
			      1, 8);
		check_command(
		    d, kvmi_encode_get_xcr_d(d, buf, sizeof(buf), 1, 1, 0), 1,
		    8);
		if (!v12) {
			check_command(d,
				      kvmi_encode_set_ept_view_d(
					  d, buf, sizeof(buf), 1, 1, 0),
				      1, 8);
			check_command(d,
				      kvmi_encode_set_page_sve_d(
					  d, buf, sizeof(buf), 1, 0, 0, 1),
				      0, 16);
			check_command(
			    d,
			    kvmi_encode_get_max_gfn_d(d, buf, sizeof(buf), 1),
			    0, 0);
		} else {
			check_command(d,
				      kvmi_encode_control_cleanup_d(
					  d, buf, sizeof(buf), 1, 1),
				      0, 8);
		}
		/* an event reply decodes as one in its dialect */
		{
			struct kvmi_decoder *dec =
			    kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
			const struct kvmi_msg *m;
			int n = kvmi_encode_event_reply_msr_d(
			    d, buf, sizeof(buf), 5, 1,
			    KVMI_EVENT_ACTION_CONTINUE, 9);

			assert_int_equal(kvmi_decoder_set_dialect(dec, d), 0);
			assert_int_equal(
			    kvmi_decoder_feed(dec, buf, (size_t)n, &m), n);
			assert_int_equal(m->kind, KVMI_MSG_EVENT_REPLY);
			assert_int_equal(
			    m->u.event_reply.common.event,
			    kvmi_dialect_event_to_wire(d, KVMI_EVENT_MSR));
			assert_int_equal(m->u.event_reply.tail_len, 8);
			kvmi_decoder_free(dec);
		}
	}
}

static void test_names_and_maps(void **state)
{
	(void)state;
	assert_string_equal(kvmi_msg_name_d(KVMI_DIALECT_V7, 3),
			    "KVMI_VM_CHECK_COMMAND");
	assert_string_equal(kvmi_msg_name_d(KVMI_DIALECT_V12, 3),
			    "KVMI_VCPU_GET_INFO");
	assert_string_equal(kvmi_msg_name_d(KVMI_DIALECT_V12, 4),
			    "KVMI_VM_CHECK_COMMAND");
	assert_string_equal(kvmi_msg_name_d(KVMI_DIALECT_V6, 3),
			    "KVMI_CHECK_COMMAND");
	assert_string_equal(kvmi_msg_name_d(KVMI_DIALECT_V7, 12), "UNKNOWN");
	assert_string_equal(kvmi_msg_name_d(KVMI_DIALECT_V7, 39), "UNKNOWN");
	assert_string_equal(kvmi_msg_name_d(KVMI_DIALECT_V7_2023, 39),
			    "KVMI_VM_QUERY_PHYSICAL");
	assert_string_equal(kvmi_event_name_d(KVMI_DIALECT_V7, 13),
			    "KVMI_EVENT_CPUID");
	assert_string_equal(kvmi_event_name_d(KVMI_DIALECT_V12, 13),
			    "KVMI_VCPU_EVENT_DESCRIPTOR");
	assert_string_equal(kvmi_event_name_d(KVMI_DIALECT_V12, 2), "UNKNOWN");
	assert_string_equal(kvmi_event_name(13), "UNKNOWN");
	/* sizes per dialect */
	assert_int_equal(kvmi_event_data_size_d(KVMI_DIALECT_V6, 7), 24);
	assert_int_equal(kvmi_event_data_size_d(KVMI_DIALECT_V7, 7), 16);
	assert_int_equal(kvmi_event_data_size_d(KVMI_DIALECT_V7, 11), 8);
	assert_int_equal(kvmi_event_data_size_d(KVMI_DIALECT_V6, 11), 0);
	assert_int_equal(kvmi_event_data_size_d(KVMI_DIALECT_V7, 12), 16);
	assert_int_equal(kvmi_event_data_size_d(KVMI_DIALECT_V12, 19), 8);
	assert_int_equal(kvmi_event_reply_data_size_d(KVMI_DIALECT_V12, 17), 0);
	assert_int_equal(kvmi_event_reply_data_size_d(KVMI_DIALECT_V7, 6), 272);
	assert_int_equal(kvmi_event_replied_d(KVMI_DIALECT_V7, 12), 0);
	assert_int_equal(kvmi_event_replied_d(KVMI_DIALECT_V7, 13), 1);
	assert_int_equal(kvmi_command_has_vcpu_d(KVMI_DIALECT_V7, 7), 1);
	assert_int_equal(kvmi_command_has_vcpu_d(KVMI_DIALECT_V12, 16), 0);
	assert_int_equal(kvmi_command_has_vcpu_d(KVMI_DIALECT_V12, 1), -1);
	/* every named id maps to the common numbering and back */
	for (unsigned d = 0; d < KVMI_NUM_DIALECTS; d++) {
		for (unsigned id = 0; id < 64; id++) {
			int c = kvmi_dialect_msg_from_wire(d, id);

			if (c >= 0)
				assert_int_equal(
				    kvmi_dialect_msg_to_wire(d, (unsigned)c),
				    id);
			c = kvmi_dialect_event_from_wire(d, id);
			if (c >= 0)
				assert_int_equal(
				    kvmi_dialect_event_to_wire(d, (unsigned)c),
				    id);
		}
	}
	assert_int_equal(
	    kvmi_dialect_msg_to_wire(KVMI_DIALECT_V12, KVMI_GET_REGISTERS), 7);
	assert_int_equal(
	    kvmi_dialect_msg_to_wire(KVMI_DIALECT_V12, KVMI_GET_MAX_GFN), -1);
	assert_int_equal(
	    kvmi_dialect_event_to_wire(KVMI_DIALECT_V12, KVMI_EVENT_PF), 17);
	assert_int_equal(
	    kvmi_dialect_event_to_wire(KVMI_DIALECT_V12, KVMI_V7_EVENT_CPUID),
	    -1);
}

static void test_dialect_from_version(void **state)
{
	struct kvmi_get_version_reply v6 = {.version = 1};
	struct kvmi_v7_get_version_reply v7 = {.version = 1};
	struct kvmi_v12_get_version_reply v12 = {.version = 1,
						 .max_msg_size = 8184};
	enum kvmi_dialect d;

	(void)state;
	assert_int_equal(kvmi_dialect_from_version_reply(&v6, sizeof(v6), &d),
			 0);
	assert_int_equal(d, KVMI_DIALECT_V6);
	assert_int_equal(kvmi_dialect_from_version_reply(&v7, sizeof(v7), &d),
			 0);
	assert_int_equal(d, KVMI_DIALECT_V7);
	assert_int_equal(kvmi_dialect_from_version_reply(&v12, sizeof(v12), &d),
			 0);
	assert_int_equal(d, KVMI_DIALECT_V12);
	v12.max_msg_size = 0;
	v12.version = 2;
	assert_int_equal(kvmi_dialect_from_version_reply(&v12, sizeof(v12), &d),
			 -EINVAL);
	/* v10/v11 postings: 8 bytes with 8184 (not a target) */
	v6.padding = 8184;
	assert_int_equal(kvmi_dialect_from_version_reply(&v6, sizeof(v6), &d),
			 -EINVAL);
	assert_string_equal(kvmi_dialect_name(KVMI_DIALECT_V7_2023), "v7-2023");
	assert_int_equal(kvmi_dialect_parse("v12", &d), 0);
	assert_int_equal(d, KVMI_DIALECT_V12);
	assert_int_equal(kvmi_dialect_parse("v8", &d), -EINVAL);
}

/* Mutated streams (bytes flipped, deterministic): whole and byte by byte
 * give the same messages and the same error, in every dialect and both
 * directions; nothing reads outside what was fed (ASan/valgrind). */
static void mutated_once(enum kvmi_dialect dl, enum kvmi_direction dir,
			 const struct stream *s)
{
	int counts[2] = {0, 0}, errs[2] = {0, 0};

	for (int pass = 0; pass < 2; pass++) {
		struct kvmi_decoder *d = kvmi_decoder_new(dir);
		size_t pos = 0;

		assert_int_equal(kvmi_decoder_set_dialect(d, dl), 0);
		while (pos < s->len) {
			const struct kvmi_msg *m;
			size_t n = pass ? 1 : s->len - pos;
			ssize_t r = kvmi_decoder_feed(d, s->b + pos, n, &m);

			if (r < 0) {
				errs[pass] = (int)r;
				break;
			}
			pos += (size_t)r;
			counts[pass] += m != NULL;
		}
		if (!errs[pass])
			errs[pass] = kvmi_decoder_finish(d);
		kvmi_decoder_free(d);
	}
	assert_int_equal(counts[0], counts[1]);
	assert_int_equal(errs[0], errs[1]);
}

static void test_mutated_streams(void **state)
{
	static struct stream base[2], s;
	uint64_t rng = 0x9e3779b97f4a7c15ull;

	(void)state;
	v7_stream(&base[0]);
	v12_stream(&base[1]);
	for (int round = 0; round < 300; round++) {
		const struct stream *b = &base[round & 1];

		s = *b;
		for (int k = 0; k < 1 + round % 4; k++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			s.b[rng % s.len] ^= (uint8_t)(1u << (rng >> 40) % 8);
		}
		for (unsigned dl = 0; dl < KVMI_NUM_DIALECTS; dl++) {
			mutated_once((enum kvmi_dialect)dl,
				     KVMI_DIR_HOST_TO_TOOL, &s);
			mutated_once((enum kvmi_dialect)dl,
				     KVMI_DIR_TOOL_TO_HOST, &s);
		}
	}
}

static void test_set_dialect_rules(void **state)
{
	struct kvmi_decoder *d = kvmi_decoder_new(KVMI_DIR_HOST_TO_TOOL);
	const struct kvmi_msg *m;

	(void)state;
	assert_int_equal(kvmi_decoder_dialect(d), KVMI_DIALECT_V6);
	assert_int_equal(kvmi_decoder_set_dialect(d, (enum kvmi_dialect)4),
			 -EINVAL);
	assert_int_equal(kvmi_decoder_set_dialect(NULL, KVMI_DIALECT_V7),
			 -EINVAL);
	/* partly buffered: refused; after the message: allowed */
	int n =
	    kvmi_encode_reply(buf, sizeof(buf), 2, 1, 0, "\1\0\0\0\0\0\0\0", 8);
	assert_int_equal(kvmi_decoder_feed(d, buf, 3, &m), 3);
	assert_int_equal(kvmi_decoder_set_dialect(d, KVMI_DIALECT_V7), -EBUSY);
	assert_int_equal(kvmi_decoder_feed(d, buf + 3, (size_t)n - 3, &m),
			 n - 3);
	assert_non_null(m);
	assert_int_equal(kvmi_decoder_set_dialect(d, KVMI_DIALECT_V7), 0);
	assert_int_equal(kvmi_decoder_dialect(d), KVMI_DIALECT_V7);
	kvmi_decoder_reset(d);
	assert_int_equal(kvmi_decoder_dialect(d), KVMI_DIALECT_V7);
	kvmi_decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v7_encoder_layouts),
	    cmocka_unit_test(test_v12_encoder_layouts),
	    cmocka_unit_test(test_v7_stream_every_split),
	    cmocka_unit_test(test_v7_reply_rules),
	    cmocka_unit_test(test_v12_stream_every_split),
	    cmocka_unit_test(test_v12_event_rules),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_names_and_maps),
	    cmocka_unit_test(test_dialect_from_version),
	    cmocka_unit_test(test_set_dialect_rules),
	    cmocka_unit_test(test_mutated_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

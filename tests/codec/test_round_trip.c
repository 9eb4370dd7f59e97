/*
 * libkvmi - tests/codec/test_round_trip.c: encode -> decode round trips
 * for every core command (the payload compared byte for byte with the
 * wire struct built here by hand, vCPU header where the protocol has one),
 * every command's success reply, every event (common struct and specific
 * data), every event's reply with its action and specific reply data, and
 * the host's event-reply error message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <kvmi/codec.h>
#include "host_encoder.h"

static uint8_t buf[KVMI_ENCODE_MAX];
static struct kvmi_decoder *dec;

/* decode the @n bytes in buf in one feed: exactly one whole message */
static const struct kvmi_msg *decode(enum kvmi_direction dir, int n)
{
	const struct kvmi_msg *m = NULL;

	assert_true(n > 0);
	kvmi_decoder_free(dec);
	dec = kvmi_decoder_new(dir);
	assert_non_null(dec);
	assert_int_equal(kvmi_decoder_feed(dec, buf, (size_t)n, &m), n);
	assert_non_null(m);
	assert_int_equal(m->hdr.size, n - 8);
	return m;
}

/* the command in buf decodes as @id/@seq with @vcpu (-1: none) and a body
 * equal to @body */
static void check_command(int n, uint16_t id, uint32_t seq, int vcpu,
			  const void *body, size_t body_len)
{
	const struct kvmi_msg *m = decode(KVMI_DIR_TOOL_TO_HOST, n);

	assert_int_equal(m->kind, KVMI_MSG_COMMAND);
	assert_int_equal(m->hdr.id, id);
	assert_int_equal(m->hdr.seq, seq);
	assert_true(m->u.command.known);
	assert_int_equal(m->u.command.has_vcpu, vcpu >= 0);
	assert_int_equal(kvmi_command_has_vcpu(id), vcpu >= 0);
	if (vcpu >= 0) {
		assert_int_equal(m->u.command.vcpu.vcpu, vcpu);
		assert_int_equal(m->u.command.vcpu.padding1, 0);
		assert_int_equal(m->u.command.vcpu.padding2, 0);
	}
	assert_int_equal(m->u.command.body_len, body_len);
	if (body_len)
		assert_memory_equal(m->u.command.body, body, body_len);
}

static void test_vm_commands(void **state)
{
	struct kvmi_check_command cc = {.id = KVMI_GET_XSAVE};
	struct kvmi_check_event ce = {.id = KVMI_EVENT_PF};
	struct kvmi_control_vm_events vme = {.event_id = KVMI_EVENT_UNHOOK,
					     .enable = 1};
	struct kvmi_control_spp spp = {.enable = 1};
	struct kvmi_control_cmd_response cr = {.enable = 0, .now = 1};

	(void)state;
	check_command(kvmi_encode_get_version(buf, sizeof(buf), 1),
		      KVMI_GET_VERSION, 1, -1, NULL, 0);
	check_command(
	    kvmi_encode_check_command(buf, sizeof(buf), 2, KVMI_GET_XSAVE),
	    KVMI_CHECK_COMMAND, 2, -1, &cc, sizeof(cc));
	check_command(
	    kvmi_encode_check_event(buf, sizeof(buf), 3, KVMI_EVENT_PF),
	    KVMI_CHECK_EVENT, 3, -1, &ce, sizeof(ce));
	check_command(kvmi_encode_get_guest_info(buf, sizeof(buf), 4),
		      KVMI_GET_GUEST_INFO, 4, -1, NULL, 0);
	check_command(kvmi_encode_control_vm_events(buf, sizeof(buf), 5,
						    KVMI_EVENT_UNHOOK, 1),
		      KVMI_CONTROL_VM_EVENTS, 5, -1, &vme, sizeof(vme));
	check_command(kvmi_encode_get_map_token(buf, sizeof(buf), 6),
		      KVMI_GET_MAP_TOKEN, 6, -1, NULL, 0);
	check_command(kvmi_encode_control_spp(buf, sizeof(buf), 7, 1),
		      KVMI_CONTROL_SPP, 7, -1, &spp, sizeof(spp));
	check_command(
	    kvmi_encode_control_cmd_response(buf, sizeof(buf), 8, 0, 1),
	    KVMI_CONTROL_CMD_RESPONSE, 8, -1, &cr, sizeof(cr));
	check_command(kvmi_encode_get_max_gfn(buf, sizeof(buf), 0xffffffffu),
		      KVMI_GET_MAX_GFN, 0xffffffffu, -1, NULL, 0);
}

static void test_vcpu_commands(void **state)
{
	struct kvmi_pause_vcpu pv = {.wait = 1};
	struct kvmi_control_events ev = {.event_id = KVMI_EVENT_BREAKPOINT,
					 .enable = 1};
	struct kvmi_control_cr ccr = {.enable = 1, .cr = 4};
	struct kvmi_control_msr cmsr = {.enable = 0, .msr = 0xc0000082};
	struct kvmi_get_cpuid cpuid = {.function = 0x80000001, .index = 2};
	struct kvmi_inject_exception ie = {.nr = 14,
					   .has_error = 1,
					   .error_code = 0x6,
					   .address = 0xfffff80000001000};
	struct kvmi_get_mtrr_type mt = {.gpa = 0x7000};
	struct kvm_regs regs;
	const uint32_t msrs[3] = {0x174, 0x175, 0xc0000080};
	uint8_t gr[sizeof(struct kvmi_get_registers) + sizeof(msrs)] = {0};
	struct kvmi_get_registers *g = (struct kvmi_get_registers *)gr;

	(void)state;
	check_command(kvmi_encode_get_vcpu_info(buf, sizeof(buf), 10, 3),
		      KVMI_GET_VCPU_INFO, 10, 3, NULL, 0);
	check_command(kvmi_encode_pause_vcpu(buf, sizeof(buf), 11, 1, 1),
		      KVMI_PAUSE_VCPU, 11, 1, &pv, sizeof(pv));
	check_command(kvmi_encode_control_events(buf, sizeof(buf), 12, 2,
						 KVMI_EVENT_BREAKPOINT, 1),
		      KVMI_CONTROL_EVENTS, 12, 2, &ev, sizeof(ev));
	check_command(kvmi_encode_control_cr(buf, sizeof(buf), 13, 0, 4, 1),
		      KVMI_CONTROL_CR, 13, 0, &ccr, sizeof(ccr));
	check_command(
	    kvmi_encode_control_msr(buf, sizeof(buf), 14, 5, 0xc0000082, 0),
	    KVMI_CONTROL_MSR, 14, 5, &cmsr, sizeof(cmsr));

	g->nmsrs = 3;
	memcpy(gr + sizeof(*g), msrs, sizeof(msrs));
	check_command(
	    kvmi_encode_get_registers(buf, sizeof(buf), 15, 7, msrs, 3),
	    KVMI_GET_REGISTERS, 15, 7, gr, sizeof(gr));

	memset(&regs, 0, sizeof(regs));
	regs.rip = 0xfffff80000401000;
	regs.rax = 42;
	regs.rflags = 2;
	check_command(kvmi_encode_set_registers(buf, sizeof(buf), 16, 1, &regs),
		      KVMI_SET_REGISTERS, 16, 1, &regs, sizeof(regs));
	check_command(
	    kvmi_encode_get_cpuid(buf, sizeof(buf), 17, 0, 0x80000001, 2),
	    KVMI_GET_CPUID, 17, 0, &cpuid, sizeof(cpuid));
	check_command(kvmi_encode_get_xsave(buf, sizeof(buf), 18, 65535),
		      KVMI_GET_XSAVE, 18, 65535, NULL, 0);
	check_command(kvmi_encode_inject_exception(buf, sizeof(buf), 19, 0, 14,
						   1, 0x6, 0xfffff80000001000),
		      KVMI_INJECT_EXCEPTION, 19, 0, &ie, sizeof(ie));
	check_command(
	    kvmi_encode_get_mtrr_type(buf, sizeof(buf), 20, 0, 0x7000),
	    KVMI_GET_MTRR_TYPE, 20, 0, &mt, sizeof(mt));
}

/* expected body of the counted commands (GET/SET_PAGE_ACCESS,
 * GET/SET_PAGE_WRITE_BITMAP): {view, count, padding} then the items */
static size_t counted(uint8_t *out, uint16_t view, uint16_t count,
		      const void *items, size_t len)
{
	struct kvmi_get_page_access h = {.view = view, .count = count};

	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), items, len);
	return sizeof(h) + len;
}

static void test_memory_commands(void **state)
{
	struct kvmi_read_physical rp = {.gpa = 0x1ff0, .size = 16};
	struct kvmi_write_physical wh = {.gpa = 0x3ffb, .size = 5};
	const uint8_t data[5] = {0xcc, 1, 2, 3, 4};
	const uint64_t gpas[2] = {0x1000, 0x5000};
	struct kvmi_page_access_entry pae[2] = {
	    {.gpa = 0x1000, .access = KVMI_PAGE_ACCESS_R},
	    {.gpa = 0x2000,
	     .access =
		 KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_W | KVMI_PAGE_ACCESS_X}};
	struct kvmi_page_write_bitmap_entry wbe[1] = {
	    {.gpa = 0x3000, .bitmap = 0xf0f0f0f0}};
	uint8_t body[256];
	size_t n;

	(void)state;
	check_command(
	    kvmi_encode_read_physical(buf, sizeof(buf), 30, 0x1ff0, 16),
	    KVMI_READ_PHYSICAL, 30, -1, &rp, sizeof(rp));

	memcpy(body, &wh, sizeof(wh));
	memcpy(body + sizeof(wh), data, sizeof(data));
	check_command(
	    kvmi_encode_write_physical(buf, sizeof(buf), 31, 0x3ffb, data, 5),
	    KVMI_WRITE_PHYSICAL, 31, -1, body, sizeof(wh) + sizeof(data));

	n = counted(body, 0, 2, gpas, sizeof(gpas));
	check_command(
	    kvmi_encode_get_page_access(buf, sizeof(buf), 32, 0, gpas, 2),
	    KVMI_GET_PAGE_ACCESS, 32, -1, body, n);
	check_command(
	    kvmi_encode_get_page_write_bitmap(buf, sizeof(buf), 33, 0, gpas, 2),
	    KVMI_GET_PAGE_WRITE_BITMAP, 33, -1, body, n);

	n = counted(body, 0, 2, pae, sizeof(pae));
	check_command(
	    kvmi_encode_set_page_access(buf, sizeof(buf), 34, 0, pae, 2),
	    KVMI_SET_PAGE_ACCESS, 34, -1, body, n);

	n = counted(body, 0, 1, wbe, sizeof(wbe));
	check_command(
	    kvmi_encode_set_page_write_bitmap(buf, sizeof(buf), 35, 0, wbe, 1),
	    KVMI_SET_PAGE_WRITE_BITMAP, 35, -1, body, n);
}

/* every command's success reply: error code 0 and the data as sent */
static void test_every_reply(void **state)
{
	static const struct {
		uint16_t id;
		size_t len;
	} replies[] = {
	    {KVMI_GET_VERSION, 8},
	    {KVMI_CHECK_COMMAND, 0},
	    {KVMI_CHECK_EVENT, 0},
	    {KVMI_GET_GUEST_INFO, 16},
	    {KVMI_GET_VCPU_INFO, 8},
	    {KVMI_PAUSE_VCPU, 0},
	    {KVMI_CONTROL_VM_EVENTS, 0},
	    {KVMI_CONTROL_EVENTS, 0},
	    {KVMI_CONTROL_CR, 0},
	    {KVMI_CONTROL_MSR, 0},
	    {KVMI_GET_REGISTERS, sizeof(struct kvmi_get_registers_reply)},
	    {KVMI_SET_REGISTERS, 0},
	    {KVMI_GET_CPUID, 16},
	    {KVMI_GET_XSAVE, 4096},
	    {KVMI_READ_PHYSICAL, 4096},
	    {KVMI_WRITE_PHYSICAL, 0},
	    {KVMI_INJECT_EXCEPTION, 0},
	    {KVMI_GET_PAGE_ACCESS, 2},
	    {KVMI_SET_PAGE_ACCESS, 0},
	    {KVMI_GET_MAP_TOKEN, 32},
	    {KVMI_GET_MTRR_TYPE, 8},
	    {KVMI_CONTROL_SPP, 0},
	    {KVMI_GET_PAGE_WRITE_BITMAP, 8},
	    {KVMI_SET_PAGE_WRITE_BITMAP, 0},
	    {KVMI_CONTROL_CMD_RESPONSE, 0},
	    {KVMI_GET_MAX_GFN, 8},
	};
	static uint8_t data[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	/* GET_REGISTERS: msrs.nmsrs (the last 4 bytes + padding) is 0 */
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		const struct kvmi_msg *m;
		uint8_t d[4096];

		memcpy(d, data, replies[i].len);
		if (replies[i].id == KVMI_GET_REGISTERS)
			memset(
			    d + offsetof(struct kvmi_get_registers_reply, msrs),
			    0, sizeof(struct kvm_msrs));
		m = decode(KVMI_DIR_HOST_TO_TOOL,
			   kvmi_encode_reply(buf, sizeof(buf), replies[i].id,
					     (uint32_t)i + 100, 0, d,
					     replies[i].len));
		assert_int_equal(m->kind, KVMI_MSG_REPLY);
		assert_int_equal(m->hdr.id, replies[i].id);
		assert_int_equal(m->hdr.seq, i + 100);
		assert_int_equal(m->u.reply.host_err, 0);
		assert_int_equal(m->u.reply.err, 0);
		assert_int_equal(m->u.reply.data_len, replies[i].len);
		if (replies[i].len)
			assert_memory_equal(m->u.reply.data, d, replies[i].len);
		else
			assert_null(m->u.reply.data);
	}
}

/* the reply to every event id: common reply, action, specific data */
static void test_every_event_reply(void **state)
{
	struct kvmi_event_pf_reply pf = {.singlestep = 1,
					 .rep_complete = 0,
					 .ctx_size = 3,
					 .ctx_data = {0xde, 0xad, 0xbe}};
	const struct kvmi_msg *m;

	(void)state;
	for (uint8_t ev = 0; ev < KVMI_NUM_EVENTS; ev++) {
		uint8_t action = ev == KVMI_EVENT_BREAKPOINT
				     ? KVMI_EVENT_ACTION_RETRY
				     : KVMI_EVENT_ACTION_CONTINUE;
		int n = kvmi_encode_event_reply(buf, sizeof(buf), ev, 4, ev,
						action);

		if (ev == KVMI_EVENT_UNHOOK || ev == KVMI_EVENT_CR ||
		    ev == KVMI_EVENT_MSR || ev == KVMI_EVENT_PF) {
			/* UNHOOK is never answered; CR, MSR and PF replies
			 * need their data (own encoders, below) */
			assert_int_equal(n, -EINVAL);
			continue;
		}
		/* RETRY only where the event accepts it */
		assert_int_equal(
		    kvmi_encode_event_reply(buf, sizeof(buf), ev, 4, ev,
					    KVMI_EVENT_ACTION_RETRY),
		    ev == KVMI_EVENT_BREAKPOINT || ev == KVMI_EVENT_DESCRIPTOR
			? n
			: -EINVAL);
		n = kvmi_encode_event_reply(buf, sizeof(buf), ev, 4, ev,
					    action);
		m = decode(KVMI_DIR_TOOL_TO_HOST, n);
		assert_int_equal(m->kind, KVMI_MSG_EVENT_REPLY);
		assert_int_equal(m->hdr.id, KVMI_EVENT_REPLY);
		assert_int_equal(m->hdr.seq, ev);
		assert_int_equal(m->u.event_reply.vcpu.vcpu, 4);
		assert_int_equal(m->u.event_reply.common.event, ev);
		assert_int_equal(m->u.event_reply.common.action, action);
		assert_int_equal(m->u.event_reply.tail_len,
				 kvmi_event_reply_data_size(ev));
	}

	m = decode(KVMI_DIR_TOOL_TO_HOST,
		   kvmi_encode_event_reply_cr(buf, sizeof(buf), 50, 1,
					      KVMI_EVENT_ACTION_CONTINUE,
					      0x80050033));
	assert_int_equal(m->u.event_reply.common.event, KVMI_EVENT_CR);
	assert_int_equal(m->u.event_reply.tail_len, 8);
	assert_int_equal(
	    ((const struct kvmi_event_cr_reply *)m->u.event_reply.tail)
		->new_val,
	    0x80050033);

	m = decode(KVMI_DIR_TOOL_TO_HOST,
		   kvmi_encode_event_reply_msr(buf, sizeof(buf), 51, 2,
					       KVMI_EVENT_ACTION_CONTINUE,
					       0xfffff80000403000));
	assert_int_equal(m->u.event_reply.common.event, KVMI_EVENT_MSR);
	assert_int_equal(
	    ((const struct kvmi_event_msr_reply *)m->u.event_reply.tail)
		->new_val,
	    0xfffff80000403000);

	m = decode(KVMI_DIR_TOOL_TO_HOST,
		   kvmi_encode_event_reply_pf(buf, sizeof(buf), 52, 3,
					      KVMI_EVENT_ACTION_RETRY, &pf));
	assert_int_equal(m->u.event_reply.common.event, KVMI_EVENT_PF);
	assert_int_equal(m->u.event_reply.common.action,
			 KVMI_EVENT_ACTION_RETRY);
	assert_int_equal(m->u.event_reply.tail_len, sizeof(pf));
	assert_memory_equal(m->u.event_reply.tail, &pf, sizeof(pf));

	/* the host rejecting an event reply (id 0 from the host) */
	m = decode(
	    KVMI_DIR_HOST_TO_TOOL,
	    kvmi_encode_event_reply_error(buf, sizeof(buf), 52, -KVM_EINVAL));
	assert_int_equal(m->kind, KVMI_MSG_EVENT_REPLY_ERROR);
	assert_int_equal(m->hdr.seq, 52);
	assert_int_equal(m->u.reply.host_err, -KVM_EINVAL);
	assert_int_equal(m->u.reply.err, -EINVAL);
}

/* every event id: common struct and its specific data come back */
static void test_every_event(void **state)
{
	uint8_t data[64];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xa0 + i);
	for (uint8_t ev = 0; ev < KVMI_NUM_EVENTS; ev++) {
		struct kvmi_event common;
		const struct kvmi_msg *m;
		int dsize = kvmi_event_data_size(ev);

		assert_true(dsize >= 0 && (size_t)dsize <= sizeof(data));
		memset(&common, 0, sizeof(common));
		common.vcpu = ev % 3;
		common.event = ev;
		common.arch.regs.rip = 0xfffff80000400000 + ev;
		common.arch.sregs.cr3 = 0x1aa000;
		m = decode(KVMI_DIR_HOST_TO_TOOL,
			   kvmi_encode_event(buf, sizeof(buf), 200u + ev,
					     &common, sizeof(common), data,
					     (size_t)dsize));
		assert_int_equal(m->kind, KVMI_MSG_EVENT);
		assert_int_equal(m->hdr.id, KVMI_EVENT);
		assert_int_equal(m->hdr.seq, 200 + ev);
		assert_int_equal(m->u.event.common->size, sizeof(common));
		assert_int_equal(m->u.event.common->event, ev);
		assert_int_equal(m->u.event.common->vcpu, ev % 3);
		assert_int_equal(m->u.event.common->arch.regs.rip,
				 0xfffff80000400000 + ev);
		assert_int_equal(m->u.event.common->arch.sregs.cr3, 0x1aa000);
		assert_int_equal(m->u.event.data_size, dsize);
		if (dsize)
			assert_memory_equal(m->u.event.data, data,
					    (size_t)dsize);
	}
	assert_int_equal(kvmi_event_data_size(KVMI_NUM_EVENTS), -1);
}

static int teardown(void **state)
{
	(void)state;
	kvmi_decoder_free(dec);
	dec = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_vm_commands, teardown),
	    cmocka_unit_test_teardown(test_vcpu_commands, teardown),
	    cmocka_unit_test_teardown(test_memory_commands, teardown),
	    cmocka_unit_test_teardown(test_every_reply, teardown),
	    cmocka_unit_test_teardown(test_every_event_reply, teardown),
	    cmocka_unit_test_teardown(test_every_event, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

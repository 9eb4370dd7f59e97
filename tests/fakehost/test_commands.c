/*
 * tests/fakehost - test_commands.c: the simulated host answers commands
 * with the v6 host's validation rules (KVMI-PROTOCOL.md sec. 3, 7, 10),
 * driven without sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define B(h) (h)->buf, sizeof((h)->buf)

static int setup(void **state)
{
	static struct harness h;

	h_init(&h, NULL);
	*state = &h;
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

static void get_version_reply_copies_id_and_seq(void **state)
{
	struct harness *h = *state;
	const struct test_msg *r;
	uint32_t version;

	assert_int_equal(h_feed(h, h->buf, (size_t)kvmi_encode_get_version(B(h), 4242)), 0);
	r = h_next(h);
	assert_non_null(r);
	assert_int_equal(r->hdr.id, KVMI_GET_VERSION);
	assert_int_equal(r->hdr.seq, 4242);
	assert_int_equal(r->err, 0);
	assert_int_equal(r->data_len, 8);
	memcpy(&version, r->data, 4);
	assert_int_equal(version, 1);
	assert_null(h_next(h));
}

static void unknown_ids_get_eopnotsupp(void **state)
{
	struct harness *h = *state;
	static const uint16_t ids[] = { KVMI_CONTROL_VE, 28, 30, 40, 63, 1000 };

	/* read the raw bytes: the tool-side decoder refuses replies to ids
	 * no v6 or extension command has */
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct kvmi_msg_hdr hdr;
		struct kvmi_error_code ec;
		int n = h_raw(h, ids[i], -1, "\0\0\0\0\0\0\0\0", 8);

		assert_int_equal(h_feed(h, h->buf, (size_t)n), 0);
		assert_int_equal(h->vm->out.len, 16);
		memcpy(&hdr, h->vm->out.data, 8);
		memcpy(&ec, h->vm->out.data + 8, 8);
		assert_int_equal(hdr.id, ids[i]);
		assert_int_equal(hdr.size, 8);
		assert_int_equal(hdr.seq, h->seq - 1);
		assert_int_equal(ec.err, -KVM_EOPNOTSUPP);
		fh_buf_consume(&h->vm->out, 16);
	}
	assert_false(h->vm->closed);
}

static void vcpu_index_out_of_range_is_einval(void **state)
{
	struct harness *h = *state;

	assert_int_equal(h_cmd(h, kvmi_encode_get_vcpu_info(B(h), 1, 2)), -KVM_EINVAL);
	assert_int_equal(h_cmd(h, kvmi_encode_get_vcpu_info(B(h), 2, 1)), 0);
	assert_int_equal(h_cmd(h, kvmi_encode_control_cr(B(h), 3, 7, 3, 1)), -KVM_EINVAL);
	assert_int_equal(h_cmd(h, kvmi_encode_pause_vcpu(B(h), 4, 9, 0)), -KVM_EINVAL);
}

static void vcpu_header_padding_closes(void **state)
{
	struct harness *h = *state;
	struct kvmi_vcpu_hdr vh = { .vcpu = 0, .padding2 = 1 };

	h_closes(h, h_raw(h, KVMI_GET_VCPU_INFO, -1, &vh, sizeof(vh)));
}

static void pause_vcpu_header_padding_is_einval(void **state)
{
	struct harness *h = *state;
	uint8_t body[16] = { 0 };

	body[2] = 1; /* vcpu_hdr.padding1 */
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_PAUSE_VCPU, -1, body, sizeof(body))),
			 -KVM_EINVAL);
	body[2] = 0;
	body[9] = 1; /* kvmi_pause_vcpu.padding1 */
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_PAUSE_VCPU, -1, body, sizeof(body))),
			 -KVM_EINVAL);
	assert_false(h->vm->closed);
}

static void padding_is_einval(void **state)
{
	struct harness *h = *state;
	struct kvmi_control_events ce = { .event_id = KVMI_EVENT_BREAKPOINT,
					  .enable = 1, .padding2 = 5 };
	struct kvmi_check_command cc = { .id = 2, .padding1 = 1 };
	struct kvmi_inject_exception ie = { .nr = 3, .padding = 1 };

	assert_int_equal(h_cmd(h, h_raw(h, KVMI_CONTROL_EVENTS, 0, &ce, sizeof(ce))),
			 -KVM_EINVAL);
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_CHECK_COMMAND, -1, &cc, sizeof(cc))),
			 -KVM_EINVAL);
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_INJECT_EXCEPTION, 1, &ie, sizeof(ie))),
			 -KVM_EINVAL);
	assert_int_equal(h->vm->vcpus[0].events, 0);
}

static void size_mismatch_closes(void **state)
{
	struct harness *h = *state;
	uint8_t body[4] = { 1, 0, 0, 0 };

	h_closes(h, h_raw(h, KVMI_CONTROL_CR, 0, body, sizeof(body)));
}

static void body_on_bodyless_command_closes(void **state)
{
	struct harness *h = *state;

	h_closes(h, h_raw(h, KVMI_GET_VERSION, -1, "12345678", 8));
}

static void oversized_header_closes(void **state)
{
	struct harness *h = *state;
	struct kvmi_msg_hdr hdr = { .id = 77, .size = 8185, .seq = 1 };

	assert_int_equal(h_feed(h, &hdr, sizeof(hdr)), -1);
	assert_true(h->vm->host_closed);
}

static void check_command_and_event_report_policy(void **state)
{
	struct harness h;
	struct fh_vm_config cfg;

	(void)state;
	h_config(&cfg);
	cfg.deny_commands = 1ULL << KVMI_GET_REGISTERS;
	cfg.deny_events = 1u << KVMI_EVENT_PF;
	h_init(&h, &cfg);
	assert_int_equal(h_cmd(&h, kvmi_encode_check_command(B(&h), 1, KVMI_GET_REGISTERS)),
			 -KVM_EPERM);
	assert_int_equal(h_cmd(&h, kvmi_encode_check_command(B(&h), 2, KVMI_READ_PHYSICAL)), 0);
	assert_int_equal(h_cmd(&h, kvmi_encode_check_command(B(&h), 3, KVMI_CONTROL_VE)), 0);
	assert_int_equal(h_cmd(&h, kvmi_encode_check_event(B(&h), 4, KVMI_EVENT_PF)),
			 -KVM_EPERM);
	assert_int_equal(h_cmd(&h, kvmi_encode_check_event(B(&h), 5, KVMI_EVENT_BREAKPOINT)), 0);
	assert_int_equal(h_cmd(&h, kvmi_encode_get_registers(B(&h), 6, 0, NULL, 0)),
			 -KVM_EPERM);
	assert_int_equal(h_cmd(&h, kvmi_encode_control_events(B(&h), 7, 0, KVMI_EVENT_PF, 1)),
			 -KVM_EPERM);
	assert_int_equal(h.vm->vcpus[0].events, 0);
	h_free(&h);
}

static void denied_and_unknown_answered_while_replies_disabled(void **state)
{
	struct harness h;
	struct fh_vm_config cfg;

	(void)state;
	h_config(&cfg);
	cfg.deny_commands = 1ULL << KVMI_CONTROL_CR;
	cfg.deny_events = 1u << KVMI_EVENT_PAUSE_VCPU;
	h_init(&h, &cfg);
	h_silent(&h, kvmi_encode_control_cmd_response(B(&h), 1, 0, 1));
	assert_int_equal(h_cmd(&h, kvmi_encode_control_cr(B(&h), 2, 0, 3, 1)), -KVM_EPERM);
	assert_int_equal(h_cmd(&h, h_raw(&h, KVMI_CONTROL_VE, 0, NULL, 0)), -KVM_EOPNOTSUPP);
	/* PAUSE_VCPU refused because the pause event is denied */
	assert_int_equal(h_cmd(&h, kvmi_encode_pause_vcpu(B(&h), 3, 0, 1)), -KVM_EPERM);
	/* a failing command is silent */
	h_silent(&h, kvmi_encode_control_events(B(&h), 4, 9, KVMI_EVENT_BREAKPOINT, 1));
	h_free(&h);
}

static void cmd_response_enable_now_semantics(void **state)
{
	struct harness *h = *state;

	/* enable=0 now=0: this one answered, the next not */
	assert_int_equal(h_cmd(h, kvmi_encode_control_cmd_response(B(h), 1, 0, 0)), 0);
	h_silent(h, kvmi_encode_control_events(B(h), 2, 0, KVMI_EVENT_BREAKPOINT, 1));
	assert_true(h->vm->vcpus[0].events & (1u << KVMI_EVENT_BREAKPOINT));
	/* enable=1 now=0: not answered (replies were off), later ones are */
	h_silent(h, kvmi_encode_control_cmd_response(B(h), 3, 1, 0));
	assert_int_equal(h_cmd(h, kvmi_encode_get_version(B(h), 4)), 0);
	/* enable=0 now=1: not answered, nor the following */
	h_silent(h, kvmi_encode_control_cmd_response(B(h), 5, 0, 1));
	h_silent(h, kvmi_encode_control_cr(B(h), 6, 1, 3, 1));
	assert_int_equal(h->vm->vcpus[1].crs, 1u << 3);
	/* enable=1 now=1: answered */
	assert_int_equal(h_cmd(h, kvmi_encode_control_cmd_response(B(h), 7, 1, 1)), 0);
	assert_int_equal(h_cmd(h, kvmi_encode_get_guest_info(B(h), 8)), 0);
}

static void data_command_while_replies_disabled_closes(void **state)
{
	struct harness *h = *state;

	h_silent(h, kvmi_encode_control_cmd_response(B(h), 1, 0, 1));
	h_closes(h, kvmi_encode_read_physical(B(h), 2, 0x1000, 8));
}

static void cmd_response_padding_closes(void **state)
{
	struct harness *h = *state;
	struct kvmi_control_cmd_response c = { .enable = 1, .now = 1, .padding2 = 1 };

	h_closes(h, h_raw(h, KVMI_CONTROL_CMD_RESPONSE, -1, &c, sizeof(c)));
}

static void physical_access_rules(void **state)
{
	struct harness *h = *state;
	struct kvmi_read_physical rp = { .gpa = 0x1ff8, .size = 16 };
	const struct test_msg *r;
	uint8_t data[4] = { 0xcc, 1, 2, 3 };
	uint8_t orig[4];

	/* crossing a page: -KVM_EINVAL (kvmi-v6 branch) */
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_READ_PHYSICAL, -1, &rp, sizeof(rp))),
			 -KVM_EINVAL);
	rp.gpa = 0x1000;
	rp.size = 0;
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_READ_PHYSICAL, -1, &rp, sizeof(rp))),
			 -KVM_EINVAL);
	rp.size = 4097;
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_READ_PHYSICAL, -1, &rp, sizeof(rp))),
			 -KVM_EINVAL);
	/* beyond guest RAM (4 MiB) */
	assert_int_equal(h_cmd(h, kvmi_encode_read_physical(B(h), 1, 4ULL << 20, 8)),
			 -KVM_EINVAL);
	/* a read returns the original content */
	assert_int_equal(h_feed(h, h->buf, (size_t)kvmi_encode_read_physical(B(h), 2, 0x3000, 4)), 0);
	r = h_next(h);
	assert_int_equal(r->err, 0);
	assert_int_equal(r->data_len, 4);
	fh_memory_read(&h->vm->mem, 0x3000, orig, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(orig[i], fh_memory_orig_byte(&h->vm->mem, 0x3000 + i));
	assert_memory_equal(r->data, orig, 4);
	/* write, read back, differs, restore */
	assert_int_equal(h_cmd(h, kvmi_encode_write_physical(B(h), 3, 0x3000, data, 4)), 0);
	assert_int_equal(fh_memory_byte(&h->vm->mem, 0x3000), 0xcc);
	assert_true(fh_memory_diff(&h->vm->mem) > 0);
	assert_int_equal(h_cmd(h, kvmi_encode_write_physical(B(h), 4, 0x3000, orig, 4)), 0);
	assert_int_equal(fh_memory_diff(&h->vm->mem), 0);
}

static void write_physical_crossing_page_is_einval(void **state)
{
	struct harness *h = *state;
	uint8_t body[16 + 8] = { 0 };
	uint64_t gpa = 0x1ffc, size = 8;

	memcpy(body, &gpa, 8);
	memcpy(body + 8, &size, 8);
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_WRITE_PHYSICAL, -1, body, sizeof(body))),
			 -KVM_EINVAL);
	assert_int_equal(fh_memory_diff(&h->vm->mem), 0);
}

static void write_physical_short_data_closes(void **state)
{
	struct harness *h = *state;
	uint8_t body[16 + 4] = { 0 };
	uint64_t gpa = 0x1000, size = 8;

	memcpy(body, &gpa, 8);
	memcpy(body + 8, &size, 8);
	h_closes(h, h_raw(h, KVMI_WRITE_PHYSICAL, -1, body, sizeof(body)));
}

static uint8_t access_of(struct harness *h, uint64_t gpa)
{
	const struct test_msg *r;

	assert_int_equal(h_feed(h, h->buf,
				(size_t)kvmi_encode_get_page_access(B(h), h->seq++, 0, &gpa, 1)),
			 0);
	r = h_next(h);
	assert_int_equal(r->err, 0);
	assert_int_equal(r->data_len, 1);
	return r->data[0];
}

/* entries: good (0x5000 -> r), bad access bits (0x6000), good (0x7000 -> rw) */
static int32_t partial_batch(struct harness *h)
{
	uint8_t body[8 + 3 * 16] = { 0 };
	struct kvmi_set_page_access sp = { .count = 3 };
	struct kvmi_page_access_entry e[3] = {
		{ .gpa = 0x5000, .access = KVMI_PAGE_ACCESS_R },
		{ .gpa = 0x6000, .access = 0x10 },
		{ .gpa = 0x7000, .access = KVMI_PAGE_ACCESS_R | KVMI_PAGE_ACCESS_W },
	};

	memcpy(body, &sp, 8);
	memcpy(body + 8, e, sizeof(e));
	return h_cmd(h, h_raw(h, KVMI_SET_PAGE_ACCESS, -1, body, sizeof(body)));
}

static void set_page_access_partial_last(void **state)
{
	struct harness *h = *state; /* default mode: last */

	assert_int_equal(partial_batch(h), 0); /* the last entry was good */
	assert_int_equal(access_of(h, 0x5123), KVMI_PAGE_ACCESS_R);
	assert_int_equal(access_of(h, 0x6000), 7);
	assert_int_equal(access_of(h, 0x7000), 3);
	assert_int_equal(h->vm->mem.restricted, 2);
}

static void set_page_access_partial_first_and_stop(void **state)
{
	struct fh_vm_config cfg;
	struct harness h;

	(void)state;
	h_config(&cfg);
	cfg.page_access_errors = FH_PA_ERRORS_FIRST;
	h_init(&h, &cfg);
	assert_int_equal(partial_batch(&h), -KVM_EINVAL);
	assert_int_equal(access_of(&h, 0x5000), KVMI_PAGE_ACCESS_R);
	assert_int_equal(access_of(&h, 0x7000), 3);
	h_free(&h);

	cfg.page_access_errors = FH_PA_ERRORS_STOP;
	h_init(&h, &cfg);
	assert_int_equal(partial_batch(&h), -KVM_EINVAL);
	assert_int_equal(access_of(&h, 0x5000), KVMI_PAGE_ACCESS_R);
	assert_int_equal(access_of(&h, 0x7000), 7);
	h_free(&h);
}

static void set_page_access_rwx_forgets_and_view_checked(void **state)
{
	struct harness *h = *state;
	struct kvmi_page_access_entry e = { .gpa = 0x9000, .access = KVMI_PAGE_ACCESS_R };
	struct kvmi_set_page_access sp = { .count = 2 };
	uint8_t body[8 + 16] = { 0 };

	assert_int_equal(h_cmd(h, kvmi_encode_set_page_access(B(h), 1, 0, &e, 1)), 0);
	assert_int_equal(h->vm->mem.restricted, 1);
	e.access = 7;
	assert_int_equal(h_cmd(h, kvmi_encode_set_page_access(B(h), 2, 0, &e, 1)), 0);
	assert_int_equal(h->vm->mem.restricted, 0);
	assert_int_equal(h_cmd(h, kvmi_encode_set_page_access(B(h), 3, 1, &e, 1)),
			 -KVM_EOPNOTSUPP);
	/* count says 2, one entry present */
	memcpy(body, &sp, 8);
	memcpy(body + 8, &e, 16);
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_SET_PAGE_ACCESS, -1, body, sizeof(body))),
			 -KVM_EINVAL);
}

static void get_registers_rules(void **state)
{
	struct harness *h = *state;
	uint32_t msrs[2] = { 0xc0000082, 0x174 };
	uint32_t bad = 0x40000000;
	static uint32_t many[483];
	struct kvmi_get_registers_reply r;
	struct kvm_msr_entry e;
	const struct test_msg *m;

	assert_int_equal(h_feed(h, h->buf,
				(size_t)kvmi_encode_get_registers(B(h), 1, 1, msrs, 2)),
			 0);
	m = h_next(h);
	assert_int_equal(m->err, 0);
	assert_int_equal(m->data_len, sizeof(r) + 2 * sizeof(e));
	memcpy(&r, m->data, sizeof(r));
	assert_int_equal(r.mode, 8);
	assert_int_equal(r.msrs.nmsrs, 2);
	assert_int_equal(r.regs.rip, h->vm->vcpus[1].regs.rip);
	memcpy(&e, m->data + sizeof(r), sizeof(e));
	assert_int_equal(e.index, 0xc0000082);
	assert_int_equal(e.data, h->vm->vcpus[1].msrs[5]);
	assert_int_equal(h_cmd(h, kvmi_encode_get_registers(B(h), 2, 0, &bad, 1)),
			 -KVM_EINVAL);
	for (unsigned i = 0; i < 483; i++)
		many[i] = 0x174;
	{
		uint8_t body[8 + sizeof(many)] = { 0 };
		uint16_t n = 483;

		memcpy(body, &n, 2);
		memcpy(body + 8, many, sizeof(many));
		assert_int_equal(h_cmd(h, h_raw(h, KVMI_GET_REGISTERS, 0, body, sizeof(body))),
				 -KVM_ENOMEM);
	}
}

static void control_argument_checks(void **state)
{
	struct harness *h = *state;
	struct kvmi_control_vm_events ve = { .event_id = KVMI_EVENT_BREAKPOINT, .enable = 1 };
	struct kvmi_control_events ce = { .event_id = KVMI_EVENT_UNHOOK, .enable = 1 };
	struct kvmi_control_cr cr = { .enable = 1, .cr = 2 };
	struct kvmi_control_msr msr = { .enable = 1, .msr = 0x40000000 };

	assert_int_equal(h_cmd(h, h_raw(h, KVMI_CONTROL_VM_EVENTS, -1, &ve, sizeof(ve))),
			 -KVM_EINVAL);
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_CONTROL_EVENTS, 0, &ce, sizeof(ce))),
			 -KVM_EINVAL);
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_CONTROL_CR, 0, &cr, sizeof(cr))),
			 -KVM_EINVAL);
	assert_int_equal(h_cmd(h, h_raw(h, KVMI_CONTROL_MSR, 0, &msr, sizeof(msr))),
			 -KVM_EINVAL);
	assert_int_equal(h_cmd(h, kvmi_encode_control_msr(B(h), 1, 0, 0xc0000082, 1)), 0);
	assert_true(fh_vcpu_msr_intercepted(&h->vm->vcpus[0], 0xc0000082));
	assert_int_equal(h_cmd(h, kvmi_encode_control_vm_events(B(h), 2, KVMI_EVENT_UNHOOK, 1)), 0);
	assert_int_equal(h->vm->vm_events, 1u << KVMI_EVENT_UNHOOK);
	assert_int_equal(h_cmd(h, kvmi_encode_control_spp(B(h), 3, 1)), -KVM_EOPNOTSUPP);
	assert_int_equal(h_cmd(h, kvmi_encode_get_cpuid(B(h), 4, 0, 0x12345678, 0)),
			 -KVM_ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(get_version_reply_copies_id_and_seq),
		T(unknown_ids_get_eopnotsupp),
		T(vcpu_index_out_of_range_is_einval),
		T(vcpu_header_padding_closes),
		T(pause_vcpu_header_padding_is_einval),
		T(padding_is_einval),
		T(size_mismatch_closes),
		T(body_on_bodyless_command_closes),
		T(oversized_header_closes),
		cmocka_unit_test(check_command_and_event_report_policy),
		cmocka_unit_test(denied_and_unknown_answered_while_replies_disabled),
		T(cmd_response_enable_now_semantics),
		T(data_command_while_replies_disabled_closes),
		T(cmd_response_padding_closes),
		T(physical_access_rules),
		T(write_physical_crossing_page_is_einval),
		T(write_physical_short_data_closes),
		T(set_page_access_partial_last),
		cmocka_unit_test(set_page_access_partial_first_and_stop),
		T(set_page_access_rwx_forgets_and_view_checked),
		T(get_registers_rules),
		T(control_argument_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

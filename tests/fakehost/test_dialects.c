/*
 * tests/fakehost - test_dialects.c: the simulated host in the kvmi-v7
 * (2021, 2023) and v12 dialects, driven without sockets: the GET_VERSION
 * reply and feature block, the error codes and what closes the channel
 * (KVMI-V7.md sec. 2, 5, 8, 12; KVMI-V12.md sec. 4), the TRAP after every
 * injection, SINGLESTEP, CPUID and CMD_ERROR events, the modelled host
 * bugs, the 2023 commands, and v12's ids and layouts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "report.h"

#define B(h) (h)->buf, sizeof((h)->buf)

static struct harness H;

static void start(enum kvmi_dialect d, uint32_t insn_mask)
{
	struct fh_vm_config cfg;

	h_config(&cfg);
	cfg.dialect = d;
	cfg.insn_mask = insn_mask;
	h_init(&H, &cfg);
}

static int teardown(void **state)
{
	(void)state;
	h_free(&H);
	return 0;
}

/* the reply to a command: its error; *@r the message */
static int32_t cmd(int n, const struct test_msg **r)
{
	int32_t err = h_cmd(&H, n);

	if (r)
		*r = &H.msg;
	return err;
}

/* the next event, copied: later commands reuse the harness's message */
static struct test_msg EV;

static const struct test_msg *run_event(void)
{
	EV = *h_run_event(&H);
	return &EV;
}

static int reply_ok(const struct test_msg *m, uint8_t action)
{
	int r = h_reply(&H, m, action);

	if (r)
		print_error("closed: %s\n", H.vm->close_reason);
	return r;
}

/* CONTROL_EVENTS(@event, on) for vCPU 0; the error */
static int32_t enable_event(uint16_t event)
{
	return cmd(kvmi_encode_control_events_d(H.dialect, B(&H), H.seq++, 0,
						event, 1),
		   NULL);
}

static int32_t check_command(uint16_t id)
{
	return cmd(kvmi_encode_check_command_d(H.dialect, B(&H), H.seq++, id),
		   NULL);
}

/* ---- kvmi-v7 ---- */

static void v7_get_version_and_ids(void **state)
{
	const struct test_msg *r;
	struct kvmi_v7_get_version_reply v;
	enum kvmi_dialect d;

	(void)state;
	start(KVMI_DIALECT_V7, 0);
	assert_int_equal(cmd(kvmi_encode_get_version(B(&H), H.seq++), &r), 0);
	assert_int_equal(r->data_len, 16);
	memcpy(&v, r->data, sizeof(v));
	assert_int_equal(v.version, 1);
	assert_int_equal(v.padding, 0);
	assert_int_equal(v.features.singlestep, 1);
	assert_int_equal(v.features.eptp, 1);
	assert_int_equal(v.features.vmfunc, 1);
	assert_int_equal(v.features.spp, 0);
	assert_int_equal(v.features.ve, 0);
	assert_int_equal(
	    kvmi_dialect_from_version_reply(r->data, r->data_len, &d), 0);
	assert_int_equal(d, KVMI_DIALECT_V7);
	/* ids gone since v6 and never defined: -KVM_ENOSYS, with the id */
	assert_int_equal(cmd(h_raw(&H, 12, -1, NULL, 0), &r), -KVM_ENOSYS);
	assert_int_equal(cmd(h_raw(&H, 20, -1, NULL, 0), &r), -KVM_ENOSYS);
	assert_int_equal(cmd(h_raw(&H, 40, -1, NULL, 0), &r), -KVM_ENOSYS);
	assert_int_equal(cmd(h_raw(&H, 39, -1, "\0\0\0\0\0\0\0\0", 8), &r),
			 -KVM_ENOSYS); /* 2023 only */
	/* 26 is not in the known mask: never allowed */
	{
		struct kvmi_page_write_bitmap_entry e = {.gpa = 0x1000,
							 .bitmap = ~0u};

		assert_int_equal(cmd(kvmi_encode_set_page_write_bitmap_d(
					 H.dialect, B(&H), H.seq++, 0, &e, 1),
				     NULL),
				 -KVM_EPERM);
	}
	/* CHECK_COMMAND / CHECK_EVENT (sec. 5.1, 14) */
	assert_int_equal(check_command(26), -KVM_EPERM);
	assert_int_equal(check_command(39), -KVM_EPERM);
	assert_int_equal(check_command(63), 0);
	assert_int_equal(check_command(0xffff), -KVM_EINVAL);
	assert_int_equal(
	    cmd(kvmi_encode_check_event_d(H.dialect, B(&H), H.seq++, 13), NULL),
	    0);
	assert_int_equal(
	    cmd(kvmi_encode_check_event_d(H.dialect, B(&H), H.seq++, 14), NULL),
	    -KVM_EINVAL);
	/* views 0-2 exist on 2021; 3 does not */
	assert_int_equal(
	    cmd(kvmi_encode_set_ept_view_d(H.dialect, B(&H), H.seq++, 0, 3),
		NULL),
	    -KVM_EINVAL);
	{
		struct kvmi_page_access_entry e = {
		    .gpa = H_HOT, .access = KVMI_PAGE_ACCESS_R};

		assert_int_equal(cmd(kvmi_encode_set_page_access_d(
					 H.dialect, B(&H), H.seq++, 3, &e, 1),
				     NULL),
				 -KVM_EINVAL);
		e.access = KVMI_V7_PAGE_SVE; /* not taken by SET_PAGE_ACCESS */
		assert_int_equal(
		    cmd(h_raw(&H, 21, -1,
			      "\0\0\1\0\0\0\0\0"
			      "\x10\x20\0\0\0\0\0\0\x08\0\0\0\0\0\0\0",
			      24),
			NULL),
		    -KVM_EINVAL);
	}
	assert_int_equal(cmd(kvmi_encode_translate_gva_d(H.dialect, B(&H),
							 H.seq++, 0, 0x2000),
			     &r),
			 0);
	assert_int_equal(*(const uint64_t *)(const void *)r->data, 0x2000);
	assert_int_equal(
	    cmd(kvmi_encode_get_xcr_d(H.dialect, B(&H), H.seq++, 0, 1), NULL),
	    -KVM_EINVAL);
	assert_int_equal(cmd(kvmi_encode_set_ve_info_d(H.dialect, B(&H),
						       H.seq++, 0, 0x5000, 0),
			     NULL),
			 -KVM_EINVAL); /* no #VE here */
	assert_int_equal(
	    cmd(kvmi_encode_get_max_gfn_d(H.dialect, B(&H), H.seq++), &r), 0);
	assert_int_equal(*(const uint64_t *)(const void *)r->data,
			 H.vm->mem.npages);
}

static void v7_closes_on_unknown_with_replies_off(void **state)
{
	(void)state;
	start(KVMI_DIALECT_V7, 0);
	h_silent(&H, kvmi_encode_control_cmd_response_d(H.dialect, B(&H),
							H.seq++, 0, 1, 0));
	/* a failing error-only command: logged only */
	h_silent(&H, h_raw(&H, 10, 0, "\1\0\0\0\7\0\0\0", 8));
	h_closes(&H, h_raw(&H, 12, -1, NULL, 0));
}

static void v7_cmd_error_event(void **state)
{
	const struct test_msg *m;

	(void)state;
	start(KVMI_DIALECT_V7, 0);
	h_silent(&H, kvmi_encode_control_cmd_response_d(
			 H.dialect, B(&H), H.seq++, 0, 1,
			 KVMI_V7_CMD_RESPONSE_ERROR_EVENTS));
	/* CONTROL_CR with cr 7: -KVM_EINVAL becomes a CMD_ERROR event */
	assert_int_equal(
	    h_feed(&H, H.buf, (size_t)h_raw(&H, 10, 0, "\1\0\0\0\7\0\0\0", 8)),
	    0);
	m = h_next(&H);
	assert_non_null(m);
	assert_int_equal(m->kind, KVMI_MSG_EVENT);
	assert_int_equal(m->event.event, KVMI_V7_EVENT_CMD_ERROR);
	assert_int_equal(m->event.vcpu, 0);
	assert_int_equal(m->ev.v7_cmd_error.err, -KVM_EINVAL);
	assert_int_equal(m->ev.v7_cmd_error.msg_seq, H.seq - 1);
	assert_int_equal(m->ev.v7_cmd_error.msg_id, 10);
	assert_null(h_next(&H));
	/* a successful one stays silent, one with data closes */
	h_silent(&H,
		 kvmi_encode_control_cr_d(H.dialect, B(&H), H.seq++, 0, 3, 1));
	h_closes(&H, kvmi_encode_get_version(B(&H), H.seq++));
}

static void v7_pause_reads_the_vcpu_header(void **state)
{
	const struct test_msg *m;

	(void)state;
	start(KVMI_DIALECT_V7, 0);
	/* vCPU 1: "wait" = 1, the rest zero: accepted, one PAUSE event */
	assert_int_equal(
	    cmd(kvmi_encode_pause_vcpu_d(H.dialect, B(&H), H.seq++, 1, 0),
		NULL),
	    0);
	m = run_event();
	assert_int_equal(m->event.event, KVMI_EVENT_PAUSE_VCPU);
	assert_int_equal(m->event.vcpu, 1);
	assert_int_equal(reply_ok(m, KVMI_EVENT_ACTION_CONTINUE), 0);
	/* index 256: its high byte is read as padding: the host closes */
	h_closes(&H,
		 kvmi_encode_pause_vcpu_d(H.dialect, B(&H), H.seq++, 256, 0));
}

static void v7_get_registers_zeroes_after_bad_msr(void **state)
{
	static const uint32_t msrs[] = {0xc0000080, 0x12345678, 0x174};
	const struct test_msg *r;
	struct kvm_msr_entry e[3];

	(void)state;
	start(KVMI_DIALECT_V7, 0);
	assert_int_equal(cmd(kvmi_encode_get_registers_d(H.dialect, B(&H),
							 H.seq++, 0, msrs, 3),
			     &r),
			 0);
	assert_int_equal(r->data_len,
			 sizeof(struct kvmi_get_registers_reply) + sizeof(e));
	memcpy(e, r->data + sizeof(struct kvmi_get_registers_reply), sizeof(e));
	assert_int_equal(e[0].index, 0xc0000080);
	assert_int_equal(e[0].data, 0xd01);
	assert_int_equal(e[1].index, 0);
	assert_int_equal(e[1].data, 0);
	assert_int_equal(e[2].data, 0);
	/* v6 refuses the same request */
	h_free(&H);
	start(KVMI_DIALECT_V6, 0);
	assert_int_equal(
	    cmd(kvmi_encode_get_registers(B(&H), H.seq++, 0, msrs, 3), NULL),
	    -KVM_EINVAL);
}

static void v7_trap_after_every_injection(void **state)
{
	const struct test_msg *m;
	struct kvm_regs regs;

	(void)state;
	start(KVMI_DIALECT_V7, 1u << FH_INSN_READ);
	/* byte 1 (v6 has_error) is padding */
	assert_int_equal(
	    cmd(h_raw(&H, 19, 0, "\x0e\x01\0\0\2\0\0\0\0\x70\0\0\0\0\0\0", 16),
		NULL),
	    -KVM_EINVAL);
	assert_int_equal(
	    cmd(kvmi_encode_inject_exception_d(H.dialect, B(&H), H.seq++, 0, 14,
					       1, 2, 0x7000),
		NULL),
	    0);
	assert_int_equal(cmd(kvmi_encode_inject_exception_d(
				 H.dialect, B(&H), H.seq++, 0, 6, 0, 0, 0),
			     NULL),
			 -KVM_EBUSY);
	/* TRAP comes without CONTROL_EVENTS, 16 bytes, what was injected */
	m = run_event();
	assert_int_equal(m->event.event, KVMI_EVENT_TRAP);
	assert_int_equal(m->ev.v7_trap.vector, 14);
	assert_int_equal(m->ev.v7_trap.error_code, 2);
	assert_int_equal(m->ev.v7_trap.cr2, 0x7000);
	assert_int_equal(m->hdr.size, 544 + 16);
	/* SET_REGISTERS is taken only while an event waits */
	memset(&regs, 0, sizeof(regs));
	assert_int_equal(cmd(kvmi_encode_set_registers_d(H.dialect, B(&H),
							 H.seq++, 1, &regs),
			     NULL),
			 -KVM_EOPNOTSUPP);
	assert_int_equal(reply_ok(m, KVMI_EVENT_ACTION_CONTINUE), 0);
	/* #UD has no error code: the host does not deliver one */
	assert_int_equal(cmd(kvmi_encode_inject_exception_d(
				 H.dialect, B(&H), H.seq++, 0, 6, 1, 9, 0),
			     NULL),
			 0);
	m = run_event();
	assert_int_equal(m->ev.v7_trap.vector, 6);
	assert_int_equal(m->ev.v7_trap.error_code, 0);
	assert_int_equal(reply_ok(m, KVMI_EVENT_ACTION_CONTINUE), 0);
	/* an event reply for a vCPU that waits for nothing: ignored */
	h_silent(&H, kvmi_encode_event_reply_d(H.dialect, B(&H), 99, 1,
					       KVMI_EVENT_TRAP,
					       KVMI_EVENT_ACTION_CONTINUE));
}

static void v7_singlestep_events(void **state)
{
	const struct test_msg *m;

	(void)state;
	start(KVMI_DIALECT_V7, 1u << FH_INSN_READ);
	assert_int_equal(enable_event(KVMI_EVENT_SINGLESTEP), 0);
	assert_int_equal(cmd(h_raw(&H, 63, 0, "\1\0\0\0\0\0\1\0", 8), NULL),
			 -KVM_EINVAL); /* padding */
	assert_int_equal(cmd(kvmi_encode_control_singlestep_d(H.dialect, B(&H),
							      H.seq++, 0, 1),
			     NULL),
			 0);
	for (int i = 0; i < 3; i++) {
		m = run_event();
		assert_int_equal(m->event.event, KVMI_EVENT_SINGLESTEP);
		assert_int_equal(m->event.vcpu, 0);
		assert_int_equal(m->hdr.size, 544 + 8);
		assert_int_equal(m->ev.v7_singlestep.failed, 0);
		assert_int_equal(reply_ok(m, KVMI_EVENT_ACTION_CONTINUE), 0);
	}
	assert_int_equal(cmd(kvmi_encode_control_singlestep_d(H.dialect, B(&H),
							      H.seq++, 0, 0),
			     NULL),
			 0);
	for (int i = 0; i < 4; i++)
		fh_vm_run(H.vm);
	assert_null(h_next(&H));
}

static void v7_cpuid_event(void **state)
{
	const struct test_msg *m;
	struct kvmi_get_cpuid_reply leaf;

	(void)state;
	start(KVMI_DIALECT_V7, 1u << FH_INSN_CPUID);
	assert_int_equal(enable_event(KVMI_V7_EVENT_CPUID), 0);
	m = run_event();
	assert_int_equal(m->event.event, KVMI_V7_EVENT_CPUID);
	assert_int_equal(m->ev.v7_cpuid.insn_length, 2);
	/* the outputs are already in the registers */
	assert_int_equal(fh_cpuid_leaf(m->ev.v7_cpuid.function, &leaf), 0);
	assert_int_equal(m->event.arch.regs.rax, leaf.eax);
	assert_int_equal(m->event.arch.regs.rdx, leaf.edx);
	/* anything but CONTINUE: CPUID runs and raises again */
	assert_int_equal(h_reply(&H, m, KVMI_EVENT_ACTION_CRASH), 0);
	assert_true(H.vm->crashed);
}

static void v7_size_and_reply_rules(void **state)
{
	const struct test_msg *m;
	uint8_t reply[8 + 16 + 272];
	int n;

	(void)state;
	start(KVMI_DIALECT_V7, 1u << FH_INSN_EXEC);
	/* a short fixed-size request is zero-extended: CONTROL_CR with
	 * only enable: cr 0 */
	assert_int_equal(cmd(h_raw(&H, 10, 0, "\1", 1), NULL), 0);
	/* a long one is accepted */
	assert_int_equal(
	    cmd(h_raw(&H, 10, 0, "\1\0\0\0\3\0\0\0\xff\xff", 10), NULL), 0);
	/* PF: restrict the hot page, reply with byte 12 set: closes */
	{
		struct kvmi_page_access_entry e = {.gpa = H_HOT, .access = 0};

		assert_int_equal(cmd(kvmi_encode_set_page_access_d(
					 H.dialect, B(&H), H.seq++, 0, &e, 1),
				     NULL),
				 0);
	}
	assert_int_equal(enable_event(KVMI_EVENT_PF), 0);
	m = run_event();
	assert_int_equal(m->event.event, KVMI_EVENT_PF);
	assert_int_equal(kvmi_v7_event_view(&m->event), 0);
	{
		struct kvmi_event_pf_reply pf;

		memset(&pf, 0, sizeof(pf));
		n = kvmi_encode_event_reply_pf_d(
		    KVMI_DIALECT_V6, reply, sizeof(reply), m->hdr.seq,
		    m->event.vcpu, KVMI_EVENT_ACTION_CONTINUE, &pf);
		assert_int_equal(n, (int)sizeof(reply));
		reply[8 + 16 + 12] = 1; /* v6 singlestep */
	}
	assert_int_equal(h_feed(&H, reply, sizeof(reply)), -1);
	assert_non_null(strstr(H.vm->close_reason, "padding"));
}

static void v7_2023_commands(void **state)
{
	enum kvmi_dialect d = KVMI_DIALECT_V7_2023;
	const struct test_msg *r;
	uint64_t next;

	(void)state;
	start(d, 0);
	assert_int_equal(check_command(39), 0);
	assert_int_equal(
	    cmd(kvmi_encode_get_next_available_gfn_d(d, B(&H), H.seq++), &r),
	    0);
	memcpy(&next, r->data, sizeof(next));
	assert_true(next >= H.vm->mem.npages);
	/* QEMU's helper waits on vCPU 0 only */
	assert_int_equal(
	    cmd(kvmi_encode_alloc_gfn_d(d, B(&H), H.seq++, 1, next), NULL),
	    -KVM_ETIME);
	assert_int_equal(
	    cmd(kvmi_encode_alloc_gfn_d(d, B(&H), H.seq++, 0, next), NULL), 0);
	assert_int_equal(
	    cmd(kvmi_encode_alloc_gfn_d(d, B(&H), H.seq++, 0, next), NULL),
	    -KVM_EINVAL);
	assert_int_equal(
	    cmd(kvmi_encode_get_next_available_gfn_d(d, B(&H), H.seq++), &r),
	    0);
	assert_int_equal(*(const uint64_t *)(const void *)r->data, next + 1);
	assert_int_equal(
	    cmd(kvmi_encode_free_gfn_d(d, B(&H), H.seq++, 0, next), NULL), 0);
	assert_int_equal(H.vm->ngfns, 0);
	assert_int_equal(
	    cmd(kvmi_encode_query_physical_d(d, B(&H), H.seq++, 3), &r), 0);
	assert_int_equal(r->data_len, 16);
	assert_int_equal(*(const uint64_t *)(const void *)(r->data + 8),
			 H.vm->mem.npages);
	assert_int_equal(cmd(kvmi_encode_query_physical_d(d, B(&H), H.seq++,
							  H.vm->mem.npages),
			     NULL),
			 -KVM_ENOENT);
	/* views are created on demand: 1, then 2; 1 goes, 2 stays valid */
	assert_int_equal(
	    cmd(kvmi_encode_set_ept_view_d(d, B(&H), H.seq++, 0, 1), NULL),
	    -KVM_EINVAL);
	assert_int_equal(
	    cmd(kvmi_encode_destroy_ept_view_d(d, B(&H), H.seq++, 1), NULL),
	    -KVM_EINVAL);
	for (uint16_t want = 1; want <= 2; want++) {
		assert_int_equal(
		    cmd(kvmi_encode_create_ept_view_d(d, B(&H), H.seq++), &r),
		    0);
		assert_int_equal(*(const uint16_t *)(const void *)r->data,
				 want);
	}
	assert_int_equal(
	    cmd(kvmi_encode_change_gfn_d(d, B(&H), H.seq++, 0, 2, 5, 5), NULL),
	    0);
	assert_int_equal(
	    cmd(kvmi_encode_destroy_ept_view_d(d, B(&H), H.seq++, 1), NULL), 0);
	assert_int_equal(H.vm->view_count, 3);
	assert_int_equal(
	    cmd(kvmi_encode_create_ept_view_d(d, B(&H), H.seq++), &r), 0);
	assert_int_equal(*(const uint16_t *)(const void *)r->data, 1);
	assert_int_equal(
	    cmd(kvmi_encode_destroy_ept_view_d(d, B(&H), H.seq++, 2), NULL), 0);
	assert_int_equal(H.vm->view_count, 2);
	assert_int_equal(
	    cmd(kvmi_encode_change_gfn_d(d, B(&H), H.seq++, 0, 2, 5, 5), NULL),
	    -KVM_EINVAL);
}

/* per-view access: a restriction acts only on the vCPUs running on its
 * view; events carry the view; the verdict counts every view */
static void v7_views(void **state)
{
	struct kvmi_page_access_entry e = {.gpa = H_HOT, .access = 0};
	const struct test_msg *m, *r;

	(void)state;
	start(KVMI_DIALECT_V7, 1u << FH_INSN_EXEC);
	assert_int_equal(enable_event(KVMI_EVENT_PF), 0);
	assert_int_equal(cmd(kvmi_encode_set_page_access_d(H.dialect, B(&H),
							   H.seq++, 1, &e, 1),
			     NULL),
			 0);
	assert_int_equal(H.vm->mem.restricted, 1);
	/* vCPU 0 on view 0: the view-1 restriction does not stop it */
	for (int i = 0; i < 8; i++)
		fh_vm_run(H.vm);
	assert_null(h_next(&H));
	/* on view 1 it faults, and the event says view 1 */
	assert_int_equal(
	    cmd(kvmi_encode_set_ept_view_d(H.dialect, B(&H), H.seq++, 0, 1),
		NULL),
	    0);
	assert_int_equal(
	    cmd(kvmi_encode_get_ept_view_d(H.dialect, B(&H), H.seq++, 0), &r),
	    0);
	assert_int_equal(*(const uint16_t *)(const void *)r->data, 1);
	m = run_event();
	assert_int_equal(m->event.event, KVMI_EVENT_PF);
	assert_int_equal(m->event.vcpu, 0);
	assert_int_equal(kvmi_v7_event_view(&m->event), 1);
	assert_int_equal(m->ev.pf.gpa, H_HOT);
	/* view 1 unrestricted again: nothing left in any view */
	e.access = KVMI_PAGE_ACCESS_RWX;
	assert_int_equal(cmd(kvmi_encode_set_page_access_d(H.dialect, B(&H),
							   H.seq++, 1, &e, 1),
			     NULL),
			 0);
	assert_int_equal(H.vm->mem.restricted, 0);
	assert_int_equal(reply_ok(m, KVMI_EVENT_ACTION_CONTINUE), 0);
	assert_int_equal(cmd(kvmi_encode_control_ept_view_d(H.dialect, B(&H),
							    H.seq++, 0, 2, 1),
			     NULL),
			 0);
	assert_int_equal(H.vm->vcpus[0].views_visible, 1u << 2);
}

/* the verdict covers every view; the report names the dialect and the
 * kvmi-v7 state left behind */
static void v7_verdict_every_view(void **state)
{
	struct kvmi_page_access_entry e = {.gpa = 0x9000, .access = 1};
	static const uint8_t uuid[16];
	struct fh_outcome o;
	struct fh_verdict v;
	char json[8192];
	FILE *f;

	(void)state;
	start(KVMI_DIALECT_V7_2023, 0);
	assert_int_equal(
	    cmd(kvmi_encode_create_ept_view_d(H.dialect, B(&H), H.seq++), NULL),
	    0);
	assert_int_equal(cmd(kvmi_encode_set_page_access_d(H.dialect, B(&H),
							   H.seq++, 1, &e, 1),
			     NULL),
			 0);
	assert_int_equal(
	    cmd(kvmi_encode_set_ept_view_d(H.dialect, B(&H), H.seq++, 1, 1),
		NULL),
	    0);
	memset(&o, 0, sizeof(o));
	o.name = "v7";
	o.uuid = uuid;
	o.handshake_ok = 1;
	o.end = "tool-closed";
	o.unhook_ms = -1;
	o.vm = H.vm;
	o.dialect = H.dialect;
	f = fmemopen(json, sizeof(json), "w");
	assert_non_null(f);
	fh_verdict_compute(&o, &v);
	assert_int_equal(fh_report_write(f, &o, &v), 0);
	fclose(f);
	assert_false(v.clean);
	assert_int_equal(v.pages_restricted, 1);
	assert_non_null(strstr(json, "\"dialect\":\"v7-2023\""));
	assert_non_null(strstr(json, "\"vcpus_off_view0\":1,"));
	assert_non_null(strstr(json, "\"views_created\":1,"));
	assert_non_null(strstr(json, "\"cmd_error\":0,\"cpuid\":0}"));
}

/* kvmi-v7: CREATE_VCPU enabled before the vCPUs first run is sent for
 * each of them; v6 sends it only for hot-plugged ones */
static void v7_create_vcpu_at_hook(void **state)
{
	enum kvmi_dialect all[] = {KVMI_DIALECT_V7, KVMI_DIALECT_V6};

	(void)state;
	for (int i = 0; i < 2; i++) {
		int seen[2] = {0, 0};

		start(all[i], 1u << FH_INSN_READ);
		assert_int_equal(cmd(kvmi_encode_control_vm_events_d(
					     H.dialect, B(&H), H.seq++,
					     KVMI_EVENT_CREATE_VCPU, 1),
				     NULL),
				 0);
		for (int k = 0; k < 4; k++) {
			const struct test_msg *m;

			fh_vm_run(H.vm);
			while ((m = h_next(&H))) {
				assert_int_equal(m->event.event,
						 KVMI_EVENT_CREATE_VCPU);
				seen[m->event.vcpu]++;
				EV = *m;
				assert_int_equal(
					reply_ok(&EV, KVMI_EVENT_ACTION_CONTINUE),
					0);
			}
		}
		assert_int_equal(seen[0], i == 0);
		assert_int_equal(seen[1], i == 0);
		if (i == 0)
			h_free(&H);
	}
}

/* ---- v12 ---- */

static void v12_ids_and_layouts(void **state)
{
	enum kvmi_dialect d = KVMI_DIALECT_V12;
	struct kvmi_v12_get_version_reply v;
	const struct test_msg *r;
	uint8_t byte;

	(void)state;
	start(d, 0);
	assert_int_equal(cmd(kvmi_encode_get_version(B(&H), H.seq++), &r), 0);
	assert_int_equal(r->data_len, 16);
	memcpy(&v, r->data, sizeof(v));
	assert_int_equal(v.max_msg_size, 8184);
	assert_int_equal(v.features.singlestep, 1);
	/* the safe probe of KVMI-V12.md sec. 5 */
	assert_int_equal(check_command(KVMI_V12_VCPU_TRANSLATE_GVA), 0);
	assert_int_equal(check_command(31), -KVM_ENOENT);
	assert_int_equal(
	    cmd(kvmi_encode_check_event_d(d, B(&H), H.seq++, 2), NULL),
	    -KVM_ENOENT);
	/* v6/v7 ids mean other things or nothing */
	assert_int_equal(cmd(h_raw(&H, 22, -1, NULL, 0), NULL), -KVM_ENOSYS);
	assert_int_equal(
	    cmd(kvmi_encode_get_guest_info_d(d, B(&H), H.seq++), &r), 0);
	assert_int_equal(*(const uint32_t *)(const void *)r->data, 2);
	/* vCPU header padding: -KVM_EINVAL, the channel stays */
	assert_int_equal(
	    cmd(h_raw(&H, KVMI_V12_VCPU_GET_INFO, -1, "\0\0\1\0\0\0\0\0", 8),
		NULL),
	    -KVM_EINVAL);
	/* READ/WRITE_PHYSICAL with the u16 size */
	assert_int_equal(cmd(kvmi_encode_write_physical_d(d, B(&H), H.seq++,
							  H_HOT, "\xcc", 1),
			     NULL),
			 0);
	assert_int_equal(
	    cmd(kvmi_encode_read_physical_d(d, B(&H), H.seq++, H_HOT, 1), &r),
	    0);
	memcpy(&byte, r->data, 1);
	assert_int_equal(byte, 0xcc);
	assert_int_equal(
	    cmd(kvmi_encode_read_physical_d(d, B(&H), H.seq++, 64ull << 20, 8),
		NULL),
	    -KVM_ENOENT);
	assert_int_equal(
	    cmd(kvmi_encode_control_cr_d(d, B(&H), H.seq++, 0, 3, 1), NULL), 0);
	assert_int_equal(H.vm->vcpus[0].crs, 1u << 3);
	assert_int_equal(
	    cmd(kvmi_encode_control_cleanup_d(d, B(&H), H.seq++, 1), NULL), 0);
	assert_int_equal(enable_event(KVMI_V12_VCPU_EVENT_BREAKPOINT), 0);
	assert_int_equal(H.vm->vcpus[0].events, 1u << KVMI_EVENT_BREAKPOINT);
}

static void v12_events_and_replies(void **state)
{
	enum kvmi_dialect d = KVMI_DIALECT_V12;
	const struct test_msg *m;

	(void)state;
	start(d, 1u << FH_INSN_EXEC);
	assert_int_equal(cmd(kvmi_encode_write_physical_d(d, B(&H), H.seq++,
							  H_HOT, "\xcc", 1),
			     NULL),
			 0);
	assert_int_equal(enable_event(KVMI_V12_VCPU_EVENT_BREAKPOINT), 0);
	m = run_event();
	assert_int_equal(m->hdr.id, KVMI_V12_VCPU_EVENT);
	assert_int_equal(m->hdr.size, 8 + 544 + 16);
	assert_int_equal(m->event.event, KVMI_V12_VCPU_EVENT_BREAKPOINT);
	assert_int_equal(m->ev.breakpoint.gpa, H_HOT);
	/* the reply is message 1; put the byte back, RETRY */
	assert_int_equal(
	    cmd(kvmi_encode_write_physical_d(
		    d, B(&H), H.seq++, H_HOT,
		    &(uint8_t){fh_memory_orig_byte(&H.vm->mem, H_HOT)}, 1),
		NULL),
	    0);
	assert_int_equal(h_reply(&H, m, KVMI_EVENT_ACTION_RETRY), 0);
	assert_int_equal(H.vm->stats.events_replied[KVMI_EVENT_BREAKPOINT], 1);
	/* PAUSE (16): index in the request; the event is v12's PAUSE (1) */
	assert_int_equal(
	    cmd(kvmi_encode_pause_vcpu_d(d, B(&H), H.seq++, 1, 0), NULL), 0);
	assert_int_equal(cmd(h_raw(&H, 16, -1, "\1\0\2\0\0\0\0\0", 8), NULL),
			 -KVM_EINVAL); /* wait 2 */
	m = run_event();
	assert_int_equal(m->event.event, KVMI_V12_VCPU_EVENT_PAUSE);
	assert_int_equal(m->event.vcpu, 1);
	assert_int_equal(reply_ok(m, KVMI_EVENT_ACTION_CONTINUE), 0);
	/* an event reply naming a vCPU that does not exist: error message 1 */
	assert_int_equal(
	    h_feed(&H, H.buf,
		   (size_t)kvmi_encode_event_reply_d(
		       d, B(&H), 77, 9, KVMI_V12_VCPU_EVENT_BREAKPOINT,
		       KVMI_EVENT_ACTION_CONTINUE)),
	    0);
	m = h_next(&H);
	assert_non_null(m);
	assert_int_equal(m->kind, KVMI_MSG_EVENT_REPLY_ERROR);
	assert_int_equal(m->hdr.id, 1);
	assert_int_equal(m->err, -KVM_EINVAL);
	/* injection: TRAP (9) follows, 16 bytes */
	assert_int_equal(cmd(kvmi_encode_inject_exception_d(d, B(&H), H.seq++,
							    1, 13, 0, 0, 0),
			     NULL),
			 0);
	m = run_event();
	assert_int_equal(m->event.event, KVMI_V12_VCPU_EVENT_TRAP);
	assert_int_equal(m->ev.v7_trap.vector, 13);
	assert_int_equal(reply_ok(m, KVMI_EVENT_ACTION_CONTINUE), 0);
	/* UNHOOK: message 0 with the event header only */
	assert_int_equal(
	    cmd(kvmi_encode_control_vm_events_d(d, B(&H), H.seq++,
						KVMI_V12_VM_EVENT_UNHOOK, 1),
		NULL),
	    0);
	assert_int_equal(fh_vm_unhook(H.vm), 0);
	m = h_next(&H);
	assert_non_null(m);
	assert_int_equal(m->hdr.id, KVMI_V12_VM_EVENT);
	assert_int_equal(m->hdr.size, 8);
	assert_int_equal(m->event.event, KVMI_V12_VM_EVENT_UNHOOK);
}

/* every command of @d once (vCPU 0 or 1), into @out; its length */
static size_t all_commands(enum kvmi_dialect d, uint8_t *out, size_t cap)
{
	static const uint32_t msrs[] = {0x174, 0xc0000080};
	struct kvmi_page_access_entry e = {.gpa = H_HOT, .access = 3};
	struct kvm_regs regs;
	uint8_t b[KVMI_ENCODE_MAX];
	size_t len = 0;
	uint32_t seq = 1;

	memset(&regs, 0, sizeof(regs));
	for (int i = 0;; i++) {
		int r;

		switch (i) {
		case 0:
			r = kvmi_encode_get_version(b, sizeof(b), seq++);
			break;
		case 1:
			r = kvmi_encode_check_command_d(d, b, sizeof(b), seq++,
							7);
			break;
		case 2:
			r = kvmi_encode_check_event_d(d, b, sizeof(b), seq++,
						      5);
			break;
		case 3:
			r = kvmi_encode_get_guest_info_d(d, b, sizeof(b),
							 seq++);
			break;
		case 4:
			r = kvmi_encode_get_vcpu_info_d(d, b, sizeof(b), seq++,
							1);
			break;
		case 5:
			r = kvmi_encode_pause_vcpu_d(d, b, sizeof(b), seq++, 1,
						     0);
			break;
		case 6:
			r = kvmi_encode_control_vm_events_d(d, b, sizeof(b),
							    seq++, 0, 1);
			break;
		case 7:
			r = kvmi_encode_control_events_d(
			    d, b, sizeof(b), seq++, 0,
			    (uint16_t)kvmi_dialect_event_to_wire(
				d, KVMI_EVENT_BREAKPOINT),
			    1);
			break;
		case 8:
			r = kvmi_encode_control_cr_d(d, b, sizeof(b), seq++, 0,
						     3, 1);
			break;
		case 9:
			r = kvmi_encode_control_msr_d(d, b, sizeof(b), seq++, 0,
						      0x174, 1);
			break;
		case 10:
			r = kvmi_encode_get_registers_d(d, b, sizeof(b), seq++,
							0, msrs, 2);
			break;
		case 11:
			r = kvmi_encode_set_registers_d(d, b, sizeof(b), seq++,
							0, &regs);
			break;
		case 12:
			r = kvmi_encode_get_cpuid_d(d, b, sizeof(b), seq++, 0,
						    1, 0);
			break;
		case 13:
			r = kvmi_encode_get_xsave_d(d, b, sizeof(b), seq++, 0);
			break;
		case 14:
			r = kvmi_encode_read_physical_d(d, b, sizeof(b), seq++,
							H_HOT, 8);
			break;
		case 15:
			r = kvmi_encode_write_physical_d(d, b, sizeof(b), seq++,
							 H_HOT, "\xcc", 1);
			break;
		case 16:
			r = kvmi_encode_inject_exception_d(
			    d, b, sizeof(b), seq++, 0, 14, 1, 2, 0x7000);
			break;
		case 17:
			r = kvmi_encode_set_page_access_d(d, b, sizeof(b),
							  seq++, 0, &e, 1);
			break;
		case 18:
			r = kvmi_encode_get_mtrr_type_d(d, b, sizeof(b), seq++,
							0, H_HOT);
			break;
		case 19:
			r = kvmi_encode_control_cmd_response_d(d, b, sizeof(b),
							       seq++, 1, 1, 0);
			break;
		case 20:
			r = kvmi_encode_get_max_gfn_d(d, b, sizeof(b), seq++);
			break;
		case 21:
			r = kvmi_encode_set_ept_view_d(d, b, sizeof(b), seq++,
						       0, 1);
			break;
		case 22:
			r = kvmi_encode_get_ept_view_d(d, b, sizeof(b), seq++,
						       0);
			break;
		case 23:
			r = kvmi_encode_control_ept_view_d(d, b, sizeof(b),
							   seq++, 0, 1, 1);
			break;
		case 24:
			r = kvmi_encode_translate_gva_d(d, b, sizeof(b), seq++,
							0, H_HOT);
			break;
		case 25:
			r = kvmi_encode_get_xcr_d(d, b, sizeof(b), seq++, 0, 0);
			break;
		case 26:
			r = kvmi_encode_set_xsave_d(d, b, sizeof(b), seq++, 0,
						    &regs, sizeof(regs));
			break;
		case 27:
			r = kvmi_encode_change_gfn_d(d, b, sizeof(b), seq++, 0,
						     0, 5, 6);
			break;
		case 28:
			r = kvmi_encode_control_singlestep_d(d, b, sizeof(b),
							     seq++, 0, 1);
			break;
		case 29:
			r = kvmi_encode_create_ept_view_d(d, b, sizeof(b),
							  seq++);
			break;
		case 30:
			r = kvmi_encode_alloc_gfn_d(d, b, sizeof(b), seq++, 0,
						    1u << 20);
			break;
		case 31:
			r = kvmi_encode_query_physical_d(d, b, sizeof(b), seq++,
							 1);
			break;
		case 32:
			r = kvmi_encode_control_cleanup_d(d, b, sizeof(b),
							  seq++, 1);
			break;
		case 33:
			r = kvmi_encode_set_page_sve_d(d, b, sizeof(b), seq++,
						       0, H_HOT, 1);
			break;
		case 34:
			r = kvmi_encode_event_reply_d(
			    d, b, sizeof(b), 1, 0,
			    (uint8_t)kvmi_dialect_event_to_wire(
				d, KVMI_EVENT_BREAKPOINT),
			    KVMI_EVENT_ACTION_CONTINUE);
			break;
		default:
			return len;
		}
		if (r < 0) /* not in this dialect */
			continue;
		assert_true(len + (size_t)r <= cap);
		memcpy(out + len, b, (size_t)r);
		len += (size_t)r;
	}
}

/* Mutated command streams in every dialect, fed in odd chunks with the
 * vCPUs running in between: the host never reads outside a message
 * (ASan/valgrind) and everything it sends decodes in its dialect
 * (kvmi-v7 and v12: an error reply to any id decodes there). */
static void mutated_tool_streams(void **state)
{
	static uint8_t base[16384], s[16384];
	uint64_t rng = 0x2545f4914f6cdd1dull;

	(void)state;
	for (unsigned dl = 0; dl < KVMI_NUM_DIALECTS; dl++) {
		size_t len =
		    all_commands((enum kvmi_dialect)dl, base, sizeof(base));

		for (int round = 0; round < 400; round++) {
			size_t pos = 0;

			memcpy(s, base, len);
			for (int k = 0; k < round % 5; k++) {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				s[rng % len] ^=
				    (uint8_t)(1u << (rng >> 40) % 8);
			}
			start((enum kvmi_dialect)dl, 0);
			while (pos < len && !H.vm->closed) {
				size_t n = 1 + (rng >> (pos % 32)) % 97;

				if (n > len - pos)
					n = len - pos;
				h_feed(&H, s + pos, n);
				pos += n;
				fh_vm_run(H.vm);
				/* v6 answers unknown ids that its decoder
				 * does not take: only the others are read */
				if (dl == KVMI_DIALECT_V6)
					fh_buf_consume(&H.vm->out,
						       H.vm->out.len);
				while (h_next(&H)) /* asserts each decodes */
					;
			}
			h_free(&H);
		}
	}
	start(KVMI_DIALECT_V6, 0); /* for the teardown */
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
	const struct CMUnitTest tests[] = {
	    T(v7_get_version_and_ids),
	    T(v7_closes_on_unknown_with_replies_off),
	    T(v7_cmd_error_event),
	    T(v7_pause_reads_the_vcpu_header),
	    T(v7_get_registers_zeroes_after_bad_msr),
	    T(v7_trap_after_every_injection),
	    T(v7_singlestep_events),
	    T(v7_cpuid_event),
	    T(v7_size_and_reply_rules),
	    T(v7_2023_commands),
	    T(v7_views),
	    T(v7_verdict_every_view),
	    T(v7_create_vcpu_at_hook),
	    T(v12_ids_and_layouts),
	    T(v12_events_and_replies),
	    T(mutated_tool_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

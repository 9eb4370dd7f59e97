/*
 * libkvmi - tests/gen-captures.c: generate the recorded message streams of
 * tests/data/ from the protocol reference, with the library's encoders.
 *
 * Usage: gen-captures OUTDIR
 * Every capture holds the KVMI messages of one connection after the QEMU
 * handshake; record times are synthetic (1 us apart) and the start time
 * is fixed, so regenerating gives identical files.  tests/data/README
 * describes each capture.  The v7-*, v7-2023-* and v12-* captures speak
 * those dialects (KVMI-V7.md, KVMI-V12.md), built with the *_d encoders.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kvmi/capture.h>
#include "host_encoder.h"

#define H2T KVMI_DIR_HOST_TO_TOOL
#define T2H KVMI_DIR_TOOL_TO_HOST

static struct kvmi_capture_writer *w;
static uint64_t now_ns;
static uint32_t tool_seq, host_seq;
static uint8_t buf[KVMI_ENCODE_MAX + 1024];

static void die(const char *what, int err)
{
	fprintf(stderr, "gen-captures: %s: %s\n", what, kvmi_strerror(err));
	exit(1);
}

static void rec(enum kvmi_direction dir, const void *p, size_t len)
{
	int err = kvmi_capture_writer_add(w, KVMI_CAPTURE_DATA, dir, now_ns, p,
					  len);

	if (err)
		die("write record", err);
	now_ns += 1000;
}

static void emit(enum kvmi_direction dir, int n)
{
	if (n < 0)
		die("encode", n);
	rec(dir, buf, (size_t)n);
}

static void open_capture(const char *dir, const char *name)
{
	char path[4096];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s.kvmicap", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path, -errno);
	err = kvmi_capture_writer_open_fd_start(fd, 1700000000000000000ull, &w);
	if (err)
		die(path, err);
	now_ns = 0;
	tool_seq = 1;
	host_seq = 0;
}

static void close_capture(void)
{
	int err = kvmi_capture_writer_close(w);

	if (err)
		die("close", err);
	w = NULL;
}

/* ---- building blocks ---- */

static void fill_arch(struct kvmi_event *ev, uint16_t vcpu, uint8_t id)
{
	memset(ev, 0, sizeof(*ev));
	ev->vcpu = vcpu;
	ev->event = id;
	if (id == KVMI_EVENT_UNHOOK) {
		ev->vcpu = 0;
		return;
	}
	ev->arch.mode = KVMI_MODE_64;
	ev->arch.regs.rip = 0xfffff80000401000ull + id * 0x10;
	ev->arch.regs.rsp = 0xfffff80000a00000ull;
	ev->arch.regs.rflags = 0x202;
	ev->arch.sregs.cr0 = 0x80050033;
	ev->arch.sregs.cr3 = 0x1aa000;
	ev->arch.sregs.cr4 = 0x3506f8;
	ev->arch.sregs.efer = 0xd01;
	ev->arch.sregs.cs.l = 1;
	ev->arch.msrs.efer = 0xd01;
	ev->arch.msrs.lstar = 0xfffff80000402000ull;
}

static uint32_t host_event(uint16_t vcpu, uint8_t id, size_t common_size)
{
	struct kvmi_event ev;
	union kvmi_event_data d;
	int dsize = kvmi_event_data_size(id);

	fill_arch(&ev, vcpu, id);
	memset(&d, 0, sizeof(d));
	switch (id) {
	case KVMI_EVENT_CR:
		d.cr.cr = 3;
		d.cr.old_value = 0x1aa000;
		d.cr.new_value = 0x2bb000;
		break;
	case KVMI_EVENT_MSR:
		d.msr.msr = 0xc0000082;
		d.msr.old_value = 0xfffff80000402000ull;
		d.msr.new_value = 0xfffff80000403000ull;
		break;
	case KVMI_EVENT_BREAKPOINT:
		d.breakpoint.gpa = 0x401000;
		d.breakpoint.insn_len = 1;
		break;
	case KVMI_EVENT_PF:
		d.pf.gva = 0xfffff80000500010ull;
		d.pf.gpa = 0x500010;
		d.pf.access = KVMI_PAGE_ACCESS_W;
		break;
	case KVMI_EVENT_TRAP:
		d.trap.vector = 14;
		d.trap.type = 0x300;
		d.trap.error_code = 2;
		d.trap.cr2 = 0x7000;
		break;
	case KVMI_EVENT_DESCRIPTOR:
		d.descriptor.descriptor = KVMI_DESC_IDTR;
		d.descriptor.write = 1;
		break;
	default:
		break;
	}
	emit(H2T, kvmi_encode_event(buf, sizeof(buf), ++host_seq, &ev,
				    common_size, &d, (size_t)dsize));
	return host_seq;
}

static void tool_event_reply(uint32_t seq, uint16_t vcpu, uint8_t id,
			     uint8_t action)
{
	struct kvmi_event_pf_reply pf;

	switch (id) {
	case KVMI_EVENT_CR:
		emit(T2H, kvmi_encode_event_reply_cr(buf, sizeof(buf), seq, vcpu,
						     action, 0x2bb000));
		break;
	case KVMI_EVENT_MSR:
		emit(T2H, kvmi_encode_event_reply_msr(buf, sizeof(buf), seq,
						      vcpu, action,
						      0xfffff80000403000ull));
		break;
	case KVMI_EVENT_PF:
		memset(&pf, 0, sizeof(pf));
		pf.ctx_addr = 0xfffff80000500010ull;
		pf.ctx_size = 4;
		memcpy(pf.ctx_data, "\x90\x90\x90\x90", 4);
		emit(T2H, kvmi_encode_event_reply_pf(buf, sizeof(buf), seq, vcpu,
						     action, &pf));
		break;
	default:
		emit(T2H, kvmi_encode_event_reply(buf, sizeof(buf), seq, vcpu, id,
						  action));
	}
}

/* tool command (already encoded in buf with length n) + host reply */
static void exchange(int n, uint16_t id, int32_t err, const void *data,
		     size_t dlen)
{
	uint32_t seq = tool_seq - 1;

	emit(T2H, n);
	emit(H2T, kvmi_encode_reply(buf, sizeof(buf), id, seq, err, data, dlen));
}

#define S (tool_seq++)

static void full_session(void)
{
	struct kvmi_get_version_reply ver = {.version = KVMI_VERSION};
	struct kvmi_get_guest_info_reply gi = {.vcpu_count = 2};
	struct kvmi_get_vcpu_info_reply vi = {.tsc_speed = 2400000000ull};
	struct kvmi_get_cpuid_reply cpuid = {0xd, 0x756e6547, 0x6c65746e,
					     0x49656e69};
	struct kvmi_get_max_gfn_reply gfn = {.gfn = 0x3ffff};
	struct kvmi_get_mtrr_type_reply mtrr = {.type = 6};
	struct kvmi_get_map_token_reply tok = {{{1, 2, 3, 4}}};
	struct kvm_regs regs = {.rip = 0xfffff80000401001ull, .rsp = 0x1000};
	static uint8_t xsave[4096];
	uint8_t regsreply[sizeof(struct kvmi_get_registers_reply) +
			  2 * sizeof(struct kvm_msr_entry)];
	struct kvmi_get_registers_reply *rr = (void *)regsreply;
	struct kvm_msr_entry *me =
		(void *)(regsreply + sizeof(struct kvmi_get_registers_reply));
	uint32_t msrs[2] = {0x174, 0xc0000082};
	uint64_t gpas[3] = {0x401000, 0x500000, 0x600000};
	uint8_t access[3] = {7, 3, 7};
	struct kvmi_page_access_entry pae[2] = {{.gpa = 0x500000, .access = 3},
						{.gpa = 0x501000, .access = 5}};
	struct kvmi_page_write_bitmap_entry wbe = {.gpa = 0x500000,
						   .bitmap = 0xffff0000};
	const char mem[16] = "\x55\x48\x89\xe5\xcc\x90\x90\x90"
			     "\x48\x83\xec\x20\xc3\x00\x00\x00";

	memset(regsreply, 0, sizeof(regsreply));
	rr->mode = KVMI_MODE_64;
	rr->regs.rip = 0xfffff80000401000ull;
	rr->sregs.cr3 = 0x1aa000;
	rr->msrs.nmsrs = 2;
	me[0].index = 0x174;
	me[0].data = 0x10;
	me[1].index = 0xc0000082;
	me[1].data = 0xfffff80000402000ull;

	exchange(kvmi_encode_get_version(buf, sizeof(buf), S), KVMI_GET_VERSION,
		 0, &ver, sizeof(ver));
	exchange(kvmi_encode_check_command(buf, sizeof(buf), S,
					   KVMI_READ_PHYSICAL),
		 KVMI_CHECK_COMMAND, 0, NULL, 0);
	exchange(kvmi_encode_check_event(buf, sizeof(buf), S,
					 KVMI_EVENT_DESCRIPTOR),
		 KVMI_CHECK_EVENT, -KVM_EPERM, NULL, 0);
	exchange(kvmi_encode_get_guest_info(buf, sizeof(buf), S),
		 KVMI_GET_GUEST_INFO, 0, &gi, sizeof(gi));
	exchange(kvmi_encode_get_vcpu_info(buf, sizeof(buf), S, 1),
		 KVMI_GET_VCPU_INFO, 0, &vi, sizeof(vi));
	exchange(kvmi_encode_control_vm_events(buf, sizeof(buf), S,
					       KVMI_EVENT_UNHOOK, 1),
		 KVMI_CONTROL_VM_EVENTS, 0, NULL, 0);
	exchange(kvmi_encode_control_vm_events(buf, sizeof(buf), S,
					       KVMI_EVENT_CREATE_VCPU, 1),
		 KVMI_CONTROL_VM_EVENTS, 0, NULL, 0);
	for (uint16_t e = KVMI_EVENT_CR; e < KVMI_NUM_EVENTS; e++)
		if (e != KVMI_EVENT_CREATE_VCPU)
			exchange(kvmi_encode_control_events(buf, sizeof(buf), S,
							    0, e, 1),
				 KVMI_CONTROL_EVENTS,
				 e == KVMI_EVENT_DESCRIPTOR ? -KVM_EPERM : 0,
				 NULL, 0);
	exchange(kvmi_encode_control_cr(buf, sizeof(buf), S, 0, 3, 1),
		 KVMI_CONTROL_CR, 0, NULL, 0);
	exchange(kvmi_encode_control_msr(buf, sizeof(buf), S, 0, 0xc0000082, 1),
		 KVMI_CONTROL_MSR, 0, NULL, 0);
	exchange(kvmi_encode_command_raw(buf, sizeof(buf), KVMI_CONTROL_VE, S,
					 0, 0, NULL, 0),
		 KVMI_CONTROL_VE, -KVM_EOPNOTSUPP, NULL, 0);
	exchange(kvmi_encode_get_registers(buf, sizeof(buf), S, 0, msrs, 2),
		 KVMI_GET_REGISTERS, 0, regsreply, sizeof(regsreply));
	exchange(kvmi_encode_get_registers(buf, sizeof(buf), S, 5, NULL, 0),
		 KVMI_GET_REGISTERS, -KVM_EINVAL, NULL, 0);
	exchange(kvmi_encode_get_cpuid(buf, sizeof(buf), S, 0, 0, 0),
		 KVMI_GET_CPUID, 0, &cpuid, sizeof(cpuid));
	exchange(kvmi_encode_get_cpuid(buf, sizeof(buf), S, 0, 0x4fffffff, 0),
		 KVMI_GET_CPUID, -KVM_ENOENT, NULL, 0);
	exchange(kvmi_encode_get_xsave(buf, sizeof(buf), S, 0), KVMI_GET_XSAVE,
		 0, xsave, sizeof(xsave));
	exchange(kvmi_encode_read_physical(buf, sizeof(buf), S, 0x401000, 16),
		 KVMI_READ_PHYSICAL, 0, mem, sizeof(mem));
	exchange(kvmi_encode_write_physical(buf, sizeof(buf), S, 0x401004,
					    "\xcc", 1),
		 KVMI_WRITE_PHYSICAL, 0, NULL, 0);
	exchange(kvmi_encode_inject_exception(buf, sizeof(buf), S, 0, 14, 1, 2,
					      0x7000),
		 KVMI_INJECT_EXCEPTION, 0, NULL, 0);
	exchange(kvmi_encode_get_page_access(buf, sizeof(buf), S, 0, gpas, 3),
		 KVMI_GET_PAGE_ACCESS, 0, access, sizeof(access));
	exchange(kvmi_encode_set_page_access(buf, sizeof(buf), S, 0, pae, 2),
		 KVMI_SET_PAGE_ACCESS, 0, NULL, 0);
	exchange(kvmi_encode_get_map_token(buf, sizeof(buf), S),
		 KVMI_GET_MAP_TOKEN, 0, &tok, sizeof(tok));
	exchange(kvmi_encode_get_mtrr_type(buf, sizeof(buf), S, 0, 0x401000),
		 KVMI_GET_MTRR_TYPE, 0, &mtrr, sizeof(mtrr));
	exchange(kvmi_encode_control_spp(buf, sizeof(buf), S, 1),
		 KVMI_CONTROL_SPP, -KVM_EOPNOTSUPP, NULL, 0);
	exchange(kvmi_encode_get_page_write_bitmap(buf, sizeof(buf), S, 0, gpas,
						   1),
		 KVMI_GET_PAGE_WRITE_BITMAP, -KVM_EOPNOTSUPP, NULL, 0);
	exchange(kvmi_encode_set_page_write_bitmap(buf, sizeof(buf), S, 0, &wbe,
						   1),
		 KVMI_SET_PAGE_WRITE_BITMAP, -KVM_EOPNOTSUPP, NULL, 0);
	exchange(kvmi_encode_control_cmd_response(buf, sizeof(buf), S, 1, 1),
		 KVMI_CONTROL_CMD_RESPONSE, 0, NULL, 0);
	exchange(kvmi_encode_get_max_gfn(buf, sizeof(buf), S), KVMI_GET_MAX_GFN,
		 0, &gfn, sizeof(gfn));
	exchange(kvmi_encode_pause_vcpu(buf, sizeof(buf), S, 1, 1),
		 KVMI_PAUSE_VCPU, 0, NULL, 0);

	/* every vCPU event, each answered with an action it accepts */
	for (uint8_t e = KVMI_EVENT_CR; e < KVMI_NUM_EVENTS; e++) {
		uint16_t vcpu = e == KVMI_EVENT_PAUSE_VCPU ? 1 : 0;
		uint32_t seq = host_event(vcpu, e, sizeof(struct kvmi_event));
		uint8_t action = (e == KVMI_EVENT_BREAKPOINT ||
				  e == KVMI_EVENT_DESCRIPTOR)
					 ? KVMI_EVENT_ACTION_RETRY
					 : KVMI_EVENT_ACTION_CONTINUE;

		if (e == KVMI_EVENT_BREAKPOINT) {
			/* restore the byte, move on, then retry */
			exchange(kvmi_encode_write_physical(buf, sizeof(buf), S,
							    0x401000, "\x55", 1),
				 KVMI_WRITE_PHYSICAL, 0, NULL, 0);
			exchange(kvmi_encode_set_registers(buf, sizeof(buf), S,
							   vcpu, &regs),
				 KVMI_SET_REGISTERS, 0, NULL, 0);
		}
		tool_event_reply(seq, vcpu, e, action);
	}
	/* the host refuses an event reply for a vCPU it does not have */
	{
		uint32_t seq = host_event(1, KVMI_EVENT_HYPERCALL,
					  sizeof(struct kvmi_event));

		tool_event_reply(seq, 7, KVMI_EVENT_HYPERCALL,
				 KVMI_EVENT_ACTION_CONTINUE);
		emit(H2T, kvmi_encode_event_reply_error(buf, sizeof(buf), seq,
							-KVM_EINVAL));
		tool_event_reply(seq, 1, KVMI_EVENT_HYPERCALL,
				 KVMI_EVENT_ACTION_CONTINUE);
	}
	/* pipelined restore with replies off, one confirmation */
	emit(T2H, kvmi_encode_control_cmd_response(buf, sizeof(buf), S, 0, 1));
	emit(T2H, kvmi_encode_write_physical(buf, sizeof(buf), S, 0x401004,
					     "\x90", 1));
	pae[0].access = 7;
	pae[1].access = 7;
	emit(T2H, kvmi_encode_set_page_access(buf, sizeof(buf), S, 0, pae, 2));
	emit(T2H, kvmi_encode_control_events(buf, sizeof(buf), S, 0,
					     KVMI_EVENT_BREAKPOINT, 0));
	exchange(kvmi_encode_control_cmd_response(buf, sizeof(buf), S, 1, 1),
		 KVMI_CONTROL_CMD_RESPONSE, 0, NULL, 0);
	/* QEMU asks for the unhook: no reply, the tool closes */
	host_event(0, KVMI_EVENT_UNHOOK, sizeof(struct kvmi_event));
	kvmi_capture_writer_add(w, KVMI_CAPTURE_EOF, T2H, now_ns, NULL, 0);
	kvmi_capture_writer_add(w, KVMI_CAPTURE_EOF, H2T, now_ns, NULL, 0);
}

static void events_during_command(void)
{
	uint8_t mem[4096];
	int n;
	uint32_t s1, s2, seq;

	memset(mem, 0x90, sizeof(mem));
	n = kvmi_encode_read_physical(buf, sizeof(buf), tool_seq, 0x7000, 4096);
	seq = tool_seq++;
	emit(T2H, n);
	s1 = host_event(0, KVMI_EVENT_BREAKPOINT, sizeof(struct kvmi_event));
	s2 = host_event(1, KVMI_EVENT_CR, sizeof(struct kvmi_event));
	emit(H2T, kvmi_encode_reply(buf, sizeof(buf), KVMI_READ_PHYSICAL, seq, 0,
				    mem, sizeof(mem)));
	/* vCPU command while vCPU 1 waits: answered before the event reply */
	exchange(kvmi_encode_get_registers(buf, sizeof(buf), S, 1, NULL, 0),
		 KVMI_GET_REGISTERS, -KVM_EAGAIN, NULL, 0);
	tool_event_reply(s2, 1, KVMI_EVENT_CR, KVMI_EVENT_ACTION_CONTINUE);
	tool_event_reply(s1, 0, KVMI_EVENT_BREAKPOINT,
			 KVMI_EVENT_ACTION_CONTINUE);
}

static void common_size_variant(size_t common_size)
{
	for (uint8_t e = KVMI_EVENT_CR; e < KVMI_NUM_EVENTS; e++) {
		uint32_t seq = host_event(0, e, common_size);

		tool_event_reply(seq, 0, e, KVMI_EVENT_ACTION_CONTINUE);
	}
}

/* a valid prefix, then the malformed message */
static void malformed(const char *kind)
{
	struct kvmi_msg_hdr h = {0};
	size_t n;

	tool_event_reply(host_event(0, KVMI_EVENT_XSETBV,
				    sizeof(struct kvmi_event)),
			 0, KVMI_EVENT_XSETBV, KVMI_EVENT_ACTION_CONTINUE);
	/* a breakpoint event built in buf, then corrupted */
	{
		struct kvmi_event ev;
		struct kvmi_event_breakpoint bp = {.gpa = 0x401000, .insn_len = 1};
		int len;

		fill_arch(&ev, 0, KVMI_EVENT_BREAKPOINT);
		len = kvmi_encode_event(buf, sizeof(buf), ++host_seq, &ev,
					sizeof(ev), &bp, sizeof(bp));
		if (len < 0)
			die("encode", len);
		n = (size_t)len;
	}
	if (!strcmp(kind, "trunc-header")) {
		rec(H2T, buf, 5);
	} else if (!strcmp(kind, "trunc-body")) {
		rec(H2T, buf, n - 100);
	} else if (!strcmp(kind, "oversized")) {
		static uint8_t big[8 + 9000];

		h.id = KVMI_EVENT;
		h.size = 9000;
		h.seq = host_seq;
		memcpy(big, &h, sizeof(h));
		rec(H2T, big, sizeof(big));
		return;
	} else if (!strcmp(kind, "common-short")) {
		buf[8] = 4;
		buf[9] = 0;
		rec(H2T, buf, n);
	} else if (!strcmp(kind, "common-overrun")) {
		uint16_t cs = 600;

		memcpy(buf + 8, &cs, 2);
		rec(H2T, buf, n);
	} else if (!strcmp(kind, "unknown-msg")) {
		h.id = 77;
		h.size = 8;
		h.seq = 5;
		memset(buf, 0, 16);
		memcpy(buf, &h, sizeof(h));
		rec(H2T, buf, 16);
	} else if (!strcmp(kind, "unknown-event")) {
		buf[8 + 4] = 12;
		rec(H2T, buf, n);
	} else if (!strcmp(kind, "payload-short")) {
		uint16_t sz = (uint16_t)(n - 8 - 8);

		memcpy(buf + 2, &sz, 2);
		rec(H2T, buf, n - 8);
	}
	kvmi_capture_writer_add(w, KVMI_CAPTURE_EOF, H2T, now_ns, NULL, 0);
}

/* ---- other dialects ---- */

static enum kvmi_dialect dl;

/* the command in buf (length n) and the host's reply to its id */
static void dx(int n, int32_t err, const void *data, size_t dlen)
{
	struct kvmi_msg_hdr h;

	if (n < 0)
		die("encode", n);
	memcpy(&h, buf, sizeof(h));
	emit(T2H, n);
	emit(H2T, kvmi_encode_reply(buf, sizeof(buf), h.id, h.seq, err, data,
				    dlen));
}

/* a host event of common id @id with @len bytes of @data; its seq */
static uint32_t dev(uint16_t vcpu, uint8_t id, const void *data, size_t len,
		    uint16_t view)
{
	struct kvmi_event ev;
	int wire = kvmi_dialect_event_to_wire(dl, id);

	if (wire < 0)
		die("event id", -EINVAL);
	fill_arch(&ev, vcpu, id);
	if (id == KVMI_EVENT_UNHOOK || id == KVMI_V7_EVENT_CMD_ERROR) {
		memset(&ev.arch, 0, sizeof(ev.arch));
		ev.vcpu = 0;
	}
	ev.event = (uint8_t)wire;
	ev.arch.view = view; /* kvmi-v7 arch.view */
	emit(H2T, kvmi_encode_event_d(dl, buf, sizeof(buf), ++host_seq, &ev,
				      sizeof(ev), data, len));
	return host_seq;
}

/* the tool's reply to event @seq (common id @id) */
static void dreply(uint32_t seq, uint16_t vcpu, uint8_t id, uint8_t action,
		   uint64_t new_val)
{
	int wire = kvmi_dialect_event_to_wire(dl, id);

	if (id == KVMI_EVENT_CR)
		emit(T2H, kvmi_encode_event_reply_cr_d(dl, buf, sizeof(buf), seq,
						       vcpu, action, new_val));
	else if (id == KVMI_EVENT_MSR)
		emit(T2H, kvmi_encode_event_reply_msr_d(dl, buf, sizeof(buf),
							seq, vcpu, action,
							new_val));
	else
		emit(T2H, kvmi_encode_event_reply_d(dl, buf, sizeof(buf), seq,
						    vcpu, (uint8_t)wire, action));
}

/*
 * A kvmi-v7 session: the 16-byte GET_VERSION reply, the generation probe
 * (CHECK_COMMAND 39: -KVM_EPERM on 2021, 0 on 2023), ids gone since v6
 * (-KVM_ENOSYS), views, TRAP after an injection, CPUID, SINGLESTEP with
 * failed, CMD_ERROR while replies are off, a PF on view 1 with rep_complete,
 * the kvmi-v7 commands (2023: QUERY_PHYSICAL, GFNs, CHANGE_GFN with view),
 * UNHOOK.
 */
static void v7_session(int gen2023)
{
	struct kvmi_v7_get_version_reply ver = {
		.version = 1,
		.features = {.spp = 0, .vmfunc = 1, .eptp = 1, .ve = 1,
			     .singlestep = 1}};
	struct kvmi_get_guest_info_reply gi = {.vcpu_count = 2};
	struct kvmi_page_access_entry pae = {.gpa = 0x500000, .access = 5};
	struct kvmi_v7_vcpu_get_ept_view_reply view = {.view = 1};
	struct kvmi_v7_event_trap trap = {.vector = 14, .error_code = 2,
					  .cr2 = 0x7000};
	struct kvmi_v7_event_singlestep ss0 = {.failed = 0}, ss1 = {.failed = 1};
	struct kvmi_v7_event_cpuid cpuid = {.function = 0x40000000,
					    .insn_length = 2};
	struct kvmi_v7_event_cmd_error ce = {.err = -KVM_EINVAL};
	struct kvmi_event_breakpoint bp = {.gpa = 0x401000, .insn_len = 1};
	struct kvmi_v7_event_pf pf = {.gva = 0xfffff80000500010ull,
				      .gpa = 0x500010,
				      .access = KVMI_PAGE_ACCESS_W};
	struct kvmi_event_pf_reply pfr;
	uint64_t gpa = 0x401000, xcr0 = 7, gfn = 0x40000;
	struct kvmi_v7_vm_query_physical_reply qp = {.gfn = 0, .size = 0x40000};
	static uint8_t area[512];
	uint32_t seq;

	dl = gen2023 ? KVMI_DIALECT_V7_2023 : KVMI_DIALECT_V7;
	dx(kvmi_encode_get_version(buf, sizeof(buf), S), 0, &ver, sizeof(ver));
	dx(kvmi_encode_check_command_d(dl, buf, sizeof(buf), S,
				       KVMI_V7_VM_QUERY_PHYSICAL),
	   gen2023 ? 0 : -KVM_EPERM, NULL, 0);
	dx(kvmi_encode_check_command_d(dl, buf, sizeof(buf), S,
				       KVMI_V7_VCPU_CONTROL_SINGLESTEP),
	   0, NULL, 0);
	dx(kvmi_encode_check_command_d(dl, buf, sizeof(buf), S, 0xffff),
	   -KVM_EINVAL, NULL, 0);
	dx(kvmi_encode_command_raw(buf, sizeof(buf), 12, S, 0, 0, NULL, 0),
	   -KVM_ENOSYS, NULL, 0);
	dx(kvmi_encode_get_guest_info_d(dl, buf, sizeof(buf), S), 0, &gi,
	   sizeof(gi));
	dx(kvmi_encode_control_vm_events_d(dl, buf, sizeof(buf), S,
					   KVMI_EVENT_UNHOOK, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 0,
					KVMI_EVENT_BREAKPOINT, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 0,
					KVMI_V7_EVENT_CPUID, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 1,
					KVMI_EVENT_SINGLESTEP, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 1,
					KVMI_EVENT_PF, 1),
	   0, NULL, 0);
	dx(kvmi_encode_set_page_access_d(dl, buf, sizeof(buf), S, 1, &pae, 1),
	   0, NULL, 0);
	dx(kvmi_encode_set_ept_view_d(dl, buf, sizeof(buf), S, 1, 1), 0, NULL,
	   0);
	dx(kvmi_encode_get_ept_view_d(dl, buf, sizeof(buf), S, 1), 0, &view,
	   sizeof(view));
	dx(kvmi_encode_control_ept_view_d(dl, buf, sizeof(buf), S, 1, 1, 1), 0,
	   NULL, 0);
	dx(kvmi_encode_set_page_sve_d(dl, buf, sizeof(buf), S, 1, 0x500000, 0),
	   0, NULL, 0);
	dx(kvmi_encode_set_ve_info_d(dl, buf, sizeof(buf), S, 1, 0x9000, 0), 0,
	   NULL, 0);
	dx(kvmi_encode_translate_gva_d(dl, buf, sizeof(buf), S, 0,
				       0xfffff80000401000ull),
	   0, &gpa, sizeof(gpa));
	dx(kvmi_encode_get_xcr_d(dl, buf, sizeof(buf), S, 0, 0), 0, &xcr0,
	   sizeof(xcr0));
	dx(kvmi_encode_set_xsave_d(dl, buf, sizeof(buf), S, 0, area,
				   sizeof(area)),
	   0, NULL, 0);
	{
		struct kvmi_page_write_bitmap_entry wbe = {.gpa = 0x500000,
							   .bitmap = ~0u};

		dx(kvmi_encode_set_page_write_bitmap_d(dl, buf, sizeof(buf), S,
						       0, &wbe, 1),
		   -KVM_EPERM, NULL, 0);
	}

	/* a breakpoint, then an injection and its TRAP (no enable needed) */
	seq = dev(0, KVMI_EVENT_BREAKPOINT, &bp, sizeof(bp), 0);
	dx(kvmi_encode_inject_exception_d(dl, buf, sizeof(buf), S, 0, 14, 0, 2,
					  0x7000),
	   0, NULL, 0);
	dreply(seq, 0, KVMI_EVENT_BREAKPOINT, KVMI_EVENT_ACTION_RETRY, 0);
	seq = dev(0, KVMI_EVENT_TRAP, &trap, sizeof(trap), 0);
	dreply(seq, 0, KVMI_EVENT_TRAP, KVMI_EVENT_ACTION_CONTINUE, 0);
	seq = dev(0, KVMI_V7_EVENT_CPUID, &cpuid, sizeof(cpuid), 0);
	dreply(seq, 0, KVMI_V7_EVENT_CPUID, KVMI_EVENT_ACTION_CONTINUE, 0);

	/* single-stepping vCPU 1 on view 1; a PF there */
	dx(kvmi_encode_control_singlestep_d(dl, buf, sizeof(buf), S, 1, 1), 0,
	   NULL, 0);
	seq = dev(1, KVMI_EVENT_SINGLESTEP, &ss0, sizeof(ss0), 1);
	dreply(seq, 1, KVMI_EVENT_SINGLESTEP, KVMI_EVENT_ACTION_CONTINUE, 0);
	seq = dev(1, KVMI_EVENT_SINGLESTEP, &ss1, sizeof(ss1), 1);
	dreply(seq, 1, KVMI_EVENT_SINGLESTEP, KVMI_EVENT_ACTION_CONTINUE, 0);
	dx(kvmi_encode_control_singlestep_d(dl, buf, sizeof(buf), S, 1, 0), 0,
	   NULL, 0);
	seq = dev(1, KVMI_EVENT_PF, &pf, sizeof(pf), 1);
	memset(&pfr, 0, sizeof(pfr));
	pfr.rep_complete = 1;
	emit(T2H, kvmi_encode_event_reply_pf_d(dl, buf, sizeof(buf), seq, 1,
					       KVMI_EVENT_ACTION_CONTINUE, &pfr));

	/* replies off with CMD_ERROR events: a failing CONTROL_CR */
	emit(T2H, kvmi_encode_control_cmd_response_d(
			  dl, buf, sizeof(buf), S, 0, 1,
			  KVMI_V7_CMD_RESPONSE_ERROR_EVENTS));
	emit(T2H, kvmi_encode_command_raw(buf, sizeof(buf),
					  KVMI_V7_VCPU_CONTROL_CR, S, 1, 0,
					  "\1\0\0\0\7\0\0\0", 8));
	ce.msg_seq = tool_seq - 1;
	ce.msg_id = KVMI_V7_VCPU_CONTROL_CR;
	dev(0, KVMI_V7_EVENT_CMD_ERROR, &ce, sizeof(ce), 0);
	dx(kvmi_encode_control_cmd_response_d(dl, buf, sizeof(buf), S, 1, 0, 0),
	   0, NULL, 0);

	if (gen2023) {
		struct kvmi_v7_vm_create_ept_view_reply cv = {.view = 2};

		dx(kvmi_encode_get_next_available_gfn_d(dl, buf, sizeof(buf),
							S),
		   0, &gfn, sizeof(gfn));
		dx(kvmi_encode_alloc_gfn_d(dl, buf, sizeof(buf), S, 0, gfn), 0,
		   NULL, 0);
		dx(kvmi_encode_alloc_gfn_d(dl, buf, sizeof(buf), S, 1, gfn + 1),
		   -KVM_ETIME, NULL, 0);
		dx(kvmi_encode_query_physical_d(dl, buf, sizeof(buf), S, 0x10),
		   0, &qp, sizeof(qp));
		dx(kvmi_encode_create_ept_view_d(dl, buf, sizeof(buf), S), 0,
		   &cv, sizeof(cv));
		dx(kvmi_encode_change_gfn_d(dl, buf, sizeof(buf), S, 0, 2,
					    0x401, gfn),
		   0, NULL, 0);
		dx(kvmi_encode_change_gfn_d(dl, buf, sizeof(buf), S, 0, 2,
					    0x401, 0x401),
		   0, NULL, 0);
		dx(kvmi_encode_destroy_ept_view_d(dl, buf, sizeof(buf), S, 2),
		   0, NULL, 0);
		dx(kvmi_encode_free_gfn_d(dl, buf, sizeof(buf), S, 0, gfn), 0,
		   NULL, 0);
	} else {
		dx(kvmi_encode_change_gfn_d(dl, buf, sizeof(buf), S, 0, 0,
					    0x401, 0x402),
		   0, NULL, 0);
	}
	dx(kvmi_encode_set_ept_view_d(dl, buf, sizeof(buf), S, 1, 0), 0, NULL,
	   0);
	dev(0, KVMI_EVENT_UNHOOK, NULL, 0, 0);
}

/*
 * A v12 session: the GET_VERSION reply with max_msg_size, v12's safe
 * probe, the renumbered commands and their layouts (CONTROL_CR,
 * READ/WRITE_PHYSICAL, PAUSE_VCPU, SET_PAGE_ACCESS), events with the event
 * header (BREAKPOINT, CR, PF without reply struct, PAUSE, TRAP,
 * SINGLESTEP), an event reply the host refuses, CONTROL_CLEANUP, an id v12
 * does not have, the VM event UNHOOK.
 */
static void v12_session(void)
{
	struct kvmi_v12_get_version_reply ver = {
		.version = 1, .max_msg_size = 8184, .features = {.singlestep = 1}};
	struct kvmi_get_guest_info_reply gi = {.vcpu_count = 2};
	struct kvmi_page_access_entry pae = {.gpa = 0x500000, .access = 5};
	struct kvmi_event_breakpoint bp = {.gpa = 0x401000, .insn_len = 1};
	struct kvmi_v12_vcpu_event_cr cr = {.cr = 3, .old_value = 0x1aa000,
					    .new_value = 0x2bb000};
	struct kvmi_event_pf pf = {.gva = 0xfffff80000500010ull,
				   .gpa = 0x500010,
				   .access = KVMI_PAGE_ACCESS_W};
	struct kvmi_v7_event_trap trap = {.vector = 13, .error_code = 0};
	struct kvmi_v7_event_singlestep ss = {.failed = 0};
	uint8_t regsreply[sizeof(struct kvmi_get_registers_reply) +
			  sizeof(struct kvm_msr_entry)];
	struct kvmi_get_registers_reply rr;
	struct kvm_msr_entry me = {.index = 0xc0000082,
				   .data = 0xfffff80000402000ull};
	uint32_t msr = 0xc0000082;
	uint64_t gpa = 0x401000, xcr0 = 7;
	uint32_t seq;

	dl = KVMI_DIALECT_V12;
	memset(&rr, 0, sizeof(rr));
	rr.mode = KVMI_MODE_64;
	rr.regs.rip = 0xfffff80000401000ull;
	rr.msrs.nmsrs = 1;
	memcpy(regsreply, &rr, sizeof(rr));
	memcpy(regsreply + sizeof(rr), &me, sizeof(me));

	dx(kvmi_encode_get_version(buf, sizeof(buf), S), 0, &ver, sizeof(ver));
	dx(kvmi_encode_check_command_d(dl, buf, sizeof(buf), S,
				       KVMI_V12_VCPU_TRANSLATE_GVA),
	   0, NULL, 0);
	dx(kvmi_encode_check_command_d(dl, buf, sizeof(buf), S, 31),
	   -KVM_ENOENT, NULL, 0);
	dx(kvmi_encode_get_guest_info_d(dl, buf, sizeof(buf), S), 0, &gi,
	   sizeof(gi));
	dx(kvmi_encode_control_cleanup_d(dl, buf, sizeof(buf), S, 1), 0, NULL,
	   0);
	dx(kvmi_encode_control_vm_events_d(dl, buf, sizeof(buf), S,
					   KVMI_V12_VM_EVENT_UNHOOK, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 0,
					KVMI_V12_VCPU_EVENT_BREAKPOINT, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 0,
					KVMI_V12_VCPU_EVENT_CR, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 1,
					KVMI_V12_VCPU_EVENT_PF, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_cr_d(dl, buf, sizeof(buf), S, 0, 3, 1), 0, NULL,
	   0);
	dx(kvmi_encode_control_msr_d(dl, buf, sizeof(buf), S, 0, msr, 1), 0,
	   NULL, 0);
	dx(kvmi_encode_read_physical_d(dl, buf, sizeof(buf), S, 0x401000, 1), 0,
	   "\x55", 1);
	dx(kvmi_encode_write_physical_d(dl, buf, sizeof(buf), S, 0x401000,
					"\xcc", 1),
	   0, NULL, 0);
	dx(kvmi_encode_set_page_access_d(dl, buf, sizeof(buf), S, 0, &pae, 1),
	   0, NULL, 0);
	dx(kvmi_encode_get_registers_d(dl, buf, sizeof(buf), S, 0, &msr, 1), 0,
	   regsreply, sizeof(regsreply));
	dx(kvmi_encode_get_xcr_d(dl, buf, sizeof(buf), S, 0, 0), 0, &xcr0,
	   sizeof(xcr0));
	dx(kvmi_encode_translate_gva_d(dl, buf, sizeof(buf), S, 0,
				       0xfffff80000401000ull),
	   0, &gpa, sizeof(gpa));
	dx(kvmi_encode_command_raw(buf, sizeof(buf), 22, S, 0, 0, NULL, 0),
	   -KVM_ENOSYS, NULL, 0);

	seq = dev(0, KVMI_EVENT_BREAKPOINT, &bp, sizeof(bp), 0);
	dx(kvmi_encode_write_physical_d(dl, buf, sizeof(buf), S, 0x401000,
					"\x55", 1),
	   0, NULL, 0);
	dreply(seq, 0, KVMI_EVENT_BREAKPOINT, KVMI_EVENT_ACTION_RETRY, 0);
	seq = dev(0, KVMI_EVENT_CR, &cr, sizeof(cr), 0);
	dreply(seq, 0, KVMI_EVENT_CR, KVMI_EVENT_ACTION_CONTINUE, cr.new_value);
	seq = dev(1, KVMI_EVENT_PF, &pf, sizeof(pf), 0);
	/* a reply naming vCPU 9: refused (message 1, an error) */
	emit(T2H, kvmi_encode_event_reply_d(dl, buf, sizeof(buf), seq, 9,
					    KVMI_V12_VCPU_EVENT_PF,
					    KVMI_EVENT_ACTION_CONTINUE));
	emit(H2T, kvmi_encode_event_reply_error_d(dl, buf, sizeof(buf), seq,
						  -KVM_EINVAL));
	dreply(seq, 1, KVMI_EVENT_PF, KVMI_EVENT_ACTION_CONTINUE, 0);
	dx(kvmi_encode_pause_vcpu_d(dl, buf, sizeof(buf), S, 1, 0), 0, NULL, 0);
	seq = dev(1, KVMI_EVENT_PAUSE_VCPU, NULL, 0, 0);
	dx(kvmi_encode_inject_exception_d(dl, buf, sizeof(buf), S, 1, 13, 0, 0,
					  0),
	   0, NULL, 0);
	dreply(seq, 1, KVMI_EVENT_PAUSE_VCPU, KVMI_EVENT_ACTION_CONTINUE, 0);
	seq = dev(1, KVMI_EVENT_TRAP, &trap, sizeof(trap), 0);
	dreply(seq, 1, KVMI_EVENT_TRAP, KVMI_EVENT_ACTION_CONTINUE, 0);
	dx(kvmi_encode_control_events_d(dl, buf, sizeof(buf), S, 1,
					KVMI_V12_VCPU_EVENT_SINGLESTEP, 1),
	   0, NULL, 0);
	dx(kvmi_encode_control_singlestep_d(dl, buf, sizeof(buf), S, 1, 1), 0,
	   NULL, 0);
	seq = dev(1, KVMI_EVENT_SINGLESTEP, &ss, sizeof(ss), 0);
	dreply(seq, 1, KVMI_EVENT_SINGLESTEP, KVMI_EVENT_ACTION_CONTINUE, 0);
	dx(kvmi_encode_control_singlestep_d(dl, buf, sizeof(buf), S, 1, 0), 0,
	   NULL, 0);
	dev(0, KVMI_EVENT_UNHOOK, NULL, 0, 0);
}

int main(int argc, char **argv)
{
	static const char *const bad[] = {
		"trunc-header", "trunc-body",	 "oversized",
		"common-short", "common-overrun", "unknown-msg",
		"unknown-event", "payload-short",
	};
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	open_capture(argv[1], "full-session");
	full_session();
	close_capture();

	open_capture(argv[1], "events-during-command");
	events_during_command();
	close_capture();

	open_capture(argv[1], "host-larger-common");
	common_size_variant(sizeof(struct kvmi_event) + 16);
	close_capture();

	open_capture(argv[1], "host-smaller-common");
	common_size_variant(offsetof(struct kvmi_event, arch.sregs));
	close_capture();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "bad-%s", bad[i]);
		open_capture(argv[1], name);
		malformed(bad[i]);
		close_capture();
	}

	open_capture(argv[1], "v7-session");
	v7_session(0);
	close_capture();

	open_capture(argv[1], "v7-2023-session");
	v7_session(1);
	close_capture();

	open_capture(argv[1], "v12-session");
	v12_session();
	close_capture();
	return 0;
}

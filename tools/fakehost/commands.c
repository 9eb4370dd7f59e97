/*
 * kvmi-fakehost - commands.c: the host kernel's command and event-reply
 * handling, with the v6 host's validation rules (KVMI-PROTOCOL.md sec. 3,
 * 7, 10): what gets which error code, what closes the channel, and the
 * reply switch of KVMI_CONTROL_CMD_RESPONSE.
 *
 * Order of checks for a command: unknown id -> -KVM_EOPNOTSUPP; denied by
 * QEMU -> -KVM_EPERM (both answered even while replies are disabled);
 * vCPU header padding -> close (PAUSE_VCPU: -KVM_EINVAL); bad vCPU index
 * -> -KVM_EINVAL; a size that does not match the command -> close; then
 * the command's own checks.  Variable-size commands whose counted part is
 * missing get -KVM_EINVAL as on the host; extra bytes close.
 *
 * KVMI_EVENT_REPLY is always allowed.  Its vCPU header goes through the
 * same checks; a bad index gets the v6 error-only message with id
 * KVMI_EVENT_REPLY and the reply's seq (not sent while command replies are
 * disabled, like any error reply).  Then: no event pending on that vCPU,
 * another seq, non-zero padding, a tail longer than the event's reply
 * struct, or a PF ctx_size > 256 close the channel.  A header announcing
 * more than 8184 bytes is refused by the decoder: the channel closes too.
 */
#include "misbehave.h"
#include "vm.h"

#include <errno.h>
#include <string.h>

struct cmd_info {
	uint8_t known;
	uint8_t vcpu;	  /* starts with kvmi_vcpu_hdr (vCPU command) */
	uint8_t has_data; /* success reply carries data */
	int16_t fixed;	  /* body bytes after the vCPU header; -1 variable */
};

static const struct cmd_info cmds[KVMI_NEXT_AVAILABLE_COMMAND] = {
	[KVMI_GET_VERSION] = { 1, 0, 1, 0 },
	[KVMI_CHECK_COMMAND] = { 1, 0, 0, 8 },
	[KVMI_CHECK_EVENT] = { 1, 0, 0, 8 },
	[KVMI_GET_GUEST_INFO] = { 1, 0, 1, 0 },
	[KVMI_GET_VCPU_INFO] = { 1, 1, 1, 0 },
	[KVMI_PAUSE_VCPU] = { 1, 0, 0, 16 }, /* VM message (sec. 3.8) */
	[KVMI_CONTROL_VM_EVENTS] = { 1, 0, 0, 8 },
	[KVMI_CONTROL_EVENTS] = { 1, 1, 0, 8 },
	[KVMI_CONTROL_CR] = { 1, 1, 0, 8 },
	[KVMI_CONTROL_MSR] = { 1, 1, 0, 8 },
	[KVMI_GET_REGISTERS] = { 1, 1, 1, -1 },
	[KVMI_SET_REGISTERS] = { 1, 1, 0, sizeof(struct kvm_regs) },
	[KVMI_GET_CPUID] = { 1, 1, 1, 8 },
	[KVMI_GET_XSAVE] = { 1, 1, 1, 0 },
	[KVMI_READ_PHYSICAL] = { 1, 0, 1, 16 },
	[KVMI_WRITE_PHYSICAL] = { 1, 0, 0, -1 },
	[KVMI_INJECT_EXCEPTION] = { 1, 1, 0, 16 },
	[KVMI_GET_PAGE_ACCESS] = { 1, 0, 1, -1 },
	[KVMI_SET_PAGE_ACCESS] = { 1, 0, 0, -1 },
	[KVMI_GET_MAP_TOKEN] = { 1, 0, 1, 0 },
	[KVMI_GET_MTRR_TYPE] = { 1, 1, 1, 8 },
	[KVMI_CONTROL_SPP] = { 1, 0, 0, 8 },
	[KVMI_GET_PAGE_WRITE_BITMAP] = { 1, 0, 1, -1 },
	[KVMI_SET_PAGE_WRITE_BITMAP] = { 1, 0, 0, -1 },
	[KVMI_CONTROL_CMD_RESPONSE] = { 1, 0, 0, 8 },
	[KVMI_GET_MAX_GFN] = { 1, 0, 1, 0 },
};

#define VCPU_EVENTS_ACCEPTED                                                    \
	((1u << KVMI_EVENT_CR) | (1u << KVMI_EVENT_MSR) |                       \
	 (1u << KVMI_EVENT_XSETBV) | (1u << KVMI_EVENT_BREAKPOINT) |            \
	 (1u << KVMI_EVENT_HYPERCALL) | (1u << KVMI_EVENT_PF) |                 \
	 (1u << KVMI_EVENT_TRAP) | (1u << KVMI_EVENT_DESCRIPTOR) |              \
	 (1u << KVMI_EVENT_PAUSE_VCPU) | (1u << KVMI_EVENT_SINGLESTEP))

#define VM_EVENTS_ACCEPTED                                                      \
	((1u << KVMI_EVENT_UNHOOK) | (1u << KVMI_EVENT_CREATE_VCPU))

#define MAX_PAUSE_REQUESTS 1001
#define TSC_SPEED 2500000000ULL

/* One command being handled. */
struct cmd {
	struct fh_vm *vm;
	uint16_t id;
	uint32_t seq;
	struct fh_vcpu *vcpu; /* vCPU commands */
	const uint8_t *body;  /* after the vCPU header */
	size_t len;
};

static int command_denied(const struct fh_vm *vm, unsigned id)
{
	return id < 64 && ((vm->cfg.deny_commands >> id) & 1);
}

static void send_reply(struct fh_vm *vm, uint16_t id, uint32_t seq,
		       int32_t err, const void *data, size_t len)
{
	uint8_t *p;
	int n;

	if (fh_misbehave_active(vm) && vm->cfg.misbehave == FH_MB_NO_REPLIES)
		return; /* applied, never answered */
	p = fh_buf_reserve(&vm->out, 16 + len);
	if (!p) {
		fh_vm_close(vm, "out of memory sending a reply");
		return;
	}
	n = kvmi_encode_reply(p, 16 + len, id, seq, err, data, len);
	if (n < 0) {
		fh_vm_close(vm, "cannot encode the reply to %s: %s",
			    kvmi_msg_name(id), kvmi_strerror(n));
		return;
	}
	vm->out.len += (size_t)n;
	if (fh_misbehave_active(vm) && vm->cfg.misbehave == FH_MB_DUP_REPLY &&
	    !vm->mb_done) {
		/* the same reply again: its seq is no longer awaited */
		p = fh_buf_reserve(&vm->out, (size_t)n);
		if (p) {
			memcpy(p, vm->out.data + vm->out.len - n, (size_t)n);
			vm->out.len += (size_t)n;
		}
		vm->mb_done = 1;
	}
}

/* A reply subject to KVMI_CONTROL_CMD_RESPONSE. */
static void reply(struct cmd *c, int32_t err, const void *data, size_t len)
{
	if (c->vm->replies_disabled) {
		if (!err && cmds[c->id].has_data)
			fh_vm_close(c->vm,
				    "%s (seq %u) has reply data but command "
				    "replies are disabled",
				    kvmi_msg_name(c->id), c->seq);
		return;
	}
	send_reply(c->vm, c->id, c->seq, err, data, len);
}

static void reply_err(struct cmd *c, int32_t err)
{
	reply(c, err, NULL, 0);
}

/* A variable-size command must at least hold its fixed part; a shorter
 * message does not match the command: the host closes. */
static int body_holds(struct cmd *c, size_t fixed)
{
	if (c->len >= fixed)
		return 1;
	fh_vm_close(c->vm, "%s (seq %u): body of %zu bytes, needs %zu",
		    kvmi_msg_name(c->id), c->seq, c->len, fixed);
	return 0;
}

/* The body as a struct (bodies are not aligned). */
#define BODY(c, var) memcpy(&(var), (c)->body, sizeof(var))

static void cmd_get_version(struct cmd *c)
{
	struct kvmi_get_version_reply r = { .version = KVMI_VERSION };

	reply(c, 0, &r, sizeof(r));
}

static void cmd_check(struct cmd *c, int event)
{
	struct kvmi_check_command req;

	BODY(c, req);
	if (req.padding1 || req.padding2)
		reply_err(c, -KVM_EINVAL);
	else if (event ? !fh_vm_event_allowed(c->vm, req.id)
		       : command_denied(c->vm, req.id))
		reply_err(c, -KVM_EPERM);
	else
		reply_err(c, 0);
}

static void cmd_get_guest_info(struct cmd *c)
{
	struct kvmi_get_guest_info_reply r;

	memset(&r, 0, sizeof(r));
	r.vcpu_count = c->vm->nvcpus;
	reply(c, 0, &r, sizeof(r));
}

static void cmd_get_vcpu_info(struct cmd *c)
{
	struct kvmi_get_vcpu_info_reply r = { .tsc_speed = TSC_SPEED };

	reply(c, 0, &r, sizeof(r));
}

/* PAUSE_VCPU: a VM message with its own order of checks (sec. 7.7). */
static void cmd_pause_vcpu(struct cmd *c)
{
	struct kvmi_vcpu_hdr vh;
	struct kvmi_pause_vcpu req;
	struct fh_vcpu *v;

	memcpy(&vh, c->body, sizeof(vh));
	memcpy(&req, c->body + sizeof(vh), sizeof(req));
	if (req.padding1 || req.padding2 || req.padding3 || vh.padding1 ||
	    vh.padding2) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (!fh_vm_event_allowed(c->vm, KVMI_EVENT_PAUSE_VCPU)) {
		send_reply(c->vm, c->id, c->seq, -KVM_EPERM, NULL, 0);
		return;
	}
	if (vh.vcpu >= c->vm->nvcpus) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	v = &c->vm->vcpus[vh.vcpu];
	if (v->pause_requests > MAX_PAUSE_REQUESTS) {
		reply_err(c, -KVM_EBUSY);
		return;
	}
	v->pause_requests++;
	reply_err(c, 0);
}

/*
 * CONTROL_VM_EVENTS and CONTROL_EVENTS share their layout and checks:
 * padding or an id outside @accepted -> -KVM_EINVAL, denied -> -KVM_EPERM.
 * PAUSE_VCPU is accepted by CONTROL_EVENTS but has no effect.
 */
static void control_event_mask(struct cmd *c, uint32_t accepted, uint32_t *mask)
{
	struct kvmi_control_events req;

	BODY(c, req);
	if (req.padding1 || req.padding2 || req.event_id >= 32 ||
	    !((accepted >> req.event_id) & 1)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (!fh_vm_event_allowed(c->vm, req.event_id)) {
		reply_err(c, -KVM_EPERM);
		return;
	}
	if (req.event_id != KVMI_EVENT_PAUSE_VCPU) {
		if (req.enable)
			*mask |= 1u << req.event_id;
		else
			*mask &= ~(1u << req.event_id);
	}
	reply_err(c, 0);
}

static void cmd_control_cr(struct cmd *c)
{
	struct kvmi_control_cr req;

	BODY(c, req);
	if (req.padding1 || req.padding2 ||
	    (req.cr != 0 && req.cr != 3 && req.cr != 4)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (req.enable)
		c->vcpu->crs |= (uint8_t)(1u << req.cr);
	else
		c->vcpu->crs &= (uint8_t)~(1u << req.cr);
	reply_err(c, 0);
}

static void cmd_control_msr(struct cmd *c)
{
	struct kvmi_control_msr req;
	int err;

	BODY(c, req);
	if (req.padding1 || req.padding2 || !fh_msr_valid(req.msr)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	err = fh_vcpu_set_msr_intercept(c->vcpu, req.msr, req.enable);
	reply_err(c, err == -ENOMEM ? -KVM_ENOMEM : err ? -KVM_EINVAL : 0);
}

static void cmd_get_registers(struct cmd *c)
{
	uint8_t buf[KVMI_HOST_MSG_SIZE_VALUE];
	struct kvmi_get_registers req;
	struct kvmi_get_registers_reply r;
	struct kvm_msr_entry e;

	if (!body_holds(c, sizeof(req)))
		return;
	BODY(c, req);
	if (req.padding1 || req.padding2 ||
	    c->len < sizeof(req) + 4u * req.nmsrs) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (c->len > sizeof(req) + 4u * req.nmsrs) {
		fh_vm_close(c->vm,
			    "KVMI_GET_REGISTERS (seq %u): %zu bytes for %u MSRs",
			    c->seq, c->len, req.nmsrs);
		return;
	}
	if (req.nmsrs > KVMI_GET_REGISTERS_MAX_MSRS) {
		reply_err(c, -KVM_ENOMEM);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.mode = KVMI_MODE_64;
	r.regs = c->vcpu->regs;
	r.sregs = c->vcpu->sregs;
	r.msrs.nmsrs = req.nmsrs;
	memcpy(buf, &r, sizeof(r));
	for (unsigned i = 0; i < req.nmsrs; i++) {
		uint32_t idx;
		uint64_t val;

		memcpy(&idx, c->body + sizeof(req) + 4 * i, 4);
		if (fh_vcpu_get_msr(c->vcpu, idx, &val)) {
			reply_err(c, -KVM_EINVAL);
			return;
		}
		memset(&e, 0, sizeof(e));
		e.index = idx;
		e.data = val;
		memcpy(buf + sizeof(r) + i * sizeof(e), &e, sizeof(e));
	}
	reply(c, 0, buf, sizeof(r) + req.nmsrs * sizeof(e));
}

static void cmd_set_registers(struct cmd *c)
{
	/* applied when the event reply is processed; dropped (but answered
	 * 0) when the vCPU is not waiting for one */
	if (c->vcpu->state == FH_VCPU_WAITING) {
		BODY(c, c->vcpu->set_regs);
		c->vcpu->have_set_regs = 1;
	}
	reply_err(c, 0);
}

static void cmd_get_cpuid(struct cmd *c)
{
	static const struct {
		uint32_t function;
		struct kvmi_get_cpuid_reply r;
	} leaves[] = {
		{ 0x0, { 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 } },
		{ 0x1, { 0x000906ea, 0x00000800, 0xfffa3223, 0x0f8bfbff } },
		{ 0x7, { 0x0, 0x029c67af, 0x0, 0x0 } },
		{ 0x80000000, { 0x80000008, 0, 0, 0 } },
		{ 0x80000001, { 0, 0, 0x121, 0x2c100800 } },
		{ 0x80000008, { 0x3027, 0, 0, 0 } },
	};
	struct kvmi_get_cpuid req;

	BODY(c, req);
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (leaves[i].function == req.function) {
			reply(c, 0, &leaves[i].r, sizeof(leaves[i].r));
			return;
		}
	reply_err(c, -KVM_ENOENT);
}

static void cmd_get_xsave(struct cmd *c)
{
	uint8_t x[sizeof(struct kvm_xsave)];
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;

	memset(x, 0, sizeof(x));
	memcpy(x, &fcw, sizeof(fcw));
	memcpy(x + 24, &mxcsr, sizeof(mxcsr));
	reply(c, 0, x, sizeof(x));
}

/* size in (0, 4096], inside one page, inside guest RAM */
static int phys_ok(const struct fh_vm *vm, uint64_t gpa, uint64_t size)
{
	return size && size <= FH_PAGE_SIZE &&
	       (gpa & (FH_PAGE_SIZE - 1)) + size <= FH_PAGE_SIZE &&
	       fh_memory_valid(&vm->mem, gpa, size);
}

static void cmd_read_physical(struct cmd *c)
{
	uint8_t data[FH_PAGE_SIZE];
	struct kvmi_read_physical req;

	BODY(c, req);
	if (!phys_ok(c->vm, req.gpa, req.size)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	fh_memory_read(&c->vm->mem, req.gpa, data, req.size);
	reply(c, 0, data, req.size);
}

static void cmd_write_physical(struct cmd *c)
{
	struct kvmi_write_physical req;

	if (!body_holds(c, sizeof(req)))
		return;
	BODY(c, req);
	if (c->len - sizeof(req) != req.size) {
		fh_vm_close(c->vm,
			    "KVMI_WRITE_PHYSICAL (seq %u): %zu data bytes for "
			    "size %llu",
			    c->seq, c->len - sizeof(req),
			    (unsigned long long)req.size);
		return;
	}
	if (!phys_ok(c->vm, req.gpa, req.size)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (fh_memory_write(&c->vm->mem, req.gpa, c->body + sizeof(req),
			    req.size)) {
		reply_err(c, -KVM_ENOMEM);
		return;
	}
	fh_misbehave_on_write(c->vm, req.gpa, c->body + sizeof(req), req.size);
	reply_err(c, 0);
}

static void cmd_inject_exception(struct cmd *c)
{
	struct kvmi_inject_exception req;

	BODY(c, req);
	if (req.padding) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	/* delivered at the next entry unless something else is injected
	 * then (vcpu.c) */
	c->vm->stats.exceptions_injected++;
	c->vcpu->inject_pending = 1;
	c->vcpu->inject_nr = req.nr;
	reply_err(c, 0);
}

/*
 * The shape shared by GET/SET_PAGE_ACCESS and the write-bitmap commands:
 * {u16 view; u16 count; u32 padding} + count items of @item bytes; view
 * must be 0 (-KVM_EOPNOTSUPP).  Returns the count, or -1 when it already
 * answered or closed.
 */
static int counted(struct cmd *c, size_t item)
{
	struct kvmi_get_page_access hdr;

	if (!body_holds(c, sizeof(hdr)))
		return -1;
	BODY(c, hdr);
	if (hdr.padding || c->len < sizeof(hdr) + item * hdr.count) {
		reply_err(c, -KVM_EINVAL);
		return -1;
	}
	if (c->len > sizeof(hdr) + item * hdr.count) {
		fh_vm_close(c->vm, "%s (seq %u): %zu bytes for %u entries",
			    kvmi_msg_name(c->id), c->seq, c->len, hdr.count);
		return -1;
	}
	if (hdr.view) {
		reply_err(c, -KVM_EOPNOTSUPP);
		return -1;
	}
	return hdr.count;
}

static void cmd_get_page_access(struct cmd *c)
{
	uint8_t access[KVMI_GET_PAGE_ACCESS_MAX_GPAS];
	int n = counted(c, sizeof(uint64_t));

	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		uint64_t gpa;

		memcpy(&gpa, c->body + 8 + 8 * i, sizeof(gpa));
		if (!fh_memory_valid(&c->vm->mem, gpa, 1)) {
			reply_err(c, -KVM_EINVAL);
			return;
		}
		access[i] = fh_memory_access(&c->vm->mem, gpa);
	}
	reply(c, 0, access, (size_t)n);
}

static int32_t set_one_access(struct fh_vm *vm,
			      const struct kvmi_page_access_entry *e)
{
	if (e->access & ~KVMI_PAGE_ACCESS_RWX || e->padding1 || e->padding2 ||
	    e->padding3 || !fh_memory_valid(&vm->mem, e->gpa, 1))
		return -KVM_EINVAL;
	return fh_memory_set_access(&vm->mem, e->gpa, e->access) ? -KVM_ENOMEM : 0;
}

static void cmd_set_page_access(struct cmd *c)
{
	enum fh_pa_errors mode = c->vm->cfg.page_access_errors;
	int n = counted(c, sizeof(struct kvmi_page_access_entry));
	int32_t result = 0;

	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		struct kvmi_page_access_entry e;
		int32_t err;

		memcpy(&e, c->body + 8 + sizeof(e) * i, sizeof(e));
		err = set_one_access(c->vm, &e);
		if (mode == FH_PA_ERRORS_LAST)
			result = err;
		else if (err && !result)
			result = err;
		if (err && mode == FH_PA_ERRORS_STOP)
			break;
	}
	reply_err(c, result);
}

static void cmd_get_map_token(struct cmd *c)
{
	struct kvmi_get_map_token_reply r;

	for (unsigned i = 0; i < 4; i++)
		r.token.token[i] = (c->vm->cfg.seed + c->seq) * 0x9e3779b97f4a7c15ULL ^
				   (0x1234567ULL << (8 * i));
	reply(c, 0, &r, sizeof(r));
}

static void cmd_get_mtrr_type(struct cmd *c)
{
	struct kvmi_get_mtrr_type_reply r;

	memset(&r, 0, sizeof(r));
	r.type = 6; /* write-back */
	reply(c, 0, &r, sizeof(r));
}

static void cmd_control_spp(struct cmd *c)
{
	struct kvmi_control_spp req;

	BODY(c, req);
	/* no SPP on this "CPU" */
	reply_err(c, req.padding1 || req.padding2 || req.padding3
			     ? -KVM_EINVAL
			     : -KVM_EOPNOTSUPP);
}

static void cmd_page_write_bitmap(struct cmd *c)
{
	size_t item = c->id == KVMI_GET_PAGE_WRITE_BITMAP
			      ? sizeof(uint64_t)
			      : sizeof(struct kvmi_page_write_bitmap_entry);

	if (counted(c, item) >= 0)
		reply_err(c, -KVM_EOPNOTSUPP); /* SPP never enabled */
}

static void cmd_control_cmd_response(struct cmd *c)
{
	struct kvmi_control_cmd_response req;
	int disable;

	BODY(c, req);
	if (req.padding1 || req.padding2) {
		fh_vm_close(c->vm,
			    "KVMI_CONTROL_CMD_RESPONSE (seq %u) with non-zero "
			    "padding",
			    c->seq);
		return;
	}
	disable = !req.enable;
	if (req.now == 1) {
		c->vm->replies_disabled = disable;
		reply_err(c, 0);
	} else {
		reply_err(c, 0);
		c->vm->replies_disabled = disable;
	}
}

static void cmd_get_max_gfn(struct cmd *c)
{
	struct kvmi_get_max_gfn_reply r = { .gfn = c->vm->mem.npages - 1 };

	reply(c, 0, &r, sizeof(r));
}

static int reply_tail_max(unsigned event_id)
{
	switch (event_id) {
	case KVMI_EVENT_CR:
	case KVMI_EVENT_MSR:
		return 8;
	case KVMI_EVENT_PF:
		return sizeof(struct kvmi_event_pf_reply);
	default:
		return 0;
	}
}

static void event_reply(struct fh_vm *vm, const struct kvmi_msg_hdr *hdr,
			const uint8_t *p)
{
	struct kvmi_vcpu_hdr vh;
	struct kvmi_event_reply er;
	struct fh_vcpu *v;
	size_t tail;

	if (hdr->size < KVMI_EVENT_REPLY_BASE_SIZE) {
		fh_vm_close(vm, "KVMI_EVENT_REPLY (seq %u) of %u bytes", hdr->seq,
			    hdr->size);
		return;
	}
	memcpy(&vh, p, sizeof(vh));
	memcpy(&er, p + sizeof(vh), sizeof(er));
	tail = hdr->size - KVMI_EVENT_REPLY_BASE_SIZE;
	if (vh.padding1 || vh.padding2) {
		fh_vm_close(vm, "KVMI_EVENT_REPLY (seq %u): vCPU header padding",
			    hdr->seq);
		return;
	}
	if (vh.vcpu >= vm->nvcpus) {
		/* v6: the vCPU-header check answers with an error-only
		 * message whose id is KVMI_EVENT_REPLY (sec. 3.8) */
		uint8_t *b;
		int n;

		if (vm->replies_disabled)
			return;
		b = fh_buf_reserve(&vm->out, 16);
		n = b ? kvmi_encode_event_reply_error(b, 16, hdr->seq, -KVM_EINVAL)
		      : -ENOMEM;
		if (n < 0)
			fh_vm_close(vm, "cannot send the event-reply error");
		else
			vm->out.len += (size_t)n;
		return;
	}
	v = &vm->vcpus[vh.vcpu];
	if (v->state != FH_VCPU_WAITING) {
		fh_vm_close(vm,
			    "KVMI_EVENT_REPLY (seq %u) for vCPU %u which waits "
			    "for no event",
			    hdr->seq, vh.vcpu);
		return;
	}
	if (hdr->seq != v->ev_seq) {
		fh_vm_close(vm,
			    "KVMI_EVENT_REPLY with seq %u, vCPU %u waits for "
			    "seq %u",
			    hdr->seq, vh.vcpu, v->ev_seq);
		return;
	}
	if (er.padding1 || er.padding2) {
		fh_vm_close(vm, "KVMI_EVENT_REPLY (seq %u): non-zero padding",
			    hdr->seq);
		return;
	}
	if (tail > (size_t)reply_tail_max(v->ev_id)) {
		fh_vm_close(vm,
			    "KVMI_EVENT_REPLY (seq %u): %zu reply bytes for %s "
			    "(at most %d)",
			    hdr->seq, tail, kvmi_event_name(v->ev_id),
			    reply_tail_max(v->ev_id));
		return;
	}
	if (v->ev_id == KVMI_EVENT_PF) {
		struct kvmi_event_pf_reply pf;

		memset(&pf, 0, sizeof(pf));
		memcpy(&pf, p + KVMI_EVENT_REPLY_BASE_SIZE, tail);
		if (pf.ctx_size > KVMI_PF_REPLY_CTX_MAX) {
			fh_vm_close(vm, "PF reply (seq %u) with ctx_size %u",
				    hdr->seq, pf.ctx_size);
			return;
		}
	}
	if (v->ev_id < KVMI_NUM_EVENTS)
		vm->stats.events_replied[v->ev_id]++;
	fh_vcpu_event_reply(vm, v, er.action, p + KVMI_EVENT_REPLY_BASE_SIZE,
			    tail);
}

static void dispatch(struct cmd *c)
{
	switch (c->id) {
	case KVMI_GET_VERSION: cmd_get_version(c); break;
	case KVMI_CHECK_COMMAND: cmd_check(c, 0); break;
	case KVMI_CHECK_EVENT: cmd_check(c, 1); break;
	case KVMI_GET_GUEST_INFO: cmd_get_guest_info(c); break;
	case KVMI_GET_VCPU_INFO: cmd_get_vcpu_info(c); break;
	case KVMI_PAUSE_VCPU: cmd_pause_vcpu(c); break;
	case KVMI_CONTROL_VM_EVENTS:
		control_event_mask(c, VM_EVENTS_ACCEPTED, &c->vm->vm_events);
		break;
	case KVMI_CONTROL_EVENTS:
		control_event_mask(c, VCPU_EVENTS_ACCEPTED, &c->vcpu->events);
		break;
	case KVMI_CONTROL_CR: cmd_control_cr(c); break;
	case KVMI_CONTROL_MSR: cmd_control_msr(c); break;
	case KVMI_GET_REGISTERS: cmd_get_registers(c); break;
	case KVMI_SET_REGISTERS: cmd_set_registers(c); break;
	case KVMI_GET_CPUID: cmd_get_cpuid(c); break;
	case KVMI_GET_XSAVE: cmd_get_xsave(c); break;
	case KVMI_READ_PHYSICAL: cmd_read_physical(c); break;
	case KVMI_WRITE_PHYSICAL: cmd_write_physical(c); break;
	case KVMI_INJECT_EXCEPTION: cmd_inject_exception(c); break;
	case KVMI_GET_PAGE_ACCESS: cmd_get_page_access(c); break;
	case KVMI_SET_PAGE_ACCESS: cmd_set_page_access(c); break;
	case KVMI_GET_MAP_TOKEN: cmd_get_map_token(c); break;
	case KVMI_GET_MTRR_TYPE: cmd_get_mtrr_type(c); break;
	case KVMI_CONTROL_SPP: cmd_control_spp(c); break;
	case KVMI_GET_PAGE_WRITE_BITMAP:
	case KVMI_SET_PAGE_WRITE_BITMAP: cmd_page_write_bitmap(c); break;
	case KVMI_CONTROL_CMD_RESPONSE: cmd_control_cmd_response(c); break;
	case KVMI_GET_MAX_GFN: cmd_get_max_gfn(c); break;
	}
}

void fh_vm_handle(struct fh_vm *vm, const struct kvmi_msg *msg)
{
	struct cmd c = {
		.vm = vm,
		.id = msg->hdr.id,
		.seq = msg->hdr.seq,
		.body = msg->payload,
		.len = msg->hdr.size,
	};
	const struct cmd_info *info;

	if (vm->closed)
		return;
	vm->wake = 1;
	if (c.id == KVMI_EVENT_REPLY) {
		event_reply(vm, &msg->hdr, msg->payload);
		return;
	}
	vm->stats.commands++;
	if (c.id >= KVMI_NEXT_AVAILABLE_COMMAND || !cmds[c.id].known) {
		/* even while replies are disabled */
		send_reply(vm, c.id, c.seq, -KVM_EOPNOTSUPP, NULL, 0);
		return;
	}
	if (command_denied(vm, c.id)) {
		send_reply(vm, c.id, c.seq, -KVM_EPERM, NULL, 0);
		return;
	}
	info = &cmds[c.id];
	if (info->vcpu) {
		struct kvmi_vcpu_hdr vh;

		if (c.len < sizeof(vh)) {
			fh_vm_close(vm, "%s (seq %u) shorter than a vCPU header",
				    kvmi_msg_name(c.id), c.seq);
			return;
		}
		memcpy(&vh, c.body, sizeof(vh));
		if (vh.padding1 || vh.padding2) {
			fh_vm_close(vm, "%s (seq %u): vCPU header padding",
				    kvmi_msg_name(c.id), c.seq);
			return;
		}
		if (vh.vcpu >= vm->nvcpus) {
			reply_err(&c, -KVM_EINVAL);
			return;
		}
		c.vcpu = &vm->vcpus[vh.vcpu];
		c.body += sizeof(vh);
		c.len -= sizeof(vh);
	}
	if (info->fixed >= 0 && c.len != (size_t)info->fixed) {
		fh_vm_close(vm, "%s (seq %u): %u bytes, the command has %zu",
			    kvmi_msg_name(c.id), c.seq, msg->hdr.size,
			    (info->vcpu ? sizeof(struct kvmi_vcpu_hdr) : 0) +
				    (size_t)info->fixed);
		return;
	}
	dispatch(&c);
}

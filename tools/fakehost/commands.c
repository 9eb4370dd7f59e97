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
 *
 * kvmi-v7 (KVMI-V7.md sec. 2, 5, 8, 12): unknown ids get -KVM_ENOSYS and
 * ids outside QEMU's allow mask (which never holds 26,
 * SET_PAGE_WRITE_BITMAP) -KVM_EPERM, and both close the channel while
 * replies are disabled; a short fixed-size request is zero-extended and a
 * long one accepted; a failed command with replies off sends CMD_ERROR
 * when asked to; an event reply for a vCPU that waits for nothing is
 * ignored.  Its bugs are modelled: PAUSE_VCPU reads its fields from the
 * vCPU header, GET_REGISTERS answers a bad MSR with zeros.  v12
 * (KVMI-V12.md sec. 4): its own ids (mapped to the common numbering
 * here), vCPU-header padding answered -KVM_EINVAL, CHECK_* of an unknown
 * id -KVM_ENOENT, no reply switch.
 */
#include "misbehave.h"
#include "host_encoder.h"
#include "vm.h"

#include <errno.h>
#include <string.h>

struct cmd_info {
	uint8_t known;
	uint8_t vcpu;	  /* starts with kvmi_vcpu_hdr (vCPU command) */
	uint8_t has_data; /* success reply carries data */
	int16_t fixed;	  /* body bytes after the vCPU header; -1 variable */
};

/* by common id (codec.h): v6 ids plus kvmi-v7's and v12's */
#define NUM_OPS (KVMI_COMMON_VM_CONTROL_CLEANUP + 1)

static const struct cmd_info cmds[NUM_OPS] = {
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
	/* kvmi-v7 */
	[KVMI_V7_VCPU_SET_VE_INFO] = { 1, 1, 0, 16 },
	[KVMI_V7_VM_SET_PAGE_SVE] = { 1, 0, 0, 16 },
	[KVMI_V7_VM_GET_NEXT_AVAILABLE_GFN] = { 1, 0, 1, 0 },
	[KVMI_V7_VCPU_SET_EPT_VIEW] = { 1, 1, 0, 8 },
	[KVMI_V7_VCPU_DISABLE_VE] = { 1, 1, 0, 0 },
	[KVMI_V7_VCPU_GET_EPT_VIEW] = { 1, 1, 1, 0 },
	[KVMI_V7_VCPU_TRANSLATE_GVA] = { 1, 1, 1, 8 },
	[KVMI_V7_VCPU_CONTROL_EPT_VIEW] = { 1, 1, 0, 8 },
	[KVMI_V7_VCPU_GET_XCR] = { 1, 1, 1, 8 },
	[KVMI_V7_VCPU_SET_XSAVE] = { 1, 1, 0, -1 },
	[KVMI_V7_VM_QUERY_PHYSICAL] = { 1, 0, 1, 8 },
	[KVMI_V7_VCPU_ALLOC_GFN] = { 1, 1, 0, 8 },
	[KVMI_V7_VCPU_FREE_GFN] = { 1, 1, 0, 8 },
	[KVMI_V7_VM_CREATE_EPT_VIEW] = { 1, 0, 1, 0 },
	[KVMI_V7_VM_DESTROY_EPT_VIEW] = { 1, 0, 0, 8 },
	[KVMI_V7_VCPU_CHANGE_GFN] = { 1, 1, 0, -1 },
	[KVMI_V7_VCPU_CONTROL_SINGLESTEP] = { 1, 1, 0, 8 },
	/* v12 */
	[KVMI_COMMON_VM_CONTROL_CLEANUP] = { 1, 0, 0, 8 },
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
	uint16_t id;	/* wire id */
	unsigned op;	/* common id */
	unsigned view;	/* kvmi-v7 SET_PAGE_ACCESS: the view */
	uint32_t seq;
	struct fh_vcpu *vcpu; /* vCPU commands */
	const uint8_t *body;  /* after the vCPU header */
	size_t len;
};

static int is_v6(const struct fh_vm *vm)
{
	return vm->cfg.dialect == KVMI_DIALECT_V6;
}

static int is_v12(const struct fh_vm *vm)
{
	return vm->cfg.dialect == KVMI_DIALECT_V12;
}

/* QEMU's allow mask (common id): --deny-command, and on kvmi-v7 the
 * host's known-command mask, which lacks SET_PAGE_WRITE_BITMAP */
static int command_denied(const struct fh_vm *vm, unsigned op)
{
	if (op < 64 && ((vm->cfg.deny_commands >> op) & 1))
		return 1;
	if (vm->cfg.dialect == KVMI_DIALECT_V7)
		return op >= 64 || !((KVMI_V7_2021_KNOWN_COMMANDS >> op) & 1);
	if (vm->cfg.dialect == KVMI_DIALECT_V7_2023)
		return op >= 64 || !((KVMI_V7_2023_KNOWN_COMMANDS >> op) & 1);
	return 0;
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
		if (!err && cmds[c->op].has_data)
			fh_vm_close(c->vm,
				    "%s (seq %u) has reply data but command "
				    "replies are disabled",
				    kvmi_msg_name_d(c->vm->cfg.dialect, c->id),
				    c->seq);
		else if (err && (c->vm->cmd_response_flags &
				 KVMI_V7_CMD_RESPONSE_ERROR_EVENTS)) {
			struct kvmi_v7_event_cmd_error ce;

			/* kvmi-v7: the failure as a CMD_ERROR event */
			memset(&ce, 0, sizeof(ce));
			ce.err = err;
			ce.msg_seq = c->seq;
			ce.msg_id = c->id;
			fh_vm_emit_event(c->vm, NULL, KVMI_V7_EVENT_CMD_ERROR, &ce,
					 sizeof(ce));
		}
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
		    kvmi_msg_name_d(c->vm->cfg.dialect, c->id), c->seq, c->len,
		    fixed);
	return 0;
}

/* The body as a struct (bodies are not aligned). */
#define BODY(c, var) memcpy(&(var), (c)->body, sizeof(var))

static void cmd_get_version(struct cmd *c)
{
	struct kvmi_get_version_reply r6 = { .version = KVMI_VERSION };
	struct kvmi_v7_get_version_reply r7 = { .version = KVMI_VERSION };
	struct kvmi_v12_get_version_reply r12 = {
		.version = KVMI_VERSION, .max_msg_size = KVMI_MSG_SIZE_VALUE };

	r7.features = fh_vm_features(c->vm);
	r12.features.singlestep = r7.features.singlestep;
	if (is_v6(c->vm))
		reply(c, 0, &r6, sizeof(r6));
	else if (is_v12(c->vm))
		reply(c, 0, &r12, sizeof(r12));
	else
		reply(c, 0, &r7, sizeof(r7));
}

/* CHECK_COMMAND / CHECK_EVENT: the id's common number, or -1 when the
 * dialect has none */
static int checked_id(const struct fh_vm *vm, unsigned id, int event)
{
	int common;

	if (is_v6(vm))
		return (int)id;
	if (fh_vm_is_v7(vm))
		return id < (event ? KVMI_V7_NUM_EVENTS : 64u) ? (int)id : -1;
	common = event ? kvmi_dialect_event_from_wire(vm->cfg.dialect, id)
		       : kvmi_dialect_msg_from_wire(vm->cfg.dialect, id);
	if (!event && common <= KVMI_EVENT) /* the event messages */
		return -1;
	return common;
}

static void cmd_check(struct cmd *c, int event)
{
	struct kvmi_check_command req;
	int id;

	BODY(c, req);
	id = checked_id(c->vm, req.id, event);
	if (req.padding1 || req.padding2)
		reply_err(c, -KVM_EINVAL);
	else if (id < 0) /* kvmi-v7: out of range; v12: unknown */
		reply_err(c, is_v12(c->vm) ? -KVM_ENOENT : -KVM_EINVAL);
	else if (event ? !fh_vm_event_allowed(c->vm, (unsigned)id)
		       : command_denied(c->vm, (unsigned)id))
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

/* PAUSE_VCPU: a VM message with its own order of checks (sec. 7.7).
 * kvmi-v7 reads the request from the vCPU header (KVMI-V7.md 5.4): the
 * "padding" is the index's high byte and the header paddings, and its
 * failures close the channel; v12 carries the index in the request. */
static void cmd_pause_vcpu(struct cmd *c)
{
	struct kvmi_vcpu_hdr vh;
	struct kvmi_pause_vcpu req;
	struct fh_vcpu *v;

	if (!is_v12(c->vm)) { /* v6/kvmi-v7: 16 bytes; v12: 8 */
		memcpy(&vh, c->body, sizeof(vh));
		memcpy(&req, c->body + sizeof(vh), sizeof(req));
	}
	if (is_v12(c->vm)) {
		struct kvmi_v12_vm_pause_vcpu r12;

		BODY(c, r12);
		memset(&vh, 0, sizeof(vh));
		memset(&req, 0, sizeof(req));
		vh.vcpu = r12.vcpu;
		req.wait = r12.wait;
		if (r12.wait > 1 || r12.padding1 || r12.padding2)
			req.padding1 = 1; /* -KVM_EINVAL below */
	} else if (fh_vm_is_v7(c->vm)) {
		memcpy(&req, c->body, sizeof(req)); /* the host's bug */
		if (req.padding1 || req.padding2 || req.padding3) {
			fh_vm_close(c->vm,
				    "KVMI_VCPU_PAUSE (seq %u): the request read "
				    "from the vCPU header (index %u) has non-zero "
				    "padding",
				    c->seq, vh.vcpu);
			return;
		}
		if (!fh_vm_event_allowed(c->vm, KVMI_EVENT_PAUSE_VCPU)) {
			fh_vm_close(c->vm, "KVMI_VCPU_PAUSE (seq %u) with the "
					   "pause event disallowed",
				    c->seq);
			return;
		}
	}
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
	int id;

	BODY(c, req);
	id = is_v6(c->vm) ? req.event_id
			  : kvmi_dialect_event_from_wire(c->vm->cfg.dialect,
							 req.event_id);
	if (req.padding1 || req.padding2 || id < 0 || id >= 32 ||
	    !((accepted >> id) & 1) || (is_v12(c->vm) && req.enable > 1)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (!fh_vm_event_allowed(c->vm, (unsigned)id)) {
		reply_err(c, -KVM_EPERM);
		return;
	}
	/* PAUSE (and kvmi-v7's TRAP and CMD_ERROR) bits have no effect */
	if (id != KVMI_EVENT_PAUSE_VCPU &&
	    (is_v6(c->vm) ||
	     (id != KVMI_EVENT_TRAP && id != KVMI_V7_EVENT_CMD_ERROR))) {
		if (req.enable)
			*mask |= 1u << id;
		else
			*mask &= ~(1u << id);
	}
	/* kvmi-v7: the vCPUs present at hook that have not run their first
	 * jobs report CREATE_VCPU too (KVMI-V7.md sec. 7) */
	if (fh_vm_is_v7(c->vm) && mask == &c->vm->vm_events &&
	    id == KVMI_EVENT_CREATE_VCPU && req.enable)
		for (unsigned i = 0; i < c->vm->nvcpus; i++)
			if (!c->vm->vcpus[i].started)
				c->vm->vcpus[i].create_pending = 1;
	reply_err(c, 0);
}

/* the event ids CONTROL_VM_EVENTS / CONTROL_EVENTS take (common ids) */
static uint32_t vm_events_accepted(const struct fh_vm *vm)
{
	if (is_v12(vm))
		return 1u << KVMI_EVENT_UNHOOK;
	if (fh_vm_is_v7(vm))
		return VM_EVENTS_ACCEPTED | (1u << KVMI_V7_EVENT_CMD_ERROR);
	return VM_EVENTS_ACCEPTED;
}

static uint32_t vcpu_events_accepted(const struct fh_vm *vm)
{
	if (is_v12(vm)) /* PAUSE and TRAP only come from commands */
		return VCPU_EVENTS_ACCEPTED & ~(1u << KVMI_EVENT_PAUSE_VCPU) &
		       ~(1u << KVMI_EVENT_TRAP);
	if (fh_vm_is_v7(vm))
		return VCPU_EVENTS_ACCEPTED | (1u << KVMI_V7_EVENT_CMD_ERROR) |
		       (1u << KVMI_V7_EVENT_CPUID);
	return VCPU_EVENTS_ACCEPTED;
}

static void cmd_control_cr(struct cmd *c)
{
	struct kvmi_control_cr req;

	BODY(c, req);
	if (is_v12(c->vm)) {
		struct kvmi_v12_vcpu_control_cr r12;

		BODY(c, r12);
		req.enable = r12.enable;
		req.cr = r12.cr;
		req.padding1 = r12.enable > 1;
		req.padding2 = (__u16)(r12.padding1 | r12.padding2);
	}
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
	if (req.padding1 || req.padding2 || !fh_msr_valid(req.msr) ||
	    /* kvmi-v7 checks both ranges with exclusive ends */
	    (fh_vm_is_v7(c->vm) && (req.msr == 0x1fff || req.msr == 0xc0000000 ||
				    req.msr == 0xc0001fff))) {
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
	if (req.nmsrs > KVMI_GET_REGISTERS_MAX_MSRS - (is_v12(c->vm) ? 1 : 0)) {
		/* v12: 8 + 472 + 16n must fit in 8184 */
		reply_err(c, is_v12(c->vm) ? -KVM_EINVAL : -KVM_ENOMEM);
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
			if (!fh_vm_is_v7(c->vm)) {
				reply_err(c, -KVM_EINVAL);
				return;
			}
			/* kvmi-v7's shadowed error: success, this MSR and
			 * every later one read as 0 (KVMI-V7.md 5.3) */
			memset(buf + sizeof(r) + i * sizeof(e), 0,
			       (req.nmsrs - i) * sizeof(e));
			break;
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
	 * 0; kvmi-v7 and v12: -KVM_EOPNOTSUPP) when the vCPU is not waiting
	 * for one */
	if (c->vcpu->state == FH_VCPU_WAITING) {
		BODY(c, c->vcpu->set_regs);
		c->vcpu->have_set_regs = 1;
	} else if (!is_v6(c->vm)) {
		reply_err(c, -KVM_EOPNOTSUPP);
		return;
	}
	reply_err(c, 0);
}

static void cmd_get_cpuid(struct cmd *c)
{
	struct kvmi_get_cpuid_reply r;
	struct kvmi_get_cpuid req;

	BODY(c, req);
	if (fh_cpuid_leaf(req.function, &r))
		reply_err(c, -KVM_ENOENT);
	else
		reply(c, 0, &r, sizeof(r));
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

/* the {gpa, size} head (v12: u16 size and padding, -1 when that is not
 * zero) */
static int phys_head(struct cmd *c, struct kvmi_read_physical *req)
{
	struct kvmi_v12_vm_read_physical r12;

	if (!is_v12(c->vm)) {
		BODY(c, *req);
		return 0;
	}
	BODY(c, r12);
	req->gpa = r12.gpa;
	req->size = r12.size;
	return r12.padding1 || r12.padding2 ? -1 : 0;
}

/* -KVM_EINVAL for a bad range; kvmi-v7 and v12 tell a page the guest
 * does not have with -KVM_ENOENT */
static int32_t phys_err(const struct cmd *c, const struct kvmi_read_physical *r)
{
	if (!is_v6(c->vm) && r->size && r->size <= FH_PAGE_SIZE &&
	    (r->gpa & (FH_PAGE_SIZE - 1)) + r->size <= FH_PAGE_SIZE &&
	    !fh_memory_valid(&c->vm->mem, r->gpa, r->size))
		return -KVM_ENOENT;
	return -KVM_EINVAL;
}

static void cmd_read_physical(struct cmd *c)
{
	uint8_t data[FH_PAGE_SIZE];
	struct kvmi_read_physical req;

	if (phys_head(c, &req)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (!phys_ok(c->vm, req.gpa, req.size)) {
		reply_err(c, phys_err(c, &req));
		return;
	}
	fh_memory_read(&c->vm->mem, req.gpa, data, req.size);
	reply(c, 0, data, req.size);
}

static void cmd_write_physical(struct cmd *c)
{
	struct kvmi_read_physical req; /* the head of kvmi_write_physical */
	int bad_pad;

	if (!body_holds(c, sizeof(req)))
		return;
	bad_pad = phys_head(c, &req);
	if (c->len - sizeof(req) < req.size ||
	    (is_v6(c->vm) && c->len - sizeof(req) != req.size)) {
		fh_vm_close(c->vm,
			    "KVMI_WRITE_PHYSICAL (seq %u): %zu data bytes for "
			    "size %llu",
			    c->seq, c->len - sizeof(req),
			    (unsigned long long)req.size);
		return;
	}
	if (bad_pad || !phys_ok(c->vm, req.gpa, req.size)) {
		reply_err(c, bad_pad ? -KVM_EINVAL : phys_err(c, &req));
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
	/* kvmi-v7/v12: byte 1 (v6 has_error) is padding too */
	if (req.padding || (!is_v6(c->vm) && req.has_error)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	if (is_v12(c->vm) && !fh_vm_event_allowed(c->vm, KVMI_EVENT_TRAP)) {
		reply_err(c, -KVM_EPERM);
		return;
	}
	if (!is_v6(c->vm) && (c->vcpu->inject_pending || c->vcpu->trap_pending)) {
		reply_err(c, -KVM_EBUSY);
		return;
	}
	/* delivered at the next entry unless something else is injected
	 * then (vcpu.c) */
	c->vm->stats.exceptions_injected++;
	c->vcpu->inject_pending = 1;
	c->vcpu->inject_nr = req.nr;
	c->vcpu->inject_error_code = req.error_code;
	c->vcpu->inject_address = req.address;
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
	if (is_v12(c->vm)) { /* {u16 count; padding}: no view */
		struct kvmi_v12_vm_set_page_access h12;

		BODY(c, h12);
		hdr.view = 0;
		hdr.count = h12.count;
		hdr.padding = h12.padding1 | h12.padding2;
	} else if (fh_vm_is_v7(c->vm)) {
		/* the view selects the access table (KVMI-V7.md 5.2) */
		if (hdr.padding || c->len < sizeof(hdr) + item * hdr.count ||
		    hdr.view >= c->vm->view_count) {
			reply_err(c, -KVM_EINVAL);
			return -1;
		}
		if (hdr.view && !fh_vm_features(c->vm).eptp) {
			reply_err(c, -KVM_EOPNOTSUPP);
			return -1;
		}
		c->view = hdr.view;
		hdr.view = 0; /* accepted */
	}
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

static int32_t set_one_access(struct fh_vm *vm, unsigned view,
			      const struct kvmi_page_access_entry *e)
{
	if (e->access & ~KVMI_PAGE_ACCESS_RWX || e->padding1 || e->padding2 ||
	    e->padding3 || !fh_memory_valid(&vm->mem, e->gpa, 1))
		return -KVM_EINVAL;
	return fh_memory_set_access_view(&vm->mem, view, e->gpa, e->access)
		       ? -KVM_ENOMEM
		       : 0;
}

static void cmd_set_page_access(struct cmd *c)
{
	/* kvmi-v7 and v12 go on and return the first error */
	enum fh_pa_errors mode = is_v6(c->vm) ? c->vm->cfg.page_access_errors
					      : FH_PA_ERRORS_FIRST;
	int n = counted(c, sizeof(struct kvmi_page_access_entry));
	int32_t result = 0;

	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		struct kvmi_page_access_entry e;
		int32_t err;

		memcpy(&e, c->body + 8 + sizeof(e) * i, sizeof(e));
		err = set_one_access(c->vm, c->view, &e);
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
	/* no SPP on this "CPU" (kvmi-v7: enable 0 is -KVM_EOPNOTSUPP too,
	 * and the failed first init is remembered) */
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
	struct kvmi_v7_vm_control_cmd_response r7;
	int disable;

	BODY(c, req);
	BODY(c, r7);
	if (fh_vm_is_v7(c->vm)) {
		/* byte 2 is flags; bit 0 asks for CMD_ERROR events */
		req.padding1 = (__u16)(r7.padding1 << 8);
		if ((r7.flags & KVMI_V7_CMD_RESPONSE_ERROR_EVENTS) && !r7.enable &&
		    !fh_vm_event_allowed(c->vm, KVMI_V7_EVENT_CMD_ERROR)) {
			fh_vm_close(c->vm,
				    "KVMI_VM_CONTROL_CMD_RESPONSE (seq %u) asks "
				    "for CMD_ERROR events, which are disallowed",
				    c->seq);
			return;
		}
		c->vm->cmd_response_flags = r7.enable ? 0 : r7.flags;
	}
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
	/* kvmi-v7: the first gfn after guest memory */
	struct kvmi_get_max_gfn_reply r = {
		.gfn = c->vm->mem.npages - (is_v6(c->vm) ? 1 : 0) };

	reply(c, 0, &r, sizeof(r));
}

/* ---- kvmi-v7 and v12 commands (KVMI-V7.md 5.2, 5.3) ---- */

/* a view number: v7-2021 has views 0-2, v7-2023 those below the view
 * count (which grows on create and shrinks when the top one goes) */
static int view_valid(const struct fh_vm *vm, unsigned view)
{
	return view < vm->view_count;
}

static void cmd_set_ve_info(struct cmd *c)
{
	struct kvmi_v7_vcpu_set_ve_info req;

	BODY(c, req);
	/* no #VE on this model CPU: -KVM_EINVAL as coded (D: EOPNOTSUPP) */
	(void)req;
	reply_err(c, -KVM_EINVAL);
}

static void cmd_set_page_sve(struct cmd *c)
{
	struct kvmi_v7_vm_set_page_sve req;

	BODY(c, req);
	if (!view_valid(c->vm, req.view) || req.suppress > 1 || req.padding1 ||
	    req.padding2)
		reply_err(c, -KVM_EINVAL);
	else if (req.view && !fh_vm_features(c->vm).eptp)
		reply_err(c, -KVM_EOPNOTSUPP);
	else
		reply_err(c, 0); /* view 0: every page suppresses #VE anyway */
}

/* a gfn outside guest RAM that ALLOC_GFN has not added */
static int gfn_taken(const struct fh_vm *vm, uint64_t gfn)
{
	if (gfn < vm->mem.npages)
		return 1;
	for (unsigned i = 0; i < vm->ngfns; i++)
		if (vm->gfns[i] == gfn)
			return 1;
	return 0;
}

static void cmd_get_next_available_gfn(struct cmd *c)
{
	struct kvmi_v7_vm_get_next_available_gfn_reply r = {
		.gfn = c->vm->mem.npages };

	while (gfn_taken(c->vm, r.gfn))
		r.gfn++;
	reply(c, 0, &r, sizeof(r));
}

static void cmd_set_ept_view(struct cmd *c)
{
	struct kvmi_v7_vcpu_set_ept_view req;

	BODY(c, req);
	if (req.padding1 || req.padding2 || !view_valid(c->vm, req.view)) {
		reply_err(c, -KVM_EINVAL);
	} else if (!fh_vm_features(c->vm).eptp) {
		reply_err(c, -KVM_EOPNOTSUPP);
	} else {
		c->vcpu->view = req.view;
		reply_err(c, 0);
	}
}

static void cmd_get_ept_view(struct cmd *c)
{
	struct kvmi_v7_vcpu_get_ept_view_reply r;

	memset(&r, 0, sizeof(r));
	r.view = c->vcpu->view;
	reply(c, 0, &r, sizeof(r));
}

static void cmd_translate_gva(struct cmd *c)
{
	struct kvmi_v7_vcpu_translate_gva req;
	struct kvmi_v7_vcpu_translate_gva_reply r;

	/* the model guest maps gva = gpa over its RAM; ~0 when unmapped */
	BODY(c, req);
	r.gpa = fh_memory_valid(&c->vm->mem, req.gva, 1) ? req.gva : ~0ULL;
	reply(c, 0, &r, sizeof(r));
}

static void cmd_control_ept_view(struct cmd *c)
{
	struct kvmi_v7_vcpu_control_ept_view req;

	BODY(c, req);
	if (req.padding1 || req.padding2 || !view_valid(c->vm, req.view) ||
	    req.view >= 8) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	/* SPP is never on here; the workload never issues VMFUNC */
	if (req.visible)
		c->vcpu->views_visible |= (uint8_t)(1u << req.view);
	else
		c->vcpu->views_visible &= (uint8_t)~(1u << req.view);
	reply_err(c, 0);
}

static void cmd_get_xcr(struct cmd *c)
{
	struct kvmi_v7_vcpu_get_xcr req;
	struct kvmi_v7_vcpu_get_xcr_reply r;

	BODY(c, req); /* padding not checked (as coded) */
	if (req.xcr) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	r.value = c->vcpu->xcr0;
	reply(c, 0, &r, sizeof(r));
}

static void cmd_set_xsave(struct cmd *c)
{
	/* shorter areas are zero-padded; the model keeps no XSAVE state */
	reply_err(c, c->len > sizeof(struct kvm_xsave) ? -KVM_EINVAL : 0);
}

static void cmd_query_physical(struct cmd *c)
{
	struct kvmi_v7_vm_query_physical req;
	struct kvmi_v7_vm_query_physical_reply r;

	BODY(c, req);
	if (req.gfn >= c->vm->mem.npages) {
		reply_err(c, -KVM_ENOENT);
		return;
	}
	r.gfn = 0; /* one memslot: all of guest RAM */
	r.size = c->vm->mem.npages;
	reply(c, 0, &r, sizeof(r));
}

/* ALLOC/FREE_GFN: QEMU's helper waits on vCPU 0 only (-KVM_ETIME on the
 * others); QEMU's failure (1) is answered -KVM_EINVAL here, since whether
 * the kernel converts it is not established (KVMI-V7.md 10.6) */
static void cmd_alloc_gfn(struct cmd *c, int alloc)
{
	struct kvmi_v7_vcpu_alloc_gfn req;
	struct fh_vm *vm = c->vm;

	BODY(c, req);
	if (c->vcpu->index != 0) {
		reply_err(c, -KVM_ETIME);
		return;
	}
	for (unsigned i = 0; i < vm->ngfns; i++)
		if (vm->gfns[i] == req.gfn) {
			if (alloc) {
				reply_err(c, -KVM_EINVAL);
			} else {
				vm->gfns[i] = vm->gfns[--vm->ngfns];
				reply_err(c, 0);
			}
			return;
		}
	if (!alloc || req.gfn < vm->mem.npages || vm->ngfns == FH_MAX_GFNS) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	vm->gfns[vm->ngfns++] = req.gfn;
	reply_err(c, 0);
}

/* CREATE_EPT_VIEW: the lowest free index >= 1; none left (the model has
 * FH_MAX_VIEWS, the host 512) -> -KVM_EINVAL */
static void cmd_create_ept_view(struct cmd *c)
{
	struct kvmi_v7_vm_create_ept_view_reply r;
	struct fh_vm *vm = c->vm;
	unsigned v;

	for (v = 1; v < FH_MAX_VIEWS; v++)
		if (!((vm->views_created >> v) & 1))
			break;
	if (v == FH_MAX_VIEWS) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	vm->views_created |= (uint8_t)(1u << v);
	if (vm->view_count <= v)
		vm->view_count = v + 1;
	memset(&r, 0, sizeof(r));
	r.view = (__u16)v;
	reply(c, 0, &r, sizeof(r));
}

/* DESTROY_EPT_VIEW: its access table is cleared; the count shrinks when
 * it was the top view.  vCPUs still on it stay (not established) */
static void cmd_destroy_ept_view(struct cmd *c)
{
	struct kvmi_v7_vm_destroy_ept_view req;
	struct fh_vm *vm = c->vm;

	BODY(c, req);
	if (req.view < 1 || req.view >= FH_MAX_VIEWS ||
	    !((vm->views_created >> req.view) & 1)) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	fh_memory_reset_view(&vm->mem, req.view);
	vm->views_created &= (uint8_t)~(1u << req.view);
	while (vm->view_count > 1 &&
	       !((vm->views_created >> (vm->view_count - 1)) & 1))
		vm->view_count--;
	reply_err(c, 0);
}

static void cmd_change_gfn(struct cmd *c)
{
	size_t want = c->vm->cfg.dialect == KVMI_DIALECT_V7_2023
			      ? sizeof(struct kvmi_v7_2023_vcpu_change_gfn)
			      : sizeof(struct kvmi_v7_vcpu_change_gfn);
	struct kvmi_v7_2023_vcpu_change_gfn req;

	if (!body_holds(c, want))
		return;
	memset(&req, 0, sizeof(req));
	if (want == sizeof(req)) {
		BODY(c, req);
		if (!view_valid(c->vm, req.view)) {
			reply_err(c, -KVM_EINVAL);
			return;
		}
	}
	/* accepted without checks, as coded; the remapping itself is not
	 * modelled (guest memory reads stay those of old_gfn) */
	reply_err(c, 0);
}

static void cmd_control_singlestep(struct cmd *c)
{
	struct kvmi_v7_vcpu_control_singlestep req;

	BODY(c, req);
	for (size_t i = 0; i < sizeof(req.padding); i++)
		if (req.padding[i]) {
			reply_err(c, -KVM_EINVAL);
			return;
		}
	if (is_v12(c->vm) && req.enable > 1) {
		reply_err(c, -KVM_EINVAL);
		return;
	}
	c->vcpu->singlestep = req.enable != 0;
	reply_err(c, 0);
}

static void cmd_control_cleanup(struct cmd *c)
{
	struct kvmi_v12_vm_control_cleanup req;

	BODY(c, req);
	for (size_t i = 0; i < sizeof(req.padding); i++)
		if (req.padding[i] || req.enable > 1) {
			reply_err(c, -KVM_EINVAL);
			return;
		}
	reply_err(c, 0); /* the interceptions die with the channel anyway */
}

static int reply_tail_max(const struct fh_vm *vm, unsigned event_id)
{
	int wire = kvmi_dialect_event_to_wire(vm->cfg.dialect, event_id);

	return wire < 0 ? 0 : kvmi_event_reply_data_size_d(vm->cfg.dialect,
							   (unsigned)wire);
}

/* The host refuses an event reply with an error-only message (v6/v7:
 * id 0, v12: id 1), not sent while command replies are disabled. */
static void event_reply_error(struct fh_vm *vm, uint32_t seq, int32_t err)
{
	uint8_t *b;
	int n;

	if (vm->replies_disabled)
		return;
	b = fh_buf_reserve(&vm->out, 16);
	n = b ? kvmi_encode_event_reply_error_d(vm->cfg.dialect, b, 16, seq, err)
	      : -ENOMEM;
	if (n < 0)
		fh_vm_close(vm, "cannot send the event-reply error");
	else
		vm->out.len += (size_t)n;
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
	if ((vh.padding1 || vh.padding2) && is_v12(vm)) {
		event_reply_error(vm, hdr->seq, -KVM_EINVAL);
		return;
	}
	if (vh.padding1 || vh.padding2) {
		fh_vm_close(vm, "KVMI_EVENT_REPLY (seq %u): vCPU header padding",
			    hdr->seq);
		return;
	}
	if (vh.vcpu >= vm->nvcpus) {
		/* the vCPU-header check answers with an error-only message
		 * whose id is the event reply's (sec. 3.8) */
		event_reply_error(vm, hdr->seq, -KVM_EINVAL);
		return;
	}
	v = &vm->vcpus[vh.vcpu];
	if (v->state != FH_VCPU_WAITING && !is_v6(vm))
		return; /* kvmi-v7 (and v12): ignored */
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
	if (tail > (size_t)reply_tail_max(vm, v->ev_id)) {
		fh_vm_close(vm,
			    "KVMI_EVENT_REPLY (seq %u): %zu reply bytes for %s "
			    "(at most %d)",
			    hdr->seq, tail, kvmi_event_name_d(vm->cfg.dialect,
				(unsigned)kvmi_dialect_event_to_wire(
					vm->cfg.dialect, v->ev_id)),
			    reply_tail_max(vm, v->ev_id));
		return;
	}
	if (v->ev_id == KVMI_EVENT_PF && tail) {
		struct kvmi_v7_event_pf_reply pf;

		memset(&pf, 0, sizeof(pf));
		memcpy(&pf, p + KVMI_EVENT_REPLY_BASE_SIZE, tail);
		if (pf.ctx_size > KVMI_PF_REPLY_CTX_MAX) {
			fh_vm_close(vm, "PF reply (seq %u) with ctx_size %u",
				    hdr->seq, pf.ctx_size);
			return;
		}
		/* kvmi-v7: byte 12 (v6 singlestep) and 14-15 are padding */
		if (fh_vm_is_v7(vm) && (pf.padding1 || pf.padding2)) {
			fh_vm_close(vm, "PF reply (seq %u) with non-zero "
					"padding (byte 12 or 14-15)",
				    hdr->seq);
			return;
		}
	}
	if (v->ev_id < FH_NUM_EVENTS)
		vm->stats.events_replied[v->ev_id]++;
	fh_vcpu_event_reply(vm, v, er.action, p + KVMI_EVENT_REPLY_BASE_SIZE,
			    tail);
}

static void dispatch(struct cmd *c)
{
	switch (c->op) {
	case KVMI_GET_VERSION: cmd_get_version(c); break;
	case KVMI_CHECK_COMMAND: cmd_check(c, 0); break;
	case KVMI_CHECK_EVENT: cmd_check(c, 1); break;
	case KVMI_GET_GUEST_INFO: cmd_get_guest_info(c); break;
	case KVMI_GET_VCPU_INFO: cmd_get_vcpu_info(c); break;
	case KVMI_PAUSE_VCPU: cmd_pause_vcpu(c); break;
	case KVMI_CONTROL_VM_EVENTS:
		control_event_mask(c, vm_events_accepted(c->vm),
				   &c->vm->vm_events);
		break;
	case KVMI_CONTROL_EVENTS:
		control_event_mask(c, vcpu_events_accepted(c->vm),
				   &c->vcpu->events);
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
	case KVMI_V7_VCPU_SET_VE_INFO: cmd_set_ve_info(c); break;
	case KVMI_V7_VM_SET_PAGE_SVE: cmd_set_page_sve(c); break;
	case KVMI_V7_VM_GET_NEXT_AVAILABLE_GFN: cmd_get_next_available_gfn(c); break;
	case KVMI_V7_VCPU_SET_EPT_VIEW: cmd_set_ept_view(c); break;
	case KVMI_V7_VCPU_DISABLE_VE: reply_err(c, 0); break;
	case KVMI_V7_VCPU_GET_EPT_VIEW: cmd_get_ept_view(c); break;
	case KVMI_V7_VCPU_TRANSLATE_GVA: cmd_translate_gva(c); break;
	case KVMI_V7_VCPU_CONTROL_EPT_VIEW: cmd_control_ept_view(c); break;
	case KVMI_V7_VCPU_GET_XCR: cmd_get_xcr(c); break;
	case KVMI_V7_VCPU_SET_XSAVE: cmd_set_xsave(c); break;
	case KVMI_V7_VM_QUERY_PHYSICAL: cmd_query_physical(c); break;
	case KVMI_V7_VCPU_ALLOC_GFN: cmd_alloc_gfn(c, 1); break;
	case KVMI_V7_VCPU_FREE_GFN: cmd_alloc_gfn(c, 0); break;
	case KVMI_V7_VM_CREATE_EPT_VIEW: cmd_create_ept_view(c); break;
	case KVMI_V7_VM_DESTROY_EPT_VIEW: cmd_destroy_ept_view(c); break;
	case KVMI_V7_VCPU_CHANGE_GFN: cmd_change_gfn(c); break;
	case KVMI_V7_VCPU_CONTROL_SINGLESTEP: cmd_control_singlestep(c); break;
	case KVMI_COMMON_VM_CONTROL_CLEANUP: cmd_control_cleanup(c); break;
	}
}

/* An id the host does not know (v6: -KVM_EOPNOTSUPP, always answered;
 * kvmi-v7: -KVM_ENOSYS, closes while replies are off; v12: -KVM_ENOSYS)
 * or one QEMU does not allow (-KVM_EPERM, the same rules). */
static void refuse(struct fh_vm *vm, const struct cmd *c, int32_t err)
{
	if (fh_vm_is_v7(vm) && vm->replies_disabled) {
		fh_vm_close(vm, "%s id %u (seq %u) while command replies are "
				"disabled",
			    err == -KVM_EPERM ? "disallowed" : "unknown", c->id,
			    c->seq);
		return;
	}
	send_reply(vm, c->id, c->seq, err, NULL, 0);
}

/* the common id of wire id @id, -1 when the dialect has no such command */
static int common_op(const struct fh_vm *vm, unsigned id)
{
	int op = kvmi_dialect_msg_from_wire(vm->cfg.dialect, id);

	if (op <= KVMI_EVENT || op >= NUM_OPS || !cmds[op].known)
		return -1;
	return op;
}

static const struct cmd_info v12_pause = { 1, 0, 0, 8 };

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
	uint8_t zbody[sizeof(struct kvm_regs)];
	int op;

	if (vm->closed)
		return;
	vm->wake = 1;
	if (msg->kind == KVMI_MSG_EVENT_REPLY) {
		event_reply(vm, &msg->hdr, msg->payload);
		return;
	}
	vm->stats.commands++;
	op = common_op(vm, c.id);
	if (op < 0) {
		/* v6: even while replies are disabled */
		refuse(vm, &c, is_v6(vm) ? -KVM_EOPNOTSUPP : -KVM_ENOSYS);
		return;
	}
	c.op = (unsigned)op;
	if (command_denied(vm, c.op)) {
		refuse(vm, &c, -KVM_EPERM);
		return;
	}
	info = &cmds[c.op];
	if (is_v12(vm) && c.op == KVMI_PAUSE_VCPU)
		info = &v12_pause; /* the index is in the request */
	if (info->vcpu) {
		struct kvmi_vcpu_hdr vh;

		if (c.len < sizeof(vh)) {
			fh_vm_close(vm, "%s (seq %u) shorter than a vCPU header",
				    kvmi_msg_name_d(vm->cfg.dialect, c.id), c.seq);
			return;
		}
		memcpy(&vh, c.body, sizeof(vh));
		if ((vh.padding1 || vh.padding2) && is_v12(vm)) {
			reply_err(&c, -KVM_EINVAL);
			return;
		}
		if (vh.padding1 || vh.padding2) {
			fh_vm_close(vm, "%s (seq %u): vCPU header padding",
				    kvmi_msg_name_d(vm->cfg.dialect, c.id), c.seq);
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
	if (info->fixed >= 0 && c.len != (size_t)info->fixed && !is_v6(vm)) {
		/* kvmi-v7/v12: a short request is zero-extended, a long one
		 * accepted (KVMI-V7.md sec. 2) */
		if (c.len < (size_t)info->fixed) {
			memset(zbody, 0, sizeof(zbody));
			memcpy(zbody, c.body, c.len);
			c.body = zbody;
		}
		c.len = (size_t)info->fixed;
	}
	if (info->fixed >= 0 && c.len != (size_t)info->fixed) {
		fh_vm_close(vm, "%s (seq %u): %u bytes, the command has %zu",
			    kvmi_msg_name_d(vm->cfg.dialect, c.id), c.seq,
			    msg->hdr.size,
			    (info->vcpu ? sizeof(struct kvmi_vcpu_hdr) : 0) +
				    (size_t)info->fixed);
		return;
	}
	dispatch(&c);
}

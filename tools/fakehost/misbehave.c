/*
 * kvmi-fakehost - misbehave.c: the hostile host modes of misbehave.h.
 * The bytes are built here from the wire layout (kvmi/wire.h): a message
 * is an 8-byte header (id, size, seq) and size bytes of payload; an event
 * is a header of id KVMI_EVENT, struct kvmi_event, then the event's data.
 */
#include "misbehave.h"

#include <string.h>

#include "vm.h"

const char fh_misbehave_names[] =
	"garbage, oversized, wrong-size, unknown-id, unknown-event, "
	"unknown-seq, dup-reply, unhook-flood, no-replies, stop-reading, "
	"bp-burst, slowloris, idle";

static const char *const names[FH_MB_COUNT] = {
	[FH_MB_GARBAGE] = "garbage",
	[FH_MB_OVERSIZED] = "oversized",
	[FH_MB_WRONG_SIZE] = "wrong-size",
	[FH_MB_UNKNOWN_ID] = "unknown-id",
	[FH_MB_UNKNOWN_EVENT] = "unknown-event",
	[FH_MB_UNKNOWN_SEQ] = "unknown-seq",
	[FH_MB_DUP_REPLY] = "dup-reply",
	[FH_MB_UNHOOK_FLOOD] = "unhook-flood",
	[FH_MB_NO_REPLIES] = "no-replies",
	[FH_MB_STOP_READING] = "stop-reading",
	[FH_MB_BP_BURST] = "bp-burst",
	[FH_MB_SLOWLORIS] = "slowloris",
	[FH_MB_IDLE] = "idle",
};

int fh_misbehave_parse(const char *s)
{
	for (int i = 1; i < FH_MB_COUNT; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int fh_misbehave_active(const struct fh_vm *vm)
{
	return vm->cfg.misbehave != FH_MB_NONE &&
	       fh_vm_total_events(vm) >= vm->cfg.misbehave_after;
}

/* append raw bytes for the tool */
static void raw(struct fh_vm *vm, const void *p, size_t n)
{
	uint8_t *w = fh_buf_reserve(&vm->out, n);

	if (!w) {
		fh_vm_close(vm, "out of memory misbehaving");
		return;
	}
	memcpy(w, p, n);
	vm->out.len += n;
}

static void header(struct fh_vm *vm, uint16_t id, uint16_t size, uint32_t seq)
{
	struct kvmi_msg_hdr h = {.id = id, .size = size, .seq = seq};

	raw(vm, &h, sizeof(h));
}

/* an event message whose payload is @payload bytes of (common, data) cut
 * or padded with zeros */
static void event_sized(struct fh_vm *vm, uint8_t id, uint16_t vcpu,
			const void *data, size_t len, size_t payload)
{
	uint8_t buf[sizeof(struct kvmi_event) + 64] = {0};
	struct kvmi_event ev = {.size = sizeof(ev), .vcpu = vcpu, .event = id};

	memcpy(buf, &ev, sizeof(ev));
	if (len)
		memcpy(buf + sizeof(ev), data, len);
	if (payload > sizeof(buf))
		payload = sizeof(buf);
	header(vm, KVMI_EVENT, (uint16_t)payload, ++vm->event_seq);
	raw(vm, buf, payload);
}

static void garbage(struct fh_vm *vm)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ vm->cfg.seed;
	uint8_t b[256];

	for (size_t i = 0; i < sizeof(b); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
	raw(vm, b, sizeof(b));
}

void fh_misbehave_inject(struct fh_vm *vm)
{
	struct kvmi_event_breakpoint bp = {.gpa = 0x3010, .insn_len = 1};

	if (vm->closed || vm->mb_done || !fh_misbehave_active(vm))
		return;
	switch (vm->cfg.misbehave) {
	case FH_MB_GARBAGE:
		garbage(vm);
		break;
	case FH_MB_OVERSIZED:
		header(vm, KVMI_EVENT, 0xffff, ++vm->event_seq);
		break;
	case FH_MB_WRONG_SIZE:
		event_sized(vm, KVMI_EVENT_BREAKPOINT, 0, &bp, sizeof(bp),
			    sizeof(struct kvmi_event) + sizeof(bp) - 12);
		break;
	case FH_MB_UNKNOWN_ID:
		header(vm, 0x7777, 8, 1);
		raw(vm, "\0\0\0\0\0\0\0\0", 8);
		break;
	case FH_MB_UNKNOWN_EVENT:
		event_sized(vm, 200, 0, NULL, 0, sizeof(struct kvmi_event));
		break;
	case FH_MB_UNKNOWN_SEQ: {
		/* a well-formed GET_VERSION reply (error code, version) */
		struct {
			struct kvmi_error_code e;
			struct kvmi_get_version_reply v;
		} r = {.v = {.version = KVMI_VERSION}};

		header(vm, KVMI_GET_VERSION, sizeof(r), 0x7ffffff0u);
		raw(vm, &r, sizeof(r));
		break;
	}
	case FH_MB_UNHOOK_FLOOD:
		for (int i = 0; i < 1000; i++)
			fh_vm_emit_event(vm, NULL, KVMI_EVENT_UNHOOK, NULL, 0);
		vm->mb_unhook_sent = 1;
		break;
	default:
		return; /* not a one-shot mode */
	}
	vm->mb_done = 1;
}

void fh_misbehave_pf_all(struct fh_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus && !vm->closed; i++) {
		struct kvmi_event_pf pf = {.gva = 0x7000, .gpa = 0x7000,
					   .access = KVMI_PAGE_ACCESS_W};

		fh_vm_emit_event(vm, &vm->vcpus[i], KVMI_EVENT_PF, &pf,
				 sizeof(pf));
	}
}

void fh_misbehave_on_write(struct fh_vm *vm, uint64_t gpa, const void *data,
			   uint64_t len)
{
	struct kvmi_event_breakpoint bp = {.gpa = gpa, .insn_len = 1};

	if (vm->cfg.misbehave != FH_MB_BP_BURST || vm->mb_done ||
	    !fh_misbehave_active(vm) || len != 1 ||
	    *(const uint8_t *)data != 0xCC ||
	    !(vm->vm_events & (1u << KVMI_EVENT_UNHOOK)))
		return;
	/* every vCPU not already waiting executes the new INT3 and reports
	 * it; then QEMU asks for the unhook; the reply to the write comes
	 * last, so the tool holds them all during its command */
	for (unsigned i = 0; i < vm->nvcpus && !vm->closed; i++) {
		struct fh_vcpu *v = &vm->vcpus[i];
		uint32_t seq;

		if (v->state == FH_VCPU_WAITING ||
		    !(v->events & (1u << KVMI_EVENT_BREAKPOINT)))
			continue;
		v->insn.kind = FH_INSN_EXEC;
		v->insn.gpa = v->insn.rip = v->regs.rip = gpa;
		v->insn.access_done = 1;
		seq = fh_vm_emit_event(vm, v, KVMI_EVENT_BREAKPOINT, &bp,
				       sizeof(bp));
		if (!seq)
			break;
		v->state = FH_VCPU_WAITING;
		v->ev_id = KVMI_EVENT_BREAKPOINT;
		v->ev_seq = seq;
		v->have_set_regs = 0;
	}
	if (fh_vm_unhook(vm) == 0)
		vm->mb_unhook_sent = 1;
	vm->mb_done = 1;
}

/*
 * kvmi-fakehost - vcpu.c: a model vCPU executing a seeded workload.
 *
 * Each instruction is drawn from the hot set: execute the byte at a hot
 * address (a #BP when it is 0xCC), read or write data on a hot page, load
 * CR3, write an MSR or XCR0, issue the agent hypercall, or read a
 * descriptor-table register (and, on kvmi-v7, execute CPUID).  Page-access
 * restrictions, CR/MSR interception and the events the tool enabled turn
 * these into KVMI events; the vCPU then waits for the reply and applies its
 * action as the host of the dialect does.  kvmi-v7 and v12: every
 * injected exception is reported with a TRAP event, and CONTROL_SINGLESTEP
 * makes every completed instruction a SINGLESTEP event (failed = 0; the
 * failed = 1 exits are not modelled).
 */
#include "vm.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t msr_index[FH_NMSRS] = {
	0x174, 0x175, 0x176, 0xc0000080, 0xc0000081,
	0xc0000082, 0xc0000083, 0x277, 0xc0000102,
};

/* MSRs the workload writes (indices into msr_index). */
static const unsigned workload_msrs[] = { 0, 1, 2, 4, 5, 6, 8 };

#define NROOTS 4

static uint64_t rnd(struct fh_vcpu *v)
{
	uint64_t x = v->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	v->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void set_seg(struct kvm_segment *s, __u16 sel, __u8 type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;
}

static uint64_t cr3_root(unsigned i)
{
	return 0x100000ULL + 0x1000ULL * i;
}

void fh_vcpu_init(struct fh_vcpu *v, unsigned index, uint64_t seed)
{
	memset(v, 0, sizeof(*v));
	v->index = index;
	v->state = FH_VCPU_RUNNING;
	v->rng = (seed ^ (0x9e3779b97f4a7c15ULL * (index + 1))) | 1;
	v->regs.rip = 0x1000;
	v->regs.rsp = 0x8000 + 0x1000ULL * index;
	v->regs.rflags = 0x202;
	set_seg(&v->sregs.cs, 0x10, 11, 1);
	set_seg(&v->sregs.ds, 0x18, 3, 0);
	set_seg(&v->sregs.es, 0x18, 3, 0);
	set_seg(&v->sregs.ss, 0x18, 3, 0);
	set_seg(&v->sregs.fs, 0x18, 3, 0);
	set_seg(&v->sregs.gs, 0x18, 3, 0);
	set_seg(&v->sregs.tr, 0x40, 11, 0);
	v->sregs.tr.s = 0;
	v->sregs.ldt.unusable = 1;
	v->sregs.gdt.base = 0x2000;
	v->sregs.gdt.limit = 0x7f;
	v->sregs.idt.base = 0x3000;
	v->sregs.idt.limit = 0xfff;
	v->sregs.cr0 = 0x80050033;
	v->sregs.cr3 = cr3_root(0);
	v->sregs.cr4 = 0x3606e0;
	v->sregs.efer = 0xd01;
	v->sregs.apic_base = index ? 0xfee00800 : 0xfee00900;
	v->msrs[0] = 0x10;
	v->msrs[1] = 0xfffffe0000001000ULL;
	v->msrs[2] = 0xffffffff81001000ULL;
	v->msrs[3] = 0xd01;
	v->msrs[4] = 0x0023001000000000ULL;
	v->msrs[5] = 0xffffffff81800000ULL;
	v->msrs[6] = 0xffffffff81801000ULL;
	v->msrs[7] = 0x0007040600070406ULL;
	v->msrs[8] = 0;
	v->xcr0 = 0x7;
}

static int msr_slot(uint32_t msr)
{
	for (unsigned i = 0; i < FH_NMSRS; i++)
		if (msr_index[i] == msr)
			return (int)i;
	return -1;
}

int fh_msr_valid(uint32_t msr)
{
	return msr <= 0x1fff || (msr >= 0xc0000000 && msr <= 0xc0001fff);
}

static unsigned msr_bit(uint32_t msr)
{
	return msr <= 0x1fff ? msr : 0x2000 + (msr - 0xc0000000);
}

int fh_vcpu_get_msr(const struct fh_vcpu *v, uint32_t msr, uint64_t *val)
{
	int i = msr_slot(msr);

	if (i >= 0) {
		*val = v->msrs[i];
		return 0;
	}
	if (!fh_msr_valid(msr))
		return -1;
	*val = 0;
	return 0;
}

int fh_vcpu_msr_intercepted(const struct fh_vcpu *v, uint32_t msr)
{
	unsigned b;

	if (!v->msr_bitmap || !fh_msr_valid(msr))
		return 0;
	b = msr_bit(msr);
	return (v->msr_bitmap[b / 8] >> (b % 8)) & 1;
}

int fh_vcpu_set_msr_intercept(struct fh_vcpu *v, uint32_t msr, int enable)
{
	unsigned b;
	int was;

	if (!fh_msr_valid(msr))
		return -EINVAL;
	if (!v->msr_bitmap) {
		if (!enable)
			return 0;
		v->msr_bitmap = calloc(1, 0x4000 / 8);
		if (!v->msr_bitmap)
			return -ENOMEM;
	}
	b = msr_bit(msr);
	was = (v->msr_bitmap[b / 8] >> (b % 8)) & 1;
	if (enable && !was) {
		v->msr_bitmap[b / 8] |= (uint8_t)(1u << (b % 8));
		v->msrs_intercepted++;
	} else if (!enable && was) {
		v->msr_bitmap[b / 8] &= (uint8_t)~(1u << (b % 8));
		v->msrs_intercepted--;
	}
	return 0;
}

/* the usual mix: 1 in 32 each of CR3, MSR, XSETBV, hypercall and
 * descriptor, 3 reads, 2 writes, the rest executes hot addresses */
static const uint8_t default_mix[32] = {
	FH_INSN_CR3,	   FH_INSN_MSR,	  FH_INSN_XSETBV, FH_INSN_HYPERCALL,
	FH_INSN_DESCRIPTOR, FH_INSN_READ, FH_INSN_READ,	  FH_INSN_READ,
	FH_INSN_WRITE,	   FH_INSN_WRITE, FH_INSN_EXEC,	  FH_INSN_EXEC,
	FH_INSN_EXEC,	   FH_INSN_EXEC,  FH_INSN_EXEC,	  FH_INSN_EXEC,
	FH_INSN_EXEC,	   FH_INSN_EXEC,  FH_INSN_EXEC,	  FH_INSN_EXEC,
	FH_INSN_EXEC,	   FH_INSN_EXEC,  FH_INSN_EXEC,	  FH_INSN_EXEC,
	FH_INSN_EXEC,	   FH_INSN_EXEC,  FH_INSN_EXEC,	  FH_INSN_EXEC,
	FH_INSN_EXEC,	   FH_INSN_EXEC,  FH_INSN_EXEC,	  FH_INSN_EXEC,
};

static void mix_from(const uint8_t base[32], uint8_t table[32], uint32_t mask)
{
	uint8_t allowed[32];
	unsigned n = 0;

	for (unsigned i = 0; i < 32; i++)
		if (!mask || (mask >> base[i]) & 1)
			allowed[n++] = base[i];
	if (!n) { /* kinds outside the mix: keep the usual one */
		memcpy(table, base, 32);
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		table[i] = allowed[i % n];
}

void fh_vcpu_mix(uint8_t table[32], uint32_t mask)
{
	mix_from(default_mix, table, mask);
}

void fh_vcpu_mix_cpuid(uint8_t table[32], uint32_t mask)
{
	uint8_t base[32];

	memcpy(base, default_mix, sizeof(base));
	base[31] = FH_INSN_CPUID; /* one execution in 32 becomes a CPUID */
	mix_from(base, table, mask);
}

/* CPUID leaves of the model CPU (GET_CPUID and the CPUID instruction) */
int fh_cpuid_leaf(uint32_t function, struct kvmi_get_cpuid_reply *out)
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

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (leaves[i].function == function) {
			*out = leaves[i].r;
			return 0;
		}
	return -1;
}

int fh_vector_has_error(uint8_t vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
	       vector == 21 || vector == 29 || vector == 30;
}

static void next_insn(struct fh_vm *vm, struct fh_vcpu *v)
{
	struct fh_insn *in = &v->insn;
	uint64_t r = rnd(v);
	uint64_t hot = vm->hot[(r >> 8) % vm->nhot];
	unsigned k = vm->insn_table[r % 32];

	memset(in, 0, sizeof(*in));
	if (k == FH_INSN_CR3) {
		in->kind = FH_INSN_CR3;
		in->value = cr3_root((unsigned)(r >> 40) % NROOTS);
	} else if (k == FH_INSN_MSR) {
		unsigned i = workload_msrs[(r >> 40) % (sizeof(workload_msrs) /
							sizeof(workload_msrs[0]))];

		in->kind = FH_INSN_MSR;
		in->msr = msr_index[i];
		in->value = v->msrs[i] ^ (((r >> 50) & 1) << 12);
	} else if (k == FH_INSN_XSETBV) {
		in->kind = FH_INSN_XSETBV;
		in->value = ((r >> 40) & 1) ? 0x207 : 0x7;
	} else if (k == FH_INSN_HYPERCALL) {
		in->kind = FH_INSN_HYPERCALL;
	} else if (k == FH_INSN_DESCRIPTOR) {
		in->kind = FH_INSN_DESCRIPTOR;
		in->value = KVMI_DESC_IDTR + (r >> 40) % 4;
	} else if (k == FH_INSN_CPUID) {
		static const uint32_t fns[] = { 0x0, 0x1, 0x7, 0x80000001 };

		in->kind = FH_INSN_CPUID;
		in->value = fns[(r >> 40) % 4];
	} else if (k == FH_INSN_READ) {
		in->kind = FH_INSN_READ;
		in->gpa = (hot & ~(uint64_t)(FH_PAGE_SIZE - 1)) | ((r >> 32) & 0xff8);
	} else if (k == FH_INSN_WRITE) {
		in->kind = FH_INSN_WRITE;
		in->gpa = (hot & ~(uint64_t)(FH_PAGE_SIZE - 1)) | ((r >> 32) & 0xff8);
	} else {
		in->kind = FH_INSN_EXEC;
		in->gpa = hot;
	}
	in->rip = in->kind == FH_INSN_EXEC ? hot : v->regs.rip;
}

static void complete(struct fh_vcpu *v)
{
	if (v->insn.kind == FH_INSN_EXEC)
		v->regs.rip = v->insn.gpa + 1;
	v->insn.kind = FH_INSN_NONE;
}

/* The guest receives #BP for the INT3 at @gpa. */
static void deliver_bp(struct fh_vm *vm, struct fh_vcpu *v, uint64_t gpa)
{
	if (v->inject_pending) {
		/* the tool's exception loses against the #BP (sec. 7.16);
		 * kvmi-v7/v12: TRAP says the #BP was injected */
		v->inject_pending = 0;
		v->trap_pending = 1;
		v->trap_vector = 3;
		v->trap_error_code = 0;
		v->trap_cr2 = v->sregs.cr2;
		vm->stats.exceptions_dropped++;
	}
	if (fh_memory_orig_byte(&vm->mem, gpa) == 0xCC)
		vm->stats.guest_int3_continued++;
	else
		fh_vm_integrity_error(vm,
				      "#BP delivered to the guest at gpa 0x%llx "
				      "where its own code has no INT3",
				      (unsigned long long)gpa);
}

static int raise_event(struct fh_vm *vm, struct fh_vcpu *v, uint8_t id,
		 const void *data, size_t len, int workload)
{
	uint32_t seq = fh_vm_emit_event(vm, v, id, data, len);

	if (!seq)
		return 0;
	v->state = FH_VCPU_WAITING;
	v->ev_id = id;
	v->ev_seq = seq;
	v->have_set_regs = 0;
	if (workload)
		v->workload_events++;
	return 1;
}

static int enabled(const struct fh_vcpu *v, unsigned id)
{
	return (v->events >> id) & 1;
}

/* Execute (the rest of) the current instruction; 1 when it raised an event. */
static int step(struct fh_vm *vm, struct fh_vcpu *v)
{
	struct fh_insn *in = &v->insn;

	if (in->kind == FH_INSN_NONE)
		next_insn(vm, v);
	if (in->kind == FH_INSN_EXEC)
		v->regs.rip = in->gpa;

	switch (in->kind) {
	case FH_INSN_EXEC:
	case FH_INSN_READ:
	case FH_INSN_WRITE:
		if (!in->access_done) {
			uint8_t need = in->kind == FH_INSN_EXEC	 ? KVMI_PAGE_ACCESS_X
				       : in->kind == FH_INSN_READ ? KVMI_PAGE_ACCESS_R
								  : KVMI_PAGE_ACCESS_W;

			/* the restrictions of the vCPU's current view */
			if (!(fh_memory_access_view(&vm->mem, v->view, in->gpa) &
			      need) &&
			    enabled(v, KVMI_EVENT_PF)) {
				struct kvmi_event_pf pf;

				memset(&pf, 0, sizeof(pf));
				pf.gva = in->gpa;
				pf.gpa = in->gpa;
				pf.access = need;
				return raise_event(vm, v, KVMI_EVENT_PF, &pf, sizeof(pf), 1);
			}
			in->access_done = 1;
		}
		if (in->kind == FH_INSN_EXEC &&
		    fh_memory_byte(&vm->mem, in->gpa) == 0xCC) {
			if (enabled(v, KVMI_EVENT_BREAKPOINT)) {
				struct kvmi_event_breakpoint bp;

				memset(&bp, 0, sizeof(bp));
				bp.gpa = in->gpa;
				bp.insn_len = 1;
				return raise_event(vm, v, KVMI_EVENT_BREAKPOINT, &bp,
					     sizeof(bp), 1);
			}
			deliver_bp(vm, v, in->gpa);
		}
		break;
	case FH_INSN_CR3:
		if (in->value != v->sregs.cr3 && enabled(v, KVMI_EVENT_CR) &&
		    (v->crs & (1u << 3))) {
			struct kvmi_event_cr cr;

			memset(&cr, 0, sizeof(cr));
			cr.cr = 3;
			cr.old_value = v->sregs.cr3;
			cr.new_value = in->value;
			v->ev_new_value = in->value;
			return raise_event(vm, v, KVMI_EVENT_CR, &cr, sizeof(cr), 1);
		}
		v->sregs.cr3 = in->value;
		break;
	case FH_INSN_MSR: {
		int i = msr_slot(in->msr);

		if (in->value != v->msrs[i] && enabled(v, KVMI_EVENT_MSR) &&
		    fh_vcpu_msr_intercepted(v, in->msr)) {
			struct kvmi_event_msr msr;

			memset(&msr, 0, sizeof(msr));
			msr.msr = in->msr;
			msr.old_value = v->msrs[i];
			msr.new_value = in->value;
			v->ev_new_value = in->value;
			return raise_event(vm, v, KVMI_EVENT_MSR, &msr, sizeof(msr), 1);
		}
		v->msrs[i] = in->value;
		break;
	}
	case FH_INSN_XSETBV:
		if (in->value != v->xcr0 && enabled(v, KVMI_EVENT_XSETBV))
			return raise_event(vm, v, KVMI_EVENT_XSETBV, NULL, 0, 1);
		v->xcr0 = in->value;
		break;
	case FH_INSN_HYPERCALL:
		v->regs.rax = 34; /* KVM_HC_XEN_HVM_OP */
		v->regs.rdi = 24; /* ..._GUEST_REQUEST_VM_EVENT */
		v->regs.rsi = 0;
		if (enabled(v, KVMI_EVENT_HYPERCALL))
			return raise_event(vm, v, KVMI_EVENT_HYPERCALL, NULL, 0, 1);
		v->regs.rax = (uint64_t)-1000; /* -KVM_ENOSYS without a tool */
		break;
	case FH_INSN_DESCRIPTOR:
		if (enabled(v, KVMI_EVENT_DESCRIPTOR)) {
			struct kvmi_event_descriptor d;

			memset(&d, 0, sizeof(d));
			d.descriptor = (__u8)in->value;
			d.write = 0;
			return raise_event(vm, v, KVMI_EVENT_DESCRIPTOR, &d, sizeof(d), 1);
		}
		break;
	case FH_INSN_CPUID: {
		struct kvmi_get_cpuid_reply r = { 0 };

		/* the outputs are in the registers before the event (7.1) */
		fh_cpuid_leaf((uint32_t)in->value, &r);
		v->regs.rax = r.eax;
		v->regs.rbx = r.ebx;
		v->regs.rcx = r.ecx;
		v->regs.rdx = r.edx;
		if (fh_vm_is_v7(vm) && enabled(v, KVMI_V7_EVENT_CPUID)) {
			struct kvmi_v7_event_cpuid e;

			memset(&e, 0, sizeof(e));
			e.function = (uint32_t)in->value;
			e.insn_length = 2;
			return raise_event(vm, v, KVMI_V7_EVENT_CPUID, &e,
					   sizeof(e), 1);
		}
		break;
	}
	case FH_INSN_NONE:
		break;
	}
	complete(v);
	return 0;
}

/* kvmi-v7/v12 entry: the queued exception is injected (unless a
 * single-step loop runs) and TRAP reports it before any other event */
static int inject_v7(struct fh_vm *vm, struct fh_vcpu *v)
{
	if (!v->inject_pending || v->singlestep)
		return 0;
	v->inject_pending = 0;
	v->trap_pending = 1;
	v->trap_vector = v->inject_nr;
	v->trap_error_code =
		fh_vector_has_error(v->inject_nr) ? v->inject_error_code : 0;
	if (v->inject_nr == 14)
		v->sregs.cr2 = v->inject_address;
	v->trap_cr2 = v->sregs.cr2;
	(void)vm;
	return 1;
}

static int trap_event(struct fh_vm *vm, struct fh_vcpu *v)
{
	v->trap_pending = 0;
	if (vm->cfg.dialect == KVMI_DIALECT_V6) {
		struct kvmi_event_trap t;

		memset(&t, 0, sizeof(t));
		t.vector = 3;	/* the #BP re-injected instead */
		t.type = 0x600; /* software exception */
		if (!enabled(v, KVMI_EVENT_TRAP))
			return 0;
		return raise_event(vm, v, KVMI_EVENT_TRAP, &t, sizeof(t), 0);
	} else {
		struct kvmi_v7_event_trap t;

		/* always sent, no enable check (KVMI-V7.md 7.2) */
		memset(&t, 0, sizeof(t));
		t.vector = v->trap_vector;
		t.error_code = v->trap_error_code;
		t.cr2 = v->trap_cr2;
		return raise_event(vm, v, KVMI_EVENT_TRAP, &t, sizeof(t), 0);
	}
}

int fh_vcpu_run(struct fh_vm *vm, struct fh_vcpu *v)
{
	v->started = 1;
	for (unsigned n = 0; n < vm->cfg.steps_per_run; n++) {
		if (v->state == FH_VCPU_WAITING || vm->crashed || vm->closed)
			return 0;
		if (v->create_pending) {
			v->create_pending = 0;
			if ((vm->vm_events >> KVMI_EVENT_CREATE_VCPU) & 1)
				return raise_event(vm, v, KVMI_EVENT_CREATE_VCPU, NULL,
					     0, 0);
		}
		if (v->singlestep_done) {
			v->singlestep_done = 0;
			if (enabled(v, KVMI_EVENT_SINGLESTEP))
				return raise_event(vm, v, KVMI_EVENT_SINGLESTEP,
						   NULL, 0, 0);
		}
		if (v->trap_pending && trap_event(vm, v))
			return 1;
		/* entry: a queued INJECT_EXCEPTION is delivered */
		if (vm->cfg.dialect == KVMI_DIALECT_V6)
			v->inject_pending = 0;
		else if (inject_v7(vm, v) && trap_event(vm, v))
			return 1;
		if (v->pause_requests) {
			v->pause_requests--;
			return raise_event(vm, v, KVMI_EVENT_PAUSE_VCPU, NULL, 0, 0);
		}
		if (v->state == FH_VCPU_HALTED)
			return 0;
		if (vm->cfg.events_per_vcpu &&
		    v->workload_events >= vm->cfg.events_per_vcpu) {
			v->state = FH_VCPU_HALTED;
			return 0;
		}
		v->state = FH_VCPU_RUNNING;
		if (step(vm, v)) {
			v->quiet_runs = 0;
			return 1;
		}
		if (v->singlestep && v->insn.kind == FH_INSN_NONE &&
		    enabled(v, KVMI_EVENT_SINGLESTEP)) {
			struct kvmi_v7_event_singlestep ss;

			/* an MTF exit after the instruction (KVMI-V7.md 7.3) */
			memset(&ss, 0, sizeof(ss));
			v->quiet_runs = 0;
			return raise_event(vm, v, KVMI_EVENT_SINGLESTEP, &ss,
					   sizeof(ss), 0);
		}
	}
	v->state = FH_VCPU_IDLE;
	v->quiet_runs++;
	return 0;
}

/* A PF reply asking to single-step the faulting instruction. */
static int pf_singlestep(const uint8_t *tail, size_t len)
{
	return len > offsetof(struct kvmi_event_pf_reply, singlestep) &&
	       tail[offsetof(struct kvmi_event_pf_reply, singlestep)];
}

/* The write a CR/MSR event stopped is refused: the guest gets #GP. */
static void refuse_write(struct fh_vm *vm, struct fh_vcpu *v)
{
	fh_vm_integrity_error(vm,
			      "vCPU %u: %s write refused (unsupported action): "
			      "#GP in the guest",
			      v->index,
			      v->ev_id == KVMI_EVENT_CR	   ? "CR3"
			      : v->ev_id == KVMI_EVENT_MSR ? "MSR"
							   : "XCR0");
	complete(v);
}

void fh_vcpu_event_reply(struct fh_vm *vm, struct fh_vcpu *v, uint8_t action,
			 const uint8_t *tail, size_t tail_len)
{
	struct fh_insn *in = &v->insn;
	uint64_t new_val = 0;

	v->state = FH_VCPU_RUNNING;
	if (v->have_set_regs) {
		v->regs = v->set_regs;
		v->have_set_regs = 0;
	}
	if (action == KVMI_EVENT_ACTION_CRASH) {
		vm->crashed = 1;
		return;
	}
	if (tail_len)
		memcpy(&new_val, tail, tail_len < 8 ? tail_len : 8);

	switch (v->ev_id) {
	case KVMI_EVENT_BREAKPOINT:
	case KVMI_EVENT_PF:
	case KVMI_EVENT_DESCRIPTOR:
		if (action == KVMI_EVENT_ACTION_CONTINUE) {
			if (v->ev_id == KVMI_EVENT_PF) {
				in->access_done = 1; /* emulated */
				v->singlestep_done = pf_singlestep(tail, tail_len);
			} else {
				if (v->ev_id == KVMI_EVENT_BREAKPOINT)
					deliver_bp(vm, v, in->gpa);
				complete(v);
			}
			break;
		}
		if (action != KVMI_EVENT_ACTION_RETRY)
			vm->stats.unsupported_actions++;
		if (v->ev_id == KVMI_EVENT_PF &&
		    pf_singlestep(tail, tail_len)) {
			/* single-step the instruction despite the restriction */
			in->access_done = 1;
			v->singlestep_done = 1;
			break;
		}
		/* RETRY: re-enter the guest at rip, without executing it */
		if (v->regs.rip != in->rip)
			in->kind = FH_INSN_NONE; /* the tool moved rip */
		else
			in->access_done = 0;
		break;
	case KVMI_EVENT_XSETBV:
		if (action != KVMI_EVENT_ACTION_CONTINUE) {
			vm->stats.unsupported_actions++;
			refuse_write(vm, v);
			break;
		}
		v->xcr0 = in->value;
		complete(v);
		break;
	case KVMI_EVENT_HYPERCALL:
		if (action != KVMI_EVENT_ACTION_CONTINUE)
			vm->stats.unsupported_actions++;
		else
			v->regs.rax = 0;
		complete(v);
		break;
	case KVMI_V7_EVENT_CPUID:
		/* CONTINUE skips it with the current registers; anything
		 * else leaves rip: CPUID runs (and raises) again */
		if (action == KVMI_EVENT_ACTION_CONTINUE)
			complete(v);
		else
			vm->stats.unsupported_actions++;
		break;
	case KVMI_EVENT_CR:
	case KVMI_EVENT_MSR:
		if (action != KVMI_EVENT_ACTION_CONTINUE) {
			vm->stats.unsupported_actions++;
			refuse_write(vm, v);
			break;
		}
		if (v->ev_id == KVMI_EVENT_CR)
			v->sregs.cr3 = new_val;
		else
			v->msrs[msr_slot(in->msr)] = new_val;
		complete(v);
		break;
	default:
		if (action != KVMI_EVENT_ACTION_CONTINUE)
			vm->stats.unsupported_actions++;
		break;
	}
}

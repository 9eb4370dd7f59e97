/*
 * kvmi-fakehost - vm.c: life cycle of a simulated guest and its channel
 * (creation, byte feeding, events, unhook request, hot-plug, teardown).
 */
#include "vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host_encoder.h"

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Seeded hot addresses: one in four is one of the guest's own INT3s. */
static void generate_hot(struct fh_vm *vm)
{
	uint64_t s = vm->cfg.seed * 2654435761u + 0x51ed270b;
	uint64_t pages = vm->mem.npages;

	if (!s)
		s = 1;
	for (unsigned i = 0; i < vm->cfg.hot_generated; i++) {
		uint64_t gpa = UINT64_MAX;

		while (gpa == UINT64_MAX) {
			uint64_t r = next_rand(&s);
			uint64_t cand = ((r % pages) << FH_PAGE_SHIFT) |
					((r >> 40) & (FH_PAGE_SIZE - 1));

			gpa = fh_memory_find_orig(&vm->mem, cand, i % 4 == 3);
		}
		vm->hot[vm->nhot++] = gpa;
	}
}

int fh_vm_new(const struct fh_vm_config *cfg, struct fh_vm **out)
{
	struct fh_vm *vm;

	if (!cfg || !out || cfg->vcpus < 1 || cfg->vcpus > FH_MAX_VCPUS ||
	    cfg->max_vcpus > FH_MAX_VCPUS || cfg->mem_mb < 1 ||
	    cfg->mem_mb > (1ULL << 30) ||
	    (cfg->n_hot_gpas && !cfg->hot_gpas) ||
	    (unsigned)cfg->dialect >= KVMI_NUM_DIALECTS)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	if (vm->cfg.max_vcpus < cfg->vcpus)
		vm->cfg.max_vcpus = cfg->vcpus;
	if (!vm->cfg.steps_per_run)
		vm->cfg.steps_per_run = 256;
	vm->cfg.hot_gpas = NULL;
	fh_memory_init(&vm->mem, cfg->mem_mb << (20 - FH_PAGE_SHIFT), cfg->seed);
	vm->hot = calloc(cfg->n_hot_gpas + cfg->hot_generated + 1, sizeof(*vm->hot));
	vm->vcpus = calloc(vm->cfg.max_vcpus, sizeof(*vm->vcpus));
	vm->dec = kvmi_decoder_new(KVMI_DIR_TOOL_TO_HOST);
	if (!vm->hot || !vm->vcpus || !vm->dec) {
		fh_vm_free(vm);
		return -ENOMEM;
	}
	kvmi_decoder_set_dialect(vm->dec, cfg->dialect);
	/* kvmi-v7 2021: three fixed views; 2023: view 0 until others are
	 * created */
	vm->view_count = cfg->dialect == KVMI_DIALECT_V7
				 ? KVMI_V7_2021_MAX_EPT_VIEWS
				 : 1;
	for (size_t i = 0; i < cfg->n_hot_gpas; i++) {
		if (!fh_memory_valid(&vm->mem, cfg->hot_gpas[i], 1)) {
			fh_vm_free(vm);
			return -EINVAL;
		}
		vm->hot[vm->nhot++] = cfg->hot_gpas[i];
	}
	generate_hot(vm);
	if (!vm->nhot)
		vm->hot[vm->nhot++] = 0x1000;
	if (fh_vm_is_v7(vm))
		fh_vcpu_mix_cpuid(vm->insn_table, cfg->insn_mask);
	else
		fh_vcpu_mix(vm->insn_table, cfg->insn_mask);
	for (unsigned i = 0; i < cfg->vcpus; i++)
		fh_vcpu_init(&vm->vcpus[i], i, cfg->seed);
	vm->nvcpus = cfg->vcpus;
	*out = vm;
	return 0;
}

void fh_vm_free(struct fh_vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus)
		for (unsigned i = 0; i < vm->cfg.max_vcpus; i++)
			free(vm->vcpus[i].msr_bitmap);
	free(vm->vcpus);
	free(vm->hot);
	fh_memory_free(&vm->mem);
	kvmi_decoder_free(vm->dec);
	fh_buf_free(&vm->out);
	free(vm);
}

void fh_vm_close(struct fh_vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (vm->closed)
		return;
	vm->closed = 1;
	vm->host_closed = 1;
	va_start(ap, fmt);
	vsnprintf(vm->close_reason, sizeof(vm->close_reason), fmt, ap);
	va_end(ap);
}

void fh_vm_integrity_error(struct fh_vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (!vm->stats.guest_integrity_errors++) {
		va_start(ap, fmt);
		vsnprintf(vm->integrity_first, sizeof(vm->integrity_first), fmt, ap);
		va_end(ap);
	}
}

int fh_vm_event_allowed(const struct fh_vm *vm, unsigned id)
{
	return id >= 32 || !(vm->cfg.deny_events & (1u << id));
}

int fh_vm_is_v7(const struct fh_vm *vm)
{
	return vm->cfg.dialect == KVMI_DIALECT_V7 ||
	       vm->cfg.dialect == KVMI_DIALECT_V7_2023;
}

/* The model CPU: MTF single-step, VMFUNC and EPTP switching (EPT views
 * with their own access rights), no SPP, no #VE. */
struct kvmi_v7_features fh_vm_features(const struct fh_vm *vm)
{
	struct kvmi_v7_features f;

	(void)vm;
	memset(&f, 0, sizeof(f));
	f.vmfunc = 1;
	f.eptp = 1;
	f.singlestep = 1;
	return f;
}

int fh_vm_feed(struct fh_vm *vm, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len && !vm->closed) {
		const struct kvmi_msg *msg = NULL;
		ssize_t n = kvmi_decoder_feed(vm->dec, p, len, &msg);

		if (n < 0) {
			uint64_t off = 0;
			const char *why = kvmi_decoder_error(vm->dec, &off);

			fh_vm_close(vm, "bad message at byte %llu: %s",
				    (unsigned long long)off,
				    why ? why : kvmi_strerror((int)n));
			break;
		}
		p += n;
		len -= (size_t)n;
		if (msg)
			fh_vm_handle(vm, msg);
		else if (!n)
			break;
	}
	return vm->host_closed ? -1 : 0;
}

static void fill_arch(const struct fh_vcpu *v, struct kvmi_event_arch *a)
{
	a->mode = KVMI_MODE_64;
	a->view = (__u16)v->view; /* kvmi-v7 arch.view (0 elsewhere) */
	a->regs = v->regs;
	a->sregs = v->sregs;
	a->msrs.sysenter_cs = v->msrs[0];
	a->msrs.sysenter_esp = v->msrs[1];
	a->msrs.sysenter_eip = v->msrs[2];
	a->msrs.efer = v->msrs[3];
	a->msrs.star = v->msrs[4];
	a->msrs.lstar = v->msrs[5];
	a->msrs.cstar = v->msrs[6];
	a->msrs.pat = v->msrs[7];
	a->msrs.shadow_gs = v->msrs[8];
}

uint32_t fh_vm_emit_event(struct fh_vm *vm, const struct fh_vcpu *vcpu,
			  uint8_t id, const void *data, size_t len)
{
	struct kvmi_event ev;
	uint8_t *p;
	int n, wire;

	if (vm->closed)
		return 0;
	p = fh_buf_reserve(&vm->out, 16 + sizeof(ev) + len);
	if (!p) {
		fh_vm_close(vm, "out of memory sending an event");
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	wire = kvmi_dialect_event_to_wire(vm->cfg.dialect, id);
	if (wire < 0) {
		fh_vm_close(vm, "event %u does not exist in %s", id,
			    kvmi_dialect_name(vm->cfg.dialect));
		return 0;
	}
	ev.event = (__u8)wire;
	if (vcpu) {
		ev.vcpu = (__u16)vcpu->index;
		fill_arch(vcpu, &ev.arch); /* kvmi-v7 arch.view: always 0 */
	}
	vm->event_seq++;
	n = kvmi_encode_event_d(vm->cfg.dialect, p, 16 + sizeof(ev) + len,
				vm->event_seq, &ev, sizeof(ev), data, len);
	if (n < 0) {
		fh_vm_close(vm, "cannot encode event %u: %s", id, kvmi_strerror(n));
		return 0;
	}
	vm->out.len += (size_t)n;
	if (id < FH_NUM_EVENTS)
		vm->stats.events_sent[id]++;
	return vm->event_seq;
}

static unsigned run(struct fh_vm *vm, int idle_too)
{
	unsigned raised = 0;
	int wake = vm->wake;

	vm->wake = 0;
	if (vm->closed || vm->crashed)
		return 0;
	for (unsigned i = 0; i < vm->nvcpus && !vm->closed && !vm->crashed; i++) {
		struct fh_vcpu *v = &vm->vcpus[i];

		if (v->state == FH_VCPU_IDLE) {
			if (wake)
				v->quiet_runs = 0; /* the tool changed things */
			else if (!idle_too || v->quiet_runs >= FH_QUIET_RUNS)
				continue;
			v->state = FH_VCPU_RUNNING;
		}
		if (v->state == FH_VCPU_WAITING)
			continue;
		raised += (unsigned)fh_vcpu_run(vm, v);
	}
	return raised;
}

unsigned fh_vm_run(struct fh_vm *vm)
{
	return run(vm, 0);
}

unsigned fh_vm_run_idle(struct fh_vm *vm)
{
	return run(vm, 1);
}

int fh_vm_keeps_running(const struct fh_vm *vm)
{
	if (vm->closed || vm->crashed)
		return 0;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		const struct fh_vcpu *v = &vm->vcpus[i];

		if (v->state == FH_VCPU_IDLE && v->events &&
		    v->quiet_runs < FH_QUIET_RUNS)
			return 1;
	}
	return 0;
}

int fh_vm_unhook(struct fh_vm *vm)
{
	if (vm->closed)
		return -EFAULT;
	if (!(vm->vm_events & (1u << KVMI_EVENT_UNHOOK)))
		return -ENOENT;
	return fh_vm_emit_event(vm, NULL, KVMI_EVENT_UNHOOK, NULL, 0) ? 0 : -ENOENT;
}

int fh_vm_hotplug(struct fh_vm *vm)
{
	struct fh_vcpu *v;

	if (vm->nvcpus >= vm->cfg.max_vcpus)
		return -ENOSPC;
	v = &vm->vcpus[vm->nvcpus];
	fh_vcpu_init(v, vm->nvcpus, vm->cfg.seed);
	v->create_pending = 1;
	vm->nvcpus++;
	return (int)v->index;
}

void fh_vm_disconnect(struct fh_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct fh_vcpu *v = &vm->vcpus[i];

		if (v->state != FH_VCPU_WAITING)
			continue;
		vm->stats.events_unreplied++;
		/* the host wakes it as if CONTINUE with default data */
		v->have_set_regs = 0;
		if (v->ev_id == KVMI_EVENT_CR || v->ev_id == KVMI_EVENT_MSR) {
			uint64_t val = v->ev_new_value;

			fh_vcpu_event_reply(vm, v, KVMI_EVENT_ACTION_CONTINUE,
					    (const uint8_t *)&val, sizeof(val));
		} else {
			fh_vcpu_event_reply(vm, v, KVMI_EVENT_ACTION_CONTINUE,
					    NULL, 0);
		}
	}
	vm->closed = 1;
}

uint64_t fh_vm_total_events(const struct fh_vm *vm)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < FH_NUM_EVENTS; i++)
		n += vm->stats.events_sent[i];
	return n;
}

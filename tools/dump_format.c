/*
 * libkvmi - tools/dump_format.c: the one-line text form of a decoded
 * message (direction, name, seq, vCPU, event and key fields).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dump_format.h"

struct out {
	char *p;
	size_t left;
	int total;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p, o->left, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->total += n;
	if ((size_t)n >= o->left) {
		o->p += o->left ? o->left - 1 : 0;
		o->left = o->left ? 1 : 0;
	} else {
		o->p += n;
		o->left -= (size_t)n;
	}
}

#define GET(type, var, src)                                                    \
	type var;                                                              \
	memset(&var, 0, sizeof(var));                                          \
	memcpy(&var, (src), sizeof(var))

static void event_fields(struct out *o, const struct kvmi_msg *m)
{
	const struct kvmi_event *c = m->u.event.common;
	const union kvmi_event_data *d = m->u.event.data;

	put(o, " vcpu=%u %s", c->vcpu, kvmi_event_name(c->event));
	if (c->size != sizeof(struct kvmi_event))
		put(o, " common_size=%u", c->size);
	switch (c->event) {
	case KVMI_EVENT_CR:
		put(o, " cr=%u old=0x%" PRIx64 " new=0x%" PRIx64, d->cr.cr,
		    (uint64_t)d->cr.old_value, (uint64_t)d->cr.new_value);
		break;
	case KVMI_EVENT_MSR:
		put(o, " msr=0x%x old=0x%" PRIx64 " new=0x%" PRIx64, d->msr.msr,
		    (uint64_t)d->msr.old_value, (uint64_t)d->msr.new_value);
		break;
	case KVMI_EVENT_BREAKPOINT:
		put(o, " gpa=0x%" PRIx64 " insn_len=%u",
		    (uint64_t)d->breakpoint.gpa, d->breakpoint.insn_len);
		break;
	case KVMI_EVENT_PF:
		put(o, " gva=0x%" PRIx64 " gpa=0x%" PRIx64 " access=%u",
		    (uint64_t)d->pf.gva, (uint64_t)d->pf.gpa, d->pf.access);
		break;
	case KVMI_EVENT_TRAP:
		put(o, " vector=%u type=0x%x error_code=0x%x cr2=0x%" PRIx64,
		    d->trap.vector, d->trap.type, d->trap.error_code,
		    (uint64_t)d->trap.cr2);
		break;
	case KVMI_EVENT_DESCRIPTOR:
		put(o, " descriptor=%u write=%u", d->descriptor.descriptor,
		    d->descriptor.write);
		break;
	default:
		break;
	}
	if (c->event != KVMI_EVENT_UNHOOK)
		put(o, " rip=0x%" PRIx64, (uint64_t)c->arch.regs.rip);
}

static void reply_fields(struct out *o, const struct kvmi_msg *m)
{
	const __u8 *p = m->u.reply.data;
	size_t n = m->u.reply.data_len;

	put(o, " err=%d", m->u.reply.host_err);
	if (m->u.reply.host_err)
		put(o, "(%s)", kvmi_host_error_name(m->u.reply.host_err));
	if (!p)
		return;
	switch (m->hdr.id) {
	case KVMI_GET_VERSION: {
		GET(struct kvmi_get_version_reply, r, p);
		put(o, " version=%u", r.version);
		break;
	}
	case KVMI_GET_GUEST_INFO: {
		GET(struct kvmi_get_guest_info_reply, r, p);
		put(o, " vcpu_count=%u", r.vcpu_count);
		break;
	}
	case KVMI_GET_VCPU_INFO: {
		GET(struct kvmi_get_vcpu_info_reply, r, p);
		put(o, " tsc_speed=%" PRIu64, (uint64_t)r.tsc_speed);
		break;
	}
	case KVMI_GET_REGISTERS: {
		GET(struct kvmi_get_registers_reply, r, p);
		put(o, " mode=%u rip=0x%" PRIx64 " cr3=0x%" PRIx64 " nmsrs=%u",
		    r.mode, (uint64_t)r.regs.rip, (uint64_t)r.sregs.cr3,
		    r.msrs.nmsrs);
		break;
	}
	case KVMI_GET_CPUID: {
		GET(struct kvmi_get_cpuid_reply, r, p);
		put(o, " eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x", r.eax, r.ebx,
		    r.ecx, r.edx);
		break;
	}
	case KVMI_GET_MTRR_TYPE:
		put(o, " type=%u", p[0]);
		break;
	case KVMI_GET_MAX_GFN: {
		GET(struct kvmi_get_max_gfn_reply, r, p);
		put(o, " gfn=0x%" PRIx64, (uint64_t)r.gfn);
		break;
	}
	case KVMI_GET_PAGE_ACCESS:
		put(o, " access=");
		for (size_t i = 0; i < n && i < 8; i++)
			put(o, "%s%u", i ? "," : "", p[i]);
		if (n > 8)
			put(o, ",...");
		break;
	default:
		put(o, " len=%zu", n);
		break;
	}
}

static void command_fields(struct out *o, const struct kvmi_msg *m)
{
	const __u8 *b = m->u.command.body;
	size_t n = m->u.command.body_len;

	if (m->u.command.has_vcpu)
		put(o, " vcpu=%u", m->u.command.vcpu.vcpu);
	switch (m->hdr.id) {
	case KVMI_CHECK_COMMAND:
	case KVMI_CHECK_EVENT:
		if (n >= 2) {
			GET(__u16, id, b);
			put(o, " id=%u", id);
		}
		break;
	case KVMI_CONTROL_VM_EVENTS:
	case KVMI_CONTROL_EVENTS:
		if (n >= sizeof(struct kvmi_control_events)) {
			GET(struct kvmi_control_events, c, b);
			put(o, " %s enable=%u", kvmi_event_name(c.event_id),
			    c.enable);
		}
		break;
	case KVMI_CONTROL_CR:
		if (n >= sizeof(struct kvmi_control_cr)) {
			GET(struct kvmi_control_cr, c, b);
			put(o, " cr=%u enable=%u", c.cr, c.enable);
		}
		break;
	case KVMI_CONTROL_MSR:
		if (n >= sizeof(struct kvmi_control_msr)) {
			GET(struct kvmi_control_msr, c, b);
			put(o, " msr=0x%x enable=%u", c.msr, c.enable);
		}
		break;
	case KVMI_READ_PHYSICAL:
	case KVMI_WRITE_PHYSICAL:
		if (n >= sizeof(struct kvmi_read_physical)) {
			GET(struct kvmi_read_physical, c, b);
			put(o, " gpa=0x%" PRIx64 " size=%" PRIu64,
			    (uint64_t)c.gpa, (uint64_t)c.size);
		}
		break;
	case KVMI_GET_PAGE_ACCESS:
	case KVMI_SET_PAGE_ACCESS:
	case KVMI_GET_PAGE_WRITE_BITMAP:
	case KVMI_SET_PAGE_WRITE_BITMAP:
		if (n >= 8) {
			GET(struct kvmi_get_page_access, c, b);
			put(o, " view=%u count=%u", c.view, c.count);
			if (m->hdr.id == KVMI_SET_PAGE_ACCESS && c.count &&
			    n >= 8 + 16) {
				GET(struct kvmi_page_access_entry, e, b + 8);
				put(o, " first=0x%" PRIx64 ":%u",
				    (uint64_t)e.gpa, e.access);
			}
		}
		break;
	case KVMI_GET_REGISTERS:
		if (n >= 2) {
			GET(__u16, nmsrs, b);
			put(o, " nmsrs=%u", nmsrs);
		}
		break;
	case KVMI_SET_REGISTERS:
		if (n >= sizeof(struct kvm_regs)) {
			GET(struct kvm_regs, r, b);
			put(o, " rip=0x%" PRIx64, (uint64_t)r.rip);
		}
		break;
	case KVMI_GET_CPUID:
		if (n >= sizeof(struct kvmi_get_cpuid)) {
			GET(struct kvmi_get_cpuid, c, b);
			put(o, " function=0x%x index=%u", c.function, c.index);
		}
		break;
	case KVMI_PAUSE_VCPU:
		if (n >= 1)
			put(o, " wait=%u", b[0]);
		break;
	case KVMI_INJECT_EXCEPTION:
		if (n >= sizeof(struct kvmi_inject_exception)) {
			GET(struct kvmi_inject_exception, c, b);
			put(o, " nr=%u has_error=%u error_code=0x%x address=0x%" PRIx64,
			    c.nr, c.has_error, c.error_code,
			    (uint64_t)c.address);
		}
		break;
	case KVMI_GET_MTRR_TYPE:
		if (n >= 8) {
			GET(__u64, gpa, b);
			put(o, " gpa=0x%" PRIx64, (uint64_t)gpa);
		}
		break;
	case KVMI_CONTROL_CMD_RESPONSE:
		if (n >= 2)
			put(o, " enable=%u now=%u", b[0], b[1]);
		break;
	case KVMI_CONTROL_SPP:
		if (n >= 1)
			put(o, " enable=%u", b[0]);
		break;
	default:
		break;
	}
	if (!m->u.command.known)
		put(o, " unknown_id len=%zu", n);
}

int kvmi_dump_format(char *buf, size_t len, enum kvmi_direction dir,
		     const struct kvmi_msg *m)
{
	struct out o = {buf, len, 0};

	if (len)
		buf[0] = 0;
	put(&o, "@%" PRIu64 " %s ", m->offset,
	    dir == KVMI_DIR_HOST_TO_TOOL ? "H>T" : "T>H");
	switch (m->kind) {
	case KVMI_MSG_EVENT:
		put(&o, "KVMI_EVENT seq=%u", m->hdr.seq);
		event_fields(&o, m);
		break;
	case KVMI_MSG_REPLY:
		put(&o, "reply %s seq=%u", kvmi_msg_name(m->hdr.id), m->hdr.seq);
		reply_fields(&o, m);
		break;
	case KVMI_MSG_EVENT_REPLY_ERROR:
		put(&o, "KVMI_EVENT_REPLY(rejected) seq=%u err=%d(%s)",
		    m->hdr.seq, m->u.reply.host_err,
		    kvmi_host_error_name(m->u.reply.host_err));
		break;
	case KVMI_MSG_COMMAND:
		put(&o, "%s seq=%u", kvmi_msg_name(m->hdr.id), m->hdr.seq);
		if (!m->u.command.known)
			put(&o, " id=%u", m->hdr.id);
		command_fields(&o, m);
		break;
	case KVMI_MSG_EVENT_REPLY: {
		const __u8 *t = m->u.event_reply.tail;
		size_t tl = m->u.event_reply.tail_len;

		put(&o, "KVMI_EVENT_REPLY seq=%u vcpu=%u %s action=%s",
		    m->hdr.seq, m->u.event_reply.vcpu.vcpu,
		    kvmi_event_name(m->u.event_reply.common.event),
		    kvmi_action_name(m->u.event_reply.common.action));
		if ((m->u.event_reply.common.event == KVMI_EVENT_CR ||
		     m->u.event_reply.common.event == KVMI_EVENT_MSR) &&
		    tl >= 8) {
			GET(__u64, v, t);
			put(&o, " new_val=0x%" PRIx64, (uint64_t)v);
		} else if (m->u.event_reply.common.event == KVMI_EVENT_PF &&
			   tl >= 16) {
			struct kvmi_event_pf_reply r;

			memset(&r, 0, sizeof(r));
			memcpy(&r, t, tl < sizeof(r) ? tl : sizeof(r));
			put(&o, " ctx_size=%u singlestep=%u rep_complete=%u",
			    r.ctx_size, r.singlestep, r.rep_complete);
		} else if (tl) {
			put(&o, " tail=%zu", tl);
		}
		break;
	}
	}
	return o.total;
}
